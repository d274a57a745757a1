import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CreateMode, ErrorCode, OpCode } from '../../../src/codec/index.js';
import type { Prepared } from '../../../src/prep/index.js';
import { Fixture, S1, S2, check, create, del, errOf, multi, multiCodes, setData } from './helpers.js';

const E = ErrorCode;
const SEQ = { flags: CreateMode.PERSISTENT_SEQUENTIAL };
const EPH = { flags: CreateMode.EPHEMERAL };

describe('multi', () => {
  test('ops see earlier ops: create then check of version 0 succeeds', () => {
    const f = new Fixture();
    const { p, res } = f.run(multi(create('/m'), check('/m', 0), setData('/m', 0), check('/m', 1), create('/m/c')));
    assert.equal(p.header.type, OpCode.multi);
    assert.deepEqual(multiCodes(p), [0, 0, 0, 0, 0]);
    assert.deepEqual(
      res.multiResults?.map((r) => r.type),
      [OpCode.create, OpCode.check, OpCode.setData, OpCode.check, OpCode.create],
    );
    assert.equal(f.tree.get('/m')!.version, 1);
    assert.ok(f.tree.get('/m/c') !== undefined);
  });

  test('create then create of the same path: [0, NODEEXISTS], nothing applied', () => {
    const f = new Fixture();
    const { p, res } = f.run(multi(create('/m'), create('/m')));
    assert.deepEqual(multiCodes(p), [0, E.NODEEXISTS]);
    assert.ok(p.txn.type === OpCode.multi && p.txn.txns.every((t) => t.type === OpCode.error));
    assert.deepEqual(res.multiResults, [
      { type: OpCode.error, err: 0 },
      { type: OpCode.error, err: E.NODEEXISTS },
    ]);
    assert.equal(f.tree.get('/m'), undefined);
    assert.equal(f.changes.length, 0);
  });

  test('failing op in the middle: 0 before, its code, -2 after', () => {
    const f = new Fixture();
    f.ok(create('/a'));
    const { p } = f.run(multi(create('/b'), setData('/a', 0), del('/a', 5), create('/c'), check('/a', 0)));
    assert.deepEqual(multiCodes(p), [0, 0, E.BADVERSION, E.RUNTIMEINCONSISTENCY, E.RUNTIMEINCONSISTENCY]);
    assert.equal(f.tree.get('/b'), undefined);
    assert.equal(f.tree.get('/a')!.version, 0);
  });

  test('the first op failing', () => {
    const f = new Fixture();
    assert.deepEqual(multiCodes(f.run(multi(del('/nope'), create('/x'))).p), [E.NONODE, E.RUNTIMEINCONSISTENCY]);
  });

  test('a failed multi consumes exactly one zxid and leaves no pending state', () => {
    const f = new Fixture();
    const p = f.prepare(multi(create('/a'), create('/a/b'), create('/missing/x')));
    assert.equal(p.header.zxid, 1);
    assert.deepEqual(multiCodes(p), [0, 0, E.NONODE]);
    // Not applied yet, but the rolled-back creates must not be visible to later requests.
    assert.equal(errOf(f.prepare(create('/a'))), 0);
    const seq = f.prepare(create('/s', SEQ));
    assert.ok(seq.txn.type === OpCode.create && seq.txn.path === '/s0000000001');
    assert.equal(seq.header.zxid, 3);
  });

  test('rollback restores earlier pending records, not the tree state', () => {
    const f = new Fixture();
    const p1 = f.prepare(create('/p')); // pending, not applied
    const failed = f.prepare(multi(del('/p'), create('/p/x'), create('/missing/y')));
    assert.deepEqual(multiCodes(failed), [0, E.NONODE, E.RUNTIMEINCONSISTENCY]);
    // /p is still pending-created: creating it again is NODEEXISTS, a child is fine.
    const dup = f.prepare(create('/p'));
    assert.equal(errOf(dup), E.NODEEXISTS);
    const child = f.prepare(create('/p/c'));
    assert.equal(errOf(child), 0);
    assert.deepEqual(
      [p1, failed, dup, child].map((p) => f.apply(p).err),
      [0, 0, E.NODEEXISTS, 0],
    );
    assert.ok(f.tree.get('/p/c') !== undefined);
    assert.equal(f.tree.statOf(f.tree.get('/p')!).numChildren, 1);
  });

  test('a successful multi stays pending for later requests until applied', () => {
    const f = new Fixture();
    const m = f.prepare(multi(create('/a'), create('/a/b', SEQ)));
    assert.deepEqual(multiCodes(m), [0, 0]);
    assert.ok(m.txn.type === OpCode.multi && m.txn.txns[1]?.type === OpCode.create && m.txn.txns[1].path === '/a/b0000000000');
    assert.equal(errOf(f.prepare(create('/a'))), E.NODEEXISTS);
    assert.equal(errOf(f.prepare(del('/a'))), E.NOTEMPTY);
    const s = f.prepare(create('/a/b', SEQ));
    assert.ok(s.txn.type === OpCode.create && s.txn.path === '/a/b0000000001');
  });

  test('multi results after apply carry paths and stats', () => {
    const f = new Fixture();
    f.ok(create('/x'));
    const res = f.ok(multi(create('/n', SEQ), create('/x/c', { op: OpCode.create2 }), setData('/x', 0), del('/x/c')));
    const r = res.multiResults!;
    assert.deepEqual(r[0], { type: OpCode.create, path: '/n0000000001' });
    // Inside a multi ZooKeeper rebuilds creates from their flags: a create2 sub-op answers with the path only.
    assert.deepEqual(r[1], { type: OpCode.create, path: '/x/c' });
    assert.ok(r[2]?.type === OpCode.setData && r[2].stat.version === 1 && r[2].stat.mzxid === 2);
    assert.deepEqual(r[3], { type: OpCode.delete });
    assert.equal(f.tree.statOf(f.tree.get('/x')!).cversion, 2);
  });

  test('an empty multi succeeds with no results', () => {
    const f = new Fixture();
    const { p, res } = f.run(multi());
    assert.deepEqual(p.txn, { type: OpCode.multi, txns: [] });
    assert.deepEqual(res.multiResults, []);
  });
});

describe('pending overlay (prepared but not applied)', () => {
  test('two creates prepared before applying either: parent then child', () => {
    const f = new Fixture();
    const a = f.prepare(create('/a'));
    const b = f.prepare(create('/a/b'));
    assert.equal(errOf(a), 0);
    assert.equal(errOf(b), 0);
    assert.ok(b.txn.type === OpCode.create && b.txn.parentCVersion === 1);
    assert.equal(f.apply(a).err, 0);
    assert.equal(f.apply(b).err, 0);
    assert.equal(f.tree.statOf(f.tree.get('/a')!).numChildren, 1);
  });

  test('the same create prepared twice: the second is NODEEXISTS', () => {
    const f = new Fixture();
    assert.equal(errOf(f.prepare(create('/a'))), 0);
    assert.equal(errOf(f.prepare(create('/a'))), E.NODEEXISTS);
  });

  test('sequence numbers advance across pending creates', () => {
    const f = new Fixture();
    f.ok(create('/q'));
    const ps = [0, 1, 2].map(() => f.prepare(create('/q/n', SEQ)));
    assert.deepEqual(
      ps.map((p) => (p.txn.type === OpCode.create ? [p.txn.path, p.txn.parentCVersion] : null)),
      [
        ['/q/n0000000000', 1],
        ['/q/n0000000001', 2],
        ['/q/n0000000002', 3],
      ],
    );
    for (const p of ps) assert.equal(f.apply(p).err, 0);
    assert.equal(f.tree.get('/q')!.cversion, 3);
    assert.equal(f.ok(create('/q/n', SEQ)).path, '/q/n0000000003');
  });

  test('pending delete then create of the same path; pending create then delete', () => {
    const f = new Fixture();
    f.ok(create('/a'));
    const d = f.prepare(del('/a'));
    assert.equal(errOf(f.prepare(del('/a'))), E.NONODE);
    const c = f.prepare(create('/a'));
    assert.equal(errOf(c), 0);
    const c2 = f.prepare(create('/b'));
    const d2 = f.prepare(del('/b', 0));
    assert.equal(errOf(d2), 0);
    for (const p of [d, c, c2, d2]) assert.equal(f.apply(p).err, 0);
    assert.ok(f.tree.get('/a') !== undefined);
    assert.equal(f.tree.get('/b'), undefined);
  });

  test('a pending delete of the last child lets the parent be deleted before either is applied', () => {
    const f = new Fixture();
    f.ok(create('/p'));
    f.ok(create('/p/c'));
    const d1 = f.prepare(del('/p/c'));
    const d2 = f.prepare(del('/p'));
    assert.equal(errOf(d2), 0);
    assert.equal(f.apply(d1).err, 0);
    assert.equal(f.apply(d2).err, 0);
    assert.equal(f.tree.get('/p'), undefined);
  });

  test('pending setData versions chain', () => {
    const f = new Fixture();
    f.ok(create('/a'));
    assert.equal(errOf(f.prepare(setData('/a', 0))), 0);
    assert.equal(errOf(f.prepare(setData('/a', 0))), E.BADVERSION);
    const p = f.prepare(setData('/a', 1));
    assert.ok(p.txn.type === OpCode.setData && p.txn.version === 2);
    assert.equal(errOf(f.prepare(check('/a', 2))), 0);
  });

  test('pending child create makes the parent NOTEMPTY; pending ephemeral parent refuses children', () => {
    const f = new Fixture();
    f.ok(create('/p'));
    f.prepare(create('/p/c'));
    assert.equal(errOf(f.prepare(del('/p'))), E.NOTEMPTY);
    f.prepare(create('/e', EPH));
    assert.equal(errOf(f.prepare(create('/e/x'))), E.NOCHILDRENFOREPHEMERALS);
  });

  test('applied(zxid) forgets only records up to that zxid', () => {
    const f = new Fixture();
    const a = f.prepare(create('/a'));
    const b = f.prepare(create('/b'));
    f.apply(a); // calls applied(1)
    // /b is still pending: still NODEEXISTS although the tree does not have it
    assert.equal(f.tree.get('/b'), undefined);
    assert.equal(errOf(f.prepare(create('/b'))), E.NODEEXISTS);
    f.apply(b);
    assert.ok(f.tree.get('/b') !== undefined);
  });
});

describe('pending records across the bulk sweep of applied ones', () => {
  test('records not yet applied survive while thousands of applied ones are swept', () => {
    const f = new Fixture();
    f.ok(create('/held'));
    const queue: Prepared[] = [];
    for (let i = 0; i < 3000; i++) queue.push(f.prepare(create(`/n${i}`)));
    queue.push(f.prepare(create('/new')), f.prepare(setData('/held', 0)), f.prepare(setData('/held', 1)));
    // Each create is two records (the node, its parent). Applying 2,900 of the creates leaves
    // about 2,900 paths with applied records against 203 creates pending: a sweep has run (it
    // starts once the table holds more than twice the pending records plus 1,024).
    for (const p of queue.splice(0, 2900)) assert.equal(f.apply(p).err, 0);
    // every txn prepared is queued, so they are applied in zxid order
    const codeOf = (req: Parameters<Fixture['prepare']>[0]): number => {
      const p = f.prepare(req);
      queue.push(p);
      return errOf(p);
    };
    assert.equal(codeOf(create('/n2899')), E.NODEEXISTS); // applied: the tree has it
    assert.equal(codeOf(create('/n2900')), E.NODEEXISTS); // pending
    assert.equal(codeOf(create('/n2999')), E.NODEEXISTS); // pending
    assert.equal(codeOf(create('/new')), E.NODEEXISTS); // pending
    assert.equal(codeOf(setData('/held', 1)), E.BADVERSION); // pending version is 2
    assert.equal(codeOf(setData('/held', 2)), 0);
    for (const p of queue) f.apply(p);
    assert.equal(f.tree.get('/held')?.version, 3);
    assert.ok(f.tree.get('/n2999') !== undefined && f.tree.get('/new') !== undefined);
  });
});

describe('closeSession', () => {
  test('lists tree ephemerals and pending ephemerals of the session only', () => {
    const f = new Fixture();
    f.ok(create('/e1', EPH), S1);
    f.ok(create('/p'));
    f.ok(create('/p/e2', EPH), S1);
    f.ok(create('/other', EPH), S2);
    const pending = f.prepare(create('/e3', EPH), S1);
    const pendingOther = f.prepare(create('/o2', EPH), S2);
    const close = f.prep.closeSession(f.ctx(S1));
    assert.equal(close.header.clientId, S1);
    assert.ok(close.txn.type === OpCode.closeSession);
    assert.deepEqual([...(close.txn.paths2Delete ?? [])].sort(), ['/e1', '/e3', '/p/e2']);
    for (const p of [pending, pendingOther, close]) assert.equal(f.apply(p).err, 0);
    assert.deepEqual(f.tree.ephemeralsOf(S1), []);
    assert.deepEqual([...f.tree.ephemeralsOf(S2)].sort(), ['/o2', '/other']);
    assert.equal(f.tree.get('/e3'), undefined);
  });

  test("after closeSession is prepared, the session's ephemeral paths are free", () => {
    const f = new Fixture();
    f.ok(create('/e', EPH), S1);
    const close = f.prep.closeSession(f.ctx(S1));
    const again = f.prepare(create('/e', EPH), S2);
    assert.equal(errOf(again), 0);
    f.apply(close);
    f.apply(again);
    assert.equal(f.tree.get('/e')!.ephemeralOwner, S2);
  });

  test('a session without ephemerals closes with an empty list', () => {
    const f = new Fixture();
    f.ok(create('/persistent'), S1);
    const close = f.prep.closeSession(f.ctx(S1));
    assert.deepEqual(close.txn, { type: OpCode.closeSession, paths2Delete: [] });
    assert.equal(f.apply(close).err, 0);
    assert.ok(f.tree.get('/persistent') !== undefined);
  });
});
