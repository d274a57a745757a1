import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CreateMode, ErrorCode, OpCode, Perms, type ACL } from '../../../src/codec/index.js';
import { TTL_MS_MAX } from '../../../src/base/index.js';
import { CONTAINER_EPHEMERAL_OWNER, ttlOwner } from '../../../src/tree/index.js';
import { RequestPreparer } from '../../../src/prep/index.js';
import {
  Fixture,
  OPEN,
  S1,
  S2,
  check,
  create,
  createTtl,
  del,
  delContainer,
  digestAcl,
  digestAuth,
  errOf,
  setAcl,
  setData,
} from './helpers.js';

const E = ErrorCode;
const BOB = digestAuth('bob', 'secret');
const BOB_ALL = digestAcl('bob', 'secret', Perms.ALL);
const SUPER = { scheme: 'super', id: '' };

describe('successful create', () => {
  test('produces a create txn with the parent counter + 1 and a fresh zxid', () => {
    const f = new Fixture();
    const p = f.prepare(create('/a', { data: Buffer.from('x') }));
    assert.deepEqual(p.header, { clientId: S1, cxid: 1, zxid: 1, time: f.now, type: OpCode.create });
    assert.deepEqual(p.txn, { type: OpCode.create, path: '/a', data: Buffer.from('x'), acl: OPEN, ephemeral: false, parentCVersion: 1 });
    const res = f.apply(p);
    assert.equal(res.err, 0);
    assert.equal(f.tree.statOf(f.tree.get('/a')!).czxid, 1);
  });

  test('create2 / ephemeral / container / TTL produce the matching txn types', () => {
    const f = new Fixture({ extendedTypesEnabled: true });
    assert.equal(f.prepare(create('/c2', { op: OpCode.create2 })).txn.type, OpCode.create2);
    const eph = f.prepare(create('/e', { flags: CreateMode.EPHEMERAL }));
    assert.ok(eph.txn.type === OpCode.create && eph.txn.ephemeral);
    assert.equal(f.prepare(create('/k', { op: OpCode.createContainer, flags: CreateMode.CONTAINER })).txn.type, OpCode.createContainer);
    // As in ZooKeeper, the opcode picks the kind: a plain create with the container flag is a plain node.
    assert.equal(f.prepare(create('/k2', { flags: CreateMode.CONTAINER })).txn.type, OpCode.create);
    const ttl = f.prepare(createTtl('/t', 1234));
    assert.ok(ttl.txn.type === OpCode.createTTL && ttl.txn.ttl === 1234);
  });

  test('applied container and TTL nodes get their special owners', () => {
    const f = new Fixture({ extendedTypesEnabled: true });
    f.ok(create('/k', { op: OpCode.createContainer, flags: CreateMode.CONTAINER }));
    f.ok(createTtl('/t', 60_000));
    f.ok(createTtl('/s', 60_000, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL));
    assert.equal(f.tree.get('/k')!.ephemeralOwner, CONTAINER_EPHEMERAL_OWNER);
    assert.equal(f.tree.get('/t')!.ephemeralOwner, ttlOwner(60_000));
    assert.ok(f.tree.get('/s0000000002') !== undefined);
    assert.deepEqual([...f.tree.ttls].sort(), ['/s0000000002', '/t']);
  });

  test("a new preparer continues from the tree's lastProcessedZxid", () => {
    const f = new Fixture();
    f.ok(create('/a'));
    f.ok(create('/b'));
    const again = new RequestPreparer(f.tree, { extendedTypesEnabled: false, skipAcl: false, enforceQuota: false });
    assert.equal(again.lastPreparedZxid, 2);
    assert.equal(again.prepare(f.ctx(), create('/c')).header.zxid, 3);
  });
});

describe("create error paths, in ZooKeeper's order", () => {
  test('TTL mode without extended types -> UNIMPLEMENTED, before the TTL value and path are checked', () => {
    const f = new Fixture();
    assert.equal(f.code(createTtl('/t', 1000)), E.UNIMPLEMENTED);
    assert.equal(f.code(createTtl('/t', 0)), E.UNIMPLEMENTED);
    assert.equal(f.code(createTtl('no-slash', -5, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL)), E.UNIMPLEMENTED);
    assert.equal(f.code(create('/t', { flags: CreateMode.PERSISTENT_WITH_TTL })), E.UNIMPLEMENTED);
  });

  test('bad TTL -> BADARGUMENTS, before the path is checked', () => {
    const f = new Fixture({ extendedTypesEnabled: true });
    assert.equal(f.code(createTtl('/t', 0)), E.BADARGUMENTS);
    assert.equal(f.code(createTtl('/t', -1)), E.BADARGUMENTS);
    assert.equal(f.code(createTtl('/t', TTL_MS_MAX + 1)), E.BADARGUMENTS);
    assert.equal(f.code(createTtl('/missing/t', 0)), E.BADARGUMENTS);
    // TTL modes through plain create carry no TTL at all.
    assert.equal(f.code(create('/t', { flags: CreateMode.PERSISTENT_WITH_TTL })), E.BADARGUMENTS);
    // createTTL with a non-TTL mode and a TTL
    assert.equal(f.code(createTtl('/t', 1000, CreateMode.PERSISTENT)), E.BADARGUMENTS);
    assert.equal(f.code(createTtl('/t', TTL_MS_MAX)), 0);
  });

  test('unknown create flags -> BADARGUMENTS', () => {
    const f = new Fixture();
    assert.equal(f.code(create('/a', { flags: 7 })), E.BADARGUMENTS);
    assert.equal(f.code(create('/a', { flags: -1 })), E.BADARGUMENTS);
  });

  test('parent path check: no slash or a NUL -> BADARGUMENTS, before ACL and parent checks', () => {
    const f = new Fixture();
    assert.equal(f.code(create('a')), E.BADARGUMENTS);
    assert.equal(f.code(create('')), E.BADARGUMENTS);
    assert.equal(f.code(create('/missing/a\u0000', { acl: [] })), E.BADARGUMENTS);
  });

  test('fixupACL -> INVALIDACL, before the parent is looked up', () => {
    const f = new Fixture();
    const cases: ACL[][] = [
      [],
      [{ perms: Perms.ALL, id: { scheme: 'nosuch', id: 'x' } }],
      [{ perms: Perms.ALL, id: { scheme: 'digest', id: 'bob' } }],
      [{ perms: Perms.ALL, id: { scheme: 'digest', id: 'bob:a:b' } }],
      [{ perms: Perms.ALL, id: { scheme: 'world', id: 'someone' } }],
      [{ perms: Perms.ALL, id: { scheme: 'ip', id: '300.1.1.1' } }],
      [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }],
    ];
    for (const acl of cases) {
      assert.equal(f.code(create('/a', { acl })), E.INVALIDACL, JSON.stringify(acl));
      assert.equal(f.code(create('/missing/a', { acl })), E.INVALIDACL, `missing parent, ${JSON.stringify(acl)}`);
    }
    // `auth` needs a digest identity: an ip identity does not count.
    assert.equal(
      f.code(create('/a', { acl: [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }] }), S1, [{ scheme: 'ip', id: '127.0.0.1' }]),
      E.INVALIDACL,
    );
    assert.equal(f.tree.get('/a'), undefined);
  });

  test("`auth` expands to the session's digest ids", () => {
    const f = new Fixture();
    const alice = digestAuth('alice', 'pw');
    const p = f.prepare(create('/a', { acl: [{ perms: Perms.READ | Perms.WRITE, id: { scheme: 'auth', id: '' } }] }), S1, [
      BOB,
      { scheme: 'ip', id: '127.0.0.1' },
      alice,
    ]);
    assert.equal(errOf(p), 0);
    assert.ok(p.txn.type === OpCode.create);
    assert.deepEqual(p.txn.acl, [
      { perms: 3, id: BOB },
      { perms: 3, id: alice },
    ]);
  });

  test('missing parent -> NONODE, before CREATE permission and path validation', () => {
    const f = new Fixture();
    assert.equal(f.code(create('/missing/a')), E.NONODE);
    assert.equal(f.code(create('/missing/a/')), E.NONODE);
    assert.equal(f.code(create('/a//b')), E.NONODE); // parent "/a/" does not exist
  });

  test('no CREATE permission on the parent -> NOAUTH, before NODEEXISTS and path validation', () => {
    const f = new Fixture();
    f.ok(
      create('/locked', { acl: [digestAcl('bob', 'secret', Perms.CREATE), { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }] }),
    );
    f.ok(create('/locked/x'), S1, [BOB]);
    assert.equal(f.code(create('/locked/y')), E.NOAUTH);
    assert.equal(f.code(create('/locked/x')), E.NOAUTH);
    assert.equal(f.code(create('/locked/.')), E.NOAUTH);
    assert.equal(f.code(create('/locked/y'), S1, [digestAuth('bob', 'wrong')]), E.NOAUTH);
    assert.equal(f.code(create('/locked/y'), S1, [BOB]), 0);
    assert.equal(f.code(create('/locked/x'), S1, [BOB]), E.NODEEXISTS);
    // super and skipAcl bypass ACLs
    assert.equal(f.code(create('/locked/z'), S1, [SUPER]), 0);
    assert.equal(f.code(create('/zookeeper/config/child')), E.NOAUTH);
  });

  test('skipAcl ignores ACLs entirely', () => {
    const f = new Fixture({ skipAcl: true });
    assert.equal(f.code(create('/zookeeper/config/child')), 0);
  });

  test('path validation of the final path -> BADARGUMENTS, after the sequential suffix', () => {
    const f = new Fixture();
    f.ok(create('/a'));
    assert.equal(f.code(create('/a/')), E.BADARGUMENTS);
    assert.equal(f.code(create('/a/.')), E.BADARGUMENTS);
    assert.equal(f.code(create('/a/\u0001')), E.BADARGUMENTS);
    // With the suffix appended these become valid names.
    const seq = f.run(create('/a/', { flags: CreateMode.PERSISTENT_SEQUENTIAL }));
    assert.equal(seq.code, 0);
    assert.equal(seq.res.path, '/a/0000000000');
    assert.equal(f.run(create('/a/.', { flags: CreateMode.PERSISTENT_SEQUENTIAL })).res.path, '/a/.0000000001');
  });

  test('existing node -> NODEEXISTS, including "/" and the system nodes', () => {
    const f = new Fixture();
    f.ok(create('/a'));
    assert.equal(f.code(create('/a')), E.NODEEXISTS);
    assert.equal(f.code(create('/')), E.NODEEXISTS);
    assert.equal(f.code(create('/zookeeper')), E.NODEEXISTS);
    assert.equal(f.code(create('/zookeeper/quota')), E.NODEEXISTS);
  });

  test('ephemeral parent -> NOCHILDRENFOREPHEMERALS, after NODEEXISTS', () => {
    const f = new Fixture();
    f.ok(create('/e', { flags: CreateMode.EPHEMERAL }));
    assert.equal(f.code(create('/e/x')), E.NOCHILDRENFOREPHEMERALS);
    assert.equal(f.code(create('/e/x', { flags: CreateMode.EPHEMERAL_SEQUENTIAL })), E.NOCHILDRENFOREPHEMERALS);
    assert.equal(f.code(create('/e/x'), S2), E.NOCHILDRENFOREPHEMERALS);
    assert.equal(f.code(create('/e')), E.NODEEXISTS);
  });

  test('containers and TTL nodes may have children', () => {
    const f = new Fixture({ extendedTypesEnabled: true });
    f.ok(create('/k', { op: OpCode.createContainer, flags: CreateMode.CONTAINER }));
    f.ok(createTtl('/t', 1000));
    assert.equal(f.code(create('/k/x')), 0);
    assert.equal(f.code(create('/t/x')), 0);
  });

  test("sequential suffix comes from the parent's stored counter: 4 creates + 1 delete -> next 0000000004, cversion 5", () => {
    const f = new Fixture();
    f.ok(create('/q'));
    const names: string[] = [];
    for (let i = 0; i < 4; i++) names.push(f.ok(create('/q/n-', { flags: CreateMode.PERSISTENT_SEQUENTIAL })).path!);
    assert.deepEqual(names, ['/q/n-0000000000', '/q/n-0000000001', '/q/n-0000000002', '/q/n-0000000003']);
    f.ok(del('/q/n-0000000002'));
    assert.equal(f.tree.statOf(f.tree.get('/q')!).cversion, 5);
    assert.equal(f.ok(create('/q/n-', { flags: CreateMode.PERSISTENT_SEQUENTIAL })).path, '/q/n-0000000004');
    // a failed create does not advance the counter
    assert.equal(f.code(create('/q/n-0000000004')), E.NODEEXISTS);
    assert.equal(f.ok(create('/q/x', { flags: CreateMode.EPHEMERAL_SEQUENTIAL })).path, '/q/x0000000005');
  });

  test('a sequential create that collides with an existing name fails with NODEEXISTS', () => {
    const f = new Fixture();
    f.ok(create('/s0000000005'));
    assert.equal(f.ok(create('/s', { flags: CreateMode.PERSISTENT_SEQUENTIAL })).path, '/s0000000001');
    f.ok(create('/p'));
    f.ok(create('/p/n0000000001')); // the counter of /p is now 1
    assert.equal(f.code(create('/p/n', { flags: CreateMode.PERSISTENT_SEQUENTIAL })), E.NODEEXISTS);
    // The failed create did not advance the counter, so the next attempt collides again.
    assert.equal(f.code(create('/p/n', { flags: CreateMode.PERSISTENT_SEQUENTIAL })), E.NODEEXISTS);
    assert.equal(f.ok(create('/p/m', { flags: CreateMode.PERSISTENT_SEQUENTIAL })).path, '/p/m0000000001');
  });
});

describe('every failed write consumes a zxid', () => {
  test('error txns take the next zxid, carry type error, and apply as their code', () => {
    const f = new Fixture();
    const p1 = f.prepare(create('/missing/x'));
    assert.equal(p1.header.zxid, 1);
    assert.equal(p1.header.type, OpCode.error);
    assert.deepEqual(p1.txn, { type: OpCode.error, err: E.NONODE });
    assert.deepEqual(f.apply(p1), { err: E.NONODE });
    const p2 = f.prepare(create('/a'));
    assert.equal(p2.header.zxid, 2);
    f.apply(p2);
    const p3 = f.prepare(del('/a', 7));
    assert.equal(p3.header.zxid, 3);
    assert.equal(errOf(p3), E.BADVERSION);
    f.apply(p3);
    assert.equal(f.tree.lastProcessedZxid, 3);
    assert.equal(f.prep.lastPreparedZxid, 3);
  });

  test('createSession and closeSession take zxids too', () => {
    const f = new Fixture();
    const cs = f.prep.createSession(f.ctx(S2), 30_000);
    assert.deepEqual(cs.txn, { type: OpCode.createSession, timeOut: 30_000 });
    assert.equal(cs.header.zxid, 1);
    assert.equal(cs.header.clientId, S2);
    const close = f.prep.closeSession(f.ctx(S2));
    assert.equal(close.header.zxid, 2);
    assert.equal(close.header.type, OpCode.closeSession);
  });
});

describe('delete error paths', () => {
  test('special paths -> BADARGUMENTS, even with a wrong version', () => {
    const f = new Fixture();
    for (const p of ['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']) {
      assert.equal(f.code(del(p)), E.BADARGUMENTS, p);
      assert.equal(f.code(del(p, 99)), E.BADARGUMENTS, p);
    }
    assert.equal(f.code(del('no-slash')), E.BADARGUMENTS);
    assert.equal(f.code(del('/a\u0000')), E.BADARGUMENTS);
    assert.equal(f.tree.size, 4);
  });

  test('missing node or missing parent -> NONODE', () => {
    const f = new Fixture();
    assert.equal(f.code(del('/nope')), E.NONODE);
    assert.equal(f.code(del('/nope/deeper', 5)), E.NONODE);
  });

  test("no DELETE permission on the parent -> NOAUTH (the node's own ACL does not matter)", () => {
    const f = new Fixture();
    f.ok(create('/p', { acl: [BOB_ALL, { perms: Perms.ALL & ~Perms.DELETE, id: { scheme: 'world', id: 'anyone' } }] }));
    f.ok(create('/p/c'));
    assert.equal(f.code(del('/p/c')), E.NOAUTH);
    assert.equal(f.code(del('/p/c', 9)), E.NOAUTH); // before BADVERSION
    assert.equal(f.code(del('/p/c', 9), S1, [BOB]), E.BADVERSION);
    f.ok(create('/q'));
    f.ok(create('/q/c', { acl: [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }] }));
    assert.equal(f.code(del('/q/c')), 0);
    assert.equal(f.code(del('/p/c'), S1, [BOB]), 0);
  });

  test('BADVERSION unless the version matches or is -1', () => {
    const f = new Fixture();
    f.ok(create('/a'));
    f.ok(setData('/a'));
    assert.equal(f.code(del('/a', 0)), E.BADVERSION);
    assert.equal(f.code(del('/a', 2)), E.BADVERSION);
    assert.equal(f.code(del('/a', 1)), 0);
    f.ok(create('/b'));
    assert.equal(f.code(del('/b', -1)), 0);
  });

  test('NOTEMPTY after the version check', () => {
    const f = new Fixture();
    f.ok(create('/a'));
    f.ok(create('/a/b'));
    assert.equal(f.code(del('/a', 5)), E.BADVERSION);
    assert.equal(f.code(del('/a', 0)), E.NOTEMPTY);
    assert.equal(f.code(del('/a')), E.NOTEMPTY);
    f.ok(del('/a/b'));
    assert.equal(f.code(del('/a')), 0);
  });

  test('the delete txn is just the path', () => {
    const f = new Fixture();
    f.ok(create('/a'));
    assert.deepEqual(f.prepare(del('/a', 0)).txn, { type: OpCode.delete, path: '/a' });
  });

  test('deleteContainer only deletes containers and TTL nodes', () => {
    const f = new Fixture({ extendedTypesEnabled: true });
    f.ok(create('/plain'));
    f.ok(create('/k', { op: OpCode.createContainer, flags: CreateMode.CONTAINER }));
    f.ok(createTtl('/t', 1000));
    f.ok(create('/k2', { op: OpCode.createContainer, flags: CreateMode.CONTAINER }));
    f.ok(create('/k2/child'));
    assert.equal(f.code(delContainer('/plain/x')), E.NONODE);
    assert.equal(f.code(delContainer('/k2')), E.NOTEMPTY);
    assert.equal(f.code(delContainer('/nope')), E.NONODE);
    assert.deepEqual(f.prepare(delContainer('/k')).txn, { type: OpCode.deleteContainer, path: '/k' });
    const f2 = new Fixture({ extendedTypesEnabled: true });
    f2.ok(create('/k', { op: OpCode.createContainer, flags: CreateMode.CONTAINER }));
    f2.ok(createTtl('/t', 1000));
    f2.ok(delContainer('/k'));
    f2.ok(delContainer('/t'));
    assert.equal(f2.tree.containers.size + f2.tree.ttls.size, 0);
  });
});

describe('setData / setACL / check', () => {
  test('setData: BADARGUMENTS, NONODE, NOAUTH, BADVERSION in that order; success bumps the version', () => {
    const f = new Fixture();
    assert.equal(f.code(setData('/a/')), E.BADARGUMENTS);
    assert.equal(f.code(setData('bad', 3)), E.BADARGUMENTS);
    assert.equal(f.code(setData('/nope', 3)), E.NONODE);
    assert.equal(f.code(setData('/zookeeper/config', 99)), E.NOAUTH);
    f.ok(create('/a'));
    assert.equal(f.code(setData('/a', 1)), E.BADVERSION);
    const p = f.prepare(setData('/a', 0, Buffer.from('new')));
    assert.deepEqual(p.txn, { type: OpCode.setData, path: '/a', data: Buffer.from('new'), version: 1 });
    f.apply(p);
    assert.equal(f.tree.get('/a')!.version, 1);
    assert.equal(f.code(setData('/a', -1)), 0);
    assert.equal(f.tree.get('/a')!.version, 2);
    assert.equal(f.code(setData('/', -1)), 0);
  });

  test('setData version wraps like a Java int', () => {
    const f = new Fixture();
    f.ok(create('/a'));
    f.tree.get('/a')!.version = 2147483647;
    const p = f.prepare(setData('/a', 2147483647));
    assert.ok(p.txn.type === OpCode.setData && p.txn.version === -2147483648);
  });

  test('setACL: INVALIDACL before NONODE; NOAUTH without ADMIN; BADVERSION on aversion', () => {
    const f = new Fixture();
    assert.equal(f.code(setAcl('/nope', [])), E.INVALIDACL);
    assert.equal(f.code(setAcl('/nope', OPEN)), E.NONODE);
    assert.equal(f.code(setAcl('/zookeeper/config', OPEN)), E.NOAUTH);
    f.ok(create('/a'));
    assert.equal(f.code(setAcl('/a', OPEN, 1)), E.BADVERSION);
    const p = f.prepare(setAcl('/a', [BOB_ALL], 0));
    assert.deepEqual(p.txn, { type: OpCode.setACL, path: '/a', acl: [BOB_ALL], version: 1 });
    f.apply(p);
    assert.equal(f.tree.get('/a')!.aversion, 1);
    // now only bob has ADMIN
    assert.equal(f.code(setAcl('/a', OPEN)), E.NOAUTH);
    assert.equal(f.code(setAcl('/a', OPEN, 1), S1, [BOB]), 0);
    assert.equal(f.tree.get('/a')!.aversion, 2);
    // setACL on the version does not change the data version
    assert.equal(f.tree.get('/a')!.version, 0);
  });

  test('check (top level): NONODE, NOAUTH without READ, BADVERSION', () => {
    const f = new Fixture();
    f.ok(create('/a'));
    f.ok(create('/secret', { acl: [BOB_ALL] }));
    assert.equal(f.code(check('/nope', 0)), E.NONODE);
    assert.equal(f.code(check('/secret', 0)), E.NOAUTH);
    assert.equal(f.code(check('/secret', 0), S1, [BOB]), 0);
    assert.equal(f.code(check('/a', 3)), E.BADVERSION);
    assert.equal(f.code(check('/a', 0)), 0);
    assert.equal(f.code(check('/a', -1)), 0);
    assert.equal(f.code(check('/a/', 0)), E.BADARGUMENTS);
  });
});
