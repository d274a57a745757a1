import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { AssertionError } from '../../../src/base/index.js';
import { SessionTracker } from '../../../src/session/index.js';

const NOW = 1_700_000_000_123;
const topByte = (id: bigint): bigint => BigInt.asUintN(64, id) >> 56n;

describe('session ids', () => {
  test('carry the server id in the top byte', () => {
    for (const serverId of [1, 2, 5, 127, 200, 254]) {
      const t = new SessionTracker(2000, NOW, serverId);
      const a = t.newSessionId();
      const b = t.newSessionId();
      assert.equal(topByte(a), BigInt(serverId), `server ${serverId}`);
      assert.equal(topByte(b), BigInt(serverId));
      assert.equal(b, a + 1n);
    }
  });

  test('are signed 64-bit values (server ids >= 128 give negative ids)', () => {
    const id = new SessionTracker(2000, NOW, 200).newSessionId();
    assert.ok(id < 0n);
    assert.equal(BigInt.asIntN(64, id), id);
    assert.ok(new SessionTracker(2000, NOW, 1).newSessionId() > 0n);
  });

  test("are ZooKeeper's (now << 24) >>> 8 | serverId << 56", () => {
    const expected = (((BigInt(NOW) << 24n) & ((1n << 64n) - 1n)) >> 8n) | (1n << 56n);
    assert.equal(new SessionTracker(2000, NOW, 1).newSessionId(), expected);
  });

  test('differ across restarts (clock-based)', () => {
    assert.notEqual(new SessionTracker(2000, NOW, 1).newSessionId(), new SessionTracker(2000, NOW + 1, 1).newSessionId());
  });

  test('a non-positive tick is an assertion failure', () => {
    assert.throws(() => new SessionTracker(0, NOW, 1), AssertionError);
  });
});

describe('bucketed expiry', () => {
  test('the deadline is rounded up to the next multiple of the tick', () => {
    const t = new SessionTracker(2000, 0, 1);
    assert.equal(t.add(1n, 5000, 1000).expiresAtMs, 8000); // 6000 is a multiple: the *next* one
    assert.equal(t.add(2n, 4000, 1500).expiresAtMs, 6000); // 5500 -> 6000
    assert.equal(t.add(3n, 4000, 1999).expiresAtMs, 6000); // 5999 -> 6000
    for (const s of t.sessions.values()) assert.equal(s.expiresAtMs % 2000, 0);
  });

  test('a session expires once its bucket time is reached, not before', () => {
    const t = new SessionTracker(2000, 0, 1);
    t.add(1n, 4000, 1500); // bucket 6000
    assert.deepEqual(t.expire(5999), []);
    assert.equal(t.sessions.get(1n)?.closing, false);
    assert.deepEqual(t.expire(6000), [1n]);
    assert.equal(t.sessions.get(1n)?.closing, true);
  });

  test('expire returns each expired session once', () => {
    const t = new SessionTracker(1000, 0, 1);
    t.add(1n, 3000, 0); // 4000
    t.add(2n, 3000, 500); // 4000
    t.add(3n, 5000, 0); // 6000
    assert.deepEqual(t.expire(4500).sort(), [1n, 2n]);
    assert.deepEqual(t.expire(4500), []);
    assert.deepEqual(t.expire(5999), []);
    assert.deepEqual(t.expire(100_000), [3n]);
    assert.deepEqual(t.expire(200_000), []);
    // expired sessions stay in the table (closing) until removed
    assert.equal(t.sessions.size, 3);
  });

  test('expire catches up over many ticks at once', () => {
    const t = new SessionTracker(10, 0, 1);
    for (let i = 1; i <= 20; i++) t.add(BigInt(i), i * 10, 0);
    assert.equal(t.expire(1_000).length, 20);
  });

  test('touch moves the deadline; the old bucket no longer expires it', () => {
    const t = new SessionTracker(1000, 0, 1);
    t.add(1n, 3000, 0); // 4000
    assert.equal(t.touch(1n, 2500), true); // 5500 -> 6000
    assert.equal(t.sessions.get(1n)?.expiresAtMs, 6000);
    assert.deepEqual(t.expire(5000), []);
    assert.equal(t.touch(1n, 2600), true); // same bucket
    assert.deepEqual(t.expire(6000), [1n]);
  });

  test('touch of an unknown or closing session returns false and does not revive it', () => {
    const t = new SessionTracker(1000, 0, 1);
    assert.equal(t.touch(99n, 0), false);
    t.add(1n, 3000, 0);
    t.setClosing(1n);
    assert.equal(t.touch(1n, 10_000), false);
    assert.equal(t.sessions.get(1n)?.expiresAtMs, 4000);
    // A closing session is not reported by expire (its close is already under way).
    assert.deepEqual(t.expire(4000), []);
  });

  test('remove drops the session from the table and its bucket', () => {
    const t = new SessionTracker(1000, 0, 1);
    t.add(1n, 3000, 0);
    t.add(2n, 3000, 0);
    t.remove(1n);
    t.remove(77n); // unknown: no-op
    assert.equal(t.sessions.has(1n), false);
    assert.deepEqual(t.expire(4000), [2n]);
  });

  test('add on an existing session updates its timeout and re-touches it', () => {
    const t = new SessionTracker(1000, 0, 1);
    const s = t.add(1n, 3000, 0);
    const again = t.add(1n, 10_000, 500);
    assert.equal(again, s);
    assert.equal(s.timeoutMs, 10_000);
    assert.equal(s.expiresAtMs, 11_000);
    assert.deepEqual(t.expire(10_999), []);
    assert.deepEqual(t.expire(11_000), [1n]);
  });
});
