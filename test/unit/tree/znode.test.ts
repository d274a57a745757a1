import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { JuteReader, JuteWriter, OpCode, Perms, readStat, writeStat, type ACL } from '../../../src/codec/index.js';
import { DataTree, NO_CHILDREN, NodeStore, OPEN_ACL_UNSAFE, ZNode } from '../../../src/tree/index.js';

const ACL_A: readonly ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
const ACL_B: readonly ACL[] = [{ perms: Perms.READ, id: { scheme: 'digest', id: 'u:x' } }];

/** A node whose every field is derived from `i`, so any mix-up between slots shows. */
function make(store: NodeStore, i: number): ZNode {
  return ZNode.init(
    store,
    i % 7 === 0 ? null : `data-${i}`,
    i % 2 === 0 ? ACL_A : ACL_B,
    i,
    i + 1,
    i * 1000,
    i * 1000 + 1,
    i % 100,
    i % 50,
    i % 3,
    BigInt(i) << 8n,
    i + 2,
  );
}

function check(node: ZNode, i: number): void {
  assert.equal(node.dataLatin1, i % 7 === 0 ? null : `data-${i}`, `data of ${i}`);
  assert.equal(node.acl, i % 2 === 0 ? ACL_A : ACL_B, `acl of ${i}`);
  assert.deepEqual(
    [node.czxid, node.mzxid, node.ctime, node.mtime, node.version, node.cversion, node.aversion, node.pzxid],
    [i, i + 1, i * 1000, i * 1000 + 1, i % 100, i % 50, i % 3, i + 2],
    `numbers of ${i}`,
  );
  assert.equal(node.ephemeralOwner, BigInt(i) << 8n, `owner of ${i}`);
}

describe('NodeStore and ZNode views', () => {
  test('slots across several reference chunks and typed-array growths keep their own fields', () => {
    const store = new NodeStore(16); // typed arrays start small and double many times
    const n = 3 * 4096 + 17; // more than three reference chunks
    const nodes = Array.from({ length: n }, (_, i) => make(store, i));
    for (let i = 0; i < n; i++) check(nodes[i]!, i);
    assert.equal(nodes[5]!.childPaths, NO_CHILDREN, 'a new node has no children');
  });

  test('a view writes through to its slot; a second view of the slot sees it', () => {
    const store = new NodeStore();
    const a = make(store, 1);
    const again = new ZNode(store, a.slot);
    a.dataLatin1 = 'changed';
    a.version = 42;
    a.mzxid = 2 ** 40 + 3; // zxids beyond 2^32 stay exact
    a.ephemeralOwner = 0x7fffffffffffffffn;
    a.childPaths = new Set(['/x/y']);
    assert.equal(again.dataLatin1, 'changed');
    assert.equal(again.version, 42);
    assert.equal(again.mzxid, 2 ** 40 + 3);
    assert.equal(again.ephemeralOwner, 0x7fffffffffffffffn);
    assert.deepEqual(again.childNames(), ['y']);
    assert.equal(again.dataLength, 'changed'.length);
  });

  test('a freed slot drops its references, reads NaN through stale views, and is reused fresh', () => {
    const store = new NodeStore();
    const kept = make(store, 10);
    const freed = make(store, 11);
    const stale = new ZNode(store, freed.slot);
    store.free(freed.slot);
    assert.ok(Number.isNaN(stale.czxid) && Number.isNaN(stale.mtime), 'stale numbers show as NaN');
    assert.equal(stale.dataLatin1, null, 'data released to the garbage collector');
    const reused = make(store, 12);
    assert.equal(reused.slot, freed.slot, 'the freed slot is taken first');
    check(reused, 12);
    check(kept, 10);
  });
});

describe('writeStat encodes the same Stat as statOf', () => {
  test('large zxids and times, children, data, and an ephemeral owner', () => {
    const tree = new DataTree();
    const t = Date.UTC(2026, 10, 26, 12, 0, 0, 123); // above 2^31: kept as doubles
    const zxid = 0x1_0000_0005; // epoch 1, counter 5
    tree.applyTxn(
      { clientId: 0x1234_5678_9abc_def0n, cxid: 1, zxid, time: t, type: OpCode.create },
      {
        type: OpCode.create,
        path: '/p',
        data: Buffer.from('abc'),
        acl: [...OPEN_ACL_UNSAFE],
        ephemeral: false,
        parentCVersion: -1,
      },
      [],
    );
    for (const [k, name] of ['x', 'y'].entries()) {
      tree.applyTxn(
        { clientId: 0x1234_5678_9abc_def0n, cxid: 2 + k, zxid: zxid + 1 + k, time: t + 10 + k, type: OpCode.create },
        {
          type: OpCode.create,
          path: `/p/${name}`,
          data: null,
          acl: [...OPEN_ACL_UNSAFE],
          ephemeral: true,
          parentCVersion: -1,
        },
        [],
      );
    }
    for (const path of ['/p', '/p/x', '/']) {
      const node = tree.get(path);
      assert.ok(node !== undefined);
      const direct = new JuteWriter(16);
      tree.writeStat(direct, node);
      const viaRecord = new JuteWriter(16);
      writeStat(viaRecord, tree.statOf(node));
      assert.deepEqual(direct.toBuffer(), viaRecord.toBuffer(), path);
      assert.equal(readStat(new JuteReader(direct.toBuffer())).ctime, path === '/' ? 0 : path === '/p' ? t : t + 10, path);
    }
  });
});
