/**
 * PathWatchers against a Map model: random sets, deletes, fire-style compactions and resets,
 * over watcher ids drawn from a range wide enough to cross the size where lookups switch from a
 * scan to an index (and back). After every step the pairs must match the model's entries in
 * the model's order (a Map keeps insertion order; a delete moves the last pair into the hole,
 * which the model mirrors), and every lookup must agree.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PathWatchers } from '../../src/watch/path-watchers.js';

type Op =
  | { kind: 'set'; watcher: number; mode: number }
  | { kind: 'delete'; watcher: number }
  | { kind: 'consume'; drop: number }
  | { kind: 'reset'; watcher: number; mode: number };

const watcherArb = fc.integer({ min: 1, max: 40 });
const modeArb = fc.constantFrom(1, 2, 4);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), watcher: watcherArb, mode: modeArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), watcher: watcherArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('consume' as const), drop: modeArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const), watcher: watcherArb, mode: modeArb }) },
);

/** The model: an ordered list of [watcher, mode]. */
function applyToModel(model: Array<[number, number]>, op: Op): Array<[number, number]> {
  switch (op.kind) {
    case 'set': {
      const at = model.findIndex(([w]) => w === op.watcher);
      if (at >= 0) model[at] = [op.watcher, op.mode];
      else model.push([op.watcher, op.mode]);
      return model;
    }
    case 'delete': {
      const at = model.findIndex(([w]) => w === op.watcher);
      if (at < 0) return model;
      const last = model.pop() as [number, number];
      if (at < model.length) model[at] = last;
      return model;
    }
    case 'consume':
      return model.filter(([, mode]) => mode !== op.drop);
    case 'reset':
      return [[op.watcher, op.mode]];
  }
}

function applyToList(list: PathWatchers, op: Op): number | undefined {
  switch (op.kind) {
    case 'set':
      return list.set(op.watcher, op.mode);
    case 'delete':
      return list.delete(op.watcher);
    case 'consume': {
      // as WatchTable.fire compacts: visit every pair in order, keep the survivors
      const n = list.size;
      let kept = 0;
      for (let i = 0; i < n; i++) {
        const mode = list.modeAt(i);
        if (mode !== op.drop) list.keepAt(kept++, list.watcherAt(i), mode);
      }
      list.truncate(kept);
      return undefined;
    }
    case 'reset':
      list.reset(op.watcher, op.mode);
      return undefined;
  }
}

describe('PathWatchers', () => {
  test('matches an ordered-list model through sets, deletes, compactions and resets', () => {
    fc.assert(
      fc.property(watcherArb, modeArb, fc.array(opArb, { maxLength: 300 }), (w0, m0, ops) => {
        const list = new PathWatchers(w0, m0);
        let model: Array<[number, number]> = [[w0, m0]];
        for (const op of ops) {
          const before = op.kind === 'set' || op.kind === 'delete' ? (model.find(([w]) => w === op.watcher)?.[1] ?? 0) : undefined;
          const got = applyToList(list, op);
          model = applyToModel(model, op);
          if (before !== undefined) assert.equal(got, before, `${op.kind} ${JSON.stringify(op)} returns the earlier mode`);
          assert.deepEqual(list.pairs(), model);
          assert.equal(list.size, model.length);
          for (let w = 1; w <= 40; w++) assert.equal(list.modeOf(w), model.find(([x]) => x === w)?.[1] ?? 0);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('ten thousand watchers on one path: every one found, removed and re-added', () => {
    const list = new PathWatchers(0, 1);
    for (let w = 1; w < 10_000; w++) assert.equal(list.set(w, 1), 0);
    assert.equal(list.size, 10_000);
    for (let w = 0; w < 10_000; w += 2) assert.equal(list.delete(w), 1);
    assert.equal(list.size, 5_000);
    for (let w = 0; w < 10_000; w++) assert.equal(list.modeOf(w), w % 2 === 1 ? 1 : 0);
    for (let w = 0; w < 10_000; w += 2) assert.equal(list.set(w, 2), 0);
    for (let w = 0; w < 10_000; w++) assert.equal(list.modeOf(w), w % 2 === 1 ? 1 : 2);
  });
});
