/**
 * A 3-member ensemble loses its leader to kill -9: the other two elect a new one and take writes
 * again (the time that takes is printed), and the old leader, restarted on its data dir, rejoins
 * as a follower and catches up. Then a follower cut off from both others by the fault proxies
 * stops serving, and serves again, caught up, once the links heal: every link between members
 * really runs through a proxy. Last, the leader itself is cut off (its process runs on): the other
 * two elect a new leader and take writes, the old one stops serving, and rejoins as a follower
 * once the links heal, without the writes it could not have committed alone.
 *
 * Server: ZEPHYR_ENSEMBLE_SERVER=zk|zephyr (see test/support/ensemble-process.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/server-process.js';
import { ensembleForSuite, createUntilAcknowledged, syncedRead, withClient } from './ensemble-support.js';

describe('failover of a 3-member ensemble', { timeout: 300000 }, () => {
  const getEnsemble = ensembleForSuite({ participants: 3 });

  test('kill -9 of the leader: a new leader takes writes, the old one rejoins and catches up', async (t) => {
    const ensemble = getEnsemble();
    const oldLeader = await ensemble.leader();
    const survivors = ensemble.participants.filter((m) => m.id !== oldLeader);
    // before its epoch's first txn a leader reports the epoch's zxid 0 as its last (ZooKeeper's Leader.startZkServer)
    const firstZxid = await ensemble.member(oldLeader).zxid();
    assert.ok(
      firstZxid !== undefined && firstZxid > 0 && firstZxid % 2 ** 32 === 0,
      `leader's zxid before any write: ${firstZxid?.toString(16)}`,
    );
    await withClient(survivors[0]!, async (c) => assert.equal((await c.create('/before', Buffer.from('b'))).err, 0));

    const killedAt = Date.now();
    await ensemble.kill9(oldLeader);
    const took = await createUntilAcknowledged(survivors, '/after-failover', 60000);
    const failoverMs = Date.now() - killedAt;
    const newLeader = await ensemble.leader(30000);
    t.diagnostic(
      `failover: ${failoverMs} ms from kill -9 of leader ${oldLeader} to a write acknowledged by member ${took.id} (new leader ${newLeader})`,
    );
    assert.notEqual(newLeader, oldLeader);
    assert.ok(
      survivors.some((m) => m.id === newLeader),
      'the new leader is a survivor',
    );

    for (let i = 0; i < 20; i++) {
      await withClient(took, async (c) => assert.equal((await c.create(`/while-down-${i}`)).err, 0));
    }

    const restarted = ensemble.member(oldLeader);
    assert.equal(await ensemble.restart(oldLeader), 'follower');
    const leaderZxid = await ensemble.member(newLeader).zxid();
    assert.ok(leaderZxid !== undefined);
    await waitFor('the restarted member to catch up', async () => ((await restarted.zxid()) ?? -1) >= leaderZxid || undefined, 30000);
    for (const path of ['/before', '/after-failover', '/while-down-19']) {
      assert.equal((await syncedRead(restarted, path)).err, 0, `${path} at the restarted member`);
    }
    await withClient(restarted, async (c) => assert.equal((await c.create('/via-restarted')).err, 0));
    assert.equal((await syncedRead(ensemble.member(newLeader), '/via-restarted')).err, 0);
  });

  test('a follower cut off by the proxies stops serving, and serves again caught up once the links heal', async () => {
    const ensemble = getEnsemble();
    const leader = await ensemble.leader();
    const follower = ensemble.participants.find((m) => m.id !== leader)!;
    const others = ensemble.participants.filter((m) => m !== follower);
    ensemble.isolate(follower.id, 'drop');
    try {
      // It notices the silent leader within syncLimit ticks and goes back to election.
      await waitFor('the isolated follower to stop serving', async () => ((await follower.mode()) === undefined ? true : undefined), 60000);
      await createUntilAcknowledged(others, '/while-isolated', 30000);
      assert.equal(await ensemble.leader(), leader, 'the majority keeps its leader');
    } finally {
      ensemble.heal();
    }
    await waitFor('the follower to serve again', async () => ((await follower.mode()) === 'follower' ? true : undefined), 90000);
    assert.equal((await syncedRead(follower, '/while-isolated')).err, 0);
  });

  test('a leader cut off by the proxies steps down; the others elect a new one; it rejoins as a follower', async (t) => {
    const ensemble = getEnsemble();
    const leader = await ensemble.leader();
    const old = ensemble.member(leader);
    const others = ensemble.participants.filter((m) => m.id !== leader);
    const cutAt = Date.now();
    ensemble.isolate(leader, 'drop');
    let writeMs: number;
    try {
      const took = await createUntilAcknowledged(others, '/after-leader-cut', 60000);
      writeMs = Date.now() - cutAt;
      await waitFor('the cut-off leader to stop serving', async () => ((await old.mode()) === undefined ? true : undefined), 60000);
      const newLeader = await ensemble.leader(30000);
      assert.notEqual(newLeader, leader, 'a member alone cannot lead');
      t.diagnostic(`leader ${leader} cut off: a write acknowledged by member ${took.id} after ${writeMs} ms (new leader ${newLeader})`);
    } finally {
      ensemble.heal();
    }
    await waitFor('the old leader to serve again', async () => ((await old.mode()) === 'follower' ? true : undefined), 90000);
    assert.equal((await syncedRead(old, '/after-leader-cut')).err, 0, 'the old leader caught up');
    await withClient(old, async (c) => assert.equal((await c.create('/via-old-leader')).err, 0));
  });
});
