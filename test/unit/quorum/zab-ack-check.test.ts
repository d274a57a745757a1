/**
 * A leader drops a follower that does not ACK a proposal within syncLimit ticks, PINGs or not,
 * as ZooKeeper's LearnerHandler does (SyncLimitCheck); ZooKeeper's own two-slot bookkeeping.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OpCode } from '../../../src/codec/codes.js';
import { AckCheck } from '../../../src/quorum/zab/ack-check.js';
import { PacketType, ZabLeader, makeZxid, type ZabTxn } from '../../../src/quorum/zab/index.js';

describe('AckCheck', () => {
  test('nothing is timed before NEWLEADER is ACKed', () => {
    const c = new AckCheck();
    c.proposed(1, 0);
    assert.equal(c.overdue(100, 5), false);
  });

  test('the oldest unACKed proposal is timed; its ACK moves the wait to the newest', () => {
    const c = new AckCheck();
    c.start();
    c.proposed(1, 0);
    c.proposed(2, 1);
    c.proposed(3, 2);
    assert.equal(c.overdue(4, 5), false);
    assert.equal(c.overdue(5, 5), true, 'proposal 1 waited 5 ticks');
    c.acked(1);
    assert.equal(c.overdue(6, 5), false, 'now waiting for 3, sent at tick 2');
    assert.equal(c.overdue(7, 5), true);
    c.acked(3);
    assert.equal(c.overdue(100, 5), false, 'nothing waits');
  });

  test('a skipped ACK is never made up for by later ones', () => {
    const c = new AckCheck();
    c.start();
    c.proposed(1, 0);
    c.proposed(2, 0);
    c.acked(2);
    c.proposed(3, 1);
    c.acked(3);
    assert.equal(c.overdue(5, 5), true, 'proposal 1 was never ACKed');
  });
});

describe('a leader and a follower that stops ACKing', () => {
  test('is dropped syncLimit ticks after the proposal, though it still sends PINGs', () => {
    const leader = new ZabLeader({
      sid: 1,
      lastZxid: 0,
      acceptedEpoch: 0,
      currentEpoch: 0,
      voters: [1, 2, 3],
      initLimitTicks: 10,
      syncLimitTicks: 5,
    });
    for (const sid of [2, 3]) leader.receive(sid, { type: PacketType.followerInfo, acceptedEpoch: 0 });
    leader.epochWritten('acceptedEpoch', 1);
    for (const sid of [2, 3]) leader.receive(sid, { type: PacketType.ackEpoch, currentEpoch: 0, lastZxid: 0 });
    leader.epochWritten('currentEpoch', 1);
    for (const sid of [2, 3]) leader.receive(sid, { type: PacketType.ack, zxid: makeZxid(1, 0) });
    assert.ok(leader.isServing);
    const txn: ZabTxn = { zxid: makeZxid(1, 1), sessionId: 1n, cxid: 1, type: OpCode.create, bytes: new Uint8Array([1]) };
    assert.equal(leader.nextZxid(), txn.zxid);
    leader.propose(txn);
    leader.logged(txn.zxid);
    leader.receive(3, { type: PacketType.ack, zxid: txn.zxid });
    leader.take();
    const dropped: number[] = [];
    for (let t = 0; t < 6 && dropped.length === 0; t++) {
      leader.receive(2, { type: PacketType.ping, zxid: 0, touches: [] });
      leader.receive(3, { type: PacketType.ping, zxid: 0, touches: [] });
      leader.tick();
      for (const a of leader.take()) if (a.kind === 'disconnect') dropped.push(a.peer);
    }
    assert.deepEqual(dropped, [2], 'follower 2, which never ACKed, is dropped; 3 is kept');
    assert.ok(leader.isServing, 'the leader and follower 3 are still a quorum');
  });
});
