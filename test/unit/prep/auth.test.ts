import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Perms, type ACL, type Id } from '../../../src/codec/index.js';
import {
  aclPermits,
  digestId,
  fixupAcl,
  isValidDigestId,
  isValidIpId,
  PERM_READ_OR_ADMIN,
  redactDigests,
  SUPER_ID,
} from '../../../src/prep/index.js';
import { sha1 } from './helpers.js';

const world = (perms: number): ACL => ({ perms, id: { scheme: 'world', id: 'anyone' } });
const ipAcl = (id: string, perms: number = Perms.ALL): ACL => ({ perms, id: { scheme: 'ip', id } });
const ip = (id: string): Id => ({ scheme: 'ip', id });

describe('digestId', () => {
  test('is user:base64(sha1("user:password"))', () => {
    const expected = createHash('sha1').update('bob:secret').digest('base64');
    assert.equal(digestId('bob:secret', sha1), `bob:${expected}`);
    // Known vector: sha1("super:test") in base64
    assert.equal(digestId('super:test', sha1), 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
  });

  test('only the first colon splits user from password', () => {
    assert.equal(digestId('u:p:q', sha1), `u:${sha1('u:p:q')}`);
    assert.equal(digestId('nocolon', sha1), `nocolon:${sha1('nocolon')}`);
  });
});

describe('id validation', () => {
  test('digest ids need exactly one colon', () => {
    assert.equal(isValidDigestId('bob:abc='), true);
    assert.equal(isValidDigestId('bob:'), true);
    assert.equal(isValidDigestId('bob'), false);
    assert.equal(isValidDigestId('a:b:c'), false);
  });

  test('ip ids: IPv4 with optional prefix length 0..32', () => {
    for (const ok of ['10.0.0.1', '0.0.0.0', '255.255.255.255', '10.0.0.0/8', '1.2.3.4/0', '1.2.3.4/32'])
      assert.equal(isValidIpId(ok), true, ok);
    for (const bad of ['256.0.0.1', '1.2.3', '1.2.3.4.5', 'a.b.c.d', '1.2.3.4/33', '1.2.3.4/', '1.2.3.4/x', '', '1234.1.1.1']) {
      assert.equal(isValidIpId(bad), false, bad);
    }
  });
});

describe('aclPermits (checkACL)', () => {
  test('an empty ACL permits everything', () => {
    assert.equal(aclPermits([], Perms.ADMIN, [], false), true);
  });

  test('world:anyone grants only its perms', () => {
    assert.equal(aclPermits([world(Perms.READ)], Perms.READ, [], false), true);
    assert.equal(aclPermits([world(Perms.READ)], Perms.WRITE, [], false), false);
    assert.equal(aclPermits([world(Perms.READ | Perms.WRITE)], Perms.WRITE, [], false), true);
  });

  test('PERM_READ_OR_ADMIN passes with either bit', () => {
    assert.equal(PERM_READ_OR_ADMIN, Perms.READ | Perms.ADMIN);
    assert.equal(aclPermits([world(Perms.ADMIN)], PERM_READ_OR_ADMIN, [], false), true);
    assert.equal(aclPermits([world(Perms.READ)], PERM_READ_OR_ADMIN, [], false), true);
    assert.equal(aclPermits([world(Perms.WRITE)], PERM_READ_OR_ADMIN, [], false), false);
  });

  test('digest ids match exactly', () => {
    const bob: Id = { scheme: 'digest', id: digestId('bob:secret', sha1) };
    const acl: ACL[] = [{ perms: Perms.ALL, id: bob }];
    assert.equal(aclPermits(acl, Perms.DELETE, [bob], false), true);
    assert.equal(aclPermits(acl, Perms.DELETE, [{ scheme: 'digest', id: digestId('bob:wrong', sha1) }], false), false);
    assert.equal(aclPermits(acl, Perms.DELETE, [{ scheme: 'ip', id: bob.id }], false), false);
    assert.equal(aclPermits(acl, Perms.DELETE, [], false), false);
  });

  test('ip ids match by network prefix', () => {
    assert.equal(aclPermits([ipAcl('10.1.2.3')], Perms.READ, [ip('10.1.2.3')], false), true);
    assert.equal(aclPermits([ipAcl('10.1.2.3')], Perms.READ, [ip('10.1.2.4')], false), false);
    assert.equal(aclPermits([ipAcl('10.0.0.0/8')], Perms.READ, [ip('10.200.3.4')], false), true);
    assert.equal(aclPermits([ipAcl('10.0.0.0/8')], Perms.READ, [ip('11.0.0.1')], false), false);
    assert.equal(aclPermits([ipAcl('192.168.1.0/23')], Perms.READ, [ip('192.168.0.77')], false), true);
    assert.equal(aclPermits([ipAcl('192.168.1.0/23')], Perms.READ, [ip('192.168.2.1')], false), false);
    assert.equal(aclPermits([ipAcl('0.0.0.0/0')], Perms.READ, [ip('8.8.8.8')], false), true);
    // IPv4-mapped IPv6 client addresses, as Node reports them
    assert.equal(aclPermits([ipAcl('127.0.0.1')], Perms.READ, [ip('::ffff:127.0.0.1')], false), true);
    // perms still apply
    assert.equal(aclPermits([ipAcl('10.0.0.0/8', Perms.READ)], Perms.WRITE, [ip('10.0.0.1')], false), false);
  });

  test('super and skipAcl bypass the ACL', () => {
    const acl: ACL[] = [ipAcl('10.0.0.1', Perms.READ)];
    assert.equal(aclPermits(acl, Perms.ADMIN, [SUPER_ID], false), true);
    assert.equal(aclPermits(acl, Perms.ADMIN, [], true), true);
  });
});

describe('fixupAcl', () => {
  test('rejects empty lists, unknown schemes and malformed ids', () => {
    assert.equal(fixupAcl([], []), null);
    assert.equal(fixupAcl([{ perms: 1, id: { scheme: 'sasl', id: 'x' } }], []), null);
    assert.equal(fixupAcl([{ perms: 1, id: { scheme: 'digest', id: 'nocolon' } }], []), null);
    assert.equal(fixupAcl([{ perms: 1, id: { scheme: 'world', id: 'everyone' } }], []), null);
    assert.equal(fixupAcl([{ perms: 1, id: { scheme: 'ip', id: '1.2.3.4/40' } }], []), null);
    // one bad entry spoils the list
    assert.equal(fixupAcl([world(Perms.ALL), { perms: 1, id: { scheme: 'x', id: 'y' } }], []), null);
  });

  test('keeps valid entries and drops exact duplicates', () => {
    const acl: ACL[] = [world(Perms.READ), ipAcl('10.0.0.0/8'), world(Perms.READ), world(Perms.ALL)];
    assert.deepEqual(fixupAcl(acl, []), [world(Perms.READ), ipAcl('10.0.0.0/8'), world(Perms.ALL)]);
  });

  test('`auth` expands to each digest id of the session and needs at least one', () => {
    const bob: Id = { scheme: 'digest', id: 'bob:h1=' };
    const amy: Id = { scheme: 'digest', id: 'amy:h2=' };
    const authEntry: ACL = { perms: Perms.READ, id: { scheme: 'auth', id: 'ignored' } };
    assert.deepEqual(fixupAcl([authEntry], [bob, ip('1.2.3.4'), amy]), [
      { perms: Perms.READ, id: bob },
      { perms: Perms.READ, id: amy },
    ]);
    assert.equal(fixupAcl([authEntry], [ip('1.2.3.4')]), null);
    assert.equal(fixupAcl([authEntry], [SUPER_ID]), null);
    assert.equal(fixupAcl([authEntry], []), null);
  });
});

describe('redactDigests (getACL without ADMIN)', () => {
  test('shows digest ids as user:x and leaves other schemes alone', () => {
    const acl: ACL[] = [
      { perms: Perms.ALL, id: { scheme: 'digest', id: digestId('bob:secret', sha1) } },
      ipAcl('10.0.0.1'),
      world(Perms.READ),
    ];
    assert.deepEqual(redactDigests(acl), [
      { perms: Perms.ALL, id: { scheme: 'digest', id: 'bob:x' } },
      ipAcl('10.0.0.1'),
      world(Perms.READ),
    ]);
    // the input is not modified
    assert.notEqual(acl[0]?.id.id, 'bob:x');
  });
});
