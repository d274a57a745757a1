/**
 * The data watch table against a plain model (path -> watcher -> mode), through random arms
 * (one-shot and persistent), data changes, removals and connection closes.
 *
 * The table keeps fired paths in a connection's entry until they are swept, so the property
 * drives single connections through hundreds of paths (well past the sweep thresholds) and
 * checks after every step that what the table reports — events, `has`, `pathsOf`, the watch
 * count, which connections have an entry — is exactly what the model holds.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EventType } from '../../src/codec/index.js';
import { OPEN_ACL_UNSAFE } from '../../src/tree/index.js';
import { WatchManager, WatchMode } from '../../src/watch/index.js';

type Op =
  | { kind: 'arm'; path: number; watcher: number; persistent: boolean }
  | { kind: 'armRange'; from: number; count: number; watcher: number }
  | { kind: 'change'; path: number }
  | { kind: 'changeRange'; from: number; count: number }
  | { kind: 'remove'; path: number; watcher: number }
  | { kind: 'close'; watcher: number };

const PATHS = 300;
const WATCHERS = 4;
const pathArb = fc.integer({ min: 0, max: PATHS - 1 });
const watcherArb = fc.integer({ min: 1, max: WATCHERS });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('arm' as const), path: pathArb, watcher: watcherArb, persistent: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('armRange' as const),
      from: pathArb,
      count: fc.integer({ min: 1, max: 150 }),
      watcher: watcherArb,
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('change' as const), path: pathArb }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('changeRange' as const), from: pathArb, count: fc.integer({ min: 1, max: 150 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), path: pathArb, watcher: watcherArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), watcher: watcherArb }) },
);

const name = (i: number): string => `/w/p${i % PATHS}`;

class Model {
  readonly byPath = new Map<string, Map<number, number>>();
  /** Connections that have an entry: armed a watch, and neither closed nor removed their last. */
  readonly entries = new Set<number>();

  arm(path: string, watcher: number, mode: number): void {
    let m = this.byPath.get(path);
    if (m === undefined) this.byPath.set(path, (m = new Map<number, number>()));
    m.set(watcher, mode);
    this.entries.add(watcher);
  }

  change(path: string): number[] {
    const m = this.byPath.get(path);
    if (m === undefined) return [];
    const heard = [...m.keys()];
    for (const [w, mode] of m) if (mode === WatchMode.standard) m.delete(w);
    if (m.size === 0) this.byPath.delete(path);
    return heard;
  }

  remove(path: string, watcher: number): boolean {
    const m = this.byPath.get(path);
    if (m === undefined || !m.delete(watcher)) return false;
    if (m.size === 0) this.byPath.delete(path);
    if (this.pathsOf(watcher).length === 0) this.entries.delete(watcher);
    return true;
  }

  close(watcher: number): void {
    for (const [path, m] of this.byPath) {
      m.delete(watcher);
      if (m.size === 0) this.byPath.delete(path);
    }
    this.entries.delete(watcher);
  }

  pathsOf(watcher: number): string[] {
    return [...this.byPath].filter(([, m]) => m.has(watcher)).map(([p]) => p);
  }
}

describe('WatchTable bookkeeping', () => {
  test('matches a plain model through arms, fires, removals and closes', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 120 }), (ops) => {
        const w = new WatchManager();
        const model = new Model();
        const change = (path: string): void => {
          const events = w.eventsFor([{ kind: 'dataChanged', path, acl: OPEN_ACL_UNSAFE, parentAcl: [] }]);
          for (const e of events) assert.equal(e.type, EventType.NodeDataChanged);
          assert.deepEqual(events.map((e) => e.watcher).sort(), model.change(path).sort(), `watchers of ${path}`);
        };
        for (const op of ops) {
          switch (op.kind) {
            case 'arm':
              if (op.persistent) {
                // a persistent watch lives in both tables; this property follows the data table
                w.addPersistentWatch(name(op.path), op.watcher, false);
                model.arm(name(op.path), op.watcher, WatchMode.persistent);
              } else {
                w.addDataWatch(name(op.path), op.watcher);
                model.arm(name(op.path), op.watcher, WatchMode.standard);
              }
              break;
            case 'armRange':
              for (let i = 0; i < op.count; i++) {
                w.addDataWatch(name(op.from + i), op.watcher);
                model.arm(name(op.from + i), op.watcher, WatchMode.standard);
              }
              break;
            case 'change':
              change(name(op.path));
              break;
            case 'changeRange':
              for (let i = 0; i < op.count; i++) change(name(op.from + i));
              break;
            case 'remove':
              assert.equal(w.data.remove(name(op.path), op.watcher), model.remove(name(op.path), op.watcher));
              break;
            case 'close':
              w.removeConnection(op.watcher);
              model.close(op.watcher);
              break;
          }
          for (let watcher = 1; watcher <= WATCHERS; watcher++) {
            assert.deepEqual(
              w.data.pathsOf(watcher).sort(),
              model.pathsOf(watcher).sort(),
              `paths of ${watcher} after ${JSON.stringify(op)}`,
            );
          }
          assert.deepEqual([...w.data.byWatcher.keys()].sort(), [...model.entries].sort(), 'connections with an entry');
          let count = 0;
          for (const m of w.data.byPath.values()) count += m.size;
          assert.equal(
            count,
            [...model.byPath.values()].reduce((n, m) => n + m.size, 0),
            'watch count',
          );
          for (const [path, m] of model.byPath) for (const watcher of m.keys()) assert.equal(w.data.has(path, watcher), true);
          // the swept sets stay bounded: no entry holds more stale paths than the slack allows
          for (const [watcher, mine] of w.data.byWatcher) {
            const live = model.pathsOf(watcher).length;
            assert.equal(mine.live, live, `live count of ${watcher}`);
            assert.ok(mine.paths.size <= 4 * live + 128, `${watcher}: ${mine.paths.size} listed for ${live} live`);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
