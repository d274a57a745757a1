/**
 * The FastLeaderElection core by hand: what one member sends and decides for chosen
 * notifications (the simulation in test/sim covers whole ensembles).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NOTIFICATION_VERSION, type Notification } from '../../../src/codec/index.js';
import { hierarchicalOf, majorityOf, type QuorumVerifier } from '../../../src/config/index.js';
import { FastLeaderElection, FINALIZE_WAIT_MS, ServerState, totalOrderPredicate } from '../../../src/quorum/index.js';

const ZXID = (epoch: number, counter: number): number => epoch * 2 ** 32 + counter;

function member(myid: number, voters = [1, 2, 3], quorum: QuorumVerifier = majorityOf(voters)): FastLeaderElection {
  return new FastLeaderElection({ myid, learnerType: 'participant', quorum, configText: 'version=0' });
}

/** 1, 2 and 3 in one group; 3 weighs 0. */
const WEIGHT_0_MEMBER_3 = hierarchicalOf(
  [1, 2, 3].map((id) => ({ id, role: 'participant' as const })),
  [{ id: 1, members: [1, 2, 3] }],
  new Map([[3, 0]]),
);

function vote(state: ServerState, leader: number, zxid: number, electionEpoch: number, peerEpoch: number): Notification {
  return { state, leader: BigInt(leader), zxid, electionEpoch, peerEpoch, version: NOTIFICATION_VERSION, config: 'version=0' };
}

test('votes order by peer epoch, then zxid, then sid', () => {
  const a = { leader: 1, zxid: ZXID(1, 9), peerEpoch: 1 };
  assert.equal(totalOrderPredicate({ leader: 2, zxid: ZXID(1, 9), peerEpoch: 1 }, a), true);
  assert.equal(totalOrderPredicate({ leader: 0, zxid: ZXID(1, 10), peerEpoch: 1 }, a), true);
  assert.equal(totalOrderPredicate({ leader: 0, zxid: ZXID(0, 99), peerEpoch: 2 }, a), true);
  assert.equal(totalOrderPredicate({ leader: 9, zxid: ZXID(2, 0), peerEpoch: 0 }, a), false);
  assert.equal(totalOrderPredicate(a, a), false);
});

test('a member starts by voting for itself, to every voter', () => {
  const m = member(2);
  const ready = m.start({ lastLoggedZxid: ZXID(1, 3), currentEpoch: 1 }, 0);
  assert.deepEqual(
    ready.send.map((s) => [s.to, s.notification.state, Number(s.notification.leader), s.notification.electionEpoch]),
    [
      [1, ServerState.looking, 2, 1],
      [3, ServerState.looking, 2, 1],
    ],
  );
});

test('a quorum for the best vote decides after finalizeWait, unless a better vote comes', () => {
  const m = member(1);
  m.start({ lastLoggedZxid: ZXID(1, 3), currentEpoch: 1 }, 0);
  const adopted = m.onNotification(3, vote(ServerState.looking, 3, ZXID(1, 3), 1, 1), 10);
  assert.ok(
    adopted.send.every((s) => Number(s.notification.leader) === 3),
    'switches to the better vote',
  );
  assert.equal(adopted.decision, null);
  assert.equal(m.nextDeadlineMs, 10 + FINALIZE_WAIT_MS);
  assert.equal(m.tick(10 + FINALIZE_WAIT_MS - 1, true).decision, null);
  const decided = m.tick(10 + FINALIZE_WAIT_MS, true).decision;
  assert.equal(decided?.state, ServerState.following);
  assert.equal(decided.vote.leader, 3);
  assert.deepEqual(decided.supporters, [1, 3]);
});

test('out of election, a member answers a looking one with its own state and the leader it follows', () => {
  const m = member(1);
  m.start({ lastLoggedZxid: ZXID(1, 3), currentEpoch: 1 }, 0);
  m.onNotification(3, vote(ServerState.looking, 3, ZXID(1, 3), 1, 1), 0);
  m.tick(FINALIZE_WAIT_MS, true);
  m.updateElectionVote(2);
  const ready = m.onNotification(2, vote(ServerState.looking, 2, 0, 1, 0), 500);
  assert.deepEqual(
    ready.send.map((s) => ({ ...s.notification, leader: Number(s.notification.leader), to: s.to })),
    [{ to: 2, state: ServerState.following, leader: 3, zxid: ZXID(1, 3), electionEpoch: 1, peerEpoch: 2, version: 2, config: 'version=0' }],
  );
});

test('a late member follows the leader a quorum reports, whatever its own vote', () => {
  const m = member(3);
  m.start({ lastLoggedZxid: ZXID(1, 50), currentEpoch: 1 }, 0);
  assert.equal(m.onNotification(1, vote(ServerState.following, 2, ZXID(1, 3), 4, 2), 5).decision, null);
  const decided = m.onNotification(2, vote(ServerState.leading, 2, ZXID(1, 3), 4, 2), 6).decision;
  assert.equal(decided?.state, ServerState.following);
  assert.equal(decided.vote.leader, 2);
  assert.equal(decided.path, 'established');
  assert.equal(m.electionEpoch, 4);
});

test('a member of weight 0 is never voted for, though it has the newest zxid, and votes for itself alone', () => {
  const newest = vote(ServerState.looking, 3, ZXID(1, 9), 1, 1);
  // with a majority quorum, member 1 takes up 3's better vote; with 3 at weight 0 it keeps its own
  const majority = member(1);
  majority.start({ lastLoggedZxid: ZXID(1, 3), currentEpoch: 1 }, 0);
  assert.ok(majority.onNotification(3, newest, 1).send.every((s) => Number(s.notification.leader) === 3));
  const m = member(1, [1, 2, 3], WEIGHT_0_MEMBER_3);
  m.start({ lastLoggedZxid: ZXID(1, 3), currentEpoch: 1 }, 0);
  assert.deepEqual(m.onNotification(3, newest, 1).send, [], 'no better vote to send');
  assert.equal(m.proposedVote.leader, 1);
  // a round that starts with 3's vote falls back to its own vote too
  m.onNotification(3, { ...newest, electionEpoch: 2 }, 2);
  assert.equal(m.proposedVote.leader, 1);
  m.onNotification(2, vote(ServerState.looking, 2, ZXID(1, 3), 2, 1), 3);
  assert.equal(m.proposedVote.leader, 2);
  const decided = m.tick(3 + FINALIZE_WAIT_MS, true).decision;
  assert.equal(decided?.vote.leader, 2);
  assert.deepEqual(decided.supporters, [1, 2]);

  // member 3 votes for itself; no one else does, so it finds no quorum and follows the leader
  const zero = member(3, [1, 2, 3], WEIGHT_0_MEMBER_3);
  zero.start({ lastLoggedZxid: ZXID(1, 9), currentEpoch: 1 }, 0);
  assert.equal(zero.proposedVote.leader, 3);
  zero.onNotification(1, vote(ServerState.looking, 2, ZXID(1, 3), 1, 1), 1);
  zero.onNotification(2, vote(ServerState.looking, 2, ZXID(1, 3), 1, 1), 2);
  assert.equal(zero.proposedVote.leader, 3);
  assert.equal(zero.nextDeadlineMs, 2 + 200, 'waiting for notifications, not finalizing');
  zero.onNotification(1, vote(ServerState.following, 2, ZXID(1, 3), 1, 1), 4);
  const follows = zero.onNotification(2, vote(ServerState.leading, 2, ZXID(1, 3), 1, 1), 5).decision;
  assert.equal(follows?.state, ServerState.following);
  assert.equal(follows.vote.leader, 2);
});
