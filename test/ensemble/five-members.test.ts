/**
 * A 5-member ensemble keeps taking writes with two members down (the leader among them), stops
 * with three down (two of five are no quorum), and takes writes again when one comes back.
 *
 * Server: ZEPHYR_ENSEMBLE_SERVER=zk|zephyr (see test/support/ensemble-process.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/server-process.js';
import { ensembleForSuite, createUntilAcknowledged, syncedRead } from './ensemble-support.js';

describe('a 5-member ensemble', { timeout: 300000 }, () => {
  const getEnsemble = ensembleForSuite({ participants: 5 });

  test('survives two failures, not three, and recovers when a member returns', async (t) => {
    const ensemble = getEnsemble();
    const leader = await ensemble.leader();
    const follower = ensemble.participants.find((m) => m.id !== leader)!;
    await Promise.all([ensemble.kill9(leader), ensemble.kill9(follower.id)]);
    const alive = ensemble.participants.filter((m) => m.alive());
    assert.equal(alive.length, 3);
    const killedAt = Date.now();
    await createUntilAcknowledged(alive, '/two-down', 60000);
    t.diagnostic(`5 members, leader ${leader} and follower ${follower.id} killed: writes back after ${Date.now() - killedAt} ms`);

    const third = alive[0]!;
    await ensemble.kill9(third.id);
    const minority = alive.slice(1);
    await waitFor(
      'the two left to stop serving',
      async () => ((await Promise.all(minority.map((m) => m.mode()))).every((m) => m === undefined) ? true : undefined),
      60000,
    );

    await ensemble.restart(third.id);
    await createUntilAcknowledged(minority, '/three-again', 60000);
    for (const m of ensemble.participants.filter((x) => x.alive())) {
      assert.equal((await syncedRead(m, '/two-down')).err, 0, `member ${m.id}`);
    }
  });
});
