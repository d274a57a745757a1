import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, OpCode, Perms, type ACL, type Stat, type Txn } from '../../../src/codec/index.js';
import {
  CONTAINER_EPHEMERAL_OWNER,
  DataTree,
  OPEN_ACL_UNSAFE,
  READ_ACL_UNSAFE,
  ttlOwner,
  type ApplyResult,
  type TreeChange,
} from '../../../src/tree/index.js';

const OPEN: ACL[] = [...OPEN_ACL_UNSAFE];
const S1 = 0x0100000000000001n;
const S2 = 0x0100000000000002n;

/** Applies txns with increasing zxids (time = 1000 * zxid). */
type Applied = ApplyResult & { stat?: Stat };

class Harness {
  zxid = 0;
  readonly changes: TreeChange[] = [];
  constructor(readonly tree = new DataTree()) {
    this.zxid = tree.lastProcessedZxid;
  }

  /** Applies `txn`; the result's Stat is read from its node at once, as a write's reply reads it. */
  apply(txn: Txn, clientId = S1, zxid = ++this.zxid): Applied {
    const res = this.tree.applyTxn({ clientId, cxid: 1, zxid, time: zxid * 1000, type: txn.type }, txn, this.changes);
    return res.node === undefined ? res : { ...res, stat: this.tree.statOf(res.node) };
  }

  /** A create txn with the parent's counter taken from the tree (as prep computes it). */
  create(path: string, opts: { data?: Buffer | null; ephemeral?: boolean; clientId?: bigint; type?: 1 | 15 } = {}): Applied {
    const parent = this.tree.get(path.slice(0, path.lastIndexOf('/')) || '/');
    const parentCVersion = parent === undefined ? 1 : parent.cversion + 1;
    return this.apply(
      {
        type: opts.type ?? OpCode.create,
        path,
        data: opts.data === undefined ? Buffer.from('d') : opts.data,
        acl: OPEN,
        ephemeral: opts.ephemeral ?? false,
        parentCVersion,
      },
      opts.clientId ?? S1,
    );
  }

  stat(path: string): Stat {
    const node = this.tree.get(path);
    assert.ok(node !== undefined, `${path} exists`);
    return this.tree.statOf(node);
  }
}

describe('system nodes', () => {
  test('"/" shows cversion -1 and one child', () => {
    const h = new Harness();
    assert.deepEqual(h.stat('/'), {
      czxid: 0,
      mzxid: 0,
      ctime: 0,
      mtime: 0,
      version: 0,
      cversion: -1,
      aversion: 0,
      ephemeralOwner: 0n,
      dataLength: 0,
      numChildren: 1,
      pzxid: 0,
    });
    assert.deepEqual(h.tree.get('/')!.childNames(), ['zookeeper']);
  });

  test('/zookeeper shows cversion -2 and children quota, config', () => {
    const h = new Harness();
    const s = h.stat('/zookeeper');
    assert.equal(s.cversion, -2);
    assert.equal(s.numChildren, 2);
    assert.deepEqual(h.tree.get('/zookeeper')!.childNames().sort(), ['config', 'quota']);
  });

  test('/zookeeper/config has aversion -1 and ACL world:anyone READ', () => {
    const h = new Harness();
    const s = h.stat('/zookeeper/config');
    assert.equal(s.aversion, -1);
    assert.equal(s.numChildren, 0);
    assert.equal(s.cversion, 0);
    assert.deepEqual(h.tree.get('/zookeeper/config')!.acl, [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }]);
    assert.deepEqual(h.tree.get('/zookeeper/config')!.acl, READ_ACL_UNSAFE);
    assert.deepEqual(h.tree.get('/zookeeper/quota')!.acl, OPEN);
    assert.equal(h.stat('/zookeeper/quota').aversion, 0);
  });

  test('the initial tree has 4 nodes and lastProcessedZxid 0', () => {
    const tree = new DataTree();
    assert.equal(tree.size, 4);
    assert.equal(tree.lastProcessedZxid, 0);
    assert.equal(tree.countDescendants('/'), 3);
  });

  test('setConfigData replaces /zookeeper/config data', () => {
    const h = new Harness();
    h.tree.setConfigData(Buffer.from('server.1=a:1:2'));
    assert.equal(h.stat('/zookeeper/config').dataLength, 14);
    assert.deepEqual(h.tree.get('/zookeeper/config')!.data(), Buffer.from('server.1=a:1:2'));
  });
});

describe('create', () => {
  test('new node stat and parent cversion/pzxid', () => {
    const h = new Harness();
    const res = h.create('/a', { data: Buffer.from('hi') });
    assert.equal(res.err, 0);
    assert.equal(res.path, '/a');
    const expected: Stat = {
      czxid: 1,
      mzxid: 1,
      ctime: 1000,
      mtime: 1000,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0n,
      dataLength: 2,
      numChildren: 0,
      pzxid: 1,
    };
    assert.deepEqual(res.stat, expected);
    assert.deepEqual(h.stat('/a'), expected);
    const root = h.stat('/');
    assert.equal(root.numChildren, 2);
    assert.equal(root.cversion, 0); // 2*1 - 2
    assert.equal(root.pzxid, 1);
    assert.equal(root.mzxid, 0);
    assert.deepEqual(h.changes, [{ kind: 'created', path: '/a', acl: OPEN, parentAcl: OPEN_ACL_UNSAFE }]);
  });

  test('null data has dataLength 0', () => {
    const h = new Harness();
    assert.equal(h.create('/n', { data: null }).stat?.dataLength, 0);
  });

  test('4 sequential creates and 1 delete: cversion 5, stored counter 4', () => {
    const h = new Harness();
    h.create('/q');
    for (let i = 0; i < 4; i++) h.create(`/q/n${String(i).padStart(10, '0')}`);
    assert.equal(h.apply({ type: OpCode.delete, path: '/q/n0000000001' }).err, 0);
    const s = h.stat('/q');
    assert.equal(s.cversion, 5);
    assert.equal(s.numChildren, 3);
    assert.equal(h.tree.get('/q')!.cversion, 4); // the next sequential suffix
    assert.equal(s.pzxid, h.zxid);
  });

  test('missing parent -> NONODE, existing node -> NODEEXISTS, and the tree is unchanged', () => {
    const h = new Harness();
    h.create('/a');
    const before = h.stat('/');
    assert.equal(h.create('/x/y').err, ErrorCode.NONODE);
    const rootCounter = h.tree.get('/')!.cversion;
    const again = { type: OpCode.create, data: null, acl: OPEN, ephemeral: false, parentCVersion: rootCounter } as const;
    assert.equal(h.apply({ ...again, path: '/a' }).err, ErrorCode.NODEEXISTS);
    assert.equal(h.apply({ ...again, path: '/zookeeper' }).err, ErrorCode.NODEEXISTS);
    assert.deepEqual(h.stat('/'), before);
    assert.equal(h.changes.length, 1);
  });

  test('a replayed create that meets an existing node still advances the parent counter (fuzzy snapshot)', () => {
    const h = new Harness();
    h.create('/p');
    h.create('/p/a'); // stored counter 1
    const res = h.apply({ type: OpCode.create, path: '/p/a', data: null, acl: OPEN, ephemeral: false, parentCVersion: 3 });
    assert.equal(res.err, ErrorCode.NODEEXISTS);
    assert.equal(h.tree.get('/p')!.cversion, 3);
  });

  test('replayed create whose parentCVersion is not newer leaves cversion and pzxid alone', () => {
    const h = new Harness();
    h.create('/p');
    h.create('/p/a'); // stored counter 1, pzxid 2
    h.apply({ type: OpCode.delete, path: '/p/a' }); // pzxid 3
    const res = h.apply({ type: OpCode.create, path: '/p/a', data: null, acl: OPEN, ephemeral: false, parentCVersion: 1 });
    assert.equal(res.err, 0);
    assert.equal(h.tree.get('/p')!.cversion, 1);
    assert.equal(h.stat('/p').pzxid, 3);
  });

  test('parentCVersion -1 means "one more than the parent has"', () => {
    const h = new Harness();
    h.apply({ type: OpCode.create, path: '/a', data: null, acl: OPEN, ephemeral: false, parentCVersion: -1 });
    assert.equal(h.tree.get('/')!.cversion, 1);
    assert.equal(h.stat('/').pzxid, 1);
  });

  test('create2 returns the same result shape', () => {
    const h = new Harness();
    const res = h.create('/c2', { type: OpCode.create2 });
    assert.equal(res.err, 0);
    assert.equal(res.stat?.czxid, 1);
  });
});

describe('setData / setACL / delete', () => {
  test('setData sets version from the txn and touches only mzxid/mtime/data', () => {
    const h = new Harness();
    h.create('/a');
    const rootBefore = h.stat('/');
    const res = h.apply({ type: OpCode.setData, path: '/a', data: Buffer.from('abc'), version: 1 });
    assert.equal(res.err, 0);
    assert.deepEqual(res.stat, {
      czxid: 1,
      mzxid: 2,
      ctime: 1000,
      mtime: 2000,
      version: 1,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0n,
      dataLength: 3,
      numChildren: 0,
      pzxid: 1,
    });
    assert.deepEqual(h.stat('/'), rootBefore);
    assert.deepEqual(h.changes.at(-1), { kind: 'dataChanged', path: '/a', acl: OPEN, parentAcl: [] });
    assert.equal(h.apply({ type: OpCode.setData, path: '/nope', data: null, version: 1 }).err, ErrorCode.NONODE);
  });

  test('setACL sets acl and aversion, not mzxid, and fires no change', () => {
    const h = new Harness();
    h.create('/a');
    const acl: ACL[] = [{ perms: Perms.READ, id: { scheme: 'digest', id: 'u:h=' } }];
    const n = h.changes.length;
    const res = h.apply({ type: OpCode.setACL, path: '/a', acl, version: 1 });
    assert.equal(res.err, 0);
    assert.ok(res.stat !== undefined);
    assert.equal(res.stat.aversion, 1);
    assert.equal(res.stat.mzxid, 1);
    assert.deepEqual(h.tree.get('/a')!.acl, acl);
    assert.equal(h.changes.length, n);
    assert.equal(h.apply({ type: OpCode.setACL, path: '/nope', acl, version: 1 }).err, ErrorCode.NONODE);
  });

  test('delete bumps the parent pzxid and visible cversion, not the stored counter', () => {
    const h = new Harness();
    h.create('/a');
    h.create('/a/b');
    const res = h.apply({ type: OpCode.delete, path: '/a/b' });
    assert.equal(res.err, 0);
    assert.equal(h.tree.get('/a/b'), undefined);
    const s = h.stat('/a');
    assert.equal(s.pzxid, 3);
    assert.equal(s.numChildren, 0);
    assert.equal(s.cversion, 2);
    assert.equal(h.tree.get('/a')!.cversion, 1);
    assert.equal(s.mzxid, 1);
    assert.deepEqual(h.changes.at(-1), { kind: 'deleted', path: '/a/b', acl: OPEN, parentAcl: OPEN_ACL_UNSAFE });
  });

  test('delete of a missing node or of "/" is NONODE', () => {
    const h = new Harness();
    assert.equal(h.apply({ type: OpCode.delete, path: '/nope' }).err, ErrorCode.NONODE);
    assert.equal(h.apply({ type: OpCode.delete, path: '/' }).err, ErrorCode.NONODE);
    assert.ok(h.tree.get('/') !== undefined);
  });

  test('a replayed delete with an older zxid does not lower pzxid', () => {
    const h = new Harness();
    h.create('/a'); // 1
    h.create('/a/b'); // 2
    h.create('/a/c'); // 3
    h.apply({ type: OpCode.delete, path: '/a/b' }, S1, 2);
    assert.equal(h.stat('/a').pzxid, 3);
  });

  test('check returns the stat or NONODE and changes nothing', () => {
    const h = new Harness();
    h.create('/a');
    const res = h.apply({ type: OpCode.check, path: '/a', version: 0 });
    assert.equal(res.err, 0);
    assert.equal(res.stat?.version, 0);
    assert.equal(h.apply({ type: OpCode.check, path: '/b', version: 0 }).err, ErrorCode.NONODE);
    assert.equal(h.changes.length, 1);
  });

  test('error txns report their code; createSession is a no-op', () => {
    const h = new Harness();
    assert.deepEqual(h.apply({ type: OpCode.error, err: ErrorCode.NODEEXISTS }), { err: ErrorCode.NODEEXISTS });
    assert.deepEqual(h.apply({ type: OpCode.createSession, timeOut: 5000 }), { err: 0 });
    assert.equal(h.tree.size, 4);
    assert.equal(h.tree.lastProcessedZxid, 2);
  });

  test('lastProcessedZxid never goes backwards', () => {
    const h = new Harness();
    h.apply({ type: OpCode.error, err: 0 }, S1, 10);
    h.apply({ type: OpCode.error, err: 0 }, S1, 5);
    assert.equal(h.tree.lastProcessedZxid, 10);
  });

  test('approximateDataSize follows paths and data', () => {
    const tree = new DataTree();
    const h = new Harness(tree);
    const base = tree.approximateDataSize;
    assert.equal(base, '/zookeeper'.length + '/zookeeper/quota'.length + '/zookeeper/config'.length);
    h.create('/ab', { data: Buffer.from('12345') });
    assert.equal(tree.approximateDataSize, base + 3 + 5);
    h.apply({ type: OpCode.setData, path: '/ab', data: Buffer.from('1'), version: 1 });
    assert.equal(tree.approximateDataSize, base + 3 + 1);
    h.apply({ type: OpCode.delete, path: '/ab' });
    assert.equal(tree.approximateDataSize, base);
  });
});

describe('ephemeral, container and TTL indexes', () => {
  test('ephemerals are indexed by session and shown with their owner', () => {
    const h = new Harness();
    h.create('/e1', { ephemeral: true, clientId: S1 });
    h.create('/e2', { ephemeral: true, clientId: S1 });
    h.create('/f', { ephemeral: true, clientId: S2 });
    h.create('/p', { clientId: S1 });
    assert.deepEqual([...h.tree.ephemeralsOf(S1)].sort(), ['/e1', '/e2']);
    assert.deepEqual(h.tree.ephemeralsOf(S2), ['/f']);
    assert.equal(h.stat('/e1').ephemeralOwner, S1);
    assert.equal(h.stat('/p').ephemeralOwner, 0n);
    h.apply({ type: OpCode.delete, path: '/e1' });
    assert.deepEqual(h.tree.ephemeralsOf(S1), ['/e2']);
    h.apply({ type: OpCode.delete, path: '/e2' });
    assert.deepEqual(h.tree.ephemeralsOf(S1), []);
    assert.equal(h.tree.ephemerals.has(S1), false);
  });

  test('containers: indexed, owner 0x8000000000000000 internally, 0 to clients', () => {
    const h = new Harness();
    const res = h.apply({ type: OpCode.createContainer, path: '/c', data: null, acl: OPEN, parentCVersion: 1 });
    assert.equal(res.err, 0);
    assert.deepEqual([...h.tree.containers], ['/c']);
    assert.equal(h.tree.get('/c')!.ephemeralOwner, CONTAINER_EPHEMERAL_OWNER);
    assert.equal(h.stat('/c').ephemeralOwner, 0n);
    assert.equal(h.tree.ephemerals.size, 0);
    h.apply({ type: OpCode.deleteContainer, path: '/c' });
    assert.equal(h.tree.containers.size, 0);
  });

  test('TTL nodes (extended types): indexed, owner 0xFF..|ttl internally, 0 to clients', () => {
    const h = new Harness(new DataTree(true));
    const res = h.apply({ type: OpCode.createTTL, path: '/t', data: null, acl: OPEN, parentCVersion: 1, ttl: 5000 });
    assert.equal(res.err, 0);
    assert.equal(res.stat?.ephemeralOwner, 0n);
    assert.deepEqual([...h.tree.ttls], ['/t']);
    assert.equal(h.tree.get('/t')!.ephemeralOwner, ttlOwner(5000));
    assert.equal(BigInt.asUintN(64, h.tree.get('/t')!.ephemeralOwner), 0xff00000000000000n | 5000n);
    assert.equal(h.tree.ephemerals.size, 0);
    h.apply({ type: OpCode.delete, path: '/t' });
    assert.equal(h.tree.ttls.size, 0);
  });
});

describe('closeSession (killSession)', () => {
  test('with paths2Delete null, deletes every ephemeral of that session only', () => {
    const h = new Harness();
    h.create('/p');
    h.create('/p/e1', { ephemeral: true, clientId: S1 });
    h.create('/e2', { ephemeral: true, clientId: S1 });
    h.create('/f', { ephemeral: true, clientId: S2 });
    h.changes.length = 0;
    const res = h.apply({ type: OpCode.closeSession, paths2Delete: null }, S1);
    assert.equal(res.err, 0);
    assert.equal(h.tree.get('/p/e1'), undefined);
    assert.equal(h.tree.get('/e2'), undefined);
    assert.ok(h.tree.get('/f') !== undefined);
    assert.deepEqual(h.tree.ephemeralsOf(S1), []);
    assert.deepEqual(h.changes.map((c) => c.path).sort(), ['/e2', '/p/e1']);
    assert.ok(h.changes.every((c) => c.kind === 'deleted'));
    assert.equal(h.stat('/p').pzxid, h.zxid);
    assert.equal(h.stat('/').pzxid, h.zxid);
  });

  test('with an explicit list, deletes those paths and ignores missing ones', () => {
    const h = new Harness();
    h.create('/e1', { ephemeral: true, clientId: S1 });
    h.create('/e2', { ephemeral: true, clientId: S1 });
    const res = h.apply({ type: OpCode.closeSession, paths2Delete: ['/e1', '/gone'] }, S1);
    assert.equal(res.err, 0);
    assert.equal(h.tree.get('/e1'), undefined);
    assert.ok(h.tree.get('/e2') !== undefined);
    assert.deepEqual(h.tree.ephemeralsOf(S1), ['/e2']);
  });
});

describe('multi', () => {
  test('applies sub-txns in order and reports per-op results', () => {
    const h = new Harness();
    const res = h.apply({
      type: OpCode.multi,
      txns: [
        { type: OpCode.create, path: '/m', data: null, acl: OPEN, ephemeral: false, parentCVersion: 1 },
        { type: OpCode.create2, path: '/m/c', data: Buffer.from('x'), acl: OPEN, ephemeral: false, parentCVersion: 1 },
        { type: OpCode.setData, path: '/m', data: Buffer.from('yy'), version: 1 },
        { type: OpCode.check, path: '/m', version: 1 },
        { type: OpCode.delete, path: '/m/c' },
        { type: OpCode.createContainer, path: '/m/k', data: null, acl: OPEN, parentCVersion: 2 },
      ],
    });
    assert.equal(res.err, 0);
    const results = res.multiResults!;
    assert.equal(results.length, 6);
    assert.deepEqual(results[0], { type: OpCode.create, path: '/m' });
    assert.equal(results[1]?.type, OpCode.create2);
    assert.deepEqual(results[2]?.type === OpCode.setData ? results[2].stat.version : null, 1);
    assert.deepEqual(results[3], { type: OpCode.check });
    assert.deepEqual(results[4], { type: OpCode.delete });
    assert.ok(results[5]?.type === OpCode.create2 && results[5].path === '/m/k' && results[5].stat.ephemeralOwner === 0n);
    // Every sub-txn carries the multi's zxid.
    const m = h.stat('/m');
    assert.equal(m.czxid, 1);
    assert.equal(m.pzxid, 1);
    assert.equal(m.cversion, 2 * 2 - 1);
    assert.deepEqual(
      h.changes.map((c) => `${c.kind} ${c.path}`),
      ['created /m', 'created /m/c', 'dataChanged /m', 'deleted /m/c', 'created /m/k'],
    );
  });

  test('a failed multi (all error txns) reports 0 / code / -2 and changes nothing', () => {
    const h = new Harness();
    h.create('/a');
    const before = new Map([...h.tree.entries()].map(([p, n]) => [p, h.tree.statOf(n)]));
    const res = h.apply({
      type: OpCode.multi,
      txns: [
        { type: OpCode.error, err: 0 },
        { type: OpCode.error, err: ErrorCode.NODEEXISTS },
        { type: OpCode.error, err: ErrorCode.RUNTIMEINCONSISTENCY },
      ],
    });
    assert.equal(res.err, 0);
    assert.deepEqual(res.multiResults, [
      { type: OpCode.error, err: 0 },
      { type: OpCode.error, err: ErrorCode.NODEEXISTS },
      { type: OpCode.error, err: ErrorCode.RUNTIMEINCONSISTENCY },
    ]);
    assert.deepEqual(new Map([...h.tree.entries()].map(([p, n]) => [p, h.tree.statOf(n)])), before);
    assert.equal(h.changes.length, 1);
    assert.equal(h.tree.lastProcessedZxid, 2);
  });

  test('a sub-txn failing at apply time is reported as an error result', () => {
    const h = new Harness();
    const res = h.apply({ type: OpCode.multi, txns: [{ type: OpCode.delete, path: '/nope' }] });
    assert.deepEqual(res.multiResults, [{ type: OpCode.error, err: ErrorCode.NONODE }]);
  });
});

describe('countDescendants', () => {
  test('counts every node below, not the node itself', () => {
    const h = new Harness();
    h.create('/a');
    h.create('/a/b');
    h.create('/a/b/c');
    h.create('/a/d');
    h.create('/x');
    assert.equal(h.tree.countDescendants('/a'), 3);
    assert.equal(h.tree.countDescendants('/a/b'), 1);
    assert.equal(h.tree.countDescendants('/a/b/c'), 0);
    assert.equal(h.tree.countDescendants('/zookeeper'), 2);
    assert.equal(h.tree.countDescendants('/'), 8);
    assert.equal(h.tree.countDescendants('/missing'), 0);
  });
});

describe('replaying a failed multi as Apache ZooKeeper logs it', () => {
  test('ops logged before the error entry are not applied', () => {
    const h = new Harness();
    h.create('/m');
    h.create('/m/a');
    const before = h.stat('/m');
    const res = h.apply({
      type: OpCode.multi,
      txns: [
        { type: OpCode.create, path: '/m/new', data: null, acl: OPEN, ephemeral: false, parentCVersion: 2 },
        { type: OpCode.setData, path: '/m/a', data: Buffer.from('x'), version: 1 },
        { type: OpCode.error, err: ErrorCode.BADVERSION },
        { type: OpCode.error, err: ErrorCode.RUNTIMEINCONSISTENCY },
      ],
    });
    assert.equal(h.tree.get('/m/new'), undefined);
    assert.equal(h.stat('/m/a').version, 0);
    assert.deepEqual(h.stat('/m'), before);
    assert.deepEqual(
      res.multiResults?.map((r) => (r.type === OpCode.error ? r.err : 'applied')),
      [0, 0, ErrorCode.BADVERSION, ErrorCode.RUNTIMEINCONSISTENCY],
    );
  });
});
