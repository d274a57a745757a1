import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { AssertionError, ZXID_COUNTER_SPAN } from '../../../src/base/index.js';
import { ErrorCode } from '../../../src/codec/index.js';
import { DataTree } from '../../../src/tree/index.js';
import { RequestPreparer } from '../../../src/prep/index.js';
import { Fixture, create, errOf, setData } from './helpers.js';

describe("prep's zxids across a new leader's epoch", () => {
  test("the epoch's first txn is epoch * 2^32 + 1, and the counter goes on from there", () => {
    const f = new Fixture();
    f.ok(create('/a'));
    f.prep.resetEpoch(3);
    assert.equal(f.prep.lastPreparedZxid, 3 * ZXID_COUNTER_SPAN);
    const first = f.ok(create('/b'));
    assert.equal(first.node?.czxid, 3 * ZXID_COUNTER_SPAN + 1);
    assert.equal(f.prepare(setData('/b')).header.zxid, 3 * ZXID_COUNTER_SPAN + 2);
  });

  test('writes prepared in the old epoch and never applied are forgotten', () => {
    const f = new Fixture();
    f.ok(create('/a'));
    // prepared, never committed: the new leader's epoch must not see /lost
    f.prepare(create('/lost'));
    assert.equal(errOf(f.prepare(create('/lost'))), ErrorCode.NODEEXISTS);
    f.prep.resetEpoch(1);
    assert.equal(errOf(f.prepare(create('/lost'))), 0);
  });

  test('an epoch whose zxids are below the applied zxid, or past 2^21 - 1, is refused', () => {
    const f = new Fixture();
    f.prep.resetEpoch(2);
    f.ok(create('/a'));
    assert.throws(() => f.prep.resetEpoch(1), AssertionError);
    assert.throws(() => f.prep.resetEpoch(2 ** 21), AssertionError);
    assert.throws(() => f.prep.resetEpoch(1.5), AssertionError);
  });

  test('the counter does not wrap into the next epoch', () => {
    const tree = new DataTree(false);
    tree.lastProcessedZxid = 2 * ZXID_COUNTER_SPAN - 2;
    const prep = new RequestPreparer(tree, { extendedTypesEnabled: false, skipAcl: false, enforceQuota: false });
    const ctx = { sessionId: 1n, cxid: 1, authIds: [], nowMs: 1 };
    assert.equal(prep.prepare(ctx, create('/last')).header.zxid, 2 * ZXID_COUNTER_SPAN - 1);
    assert.throws(() => prep.prepare(ctx, create('/over')), AssertionError);
  });
});
