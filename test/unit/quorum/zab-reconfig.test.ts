/**
 * Dynamic reconfiguration in the ZAB cores, as ZooKeeper 3.8's Leader and Learner run it: a
 * reconfig's proposal and every one after it need a quorum of the config in force and of the
 * one proposed; its commit is COMMITANDACTIVATE to followers and INFORMANDACTIVATE to
 * observers, naming the leader of the new config; a leader that hands over commits nothing more.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OpCode } from '../../../src/codec/codes.js';
import {
  PacketType,
  ZabLeader,
  ZabLearner,
  decodeToLearner,
  encodeToLearner,
  makeZxid,
  type Sid,
  type ZabAction,
  type ZabQuorum,
  type ZabTxn,
} from '../../../src/quorum/zab/index.js';

const EPOCH = 1;

function majority(version: number, voters: readonly Sid[]): ZabQuorum {
  const set = new Set(voters);
  return { version, voters: set, containsQuorum: (sids) => [...sids].filter((s) => set.has(s)).length * 2 > set.size };
}

function txn(counter: number, type: number = OpCode.create): ZabTxn {
  return { zxid: makeZxid(EPOCH, counter), sessionId: 1n, cxid: counter, type, bytes: new Uint8Array([counter]) };
}

function sent(actions: ZabAction[]): string[] {
  return actions.flatMap((a) => {
    if (a.kind !== 'send') return a.kind === 'activate' ? [`activate ${a.txn.zxid - makeZxid(EPOCH, 0)} -> ${a.designated}`] : [];
    const m = a.message;
    const what =
      m.type === PacketType.commitAndActivate
        ? `COMMITANDACTIVATE ${m.designated}`
        : m.type === PacketType.informAndActivate
          ? `INFORMANDACTIVATE ${m.designated}`
          : String(m.type);
    return [`${a.to}: ${what}`];
  });
}

/**
 * Leader 1 of voters 1-3, serving epoch 1, with `followers` (FOLLOWERINFO, voters or not) and
 * `observers` (OBSERVERINFO) synced.
 */
function servingLeader(followers: readonly Sid[], observers: readonly Sid[] = []): ZabLeader {
  const leader = new ZabLeader({
    sid: 1,
    lastZxid: 0,
    acceptedEpoch: 0,
    currentEpoch: 0,
    voters: [1, 2, 3],
    initLimitTicks: 10,
    syncLimitTicks: 5,
  });
  for (const sid of followers) leader.receive(sid, { type: PacketType.followerInfo, acceptedEpoch: 0 });
  for (const sid of observers) leader.receive(sid, { type: PacketType.observerInfo, acceptedEpoch: 0 });
  leader.epochWritten('acceptedEpoch', EPOCH);
  for (const sid of [...followers, ...observers]) leader.receive(sid, { type: PacketType.ackEpoch, currentEpoch: 0, lastZxid: 0 });
  leader.epochWritten('currentEpoch', EPOCH);
  for (const sid of [...followers, ...observers]) leader.receive(sid, { type: PacketType.ack, zxid: makeZxid(EPOCH, 0) });
  assert.ok(leader.isServing, 'the leader serves');
  leader.take();
  return leader;
}

function ack(leader: ZabLeader, zxid: number, sids: readonly Sid[]): void {
  for (const sid of sids) leader.receive(sid, { type: PacketType.ack, zxid });
}

function propose(leader: ZabLeader, t: ZabTxn, reconfig?: { quorum: ZabQuorum; leaderStays: boolean }): void {
  assert.equal(leader.nextZxid(), t.zxid);
  leader.propose(t, reconfig);
  leader.logged(t.zxid);
}

describe('reconfig in the ZAB leader', () => {
  test('adding a voter: the reconfig and what follows need a quorum of both configs; its commit activates it', () => {
    // 4 is a follower that is not a voter yet (a joiner), 5 an observer
    const leader = servingLeader([2, 3, 4], [5]);
    const next = majority(makeZxid(EPOCH, 1), [1, 2, 3, 4]);
    assert.equal(leader.isQuorumSynced(next), true, 'voters 1-4 are all synced');
    assert.equal(leader.isQuorumSynced(majority(1, [1, 6, 7])), false, 'only the leader of 1, 6, 7 is synced');
    propose(leader, txn(1, OpCode.reconfig), { quorum: next, leaderStays: true });
    assert.equal(leader.reconfigInFlight, true);
    propose(leader, txn(2));
    leader.take();
    // 1 and 2 are a quorum of 1-3 but not of 1-4
    ack(leader, makeZxid(EPOCH, 1), [2]);
    ack(leader, makeZxid(EPOCH, 2), [2]);
    assert.deepEqual(sent(leader.take()), [], 'no commit without a quorum of the proposed config');
    ack(leader, makeZxid(EPOCH, 1), [4]);
    assert.deepEqual(sent(leader.take()), [
      '2: COMMITANDACTIVATE 1',
      '3: COMMITANDACTIVATE 1',
      '4: COMMITANDACTIVATE 1',
      '5: INFORMANDACTIVATE 1',
      'activate 1 -> 1',
    ]);
    assert.equal(leader.reconfigInFlight, false);
    // the txn after it needed both quorums too; 1, 2 and 4 are a quorum of the new config
    ack(leader, makeZxid(EPOCH, 2), [4]);
    assert.deepEqual(sent(leader.take()), ['2: 4', '3: 4', '4: 4', '5: 8']);
  });

  test('removing the leader: it names the voter that ACKed the most of what is in flight, then commits nothing more', () => {
    const leader = servingLeader([2, 3]);
    propose(leader, txn(1, OpCode.reconfig), { quorum: majority(makeZxid(EPOCH, 1), [2, 3]), leaderStays: false });
    propose(leader, txn(2));
    propose(leader, txn(3));
    leader.take();
    ack(leader, makeZxid(EPOCH, 2), [2, 3]);
    ack(leader, makeZxid(EPOCH, 3), [3]);
    ack(leader, makeZxid(EPOCH, 1), [2, 3]);
    assert.deepEqual(sent(leader.take()), ['2: COMMITANDACTIVATE 3', '3: COMMITANDACTIVATE 3', 'activate 1 -> 3']);
    ack(leader, makeZxid(EPOCH, 3), [2]);
    assert.deepEqual(sent(leader.take()), [], 'the old leader commits nothing after handing over');
  });

  test('while a reconfig is in flight, each tick needs a synced quorum of the proposed config too', () => {
    const leader = servingLeader([2, 3]);
    // a proposed config whose voters (1, 6, 7) are not synced: the leader gives up at its next tick
    propose(leader, txn(1, OpCode.reconfig), { quorum: majority(makeZxid(EPOCH, 1), [1, 6, 7]), leaderStays: true });
    leader.take();
    leader.tick();
    assert.deepEqual(
      leader.take().map((a) => a.kind),
      ['disconnect', 'disconnect', 'looking'],
    );
  });

  test('a reconfig comes with its config, and only one is in flight at a time', () => {
    const leader = servingLeader([2, 3]);
    assert.throws(() => leader.propose(txn(1, OpCode.reconfig)), /comes with its config/);
    propose(leader, txn(1, OpCode.reconfig), { quorum: majority(makeZxid(EPOCH, 1), [1, 2]), leaderStays: true });
    assert.throws(
      () => leader.propose(txn(2, OpCode.reconfig), { quorum: majority(makeZxid(EPOCH, 2), [1, 2]), leaderStays: true }),
      /in flight/,
    );
  });
});

/**
 * Leader 1 starting with a reconfig in its log that no one saw committed: committed voters 1-3,
 * last seen `lastSeen` (voters `lastSeenVoters`). Followers 2-5 get through discovery; the
 * NEWLEADER ACKs come from `acks`. Returns the actions from the last ACK on.
 */
function establishWithLastSeen(
  lastSeenVoters: readonly Sid[],
  leaderStays: boolean,
  acks: readonly Sid[],
): { epoch: number; designated?: Sid } | undefined {
  const leader = new ZabLeader({
    sid: 1,
    lastZxid: 0,
    acceptedEpoch: 0,
    currentEpoch: 0,
    voters: [1, 2, 3],
    nextQuorum: { quorum: majority(7, lastSeenVoters), leaderStays },
    initLimitTicks: 10,
    syncLimitTicks: 5,
  });
  const followers = [2, 3, 4, 5];
  for (const sid of followers) leader.receive(sid, { type: PacketType.followerInfo, acceptedEpoch: 0 });
  leader.epochWritten('acceptedEpoch', EPOCH);
  for (const sid of followers) leader.receive(sid, { type: PacketType.ackEpoch, currentEpoch: 0, lastZxid: 0 });
  leader.epochWritten('currentEpoch', EPOCH);
  leader.take();
  for (const sid of acks) leader.receive(sid, { type: PacketType.ack, zxid: makeZxid(EPOCH, 0) });
  return servingOf(leader);
}

/** The epoch a leader serves, and who leads the membership it established with. */
function servingOf(leader: ZabLeader): { epoch: number; designated?: Sid } | undefined {
  const a = leader.take().find((x) => x.kind === 'serving');
  const designated = leader.designatedLeader;
  return a?.kind === 'serving' ? { epoch: a.epoch, ...(designated !== null && { designated }) } : undefined;
}

describe('a leader establishing with a last seen config newer than the committed one', () => {
  test('NEWLEADER needs a quorum of the last seen config too', () => {
    // 1, 2 and 3 are a quorum of 1-3, but only 2 of the last seen 2, 4, 5
    assert.equal(establishWithLastSeen([2, 4, 5], false, [2, 3]), undefined);
    assert.deepEqual(establishWithLastSeen([2, 4, 5], false, [2, 3, 4]), { epoch: EPOCH, designated: 2 });
  });

  test('a leader the last seen config keeps leads it; one it removes names a voter of it that ACKed NEWLEADER, and commits nothing', () => {
    assert.deepEqual(establishWithLastSeen([1, 2, 3, 4], true, [2, 3]), { epoch: EPOCH, designated: 1 });
    const leader = new ZabLeader({
      sid: 1,
      lastZxid: 0,
      acceptedEpoch: 0,
      currentEpoch: 0,
      voters: [1, 2, 3],
      nextQuorum: { quorum: majority(7, [2, 3, 4]), leaderStays: false },
      initLimitTicks: 10,
      syncLimitTicks: 5,
    });
    for (const sid of [3, 4]) leader.receive(sid, { type: PacketType.followerInfo, acceptedEpoch: 0 });
    leader.epochWritten('acceptedEpoch', EPOCH);
    for (const sid of [3, 4]) leader.receive(sid, { type: PacketType.ackEpoch, currentEpoch: 0, lastZxid: 0 });
    leader.epochWritten('currentEpoch', EPOCH);
    for (const sid of [4, 3]) leader.receive(sid, { type: PacketType.ack, zxid: makeZxid(EPOCH, 0) });
    assert.deepEqual(servingOf(leader), { epoch: EPOCH, designated: 3 });
    // were it to propose, nothing would commit: the config in force is 2-4, and it hands over
    propose(leader, txn(1));
    ack(leader, makeZxid(EPOCH, 1), [2, 3, 4]);
    assert.deepEqual(sent(leader.take()), ['3: 2', '4: 2'], 'proposals only, no COMMIT');
  });
});

describe('reconfig in the ZAB learner and on the wire', () => {
  function servingLearner(observer: boolean): ZabLearner {
    const l = new ZabLearner({
      sid: 2,
      leader: 1,
      observer,
      lastZxid: 0,
      acceptedEpoch: 0,
      currentEpoch: 0,
      initLimitTicks: 10,
      syncLimitTicks: 5,
    });
    l.connected();
    l.receive({ type: PacketType.leaderInfo, epoch: EPOCH });
    l.epochWritten('acceptedEpoch', EPOCH);
    l.receive({ type: PacketType.diff, zxid: 0 });
    l.receive({ type: PacketType.newLeader, zxid: makeZxid(EPOCH, 0) });
    l.epochWritten('currentEpoch', EPOCH);
    l.receive({ type: PacketType.upToDate });
    l.take();
    return l;
  }

  test('COMMITANDACTIVATE commits the pending reconfig and activates it with the designated leader', () => {
    const l = servingLearner(false);
    const t = txn(1, OpCode.reconfig);
    l.receive({ type: PacketType.proposal, txn: t });
    l.logged(t.zxid);
    l.take();
    l.receive({ type: PacketType.commitAndActivate, zxid: t.zxid, designated: 3 });
    assert.deepEqual(
      l.take().map((a) => (a.kind === 'activate' ? `activate ${a.designated}` : a.kind)),
      ['apply', 'activate 3'],
    );
  });

  test('COMMITANDACTIVATE of a txn that is not a reconfig, and INFORMANDACTIVATE to a follower, end the term', () => {
    const l = servingLearner(false);
    const t = txn(1);
    l.receive({ type: PacketType.proposal, txn: t });
    l.receive({ type: PacketType.commitAndActivate, zxid: t.zxid, designated: 1 });
    assert.ok(l.take().some((a) => a.kind === 'looking'));
    const f = servingLearner(false);
    f.receive({ type: PacketType.informAndActivate, txn: txn(1, OpCode.reconfig), designated: 1 });
    assert.ok(f.take().some((a) => a.kind === 'looking'));
  });

  test('an observer takes INFORMANDACTIVATE: logs, applies and activates', () => {
    const o = servingLearner(true);
    const t = txn(1, OpCode.reconfig);
    o.receive({ type: PacketType.informAndActivate, txn: t, designated: 1 });
    o.logged(t.zxid);
    const kinds = o.take().map((a) => (a.kind === 'activate' ? `activate ${a.designated}` : a.kind));
    assert.deepEqual(kinds, ['append', 'activate 1', 'apply']);
  });

  test('both packets survive their encoding: the designated id, then the proposal bytes as they were', () => {
    const bytes = Buffer.alloc(40);
    bytes.writeBigInt64BE(7n, 0); // TxnHeader: clientId, cxid, zxid, time, type
    bytes.writeInt32BE(9, 8);
    bytes.writeBigInt64BE(BigInt(makeZxid(EPOCH, 1)), 12);
    bytes.writeBigInt64BE(5n, 20);
    bytes.writeInt32BE(OpCode.reconfig, 28);
    const t: ZabTxn = { zxid: makeZxid(EPOCH, 1), sessionId: 7n, cxid: 9, type: OpCode.reconfig, bytes };
    const inform = encodeToLearner({ type: PacketType.informAndActivate, txn: t, designated: 3 }, '');
    const data = inform.data;
    assert.ok(data !== null);
    assert.equal(data.readBigInt64BE(0), 3n);
    assert.deepEqual(data.subarray(8), bytes);
    assert.deepEqual(decodeToLearner(inform), {
      type: PacketType.informAndActivate,
      txn: { ...t, bytes: data.subarray(8) },
      designated: 3,
    });
    const commit = encodeToLearner({ type: PacketType.commitAndActivate, zxid: t.zxid, designated: 2 }, '');
    assert.deepEqual(decodeToLearner(commit), { type: PacketType.commitAndActivate, zxid: t.zxid, designated: 2 });
  });
});
