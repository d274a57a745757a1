import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { LearnerSessions, LocalSessions, SessionTracker } from '../../../src/session/index.js';

const NOW = 1_700_000_000_000;
const TICK = 2000;

describe('local sessions', () => {
  test('ids carry the server byte; touches move the deadline; expiry removes the session', () => {
    const local = new LocalSessions(TICK, NOW, 3);
    const a = local.create(4000, NOW);
    const b = local.create(4000, NOW);
    assert.notEqual(a, b);
    assert.equal(BigInt.asUintN(64, a) >> 56n, 3n);
    assert.equal(local.count, 2);
    assert.ok(local.touch(a, NOW + 3000));
    assert.deepEqual(local.expire(NOW + 6000), [b]);
    assert.equal(local.has(b), false);
    assert.equal(local.touch(b, NOW + 6000), false);
    assert.deepEqual(local.expire(NOW + 10000), [a]);
    assert.equal(local.count, 0);
  });

  test('a re-attach takes the timeout negotiated then; a closing session cannot re-attach', () => {
    const local = new LocalSessions(TICK, NOW, 1);
    const a = local.create(4000, NOW);
    assert.ok(local.revalidate(a, 20000, NOW + 1000));
    assert.deepEqual(local.expire(NOW + 10000), [], 'the new, longer timeout governs it');
    local.setClosing(a);
    assert.equal(local.revalidate(a, 20000, NOW + 11000), false);
    assert.equal(local.revalidate(a + 1n, 20000, NOW + 11000), false, 'an unknown session');
  });

  test('upgrading hands over the timeout once and leaves nothing local', () => {
    const local = new LocalSessions(TICK, NOW, 1);
    const a = local.create(6000, NOW);
    assert.equal(local.upgrade(a), 6000);
    assert.equal(local.has(a), false);
    assert.equal(local.upgrade(a), -1, 'upgraded already');
    assert.deepEqual(local.expire(NOW + 60000), [], 'its deadline went with it');
    const b = local.create(6000, NOW);
    local.setClosing(b);
    assert.equal(local.upgrade(b), -1, 'a closing session is not upgraded');
  });
});

describe("a learner's session being upgraded", () => {
  test('its touches are reported from the createSession on, before the table has it', () => {
    const table = new Map<bigint, number>();
    const sessions = new LearnerSessions(new SessionTracker(TICK, NOW, 2), table, { revalidate: () => undefined });
    assert.equal(sessions.touch(9n), false, 'unknown');
    sessions.created(9n, 5000);
    assert.ok(sessions.touch(9n));
    assert.equal(sessions.isLive(9n), false, 'not global until committed');
    assert.deepEqual([...sessions.takeTouches()], [[9n, 5000]]);
    table.set(9n, 5000);
    sessions.committed(9n);
    assert.ok(sessions.isLive(9n));
    table.delete(9n);
    sessions.removed(9n);
    assert.equal(sessions.touch(9n), false, 'gone once closed');
  });
});
