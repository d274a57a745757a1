/**
 * The FastLeaderElection core by hand: what one member sends and decides for chosen
 * notifications (the simulation in test/sim covers whole ensembles).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NOTIFICATION_VERSION, type Notification } from '../../../src/codec/index.js';
import { majorityOf } from '../../../src/config/index.js';
import { FastLeaderElection, FINALIZE_WAIT_MS, ServerState, totalOrderPredicate } from '../../../src/quorum/index.js';

const ZXID = (epoch: number, counter: number): number => epoch * 2 ** 32 + counter;

function member(myid: number, voters = [1, 2, 3]): FastLeaderElection {
  return new FastLeaderElection({ myid, learnerType: 'participant', quorum: majorityOf(voters), configText: 'version=0' });
}

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
