/**
 * Named ZAB schedules, built by hand on the simulated cluster (zab-cluster.ts, whose checkers
 * stay on: digests per zxid, one leader per epoch, durability at COMMIT, ACK, currentEpoch and
 * NEWLEADER ACK), for the bugs ZooKeeper shipped and fixed in the sync and broadcast paths.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { counterOf, epochOf, hex, PacketType, ZXID_COUNTER_SPAN, type Sid } from '../../src/quorum/zab/index.js';
import { TICK, ZabCluster, type Member } from './zab-cluster.js';

/**
 * A cluster with elections by hand; a slow disk needs a longer initLimit to sync at all. The
 * seed also sets the size of the leader's committed window (ZabCluster.window).
 */
function cluster(voters: number, observers = 0, initLimitTicks = 10, seed = 7): ZabCluster {
  const sim = new ZabCluster({ seed, voters, observers, faultTicks: 0, healTicks: 0, trace: true, initLimitTicks });
  sim.autoElect = false;
  sim.startClock(() => undefined);
  return sim;
}

function runTicks(sim: ZabCluster, ticks: number): void {
  sim.runUntil(sim.now + ticks * TICK);
}

/** Elects `leader` with `learners` by hand and runs until it serves. */
function lead(sim: ZabCluster, leader: Sid, learners: Sid[]): Member {
  const l = sim.member(leader);
  sim.startLeader(l);
  for (const s of learners) sim.startLearner(sim.member(s), l);
  for (let i = 0; i < 30 && sim.servingLeader() !== l; i++) runTicks(sim, 1);
  assert.equal(sim.servingLeader(), l, `leader ${leader} does not serve`);
  return l;
}

function write(sim: ZabCluster, leader: Member, n: number): void {
  for (let i = 0; i < n; i++) {
    if (leader.role.kind !== 'leader') return;
    sim.propose(leader, leader.role.core, 1n, i);
  }
}

function assertSameState(sim: ZabCluster, a: Member, b: Member): void {
  assert.equal(a.state.last, b.state.last, `members ${a.sid} and ${b.sid} stop at different zxids`);
  assert.equal(a.state.digest, b.state.digest, `members ${a.sid} and ${b.sid} differ`);
}

function packetsTo(sim: ZabCluster, from: Sid, to: Sid): string[] {
  return sim.trace.filter((l) => l.includes(` ${from}->${to} `)).map((l) => l.split(' ')[2] ?? '');
}

test('ZOOKEEPER-2355: a follower that crashes in the middle of a DIFF restarts from what it logged', () => {
  const sim = cluster(3);
  const leader = lead(sim, 1, [2, 3]);
  const three = sim.member(3);
  sim.crash(three);
  write(sim, leader, 6);
  runTicks(sim, 3);
  sim.restart(three);
  three.diskSlow = true;
  sim.startLearner(three, leader);
  // cut the power once the DIFF has arrived but before the slow disk has taken its txns
  for (let i = 0; i < 100 && !packetsTo(sim, 1, 3).includes('diff'); i++) sim.runUntil(sim.now + 1);
  sim.runUntil(sim.now + 3);
  const logged = three.lastLogged;
  sim.crash(three);
  assert.ok(logged < leader.state.last, 'the txns were durable before the power cut: the schedule proves nothing');
  sim.restart(three);
  assert.equal(three.state.last, logged, 'after the restart the database is what the log holds, not the DIFF zxid');
  sim.fixDisk(three);
  sim.startLearner(three, leader);
  runTicks(sim, 10);
  assertSameState(sim, three, leader);
});

test('ZOOKEEPER-3911/4646/4785/4643: NEWLEADER is ACKed only with the synced txns and currentEpoch durable', () => {
  const sim = cluster(3, 0, 40);
  let leader = lead(sim, 1, [2, 3]);
  const three = sim.member(3);
  sim.crash(three);
  write(sim, leader, 5);
  runTicks(sim, 3);
  // a new epoch: 3 syncs from 1 with a slow disk; as soon as it ACKs NEWLEADER, 1 and 2 lose power
  sim.crash(sim.member(2));
  sim.restart(sim.member(2));
  sim.becomeLooking(leader, 'test: new epoch');
  sim.restart(three);
  three.diskSlow = true;
  const power = { cut: false };
  sim.intercept = (m, a) => {
    if (m === three && a.kind === 'send' && a.message.type === PacketType.ack && counterOf(a.message.zxid) === 0 && !power.cut) {
      power.cut = true;
      sim.crash(sim.member(1));
      sim.crash(sim.member(2));
    }
    return true;
  };
  sim.startLeader(leader);
  sim.startLearner(sim.member(2), leader);
  sim.startLearner(three, leader);
  for (let i = 0; i < 60 && !power.cut; i++) runTicks(sim, 1);
  assert.ok(
    power.cut,
    'member 3 never ACKed NEWLEADER\n' +
      sim.trace
        .filter((l) => !l.includes(' ping '))
        .slice(-60)
        .join('\n'),
  );
  sim.intercept = null;
  sim.crash(three); // and 3 too: only what it made durable counts
  for (const s of [1, 2, 3]) sim.restart(sim.member(s));
  sim.fixDisk(three);
  sim.autoElect = true;
  runTicks(sim, 30);
  leader = sim.servingLeader() ?? assert.fail('no leader after the power cut');
  sim.checkAckedKept(leader);
  for (const s of [1, 2, 3]) assert.ok(sim.member(s).state.last >= 5, `member ${s} lost committed txns`);
});

test('ZOOKEEPER-3023: NEWLEADER is ACKed only once the DIFF it follows is durable; a power cut then loses no committed txn', () => {
  // Before the fix a follower handed the DIFF's txns to its asynchronous log and ACKed NEWLEADER
  // at once: the leader counted it towards the quorum that commits its history while those txns
  // were only in the follower's memory.
  const sim = cluster(3, 0, 40, 1);
  const one = lead(sim, 1, [2, 3]);
  const [two, three] = [sim.member(2), sim.member(3)];
  assert.ok(sim.window >= 4, 'the DIFF is to come from the committed window');
  write(sim, one, 3);
  runTicks(sim, 5);
  // 2 and 3 lose power; 1 logs txns no one else has, then leaves its epoch
  sim.crash(two);
  sim.crash(three);
  const before = one.lastLogged;
  write(sim, one, 4);
  if (one.role.kind === 'leader') sim.becomeLooking(one, 'test: no quorum');
  const diffed = one.disk.log.filter((t) => t.zxid > before).map((t) => t.zxid);
  assert.equal(diffed.length, 4, 'member 1 did not log the txns the DIFF is to carry');
  const last = diffed.at(-1) ?? 0;
  // epoch 2: 1 leads and DIFFs them to 3, whose disk is slow; {1, 3} is the quorum
  const epochOneSent = packetsTo(sim, 1, 3).length;
  const epochTwoSent = (): string[] => packetsTo(sim, 1, 3).slice(epochOneSent);
  sim.restart(three);
  three.diskSlow = true;
  sim.startLeader(one);
  sim.startLearner(three, one);
  sim.runUntil(sim.now + 40 * TICK, () => epochTwoSent().includes('newLeader'));
  assert.ok(epochTwoSent().includes('diff'), `member 3 was not synced by DIFF: ${epochTwoSent().join(' ')}`);
  assert.ok(three.lastLogged < last, 'the DIFF was durable on 3 before NEWLEADER arrived: the schedule proves nothing');
  sim.runUntil(sim.now + 60 * TICK, () => sim.servingLeader() === one);
  assert.equal(sim.servingLeader(), one, 'member 1 did not establish epoch 2');
  // the new epoch made the DIFF's txns committed: clients read them at 1 from now on
  for (const z of diffed) assert.ok(one.state.zxids.has(z), `leader 1 does not serve ${hex(z)}`);
  // power cut on the learner that ACKed NEWLEADER, and on the leader; 2 and 3 elect without 1
  sim.crash(three);
  sim.crash(one);
  sim.restart(two);
  sim.restart(three);
  sim.fixDisk(three);
  sim.autoElect = true;
  runTicks(sim, 30);
  const next = sim.servingLeader() ?? assert.fail('no leader among 2 and 3');
  assert.notEqual(next, one);
  for (const z of diffed) assert.ok(next.state.zxids.has(z), `committed ${hex(z)} lost: leader ${next.sid} of the next epoch lacks it`);
  write(sim, next, 1);
  runTicks(sim, 10);
  assertSameState(sim, two, three);
});

test('ZOOKEEPER-4394/4685: COMMITs between NEWLEADER and UPTODATE; proposal ACKs only after the NEWLEADER ACK', () => {
  const sim = cluster(3, 0, 40);
  const leader = lead(sim, 1, [2]);
  const three = sim.member(3);
  write(sim, leader, 3);
  three.diskSlow = true;
  sim.startLearner(three, leader);
  // writes keep coming while 3 syncs on its slow disk
  for (let i = 0; i < 12; i++) {
    write(sim, leader, 1);
    runTicks(sim, 1);
  }
  runTicks(sim, 10);
  const toThree = packetsTo(sim, 1, 3);
  const newLeader = toThree.indexOf('newLeader');
  const upToDate = toThree.indexOf('upToDate');
  assert.ok(
    newLeader >= 0 && upToDate > newLeader,
    'member 3 did not sync\n' +
      sim.trace
        .filter((l) => !l.includes(' ping '))
        .slice(-60)
        .join('\n'),
  );
  assert.ok(
    toThree.slice(newLeader, upToDate).includes('commit'),
    'no COMMIT arrived between NEWLEADER and UPTODATE: the schedule proves nothing',
  );
  const acks = sim.trace.filter((l) => l.includes(' 3->1 ack '));
  const newLeaderAck = acks.findIndex((l) => l.endsWith(' 0x200000000') || l.endsWith(' 0x100000000'));
  assert.ok(newLeaderAck >= 0, 'member 3 never ACKed NEWLEADER');
  assert.ok(acks.length > newLeaderAck + 1, 'member 3 ACKed no proposal: the schedule proves nothing');
  assert.equal(newLeaderAck, 0, `member 3 ACKed a proposal before NEWLEADER: ${acks[0] ?? ''}`);
  assertSameState(sim, three, leader);
});

test('TRUNC: an old leader rejoins holding txns nobody else logged', () => {
  const sim = cluster(3);
  const old = lead(sim, 1, [2, 3]);
  write(sim, old, 3);
  runTicks(sim, 5);
  const committed = old.state.last;
  sim.cut(1, 2);
  sim.cut(1, 3);
  write(sim, old, 3); // logged on 1 only
  runTicks(sim, 12);
  assert.ok(old.lastLogged > committed, 'the old leader logged nothing extra');
  sim.healAll();
  const leader = lead(sim, 2, [3]);
  sim.startLearner(old, leader);
  runTicks(sim, 10);
  assert.ok(sim.stats.get('trunc') === 1, 'no TRUNC');
  assertSameState(sim, old, leader);
  assert.equal(old.lastLogged, committed, 'the uncommitted tail is gone from the log');
});

test('SNAP: a member holding txns of an old epoch the new leader never saw, after the new epoch wrote', () => {
  const sim = cluster(3);
  const old = lead(sim, 1, [2, 3]);
  write(sim, old, 3);
  runTicks(sim, 5);
  sim.cut(1, 2);
  sim.cut(1, 3);
  write(sim, old, 2);
  runTicks(sim, 12);
  sim.healAll();
  const leader = lead(sim, 2, [3]);
  write(sim, leader, 2);
  runTicks(sim, 5);
  sim.startLearner(old, leader);
  runTicks(sim, 10);
  assert.ok((sim.stats.get('snap') ?? 0) >= 1, 'no SNAP: a TRUNC may not cross an epoch');
  assertSameState(sim, old, leader);
});

test('zxid counter: a leader gives up rather than roll over; the next epoch starts at counter 1', () => {
  const sim = cluster(3);
  sim.initialCounter = ZXID_COUNTER_SPAN - 4;
  const first = lead(sim, 1, [2, 3]);
  write(sim, first, 5);
  runTicks(sim, 5);
  assert.ok(first.role.kind === 'looking', 'the leader kept going at the end of the counter');
  const firstEpoch = epochOf(first.state.last);
  assert.equal(counterOf(first.state.last), ZXID_COUNTER_SPAN - 2, 'the last txn of the epoch');
  assert.ok(
    sim.trace.some((l) => l.includes('roll over')),
    'no rollover reason',
  );
  sim.initialCounter = 0;
  for (const s of [2, 3]) if (sim.member(s).role.kind !== 'looking') sim.becomeLooking(sim.member(s), 'test');
  const next = lead(sim, 1, [2, 3]);
  write(sim, next, 1);
  runTicks(sim, 5);
  assert.equal(epochOf(next.state.last), firstEpoch + 1);
  assert.equal(counterOf(next.state.last), 1);
});

test('an observer gets INFORMs and never counts towards a quorum', () => {
  const sim = cluster(3, 1);
  const leader = lead(sim, 1, [2, 3, 4]);
  write(sim, leader, 3);
  runTicks(sim, 5);
  assertSameState(sim, sim.member(4), leader);
  assert.ok(packetsTo(sim, 1, 4).includes('inform'), 'no INFORM to the observer');
  assert.ok(!packetsTo(sim, 1, 4).includes('proposal'), 'a PROPOSAL to an observer in broadcast');
  sim.crash(sim.member(2));
  sim.crash(sim.member(3));
  write(sim, leader, 1);
  const lone = leader.role.kind === 'leader' ? leader.role.core.lastProposedZxid : assert.fail('leader gone');
  runTicks(sim, 10);
  // (going back to election, the leader's database catches up to its log, as ZooKeeper's does)
  assert.ok(!sim.acked.has(lone), 'a txn committed with the observer as its quorum');
  assert.ok(!sim.member(4).state.zxids.has(lone), 'the observer was told of a txn no quorum logged');
  assert.equal(leader.role.kind, 'looking', 'the leader kept serving without a quorum of voters');
});
