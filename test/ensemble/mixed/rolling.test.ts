/**
 * A rolling migration, as an operator does it: a 3-member Apache ZooKeeper 3.8.0 ensemble is
 * moved to ZephyrCoord one member at a time (stop the member with SIGTERM, start ZephyrCoord on
 * the same myid, zoo.cfg and dataDir), followers first and the leader last, and then back to
 * ZooKeeper the same way. Five clients run the fault test's workload throughout (compare-and-set,
 * sequential creates, reads), each keeping its session across connection losses by re-attaching
 * it at another member. Checked at the end, as in the fault test: the history is linearizable,
 * no session read went back in time, every acknowledged write is at every member; and no
 * session expired while its client was within its timeout.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { Ensemble, type EnsembleServer } from '../../support/ensemble-process.js';
import { describeCheck, runJepsen, type JepsenResult } from '../../support/jepsen.js';
import { fourLetterWord, sleep, waitFor } from '../../support/server-process.js';

const SEED = Number(process.env['ZEPHYR_JEPSEN_SEED'] ?? String(Math.floor(Math.random() * 2 ** 31)));
/** How long the clients keep working on each new member before the next one goes. */
const SETTLE_MS = 3000;

/** Followers first, then the leader. */
async function migrationOrder(ensemble: Ensemble): Promise<number[]> {
  const leader = await ensemble.leader();
  return [...ensemble.participants.map((m) => m.id).filter((id) => id !== leader), leader];
}

interface Step {
  id: number;
  to: EnsembleServer;
  /** From the stop to the member serving again. */
  downMs: number;
  /** From serving again to holding the leader's zxid of that moment. */
  catchUpMs: number;
  mode: string;
  /** The members' servers and the leader once the member caught up, e.g. `zephyr,zk,zk led by 1 (zephyr)`. */
  after: string;
  mixedLeader: EnsembleServer | undefined;
}

async function moveEveryMember(ensemble: Ensemble, to: EnsembleServer, faults: JepsenResult['faults'], steps: Step[]): Promise<void> {
  for (const id of await migrationOrder(ensemble)) {
    faults.push({ kind: 'replace', member: id, at: performance.now(), leader: await ensemble.leader(30000).catch(() => -1) });
    const stopped = performance.now();
    const mode = await ensemble.replace(id, to);
    const serving = performance.now();
    assert.match(mode, /^(leader|follower)$/, `member ${id} serves again as ${to}`);
    const version = /^Zookeeper version: (.*)$/m.exec(await fourLetterWord(ensemble.member(id).ports.client, 'srvr'))?.[1] ?? '';
    assert.equal(version.includes('zephyr-coord'), to === 'zephyr', `member ${id} runs ${to}: srvr says ${version}`);
    const leaderZxid = await ensemble.member(await ensemble.leader()).zxid();
    assert.ok(leaderZxid !== undefined);
    await waitFor(
      `member ${id} to catch up`,
      async () => (((await ensemble.member(id).zxid()) ?? -1) >= leaderZxid ? true : undefined),
      30000,
    );
    const caughtUp = performance.now();
    const leader = await ensemble.leader();
    const servers = ensemble.members.map((m) => ensemble.serverOf(m));
    const mixed = new Set(servers).size > 1;
    const after = `${servers.join(',')} led by ${leader} (${ensemble.serverOf({ id: leader })})`;
    steps.push({
      id,
      to,
      mode,
      downMs: serving - stopped,
      catchUpMs: caughtUp - serving,
      after,
      mixedLeader: mixed ? ensemble.serverOf({ id: leader }) : undefined,
    });
    await sleep(SETTLE_MS);
  }
}

describe('rolling migration between Apache ZooKeeper 3.8.0 and ZephyrCoord', () => {
  test('ZooKeeper to ZephyrCoord and back, member by member, under load', { timeout: 600_000 }, async (t) => {
    const ensemble = await Ensemble.start({ servers: ['zk', 'zk', 'zk'], proxied: false });
    const steps: Step[] = [];
    const leaders: string[] = [];
    try {
      const r = await runJepsen(ensemble, {
        seed: SEED,
        durationMs: 0,
        clients: 5,
        keys: 3,
        requestTimeoutMs: 3000,
        sessionTimeoutMs: 10000,
        faultGapMs: [0, 0],
        faultLengthMs: [0, 0],
        opGapMs: 4,
        resumeSessions: true,
        nemesis: async (e, faults) => {
          await sleep(SETTLE_MS);
          await moveEveryMember(e, 'zephyr', faults, steps);
          leaders.push(`all ZephyrCoord: leader ${await e.leader()}`);
          await moveEveryMember(e, 'zk', faults, steps);
          leaders.push(`all ZooKeeper again: leader ${await e.leader()}`);
        },
      });
      t.diagnostic(`seed ${SEED}; ${leaders.join('; ')}`);
      for (const s of steps) {
        t.diagnostic(
          `member ${s.id} -> ${s.to}: serving as ${s.mode} ${Math.round(s.downMs)} ms after its stop, caught up ${Math.round(s.catchUpMs)} ms later; ${s.after}`,
        );
      }
      t.diagnostic(
        `operations: ${r.history.length} (${r.counts.ok} ok, ${r.counts.fail} failed, ${r.counts.info} indeterminate: connection lost or no answer); sessions re-attached ${r.resumed}`,
      );
      t.diagnostic(
        `check: ${describeCheck(r)}; session anomalies ${r.sessionAnomalies.length}; lost writes ${r.lostWrites.length}; expired sessions ${r.expiredSessions.length}`,
      );
      assert.equal(steps.length, 6, 'every member moved there and back');
      // each implementation led the other's members at some step
      assert.ok(
        steps.some((s) => s.mixedLeader === 'zephyr') && steps.some((s) => s.mixedLeader === 'zk'),
        'both servers led a mixed ensemble',
      );
      assert.ok(r.counts.ok > 100, 'the clients got work done');
      assert.ok(r.resumed > 0, 'sessions were moved between members');
      assert.equal(r.check.result, 'ok', describeCheck(r));
      assert.deepEqual(r.sessionAnomalies, []);
      assert.deepEqual(r.lostWrites, []);
      assert.deepEqual(r.phantoms, []);
      assert.deepEqual(r.expiredSessions, []);
      assert.deepEqual(r.counts.unexpectedErrors, {});
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${ensemble.tails(30)}`);
    } finally {
      await ensemble.close();
    }
  });
});
