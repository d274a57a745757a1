/**
 * Kill -9 at random moments, restart on the same dataDir, and check what survived against the
 * crash model: the load, the cycles and every check are test/support/crash-run.ts (with
 * crash-model.ts and crash-workload.ts), shared with the power-cut test; this file is the
 * kill. The server runs with a low snapCount, so snapshots and log rolls happen all through
 * the run, and a quick container reaper. A quarter of the restarts are killed again during
 * start-up first. A kill leaves the disk as it was, so a server may restore the sessions as
 * soon as the old one is gone: a restored session's timeout is counted from the kill.
 *
 * Kill moments and the session plan come from a seeded PRNG (printed; rerun with
 * ZEPHYR_FAULT_SEED=<seed>, and set ZEPHYR_FAULT_CYCLES for more cycles). The interleaving of
 * real processes is not replayable, so the seed fixes the plan (kill delays, kills during
 * start-up, session kinds and closes, the seed of each session's own choices), not every byte.
 *
 * The second test: a session that re-attaches within its timeout after kill -9 keeps its
 * ephemerals, one that does not loses them, and a closed session stays closed.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { SeededRandom } from '../../src/base/index.js';
import { CreateMode } from '../../src/codec/index.js';
import { CRASH_RUN_CONFIG, CrashRun, type Fault, type Restarted } from '../support/crash-run.js';
import { startOn } from '../support/data-dir.js';
import { RawClient } from '../support/raw-client.js';
import { runServerToExit, type ServerProcess } from '../support/server-process.js';
import { tempDir } from './fault-support.js';

const SEED = Number(process.env['ZEPHYR_FAULT_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const CYCLES = Number(process.env['ZEPHYR_FAULT_CYCLES'] ?? 40);
/** About 1.5-2.5 s a cycle here (2 shared cores); room for a machine three times slower. */
const TEST_TIMEOUT_MS = 60000 + CYCLES * 6000;
/** Low snapCount: snapshots and log rolls happen all through the run. */
const CONFIG = { ...CRASH_RUN_CONFIG, snapCount: '40', preAllocSize: '64' };

process.stdout.write(`# crash test seed ${SEED} (rerun with ZEPHYR_FAULT_SEED=${SEED})\n`);

/** kill -9; a quarter of the restarts are killed during start-up first (30-430 ms in). */
class KillNine implements Fault {
  readonly name = 'kills';
  private killAt = 0;
  constructor(
    private readonly dataDir: string,
    private readonly plan: SeededRandom,
  ) {}

  start(): Promise<ServerProcess> {
    return startOn(this.dataDir, CONFIG);
  }

  async strike(server: ServerProcess): Promise<void> {
    this.killAt = Date.now();
    await server.kill9();
  }

  async restart(mayStrikeDuringStartup: boolean): Promise<Restarted> {
    const struckDuringStartup = mayStrikeDuringStartup && this.plan.chance(0.25);
    if (struckDuringStartup) {
      const r = await runServerToExit({ config: { dataDir: this.dataDir, ...CONFIG } }, 30 + this.plan.int(400));
      assert.ok(r.timedOut, `the server exited by itself during start-up:\n${r.output}`);
    }
    return { server: await this.start(), sessionClockFrom: this.killAt, struckDuringStartup };
  }
}

describe(`kill -9 at random moments (seed ${SEED})`, { timeout: TEST_TIMEOUT_MS + 60000 }, () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test(`${CYCLES} kill/restart cycles lose no acknowledged write and show nothing unexplained`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    t.diagnostic(`seed ${SEED}`);
    const dataDir = tempDir('crash');
    dirs.push(dataDir);
    const started = Date.now();
    const plan = new SeededRandom(SEED);
    const run = new CrashRun({ seed: SEED, plan, dataDir, fault: new KillNine(dataDir, plan) });
    try {
      await run.start();
      for (let cycle = 0; cycle < CYCLES; cycle++) await run.cycle(cycle);
      await run.finish();
      await run.server.stop();
    } finally {
      await run.dispose();
    }
    run.report(t, Date.now() - started);
    run.assertMinimums();
  });

  test(
    'a session that re-attaches within its timeout after kill -9 keeps its ephemerals; one that does not loses them',
    { timeout: 40000 },
    async () => {
      const dataDir = tempDir('eph');
      dirs.push(dataDir);
      const config = { tickTime: '500' }; // session timeouts 1 s .. 10 s
      let server = await startOn(dataDir, config);
      const a = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 10000 });
      const b = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 1000 });
      assert.equal(a.negotiatedTimeout, 10000);
      assert.equal((await a.create('/eph', Buffer.alloc(0))).err, 0);
      const mine = ['/eph/a1', '/eph/a2'];
      for (const p of mine) assert.equal((await a.create(p, Buffer.from(p), { flags: CreateMode.EPHEMERAL })).err, 0);
      const seq = await a.create('/eph/aseq-', Buffer.alloc(0), { flags: CreateMode.EPHEMERAL_SEQUENTIAL });
      assert.equal(seq.err, 0);
      mine.push(seq.path ?? '');
      assert.equal((await b.create('/eph/b1', Buffer.alloc(0), { flags: CreateMode.EPHEMERAL })).err, 0);
      const session = { id: a.sessionId, passwd: a.passwd };
      a.destroy();
      b.destroy();

      for (let round = 0; round < 2; round++) {
        await server.kill9();
        server = await startOn(dataDir, config);
        const again = await RawClient.connect({
          host: server.host,
          port: server.port,
          timeoutMs: 10000,
          sessionId: session.id,
          passwd: session.passwd,
          keepAliveMs: 1000,
        });
        assert.equal(again.expired, false, `round ${round}: the session survived the restart`);
        assert.equal(again.sessionId, session.id);
        for (const p of mine) {
          const r = await again.exists(p);
          assert.equal(r.err, 0, `round ${round}: ${p} kept`);
          assert.equal(r.stat?.ephemeralOwner, session.id, `round ${round}: ${p} still owned by the session`);
        }
        assert.deepEqual((await again.getEphemerals('/eph')).paths?.sort(), [...mine].sort());
        // b never comes back: its ephemeral goes once its 1 s timeout has run out after the restart.
        const deadline = Date.now() + 8000;
        while ((await again.exists('/eph/b1')).err === 0) {
          assert.ok(Date.now() < deadline, `round ${round}: /eph/b1 outlived its session's timeout`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        for (const p of mine) assert.equal((await again.exists(p)).err, 0, `round ${round}: ${p} kept after b expired`);
        again.destroy();
      }
      // A closed session's ephemerals are gone for good, also after kill -9 and restart.
      const last = await RawClient.connect({
        host: server.host,
        port: server.port,
        timeoutMs: 10000,
        sessionId: session.id,
        passwd: session.passwd,
      });
      assert.equal(last.expired, false);
      await last.close();
      await server.kill9();
      server = await startOn(dataDir, config);
      const check = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 10000 });
      assert.deepEqual((await check.getChildren('/eph')).children, []);
      const gone = await RawClient.connect({
        host: server.host,
        port: server.port,
        timeoutMs: 10000,
        sessionId: session.id,
        passwd: session.passwd,
      });
      assert.equal(gone.expired, true, 'a closed session cannot be re-attached after a restart');
      check.destroy();
      gone.destroy();
      await server.stop();
    },
  );
});
