import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReleasingMap } from '../../../src/base/index.js';

test('ReleasingMap answers as a Map does through set, replace, delete and re-add', () => {
  const m = new ReleasingMap<number, { n: number }>();
  const a = { n: 1 };
  const b = { n: 2 };
  assert.equal(m.set(1, a), m);
  m.set(2, b);
  assert.equal(m.size, 2);
  assert.equal(m.get(1), a);
  assert.equal(m.has(2), true);
  const a2 = { n: 11 };
  m.set(1, a2);
  assert.equal(m.get(1), a2);
  assert.equal(m.size, 2);
  assert.equal(m.delete(1), true);
  assert.equal(m.delete(1), false);
  assert.equal(m.get(1), undefined);
  assert.equal(m.has(1), false);
  assert.equal(m.size, 1);
  m.set(1, a);
  // insertion order, as a Map's: 2 stayed, 1 came back after it
  assert.deepEqual(
    [...m.entries()],
    [
      [2, b],
      [1, a],
    ],
  );
  assert.deepEqual([...m.values()], [b, a]);
});

test('ReleasingMap under churn keeps only the live entries', () => {
  const m = new ReleasingMap<bigint, string>();
  const live = new Map<bigint, string>();
  for (let i = 0n; i < 5000n; i++) {
    m.set(i, `v${i}`);
    live.set(i, `v${i}`);
    if (i >= 40n) {
      m.delete(i - 40n);
      live.delete(i - 40n);
    }
  }
  assert.equal(m.size, 40);
  assert.deepEqual([...m.entries()], [...live.entries()]);
  for (const k of live.keys()) assert.equal(m.get(k), live.get(k));
  assert.equal(m.get(0n), undefined);
});
