/**
 * The quota check in prep (ZooKeeper's checkQuota, called from PrepRequestProcessor): where it
 * sits among the other validations, soft and hard limits, multi, and pipelined writes. Codes
 * and orders were checked against Apache ZooKeeper 3.8.0 with zookeeper.enforceQuota=true.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode as E, OpCode, Perms } from '../../../src/codec/index.js';
import { Fixture, create, del, errOf, multi, multiCodes, setAcl, setData, S2 } from './helpers.js';

const B = (s: string): Buffer => Buffer.from(s, 'latin1');
const READ_ONLY = [{ perms: Perms.READ | Perms.ADMIN, id: { scheme: 'world', id: 'anyone' } }];

/** /q with a quota (limits as given); the stats count /q itself: count=1, bytes=0. */
function quota(limits: string, enforceQuota = true): Fixture {
  const f = new Fixture({ enforceQuota });
  f.ok(create('/q', { data: null }));
  f.ok(create('/zookeeper/quota/q', { data: null }));
  f.ok(create('/zookeeper/quota/q/zookeeper_limits', { data: B(limits) }));
  f.ok(create('/zookeeper/quota/q/zookeeper_stats', { data: B('count=0,bytes=0') }));
  return f;
}

function statsOf(f: Fixture): string | null | undefined {
  return f.tree.get('/zookeeper/quota/q/zookeeper_stats')?.dataLatin1;
}

describe('hard limits (zookeeper.enforceQuota=true)', () => {
  test('a create over the count limit fails with QUOTAEXCEEDED and consumes a zxid', () => {
    const f = quota('count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2');
    f.ok(create('/q/a'));
    const { code, p } = f.run(create('/q/b'));
    assert.equal(code, E.QUOTAEXCEEDED);
    assert.equal(p.header.type, OpCode.error);
    assert.equal(f.tree.get('/q/b'), undefined);
    assert.equal(statsOf(f), 'count=2,bytes=1');
    assert.deepEqual(f.quotaReports, [{ root: '/q', what: 'count', wouldBe: 3n, limit: 2n, hard: true }]);
    // Elsewhere the tree takes writes as usual.
    f.ok(create('/elsewhere'));
  });

  test('setData over the byte limit fails; one that shrinks or stays within it passes', () => {
    const f = quota('countHardLimit=-1;byteHardLimit=5');
    f.ok(create('/q/a', { data: B('123') }));
    f.ok(setData('/q/a', -1, B('12345')));
    assert.equal(f.code(setData('/q/a', -1, B('123456'))), E.QUOTAEXCEEDED);
    f.ok(setData('/q/a', -1, B('1')));
    assert.equal(f.code(create('/q/b', { data: B('12345') })), E.QUOTAEXCEEDED);
    f.ok(create('/q/b', { data: B('1234') }));
    assert.equal(statsOf(f), 'count=3,bytes=5');
  });

  test('new limits (setquota on a quota that exists) apply to the next write', () => {
    const f = quota('countHardLimit=2');
    f.ok(create('/q/a'));
    assert.equal(f.code(create('/q/b')), E.QUOTAEXCEEDED);
    f.ok(setData('/zookeeper/quota/q/zookeeper_limits', -1, B('countHardLimit=3')));
    f.ok(create('/q/b'));
    assert.equal(f.code(create('/q/c')), E.QUOTAEXCEEDED);
  });

  test('deletes are never checked', () => {
    const f = quota('countHardLimit=1'); // the root alone fills it
    assert.equal(f.code(create('/q/a')), E.QUOTAEXCEEDED);
    f.ok(del('/q'));
    assert.equal(statsOf(f), 'count=0,bytes=0');
  });

  test('a hard limit replaces the soft one of its kind; both kinds are checked, count first', () => {
    const f = quota('count=1,bytes=1=;countHardLimit=3;byteHardLimit=100');
    f.ok(create('/q/a', { data: B('xx') }));
    f.ok(create('/q/b', { data: B('xx') }));
    assert.deepEqual(f.quotaReports, []);
    assert.equal(f.code(create('/q/c', { data: Buffer.alloc(200) })), E.QUOTAEXCEEDED);
    assert.deepEqual(f.quotaReports, [{ root: '/q', what: 'count', wouldBe: 4n, limit: 3n, hard: true }]);
  });

  test('soft limits only report: the write goes ahead', () => {
    const f = quota('count=2,bytes=3');
    f.ok(create('/q/a', { data: B('ab') }));
    f.ok(create('/q/b', { data: B('cd') }));
    assert.deepEqual(f.quotaReports, [
      { root: '/q', what: 'count', wouldBe: 3n, limit: 2n, hard: false },
      { root: '/q', what: 'bytes', wouldBe: 4n, limit: 3n, hard: false },
    ]);
    assert.equal(statsOf(f), 'count=3,bytes=4');
  });
});

describe('where the check sits (PrepRequestProcessor order)', () => {
  test('setData: after the ACL check, before the version check', () => {
    const f = quota('byteHardLimit=2');
    f.ok(create('/q/ro', { acl: READ_ONLY, data: null }));
    assert.equal(f.code(setData('/q/ro', -1, B('123'))), E.NOAUTH);
    f.ok(create('/q/a', { data: null }));
    assert.equal(f.code(setData('/q/a', 7, B('123'))), E.QUOTAEXCEEDED);
    assert.equal(f.code(setData('/q/a', 7, B('12'))), E.BADVERSION);
    assert.equal(f.code(setData('/q/missing', -1, B('123'))), E.NONODE);
  });

  test('create: after NodeExists, the parent ACL and the ephemeral-parent check', () => {
    const f = quota('countHardLimit=2');
    f.ok(create('/q/e', { flags: 1 }));
    assert.equal(f.code(create('/q/e')), E.NODEEXISTS);
    assert.equal(f.code(create('/q/e/child')), E.NOCHILDRENFOREPHEMERALS);
    assert.equal(f.code(create('/q/none/child')), E.NONODE);
    f.ok(setAcl('/q', READ_ONLY));
    assert.equal(f.code(create('/q/x')), E.NOAUTH);
    f.ok(setAcl('/q', [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }]));
    assert.equal(f.code(create('/q/x')), E.QUOTAEXCEEDED);
    assert.equal(f.code(create('/q/x', { flags: 2 })), E.QUOTAEXCEEDED);
  });
});

describe('multi and pipelined writes', () => {
  test('a multi op over the limit fails that op; the others report as for any failed multi', () => {
    const f = quota('countHardLimit=2');
    const p = f.prepare(multi(create('/q/a'), create('/q/b'), create('/q/c')));
    // Each op is checked against the stats as applied, not the earlier ops of the multi: only
    // the count after one more node, 2, is checked here, which passes for each op.
    assert.deepEqual(multiCodes(p), [0, 0, 0]);
    f.apply(p);
    assert.equal(statsOf(f), 'count=4,bytes=3');
    const q = f.prepare(multi(setData('/q', -1, B('x')), create('/q/d'), create('/q/e')));
    assert.deepEqual(multiCodes(q), [0, E.QUOTAEXCEEDED, E.RUNTIMEINCONSISTENCY]);
    f.apply(q);
    assert.equal(f.tree.get('/q')?.dataLatin1, null);
  });

  test('queued writes are checked against the applied stats, a setData against the pending data', () => {
    const f = quota('byteHardLimit=10');
    f.ok(create('/q/a', { data: null }));
    const first = f.prepare(setData('/q/a', -1, B('12345678')));
    // Pending: /q/a will hold 8 bytes. This one adds 4 more to it: 4 <= 10 against the
    // applied stats (0 bytes), although 12 bytes will be there.
    const second = f.prepare(setData('/q/a', -1, B('123456789012')));
    assert.equal(errOf(first), 0);
    assert.equal(errOf(second), 0);
    f.apply(first);
    f.apply(second);
    assert.equal(statsOf(f), 'count=2,bytes=12');
    // Over the limit now: even a write that shrinks the data is refused while the result
    // stays over it (ZooKeeper checks the total, not the direction).
    assert.equal(f.code(setData('/q/a', -1, B('12345678901'))), E.QUOTAEXCEEDED);
    f.ok(setData('/q/a', -1, B('1234567890')));
    assert.equal(f.code(create('/q/b', { data: B('1') })), E.QUOTAEXCEEDED);
  });
});

describe('quota text the check cannot parse', () => {
  test('enforced: MARSHALLINGERROR for the request, for a multi the whole multi', () => {
    const f = quota('count=5,bogus');
    assert.equal(f.code(create('/q/a')), E.MARSHALLINGERROR);
    const p = f.prepare(multi(create('/ok'), create('/q/a')));
    assert.equal(p.header.type, OpCode.error);
    assert.equal(errOf(p), E.MARSHALLINGERROR);
    f.apply(p);
    assert.equal(f.tree.get('/ok'), undefined);
    // The multi's first op left no pending record behind.
    f.ok(create('/ok'));
  });

  test('unreadable stats fail only a write that needs them', () => {
    const f = quota('count=5');
    f.ok(setData('/zookeeper/quota/q/zookeeper_stats', -1, B(',;count=1')));
    assert.equal(f.code(create('/q/a')), E.MARSHALLINGERROR);
    // A setData changes no count, and there is no byte limit: the stats are not read.
    f.ok(setData('/q', -1, B('x')));
  });

  test('not enforced: no check refuses a write', () => {
    const f = quota('countHardLimit=1;bogus', false);
    f.ok(create('/q/a'));
    const g = quota('countHardLimit=1', false);
    f.ok(create('/q/b'), S2);
    g.ok(create('/q/a'));
    assert.deepEqual(f.quotaReports, []);
    assert.deepEqual(g.quotaReports, [{ root: '/q', what: 'count', wouldBe: 2n, limit: 1n, hard: true }]);
  });
});
