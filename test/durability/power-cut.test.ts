/**
 * Real power cuts under the real server: its dataDir is on powercut_fs.py, a FUSE file system
 * that keeps only what was made durable (fsync/fdatasync of a file, O_DSYNC writes, fsync of a
 * directory for names; see the program's header for the exact model). The server runs with
 * forceSync=yes and a small snapCount and preAllocSize, so logs roll, grow and snapshots are
 * written all the time, under the load of test/support/acked-writes.ts. At random moments
 * (seeded) the power is cut: the file system drops everything not durable, the server is
 * killed, the file system is mounted again from what survived and the server restarted on it.
 * Half the cuts strike in the middle of the next synced write (a prefix of it survives: a torn
 * log record), and now and then the power is also cut while the server starts. After each restart no acknowledged
 * write may be lost, nothing half-done may show (no half-applied multi, no deleted node back),
 * zxids only grow, and recovery must succeed: after a power cut a correctly syncing server has
 * nothing to refuse.
 *
 * Negative controls: the file system itself loses unsynced data (checked file by file), and
 * with forceSync=no the same cycles lose acknowledged writes, which the checks report.
 *
 * Needs root, /dev/fuse, fusermount (fuse3) and Debian's python3-fusepy. Seed:
 * ZEPHYR_POWERCUT_SEED=<seed>; number of cuts: ZEPHYR_POWERCUT_CUTS (default 50; fewer, but at
 * least 20, once ZEPHYR_POWERCUT_BUDGET_MS, default 150 s, has passed).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SeededRandom } from '../../src/base/index.js';
import { AckedWrites } from '../support/acked-writes.js';
import { RawClient } from '../support/raw-client.js';
import { sleep, type ServerProcess } from '../support/server-process.js';
import { startOn } from '../support/data-dir.js';
import { requireCommand, requireFile, requireRoot, within } from './durability-support.js';
import { PowerCutMount, POWERCUT_FS, SYSTEM_PYTHON } from './powercut-mount.js';

const SEED = Number(process.env['ZEPHYR_POWERCUT_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const CUTS = Number(process.env['ZEPHYR_POWERCUT_CUTS'] ?? 50);
/** On a slow machine the run stops early once this much time has passed, but never before 20 cuts. */
const BUDGET_MS = Number(process.env['ZEPHYR_POWERCUT_BUDGET_MS'] ?? 150000);
const MIN_CUTS = 20;
const CONFIG = { forceSync: 'yes', tickTime: '500', snapCount: '200', preAllocSize: '16' };

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

  test(`up to ${CUTS} power cuts under load lose no acknowledged write`, { timeout: 210000 }, async (t) => {
    const started = Date.now();
    const rng = new SeededRandom(SEED);
    const run = new PowerCutRun(newMount(), rng, CONFIG, `seed ${SEED}`, servers);
    await run.begin();
    for (let cycle = 0; cycle < CUTS && (cycle < MIN_CUTS || Date.now() - started < BUDGET_MS); cycle++) await run.cycle(cycle);
    await run.end();
    t.diagnostic(
      `${run.cuts} power cuts (${run.startupCuts} of them during start-up, ${run.mount.tornWrites()} in the middle of a write), ` +
        `${run.mount.mounts} mounts, ${run.tornTails} recoveries cut off a torn log tail; ${run.model.summary()}`,
    );
    t.diagnostic(
      `time: ${Date.now() - started} ms (load ${run.phase.load} ms, cut and remount ${run.phase.remount} ms, restarts ${run.phase.restart} ms, checks ${run.phase.verify} ms)`,
    );
    assert.ok(run.cuts >= Math.min(CUTS, MIN_CUTS));
    assert.ok(run.model.stats.acked >= 20 * CUTS, `only ${run.model.stats.acked} writes acknowledged: the load is too small to mean much`);
  });

  test(
    'negative control: with forceSync=no a power cut loses acknowledged writes, and the checks say so',
    { timeout: 60000 },
    async (t) => {
      const rng = new SeededRandom(SEED + 1);
      const run = new PowerCutRun(newMount(), rng, { ...CONFIG, forceSync: 'no' }, `seed ${SEED}, forceSync=no`, servers);
      await run.begin();
      let caught: Error | null = null;
      for (let cycle = 0; cycle < 5 && caught === null; cycle++) {
        try {
          await run.cycle(cycle);
        } catch (e) {
          caught = e as Error;
        }
      }
      await run.end();
      assert.ok(caught !== null, 'five power cuts without fsync lost nothing: the file system does not forget, or the checks miss it');
      assert.match(caught.message, /LOST/);
      t.diagnostic(
        `after ${run.cuts} cut(s): ${caught.message
          .split('\n')
          .find((l) => l.includes('LOST'))
          ?.trim()}`,
      );
    },
  );
});

function describeDataDir(dataDir: string): string {
  try {
    return readdirSync(path.join(dataDir, 'version-2')).join(' ') || '(an empty version-2)';
  } catch (e) {
    return `nothing readable (${(e as Error).message})`;
  }
}

/** Load, power cut, kill, remount, restart, check: one cycle at a time, on one mount. */
class PowerCutRun {
  readonly model: AckedWrites;
  readonly dataDir: string;
  server: ServerProcess | null = null;
  cuts = 0;
  startupCuts = 0;
  /** Restarts whose recovery cut off a torn log tail. */
  tornTails = 0;
  readonly phase = { load: 0, remount: 0, restart: 0, verify: 0 };

  constructor(
    readonly mount: PowerCutMount,
    private readonly rng: SeededRandom,
    private readonly config: Record<string, string>,
    private readonly label: string,
    private readonly servers: ServerProcess[],
  ) {
    this.model = new AckedWrites(rng, { label });
    this.dataDir = path.join(mount.mountpoint, 'data');
  }

  async begin(): Promise<void> {
    await this.mount.mount();
    this.server = await this.start();
    await this.model.setup(this.server);
  }

  async cycle(n: number): Promise<void> {
    const server = this.server;
    if (server === null) throw new Error('no server');
    let t0 = Date.now();
    const load = await this.model.start(server, n);
    await sleep(this.rng.chance(0.1) ? this.rng.int(20) : 20 + this.rng.int(900));
    if (this.rng.chance(0.5)) {
      // most often the next synced write is a log batch: the cut tears it
      await this.mount.tear(this.rng.int(2 ** 31));
      await sleep(this.rng.int(50));
    }
    await this.mount.cut();
    this.cuts++;
    await server.kill9();
    this.server = null;
    await within(30000, 'the load to stop', load.stop());
    this.phase.load += Date.now() - t0;
    t0 = Date.now();
    await this.remount();
    if (this.rng.chance(0.2)) await this.cutDuringStartup();
    this.phase.remount += Date.now() - t0;
    t0 = Date.now();
    this.server = await this.start(n);
    this.phase.restart += Date.now() - t0;
    t0 = Date.now();
    await within(60000, 'the checks after a restart', this.model.verify(this.server, n));
    this.phase.verify += Date.now() - t0;
  }

  async end(): Promise<void> {
    if (this.server !== null) await this.server.stop();
    this.server = null;
    await this.mount.unmount();
  }

  private async remount(): Promise<void> {
    await this.mount.unmount();
    await this.mount.mount();
  }

  /** Power fails again while the server recovers (it may die of EIO first, or be listening already). */
  private async cutDuringStartup(): Promise<void> {
    const starting = startOn(this.dataDir, this.config, { listenTimeoutMs: 20000 }).catch(() => null);
    await sleep(this.rng.int(400));
    await this.mount.cut();
    this.cuts++;
    this.startupCuts++;
    const server = await starting;
    if (server !== null) {
      this.servers.push(server);
      await server.kill9();
    }
    await this.remount();
  }

  private async start(cycle?: number): Promise<ServerProcess> {
    try {
      const server = await startOn(this.dataDir, this.config, { listenTimeoutMs: 20000 });
      this.servers.push(server);
      if (server.output().includes('truncating a torn txn log tail')) this.tornTails++;
      return server;
    } catch (e) {
      const when = cycle === undefined ? 'the first start' : `the restart after power cut ${cycle}`;
      throw new Error(`${when} failed (${this.label}); version-2 holds ${describeDataDir(this.dataDir)}\n${(e as Error).message}`);
    }
  }
}
