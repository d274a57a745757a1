/**
 * A learner's syncDone comes only once every commit the leader sent before its SYNC is applied
 * here: a COMMIT may wait for the local log, and a sync answered before it would miss a write
 * acknowledged elsewhere (found by the ensemble simulation, test/sim/ensemble-sim.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketType, ZabLearner, makeZxid, type ZabAction } from '../../../src/quorum/zab/index.js';

function kinds(actions: ZabAction[]): string[] {
  return actions.map((a) => (a.kind === 'send' ? `send ${a.message.type}` : a.kind));
}

/** A follower (initLimit 10 ticks, syncLimit 5) that has accepted epoch 1 from leader 1. */
function inEpochOne(): ZabLearner {
  const l = new ZabLearner({
    sid: 2,
    leader: 1,
    observer: false,
    lastZxid: 0,
    acceptedEpoch: 0,
    currentEpoch: 0,
    initLimitTicks: 10,
    syncLimitTicks: 5,
  });
  l.connected();
  l.receive({ type: PacketType.leaderInfo, epoch: 1 });
  l.epochWritten('acceptedEpoch', 1);
  return l;
}

/** A follower synced with an empty DIFF in epoch 1, serving. */
function servingFollower(): ZabLearner {
  const l = inEpochOne();
  l.receive({ type: PacketType.diff, zxid: 0 });
  l.receive({ type: PacketType.newLeader, zxid: makeZxid(1, 0) });
  l.epochWritten('currentEpoch', 1);
  l.receive({ type: PacketType.upToDate });
  assert.ok(l.isServing);
  l.take();
  return l;
}

test('syncDone waits for the commits before the SYNC to apply', () => {
  const l = servingFollower();
  const zxid = makeZxid(1, 1);
  l.receive({ type: PacketType.proposal, txn: { zxid, sessionId: 5n, cxid: 1, type: 1, bytes: new Uint8Array(0) } });
  l.receive({ type: PacketType.commit, zxid });
  l.receive({ type: PacketType.sync });
  assert.deepEqual(kinds(l.take()), ['append'], 'the txn is not logged here yet: neither apply nor syncDone');
  l.logged(zxid);
  assert.deepEqual(kinds(l.take()), ['apply', 'syncDone', 'send 3'], 'apply, then syncDone (and the ACK, committed or not)');
});

test('a proposal committed before it is logged here is still ACKed once logged', () => {
  // ZooKeeper's leader waits for an ACK of each proposal it sent and drops a learner whose
  // oldest unACKed one is older than syncLimit (LearnerHandler's SyncLimitCheck)
  const l = servingFollower();
  const zxid = makeZxid(1, 1);
  l.receive({ type: PacketType.proposal, txn: { zxid, sessionId: 5n, cxid: 1, type: 1, bytes: new Uint8Array(0) } });
  l.receive({ type: PacketType.commit, zxid });
  l.take();
  l.logged(zxid);
  const acks = l.take().filter((a) => a.kind === 'send' && a.message.type === PacketType.ack);
  assert.deepEqual(
    acks.map((a) => (a.kind === 'send' && a.message.type === PacketType.ack ? a.message.zxid : null)),
    [zxid],
  );
});

test('what a DIFF committed before NEWLEADER is not ACKed; what it left uncommitted is', () => {
  const l = inEpochOne();
  const txn = (counter: number) => ({ zxid: makeZxid(0, counter), sessionId: 5n, cxid: counter, type: 1, bytes: new Uint8Array(0) });
  l.receive({ type: PacketType.diff, zxid: makeZxid(0, 2) });
  l.receive({ type: PacketType.proposal, txn: txn(1) });
  l.receive({ type: PacketType.commit, zxid: makeZxid(0, 1) });
  l.receive({ type: PacketType.proposal, txn: txn(2) });
  l.receive({ type: PacketType.newLeader, zxid: makeZxid(1, 0) });
  l.logged(makeZxid(0, 1));
  l.logged(makeZxid(0, 2));
  l.epochWritten('currentEpoch', 1);
  const acks = l.take().flatMap((a) => (a.kind === 'send' && a.message.type === PacketType.ack ? [a.message.zxid] : []));
  assert.deepEqual(acks, [makeZxid(1, 0), makeZxid(0, 2)], 'NEWLEADER first, then the uncommitted proposal only');
});

test('a SYNC with everything applied is answered at once', () => {
  const l = servingFollower();
  l.receive({ type: PacketType.sync });
  assert.deepEqual(kinds(l.take()), ['syncDone']);
});

/** A follower told to sync by SNAP, its transfer still arriving (initLimit 10 ticks). */
function loadingSnap(): ZabLearner {
  const l = inEpochOne();
  l.receive({ type: PacketType.snap, zxid: makeZxid(1, 0) });
  l.take();
  return l;
}

function gaveUp(actions: ZabAction[]): boolean {
  return actions.some((a) => a.kind === 'looking');
}

test('a SNAP transfer longer than initLimit keeps the learner as long as its bytes keep coming', () => {
  const l = loadingSnap();
  for (let t = 0; t < 30; t++) {
    l.heard(); // a record of the transfer, no packet
    l.tick();
    assert.ok(!gaveUp(l.take()), `gave up at tick ${t + 1} while the transfer was arriving`);
  }
  l.receive({ type: PacketType.newLeader, zxid: makeZxid(1, 0) });
  assert.ok(!gaveUp(l.take()));
});

test('a SNAP transfer that goes silent ends the term after initLimit ticks', () => {
  const l = loadingSnap();
  const ticks: number[] = [];
  for (let t = 1; t <= 12; t++) {
    l.tick();
    if (gaveUp(l.take())) ticks.push(t);
  }
  assert.deepEqual(ticks, [11], 'the term ends at the first tick past initLimit');
});

test('txns a SNAP already holds, forwarded after it as ZooKeeper forwards them, are skipped', () => {
  // ZooKeeper's leader forwards from its tree's zxid, then names a later tree zxid in the SNAP
  const l = inEpochOne();
  const txn = (counter: number) => ({ zxid: makeZxid(0, counter), sessionId: 5n, cxid: counter, type: 1, bytes: new Uint8Array(0) });
  l.receive({ type: PacketType.snap, zxid: makeZxid(0, 2) });
  l.receive({ type: PacketType.proposal, txn: txn(2) });
  l.receive({ type: PacketType.commit, zxid: makeZxid(0, 2) });
  l.receive({ type: PacketType.proposal, txn: txn(3) });
  assert.ok(!l.isDone, 'still syncing');
  const appended = l.take().flatMap((a) => (a.kind === 'append' ? [a.txn.zxid] : []));
  assert.deepEqual(appended, [makeZxid(0, 3)], 'only the txn the snapshot does not hold is logged');
});
