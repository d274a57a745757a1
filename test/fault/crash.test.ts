/**
 * Kill -9 at random moments, restart on the same dataDir, and check that nothing acknowledged
 * was lost: the load and its checks are test/support/acked-writes.ts (creates, sequential
 * creates, setData, deletes, failing creates, multis, and short sessions with an ephemeral
 * node, from several sessions; after each restart every acknowledged write is there, no multi
 * is half-applied, deletes stay done, sequential suffixes only grow, new zxids are above every
 * zxid seen).
 *
 * Kill moments come from a seeded PRNG (printed; rerun with ZEPHYR_FAULT_SEED=<seed>). The
 * interleaving of real processes is not replayable, so the seed fixes the plan (op mix, kill
 * delays, kills during start-up), not every byte.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { SeededRandom } from '../../src/base/index.js';
import { CreateMode } from '../../src/codec/index.js';
import { AckedWrites } from '../support/acked-writes.js';
import { RawClient } from '../support/raw-client.js';
import { runServerToExit, type ServerProcess } from '../support/server-process.js';
import { logFiles, snapshotFiles, startOn, tempDir } from './fault-support.js';

const SEED = Number(process.env['ZEPHYR_FAULT_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const CYCLES = Number(process.env['ZEPHYR_FAULT_CYCLES'] ?? 20);
/** Low snapCount: snapshots and log rolls happen all through the run. */
const CONFIG = {
  tickTime: '500',
  snapCount: '40',
  preAllocSize: '64',
};

process.stdout.write(`# crash test seed ${SEED} (rerun with ZEPHYR_FAULT_SEED=${SEED})\n`);

describe(`kill -9 at random moments (seed ${SEED})`, { timeout: 150000 }, () => {
  const dirs: string[] = [];
  let server: ServerProcess | null = null;
  after(async () => {
    // a failed check leaves its server running, which would keep the test process alive
    if (server?.alive() === true) await server.kill9();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test(`${CYCLES} kill/restart cycles lose no acknowledged write`, { timeout: 120000 }, async (t) => {
    t.diagnostic(`seed ${SEED}`);
    const rng = new SeededRandom(SEED);
    const dataDir = tempDir('crash');
    dirs.push(dataDir);
    const model = new AckedWrites(rng, { label: `seed ${SEED}` });
    let kills = 0;
    let startupKills = 0;

    server = await startOn(dataDir, CONFIG);
    await model.setup(server);

    const phase = { workload: 0, restart: 0, verify: 0 };
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      let t0 = Date.now();
      const load = await model.start(server, cycle);
      const killAfter = rng.chance(0.1) ? rng.int(20) : 20 + rng.int(900);
      await new Promise((resolve) => setTimeout(resolve, killAfter));
      await server.kill9();
      kills++;
      await load.stop();
      phase.workload += Date.now() - t0;
      t0 = Date.now();
      // ------------------------------------------------------------ restart (sometimes killed while starting)
      if (rng.chance(0.25)) {
        const r = await runServerToExit({ config: { dataDir, ...CONFIG } }, 30 + rng.int(400));
        assert.ok(r.timedOut, `the server exited by itself during start-up (cycle ${cycle}, seed ${SEED}):\n${r.output}`);
        startupKills++;
      }
      try {
        server = await startOn(dataDir, CONFIG);
      } catch (e) {
        const files = `snapshots: ${snapshotFiles(dataDir)
          .map((f) => f.name)
          .join(' ')}; logs: ${logFiles(dataDir)
          .map((f) => f.name)
          .join(' ')}`;
        assert.fail(`restart after kill ${cycle} failed (seed ${SEED}); ${files}\n${(e as Error).message}`);
      }
      phase.restart += Date.now() - t0;
      t0 = Date.now();
      await model.verify(server, cycle);
      phase.verify += Date.now() - t0;
    }
    t.diagnostic(`time: workload ${phase.workload} ms, restarts ${phase.restart} ms, verification ${phase.verify} ms`);
    await server.stop();
    t.diagnostic(`version-2 at the end: ${snapshotFiles(dataDir).length} snapshots, ${logFiles(dataDir).length} logs`);
    t.diagnostic(`${kills} kills (+${startupKills} during start-up); ${model.summary()}`);
    assert.ok(kills >= 20);
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
