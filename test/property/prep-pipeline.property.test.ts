/**
 * Pipelined preparation equals sequential preparation.
 *
 * ZooKeeper's PrepRequestProcessor checks a write against the tree plus every write prepared
 * before it and not yet applied, so a txn must come out exactly as it would if all earlier
 * txns had already been applied. The same random writes go to a preparer whose txns are
 * applied later, in order, a random number at a time, and to a reference: a tree to which each
 * txn is applied at once, and a fresh preparer for each write, so nothing is ever pending
 * there. Every txn (header and body) must be the same, and so must the trees at the end.
 *
 * Most writes go to six hot paths (and their children), so they meet each other's pending
 * records; the rest spread over 1,600 more, so within a long sequence the pending table's bulk
 * sweep of records whose txns are applied runs several times.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CreateMode, OpCode, type Txn } from '../../src/codec/index.js';
import { RequestPreparer, type Prepared } from '../../src/prep/index.js';
import { Fixture, S1, S2, check, create, del, multi, setData, type MultiReq, type WriteReq } from '../unit/prep/helpers.js';

const TOP = 1600;

type Step =
  { kind: 'write'; req: WriteReq | MultiReq; session: bigint; applyAfter: number } | { kind: 'close'; session: bigint; applyAfter: number };

const session = fc.constantFrom(S1, S2);
// A few hot paths, so that writes meet each other's pending records, and many cold ones.
const top = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 5 }).map((i) => `/h${i}`) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: TOP - 1 }).map((i) => `/p${i}`) },
);
const anyPath = fc.oneof({ weight: 4, arbitrary: top }, { weight: 1, arbitrary: top.map((p) => `${p}/c`) });
const version = fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }) });
const flags = fc.constantFrom(
  CreateMode.PERSISTENT,
  CreateMode.PERSISTENT,
  CreateMode.EPHEMERAL,
  CreateMode.PERSISTENT_SEQUENTIAL,
  CreateMode.EPHEMERAL_SEQUENTIAL,
);
const single: fc.Arbitrary<WriteReq> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(anyPath, flags).map(([p, f]) => create(p, { flags: f })) },
  { weight: 2, arbitrary: fc.tuple(anyPath, version).map(([p, v]) => del(p, v)) },
  { weight: 4, arbitrary: fc.tuple(anyPath, version).map(([p, v]) => setData(p, v, Buffer.from(`${p}:${v}`))) },
  { weight: 1, arbitrary: fc.tuple(anyPath, version).map(([p, v]) => check(p, v)) },
);
// Mostly 0 or 1 applies per write, sometimes a run of them: the queue grows and drains.
const applyAfter = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.constant(1) },
  { weight: 1, arbitrary: fc.integer({ min: 2, max: 8 }) },
);
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 40, arbitrary: fc.record({ kind: fc.constant('write' as const), req: single, session, applyAfter }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      req: fc.array(single, { minLength: 1, maxLength: 3 }).map((ops): WriteReq | MultiReq => multi(...ops)),
      session,
      applyAfter,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), session, applyAfter }) },
);

/** closeSession lists its paths in Java hash order, which may differ once some are pending. */
function comparable(t: Txn): Txn {
  if (t.type !== OpCode.closeSession) return t;
  return { ...t, paths2Delete: [...(t.paths2Delete ?? [])].sort() };
}

function run(steps: readonly Step[]): void {
  const now = new Fixture();
  const later = new Fixture();
  const queue: Prepared[] = [];
  for (const [i, s] of steps.entries()) {
    // The reference: a fresh preparer for each write, so it has nothing pending and reads the tree.
    const reference = new RequestPreparer(now.tree, { extendedTypesEnabled: false, skipAcl: false, enforceQuota: false });
    const ctx = now.ctx(s.session);
    const a = s.kind === 'write' ? reference.prepare(ctx, s.req) : reference.closeSession(ctx);
    now.tree.applyTxn(a.header, a.txn, now.changes);
    const b = s.kind === 'write' ? later.prepare(s.req, s.session) : later.prep.closeSession(later.ctx(s.session));
    assert.deepEqual(b.header, a.header, `step ${i}: header`);
    assert.deepEqual(comparable(b.txn), comparable(a.txn), `step ${i}: txn`);
    queue.push(b);
    // A closeSession is applied before anything after it is prepared. Until it applies, the
    // parents of the ephemerals it deletes keep counting them, as in ZooKeeper (its prep
    // updates only their pzxid), so a pipelined delete of such a parent fails with NOTEMPTY
    // where a sequential one succeeds.
    const n = s.kind === 'close' ? queue.length : s.applyAfter;
    for (let k = n; k > 0 && queue.length > 0; k--) later.apply(queue.shift() as Prepared);
  }
  while (queue.length > 0) later.apply(queue.shift() as Prepared);
  assert.equal(later.tree.size, now.tree.size, 'node count');
  for (const [path, node] of now.tree.entries()) {
    const other = later.tree.get(path);
    assert.ok(other !== undefined, `${path} missing`);
    assert.deepEqual(later.tree.statOf(other), now.tree.statOf(node), `${path}: stat`);
    assert.equal(other.dataLatin1, node.dataLatin1, `${path}: data`);
  }
}

describe('prep: pipelined = sequential', () => {
  test('random writes, applied later in random runs', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 5000, size: 'max' }), (steps) => run(steps)),
      { numRuns: 16 },
    );
  });
});
