/**
 * Real power cuts under the real server: its dataDir is on powercut_fs.py, a FUSE file system
 * that keeps only what was made durable (fsync/fdatasync of a file, O_DSYNC writes, fsync of a
 * directory for names; see the program's header for the exact model). The server runs with
 * forceSync=yes and a small snapCount and preAllocSize, so logs roll, grow and snapshots are
 * written all the time, under the crash model's load and checks (test/support/crash-run.ts,
 * crash-model.ts, crash-workload.ts: the same as the kill -9 test's). At random moments
 * (seeded) the power is cut: the file system drops everything not durable, the server is
 * killed, the file system is mounted again from what survived and the server restarted on it.
 * Half the cuts strike in the middle of the next synced write (a prefix of it survives: a torn
 * log record), and a fifth of the restarts lose power again during start-up first. After each
 * restart everything the model checks after a kill -9 must hold: no acknowledged write lost,
 * nothing half-done or unexplained, sessions, ephemerals, TTL nodes and containers as the
 * model allows, zxids only growing, and recovery must succeed (after a power cut a correctly
 * syncing server has nothing to refuse). Only the timing differs: a restored session's
 * timeout runs from the end of the remount (no server could load it sooner), while a TTL
 * runs on the wall clock, so the time the power was off counts for it.
 *
 * Negative controls: the file system itself loses unsynced data (checked file by file), and
 * with forceSync=no the same cycles lose acknowledged writes, which the checks report.
 *
 * Needs root, /dev/fuse, fusermount (fuse3) and Debian's python3-fusepy. Seed:
 * ZEPHYR_POWERCUT_SEED=<seed>; number of cuts: ZEPHYR_POWERCUT_CUTS (default 50; fewer, but at
 * least 20, once ZEPHYR_POWERCUT_BUDGET_MS, default 100 s, has passed).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SeededRandom } from '../../src/base/index.js';
import { CRASH_RUN_CONFIG, CrashRun, type Fault, type Restarted } from '../support/crash-run.js';
import { describeDataDir, startOn } from '../support/data-dir.js';
import { RawClient } from '../support/raw-client.js';
import { sleep, type ServerProcess } from '../support/server-process.js';
import { requireCommand, requireFile, requireRoot } from './durability-support.js';
import { PowerCutMount, POWERCUT_FS, SYSTEM_PYTHON } from './powercut-mount.js';

const SEED = Number(process.env['ZEPHYR_POWERCUT_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const CUTS = Number(process.env['ZEPHYR_POWERCUT_CUTS'] ?? 50);
/** On a slow machine the run stops early once this much time has passed, but never before 20 cuts. */
const BUDGET_MS = Number(process.env['ZEPHYR_POWERCUT_BUDGET_MS'] ?? 100000);
const MIN_CUTS = 20;
const CONFIG = { ...CRASH_RUN_CONFIG, forceSync: 'yes', snapCount: '200', preAllocSize: '16' };

process.stdout.write(`# power-cut test seed ${SEED} (rerun with ZEPHYR_POWERCUT_SEED=${SEED})\n`);

/** Makes a directory's entries durable, as the server's own syncDir does. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  await fh.sync();
  await fh.close();
}

async function writeThrough(file: string, data: string, o: { flags?: number; sync?: boolean } = {}): Promise<void> {
  const fh = await open(file, o.flags ?? 'w');
  await fh.write(data, 0);
  if (o.sync === true) await fh.datasync();
  await fh.close();
}

describe(`power cuts on a file system that forgets unsynced writes (seed ${SEED})`, { timeout: 240000 }, () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'zephyr-powercut-'));
  const mounts: PowerCutMount[] = [];
  const servers: ServerProcess[] = [];
  let n = 0;
  const newMount = (): PowerCutMount => {
    const m = new PowerCutMount(path.join(root, `backing${n}`), path.join(root, `mnt${n++}`));
    mkdirSync(m.backing);
    mkdirSync(m.mountpoint);
    mounts.push(m);
    return m;
  };

  before(() => {
    requireRoot('it mounts FUSE file systems');
    requireFile('/dev/fuse', 'the kernel needs FUSE support');
    requireCommand('fusermount', ['-V'], 'install the Debian package fuse3');
    requireCommand(SYSTEM_PYTHON, ['-c', 'import fusepy'], 'install the Debian package python3-fusepy');
    requireFile(POWERCUT_FS, 'the FUSE program belongs next to this suite');
  });

  after(async () => {
    for (const s of servers) if (s.alive()) await s.kill9();
    for (const m of mounts) await m.unmount().catch(() => m.forceUnmount());
    rmSync(root, { recursive: true, force: true });
  });

  test('negative control: the file system keeps what was made durable and loses the rest', { timeout: 30000 }, async () => {
    const m = newMount();
    await m.mount();
    const at = (p: string): string => path.join(m.mountpoint, p);
    await mkdir(at('d'));
    await writeThrough(at('d/synced'), 'synced', { sync: true });
    await writeThrough(at('d/unsynced'), 'unsynced');
    const dsync = await open(at('d/dsync'), constants.O_WRONLY | constants.O_CREAT | constants.O_DSYNC);
    await dsync.write('dsync', 0);
    await dsync.truncate(100); // growth that nothing syncs
    await dsync.close();
    await writeThrough(at('d/old-name'), 'renamed', { sync: true });
    await syncDir(at('d'));
    await syncDir(m.mountpoint);
    await rename(at('d/old-name'), at('d/new-name'));
    await writeThrough(at('d/late'), 'late', { sync: true }); // its name is never synced
    await mkdir(at('e'));
    assert.deepEqual((await readdir(at('d'))).sort(), ['dsync', 'late', 'new-name', 'synced', 'unsynced']);
    assert.equal((await stat(at('d/dsync'))).size, 100);
    await m.cut();
    await assert.rejects(readdir(at('d')), /EIO/);
    await m.cut(); // the control file still answers
    await m.unmount();
    await m.mount();
    assert.deepEqual(await readdir(m.mountpoint), ['d']);
    assert.deepEqual((await readdir(at('d'))).sort(), ['dsync', 'old-name', 'synced', 'unsynced']);
    assert.equal(await readFile(at('d/synced'), 'utf8'), 'synced');
    assert.equal(await readFile(at('d/unsynced'), 'utf8'), '', 'a durable name whose data was never synced comes back empty');
    assert.equal(await readFile(at('d/dsync'), 'utf8'), 'dsync', 'an O_DSYNC write survives, the unsynced growth does not');
    assert.equal(await readFile(at('d/old-name'), 'utf8'), 'renamed');
    // a power cut in the middle of a synced write keeps a prefix of it
    const torn = await open(at('d/dsync'), constants.O_WRONLY | constants.O_DSYNC);
    await m.tear(7);
    await assert.rejects(torn.write('0123456789'.repeat(10), 5), /EIO/);
    await torn.close();
    await m.unmount();
    await m.mount();
    const kept = await readFile(at('d/dsync'), 'utf8');
    assert.ok(kept.length < 105 && '0123456789'.repeat(10).startsWith(kept.slice(5)), `after a torn write: "${kept}"`);
    assert.equal(m.tornWrites(), 1);
    await m.unmount();
  });

  test('a fresh dataDir survives a power cut right after its first acknowledged write', { timeout: 30000 }, async () => {
    // regression: version-2, created by the server, used to vanish (its parent was never fsynced)
    const m = newMount();
    await m.mount();
    const dataDir = path.join(m.mountpoint, 'data');
    let server = await startOn(dataDir, CONFIG);
    servers.push(server);
    const c = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 4000 });
    assert.equal((await c.create('/first', Buffer.from('1'))).err, 0);
    c.destroy();
    await m.cut();
    await server.kill9();
    await m.unmount();
    await m.mount();
    const survived = describeDataDir(dataDir);
    server = await startOn(dataDir, CONFIG);
    servers.push(server);
    const again = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 4000 });
    const r = await again.getData('/first');
    again.destroy();
    assert.equal(r.err, 0, `the acknowledged create is lost; after the cut the dataDir held ${survived}`);
    assert.equal(r.data?.toString(), '1');
    await server.stop();
    await m.unmount();
  });

  test(`up to ${CUTS} power cuts under load lose no acknowledged write and show nothing unexplained`, { timeout: 210000 }, async (t) => {
    const started = Date.now();
    const cuts = new PowerCuts(newMount(), CONFIG, new SeededRandom(SEED), servers);
    const run = await cuts.run(SEED);
    try {
      for (let cycle = 0; cycle < CUTS && (cycle < MIN_CUTS || Date.now() - started < BUDGET_MS); cycle++) await run.cycle(cycle);
      await run.finish();
      await run.server.stop();
      run.report(t, Date.now() - started);
    } finally {
      await cuts.end(run);
    }
    t.diagnostic(
      `${cuts.mount.tornWrites()} cuts in the middle of a write, ${cuts.mount.mounts} mounts, ` +
        `${cuts.tornTails} recoveries cut off a torn log tail`,
    );
    assert.ok(run.cycles >= Math.min(CUTS, MIN_CUTS));
    run.assertMinimums();
  });

  test(
    'negative control: with forceSync=no a power cut loses acknowledged writes, and the checks say so',
    { timeout: 60000 },
    async (t) => {
      const cuts = new PowerCuts(newMount(), { ...CONFIG, forceSync: 'no' }, new SeededRandom(SEED + 1), servers);
      const run = await cuts.run(SEED);
      let caught: Error | null = null;
      for (let cycle = 0; cycle < 5 && caught === null; cycle++) {
        try {
          await run.cycle(cycle);
        } catch (e) {
          caught = e as Error;
        }
      }
      await cuts.end(run);
      assert.ok(caught !== null, 'five power cuts without fsync lost nothing: the file system does not forget, or the checks miss it');
      const lost = /^.*LOST (acknowledged write|write|setACL|multi|container|probe|\w+ node)\b.*$/m.exec(caught.message);
      assert.ok(lost !== null, `the checks failed, but not on a lost write:\n${caught.message}`);
      t.diagnostic(`after ${run.stats.faults} cut(s): ${lost[0].trim()}`);
    },
  );
});

/**
 * Power cuts on one mount, as the crash run's fault: half of them strike in the middle of the
 * next synced write; then the server is killed and the file system mounted again from what
 * survived, and a fifth of the restarts lose power again during start-up first.
 */
class PowerCuts implements Fault {
  readonly name = 'power cuts';
  readonly dataDir: string;
  /** Restarts whose recovery cut off a torn log tail. */
  tornTails = 0;

  constructor(
    readonly mount: PowerCutMount,
    private readonly config: Record<string, string>,
    private readonly plan: SeededRandom,
    /** Every server started, so that a failed test still kills them all. */
    private readonly servers: ServerProcess[],
  ) {
    this.dataDir = path.join(mount.mountpoint, 'data');
  }

  /** Mounts the file system and starts a crash run on it. */
  async run(seed: number): Promise<CrashRun> {
    await this.mount.mount();
    const run = new CrashRun({ seed, plan: this.plan, dataDir: this.dataDir, fault: this });
    await run.start();
    return run;
  }

  async end(run: CrashRun): Promise<void> {
    await run.dispose();
    await this.mount.unmount();
  }

  async start(): Promise<ServerProcess> {
    const server = await startOn(this.dataDir, this.config, { listenTimeoutMs: 20000 });
    this.servers.push(server);
    if (server.output().includes('truncating a torn txn log tail')) this.tornTails++;
    return server;
  }

  async strike(server: ServerProcess): Promise<void> {
    if (this.plan.chance(0.5)) {
      // most often the next synced write is a log batch: the cut tears it
      await this.mount.tear(this.plan.int(2 ** 31));
      await sleep(this.plan.int(50));
    }
    await this.mount.cut();
    await server.kill9();
  }

  async restart(mayStrikeDuringStartup: boolean): Promise<Restarted> {
    await this.remount();
    // No server could load a session before this: its timeout runs from here, not from the cut.
    const sessionClockFrom = Date.now();
    const struckDuringStartup = mayStrikeDuringStartup && this.plan.chance(0.2);
    if (struckDuringStartup) await this.cutDuringStartup();
    return { server: await this.start(), sessionClockFrom, struckDuringStartup };
  }

  private async remount(): Promise<void> {
    await this.mount.unmount();
    await this.mount.mount();
  }

  /** Power fails again while the server recovers (it may die of EIO first, or be listening already). */
  private async cutDuringStartup(): Promise<void> {
    const starting = startOn(this.dataDir, this.config, { listenTimeoutMs: 20000 }).catch(() => null);
    await sleep(this.plan.int(400));
    await this.mount.cut();
    const server = await starting;
    if (server !== null) {
      this.servers.push(server);
      await server.kill9();
    }
    await this.remount();
  }
}
