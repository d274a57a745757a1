import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { OpCode } from '../../../src/codec/index.js';
import {
  LearnerSessions,
  LocalSessionAuthority,
  SessionTracker,
  sessionTableApply,
  type Revalidation,
} from '../../../src/session/index.js';

const NOW = 1_700_000_000_000;
const TICK = 2000;

/** Collects re-attach answers. */
function answers(): Revalidation & { got: Array<[bigint, boolean]> } {
  const got: Array<[bigint, boolean]> = [];
  return { got, revalidated: (id, valid) => got.push([id, valid]) };
}

describe('the session table follows createSession and closeSession txns', () => {
  test('create adds with its timeout, close removes, other txns leave it', () => {
    const table = new Map<bigint, number>();
    sessionTableApply(table, 7n, { type: OpCode.createSession, timeOut: 9000 });
    assert.deepEqual([...table], [[7n, 9000]]);
    sessionTableApply(table, 7n, { type: OpCode.error, err: -101 });
    sessionTableApply(table, 8n, { type: OpCode.closeSession, paths2Delete: null });
    assert.deepEqual([...table], [[7n, 9000]]);
    sessionTableApply(table, 7n, { type: OpCode.closeSession, paths2Delete: [] });
    assert.equal(table.size, 0);
  });
});

describe('LocalSessionAuthority (standalone server, leader)', () => {
  test('tracks a created session, answers a re-attach at once and expires it by its deadline', () => {
    const a = new LocalSessionAuthority(new SessionTracker(TICK, NOW, 1));
    const id = a.newSessionId();
    a.created(id, 4000, NOW);
    assert.equal(a.touch(id, NOW + 1000), true);
    const r = answers();
    a.revalidate(id, 6000, NOW + 2000, r);
    assert.deepEqual(r.got, [[id, true]]);
    // the re-attach's timeout governs now: not expired at +2000 + 4000, expired after +2000 + 6000
    assert.deepEqual(a.expire(NOW + 6500), []);
    assert.deepEqual(a.expire(NOW + 2000 + 6000 + TICK), [id]);
    const late = answers();
    a.revalidate(id, 6000, NOW + 20000, late);
    assert.deepEqual(late.got, [[id, false]]);
  });

  test('a session committed but not created here (a learner client, a replay) is tracked once; removal ends it', () => {
    const tracker = new SessionTracker(TICK, NOW, 1);
    const a = new LocalSessionAuthority(tracker);
    a.committed(0x0200000000000001n, 4000, NOW);
    a.committed(0x0200000000000001n, 9999, NOW + 3000);
    assert.equal(tracker.sessions.get(0x0200000000000001n)?.timeoutMs, 4000);
    assert.equal(a.touch(0x0200000000000001n, NOW), true);
    a.removed(0x0200000000000001n);
    assert.equal(a.touch(0x0200000000000001n, NOW), false);
    assert.deepEqual(a.expire(NOW + 100_000), []);
  });

  test('a closing session takes no touches', () => {
    const a = new LocalSessionAuthority(new SessionTracker(TICK, NOW, 1));
    const id = a.newSessionId();
    a.created(id, 4000, NOW);
    a.setClosing(id);
    assert.equal(a.touch(id, NOW), false);
  });
});

describe('LearnerSessions (follower, observer)', () => {
  function learner(serverId = 2): {
    s: LearnerSessions;
    table: Map<bigint, number>;
    asked: Array<[bigint, number]>;
  } {
    const table = new Map<bigint, number>();
    const asked: Array<[bigint, number]> = [];
    const s = new LearnerSessions(new SessionTracker(TICK, NOW, serverId), table, { revalidate: (id, to) => asked.push([id, to]) });
    return { s, table, asked };
  }

  test("new ids carry the learner's own server byte", () => {
    const { s } = learner(5);
    const id = s.newSessionId();
    assert.equal(BigInt.asUintN(64, id) >> 56n, 5n);
    assert.equal(s.newSessionId(), id + 1n);
  });

  test('records touches of known sessions with their timeouts for the next PING, then starts over', () => {
    const { s, table } = learner();
    table.set(11n, 4000);
    table.set(12n, 8000);
    assert.equal(s.touch(11n), true);
    assert.equal(s.touch(12n), true);
    assert.equal(s.touch(11n), true);
    assert.equal(s.touch(13n), false, 'a session no txn created is unknown');
    assert.deepEqual(
      [...s.takeTouches()],
      [
        [11n, 4000],
        [12n, 8000],
      ],
    );
    assert.equal(s.takeTouches().size, 0);
    s.touch(12n);
    s.setClosing(12n);
    assert.equal(s.touch(12n), false);
    s.removed(12n);
    assert.equal(s.takeTouches().size, 0, 'a removed session is not reported');
  });

  test('expires nothing itself: the leader does', () => {
    const { s, table } = learner();
    table.set(11n, 4000);
    s.touch(11n);
    assert.deepEqual(s.expire(), []);
  });

  test('asks the leader once per session about a re-attach and tells every waiting connection its answer', () => {
    const { s, asked } = learner();
    const first = answers();
    const second = answers();
    s.revalidate(21n, 5000, NOW, first);
    s.revalidate(21n, 5000, NOW, second);
    assert.deepEqual(asked, [[21n, 5000]]);
    assert.deepEqual(first.got, []);
    s.onRevalidateAnswer(21n, true);
    assert.deepEqual(first.got, [[21n, true]]);
    assert.deepEqual(second.got, [[21n, true]]);
    s.onRevalidateAnswer(21n, false);
    assert.equal(first.got.length, 1, 'an answer nobody waits for is dropped');
    const third = answers();
    s.revalidate(21n, 5000, NOW, third);
    assert.equal(asked.length, 2);
    s.onRevalidateAnswer(21n, false);
    assert.deepEqual(third.got, [[21n, false]]);
  });
});
