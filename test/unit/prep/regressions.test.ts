/**
 * Regression tests for divergences from ZooKeeper 3.8 that the unit and property tests found
 * (all fixed); each states the behaviour ZooKeeper has.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CreateMode, ErrorCode, OpCode, Perms } from '../../../src/codec/index.js';
import { CONTAINER_EPHEMERAL_OWNER } from '../../../src/tree/index.js';
import { SessionTracker } from '../../../src/session/index.js';
import { Fixture, S1, S2, check, create, del, delContainer, errOf } from './helpers.js';

const EPH = { flags: CreateMode.EPHEMERAL };

describe('fixed divergences from ZooKeeper 3.8', () => {
  test('closeSession must skip tree ephemerals that a pending txn deleted (and not kill a re-created node)', () => {
    const f = new Fixture();
    f.ok(create('/e', EPH), S1); // S1's ephemeral, applied
    const d = f.prepare(del('/e'), S1); // S1 deletes it      (prepared, not applied)
    const c = f.prepare(create('/e', EPH), S2); // S2 re-creates it (prepared, not applied)
    const close = f.prep.closeSession(f.ctx(S1));
    // ZooKeeper: the outstanding delete removes /e from S1's set; S2's create is not S1's.
    assert.deepEqual(close.txn, { type: OpCode.closeSession, paths2Delete: [] });
    for (const p of [d, c, close]) f.apply(p);
    assert.equal(f.tree.get('/e')?.ephemeralOwner, S2);
  });

  test("delete checks the parent DELETE permission before the node's existence (ZK 3.8 order)", () => {
    const f = new Fixture();
    f.ok(create('/p', { acl: [{ perms: Perms.ALL & ~Perms.DELETE, id: { scheme: 'world', id: 'anyone' } }] }));
    assert.equal(f.code(del('/p/missing')), ErrorCode.NOAUTH);
  });

  test('a prepared (unapplied) container keeps its container owner in the pending record', () => {
    const f = new Fixture();
    const c = f.prepare(create('/k', { op: OpCode.createContainer, flags: CreateMode.CONTAINER }));
    const d = f.prepare(delContainer('/k'));
    assert.equal(errOf(d), 0);
    f.apply(c);
    f.apply(d);
    assert.equal(f.tree.get('/k'), undefined);
  });

  test('a session id never equals CONTAINER_EPHEMERAL_OWNER (ZK skips it)', () => {
    const id = new SessionTracker(2000, 0, 0x80).newSessionId();
    assert.notEqual(id, CONTAINER_EPHEMERAL_OWNER);
  });

  test('CheckVersionTxn carries version + 1, as ZooKeeper logs it', () => {
    const f = new Fixture();
    f.ok(create('/a'));
    assert.deepEqual(f.prepare(check('/a', 0)).txn, { type: OpCode.check, path: '/a', version: 1 });
  });
});
