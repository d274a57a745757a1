/**
 * The fault-injection test: a 3-member ensemble under kill -9, SIGSTOP and partitions (drop and
 * reset, of any member or of the leader) for ZEPHYR_JEPSEN_SECONDS (default 60) while five
 * clients do compare-and-set, sequential creates and reads. The history must be linearizable
 * for writes, with reads as ZooKeeper promises them (see sessionOrderReads in
 * test/support/znode-model.ts), and every acknowledged write must be there at the end.
 * ZEPHYR_JEPSEN_SEED replays a fault schedule (the seed is printed). stale-read.test.ts shows
 * why reads are checked that way.
 *
 * Server: ZEPHYR_ENSEMBLE_SERVER=zk|zephyr (see test/support/ensemble-process.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENSEMBLE_SERVERS, Ensemble } from '../support/ensemble-process.js';
import { describeCheck, runJepsen } from '../support/jepsen.js';

const SECONDS = Number(process.env['ZEPHYR_JEPSEN_SECONDS'] ?? '60');
const SEED = Number(process.env['ZEPHYR_JEPSEN_SEED'] ?? String(Math.floor(Math.random() * 2 ** 31)));
/** A follower notices a silent leader after syncLimit ticks: 5 x 1 s here. */
const CONFIG = { tickTime: '1000', initLimit: '10', syncLimit: '5' };
/** On a mixed ensemble both servers must lead at some point. */
const MIXED = ENSEMBLE_SERVERS !== undefined && new Set(ENSEMBLE_SERVERS).size > 1;

describe('linearizability under faults', () => {
  test(
    `${SECONDS} s of CAS, sequential creates and reads under kill -9, SIGSTOP and partitions`,
    { timeout: (SECONDS + 300) * 1000 },
    async (t) => {
      const ensemble = await Ensemble.start({ participants: 3, config: CONFIG });
      const ledBy = new Set<string>();
      try {
        const r = await runJepsen(ensemble, {
          seed: SEED,
          durationMs: SECONDS * 1000,
          clients: 5,
          keys: 3,
          requestTimeoutMs: 3000,
          sessionTimeoutMs: 10000,
          faultGapMs: [2000, 5000],
          faultLengthMs: [2000, 7000],
          opGapMs: Number(process.env['ZEPHYR_JEPSEN_GAP_MS'] ?? '4'),
          // until each server has led, the next fault kills the leader: the others elect a new one
          ...(MIXED && {
            killLeaderFirst: (leader: number) => {
              ledBy.add(ensemble.serverOf({ id: leader }));
              return ledBy.size < 2;
            },
          }),
        });
        const faultCounts: Record<string, number> = {};
        for (const f of r.faults) faultCounts[f.kind] = (faultCounts[f.kind] ?? 0) + 1;
        t.diagnostic(`seed ${SEED} (ZEPHYR_JEPSEN_SEED=${SEED} replays the fault schedule), ${ensemble.server}, ${SECONDS} s`);
        t.diagnostic(
          `operations: ${r.history.length} (${r.counts.ok} ok, ${r.counts.fail} failed, ${r.counts.info} indeterminate) ${JSON.stringify(r.counts.byKind)}`,
        );
        t.diagnostic(
          `faults: ${r.faults.length} ${JSON.stringify(faultCounts)}; unexpected error codes: ${JSON.stringify(r.counts.unexpectedErrors)}`,
        );
        t.diagnostic(
          `leaders as each fault began: ${r.faults.map((f) => (f.leader === -1 ? 'none' : `${f.leader} (${ensemble.serverOf({ id: f.leader })})`)).join(', ')}`,
        );
        t.diagnostic(
          `check: ${describeCheck(r)} in ${Math.round(r.checkMs)} ms; session anomalies ${r.sessionAnomalies.length}; lost writes ${r.lostWrites.length}; phantoms ${r.phantoms.length}`,
        );
        // a fault every 4-12 s: a 60 s run has at least 3 (a short run fewer)
        assert.ok(r.faults.length >= Math.min(3, Math.floor(SECONDS / 20)), 'the nemesis injected faults');
        assert.ok(r.counts.ok > 100, 'the clients got work done');
        if (MIXED) {
          const led = new Set(r.faults.filter((f) => f.leader !== -1).map((f) => ensemble.serverOf({ id: f.leader })));
          assert.deepEqual([...led].sort(), ['zephyr', 'zk'], 'both servers led while faults began');
        }
        assert.equal(r.check.result, 'ok', describeCheck(r));
        assert.deepEqual(r.sessionAnomalies, []);
        assert.deepEqual(r.lostWrites, []);
        assert.deepEqual(r.phantoms, []);
        assert.deepEqual(r.counts.unexpectedErrors, {});
      } catch (e) {
        t.diagnostic(ensemble.tails(15));
        throw e;
      } finally {
        await ensemble.close();
      }
    },
  );
});
