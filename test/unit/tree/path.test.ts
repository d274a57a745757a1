import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  baseName,
  clientEphemeralOwner,
  CONTAINER_EPHEMERAL_OWNER,
  invalidPathReason,
  joinPath,
  nodeKind,
  parentOf,
  sequenceSuffix,
  ttlOf,
  ttlOwner,
} from '../../../src/tree/index.js';

describe('invalidPathReason (PathUtils.validatePath)', () => {
  test('valid paths', () => {
    for (const p of ['/', '/a', '/a/b', '/zookeeper', '/a.b', '/..a', '/a..', '/.a', '/a.', '/a/...', '/ü/日本', '/a b', '/a-0000000001']) {
      assert.equal(invalidPathReason(p), null, p);
    }
  });

  test('invalid paths with their reasons', () => {
    const cases: [string, RegExp][] = [
      ['', /length must be > 0/],
      ['a', /must start with \//],
      ['a/b', /must start with \//],
      ['/a/', /must not end with \//],
      ['//', /must not end with \//],
      ['//a', /empty node name specified @1/],
      ['/a//b', /empty node name specified @3/],
      ['/.', /relative paths not allowed @1/],
      ['/..', /relative paths not allowed @2/],
      ['/a/./b', /relative paths not allowed @3/],
      ['/a/../b', /relative paths not allowed @4/],
      ['/a/..', /relative paths not allowed @4/],
      ['/a\u0000b', /null character not allowed @2/],
      ['/a\u0001', /invalid character @2/],
      ['/\u001f', /invalid character @1/],
      ['/\u007f', /invalid character @1/],
      ['/\u009f', /invalid character @1/],
      ['/\ud800', /invalid character @1/],
      ['/\uf8ff', /invalid character @1/],
      ['/\ufff0', /invalid character @1/],
      ['/\uffff', /invalid character @1/],
    ];
    for (const [p, reason] of cases) {
      const got = invalidPathReason(p);
      assert.ok(got !== null, `${JSON.stringify(p)} should be invalid`);
      assert.match(got, reason, JSON.stringify(p));
    }
  });

  test('characters just outside the forbidden ranges are allowed', () => {
    for (const c of ['\u0020', '\u007e', '\u00a0', '\ud7ff', '\uf900', '\uffef']) assert.equal(invalidPathReason(`/${c}`), null, c);
  });
});

describe('path helpers', () => {
  test('parentOf / baseName / joinPath', () => {
    assert.equal(parentOf('/a'), '/');
    assert.equal(parentOf('/a/b/c'), '/a/b');
    assert.equal(parentOf('/'), '/');
    assert.equal(parentOf('/a/'), '/a');
    assert.equal(baseName('/a/b'), 'b');
    assert.equal(baseName('/a'), 'a');
    assert.equal(baseName('/'), '');
    assert.equal(joinPath('/', 'a'), '/a');
    assert.equal(joinPath('/a', 'b'), '/a/b');
  });

  test('sequenceSuffix is Java %010d', () => {
    assert.equal(sequenceSuffix(0), '0000000000');
    assert.equal(sequenceSuffix(4), '0000000004');
    assert.equal(sequenceSuffix(1234567890), '1234567890');
    assert.equal(sequenceSuffix(2147483647), '2147483647');
    assert.equal(sequenceSuffix(-5), '-000000005');
    assert.equal(sequenceSuffix(-2147483648), '-2147483648');
  });
});

describe('ephemeral owner encoding (EphemeralType)', () => {
  test('container owner is Long.MIN_VALUE', () => {
    assert.equal(CONTAINER_EPHEMERAL_OWNER, -(2n ** 63n));
    assert.equal(nodeKind(CONTAINER_EPHEMERAL_OWNER, false), 'container');
    assert.equal(nodeKind(CONTAINER_EPHEMERAL_OWNER, true), 'container');
  });

  test('ttl owner is 0xFF00000000000000 | ttl', () => {
    const owner = ttlOwner(1000);
    assert.equal(BigInt.asUintN(64, owner), 0xff000000000003e8n);
    assert.equal(ttlOf(owner), 1000);
    assert.equal(ttlOf(ttlOwner(2 ** 40 - 1)), 2 ** 40 - 1);
    assert.equal(nodeKind(owner, true), 'ttl');
    // Without extended types the same bits are an ordinary session id.
    assert.equal(nodeKind(owner, false), 'ephemeral');
  });

  test('persistent and ephemeral kinds', () => {
    assert.equal(nodeKind(0n, true), 'persistent');
    assert.equal(nodeKind(0x0100000000000001n, true), 'ephemeral');
    assert.equal(nodeKind(-1n, false), 'ephemeral');
  });

  test('clients see 0 for containers and TTL nodes, the session for ephemerals', () => {
    assert.equal(clientEphemeralOwner(CONTAINER_EPHEMERAL_OWNER, false), 0n);
    assert.equal(clientEphemeralOwner(ttlOwner(5), true), 0n);
    assert.equal(clientEphemeralOwner(0x0100000000000001n, true), 0x0100000000000001n);
    assert.equal(clientEphemeralOwner(0n, true), 0n);
  });
});
