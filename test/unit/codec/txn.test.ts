import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  CodecError,
  JuteReader,
  JuteWriter,
  OpCode,
  opName,
  readTxn,
  readTxnHeader,
  writeTxn,
  writeTxnHeader,
  type ACL,
  type Txn,
  type TxnHeader,
} from '../../../src/codec/index.js';

const OPEN: ACL[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const DIGEST: ACL[] = [{ perms: 7, id: { scheme: 'digest', id: 'u:h=' } }];

function encode(txn: Txn): Buffer {
  const w = new JuteWriter(4);
  writeTxn(w, txn);
  return Buffer.from(w.toBuffer());
}

function roundTrip(txn: Txn): void {
  const r = new JuteReader(encode(txn));
  assert.deepEqual(readTxn(txn.type, r), txn, `round trip of ${opName(txn.type)}`);
  assert.equal(r.remaining, 0);
}

const SIMPLE_TXNS: Txn[] = [
  { type: OpCode.create, path: '/a', data: Buffer.from('x'), acl: OPEN, ephemeral: false, parentCVersion: 1 },
  { type: OpCode.create2, path: '/e', data: null, acl: DIGEST, ephemeral: true, parentCVersion: 7 },
  { type: OpCode.createContainer, path: '/c', data: Buffer.alloc(0), acl: OPEN, parentCVersion: 2 },
  { type: OpCode.createTTL, path: '/t', data: Buffer.from('t'), acl: OPEN, parentCVersion: 3, ttl: 2 ** 40 - 1 },
  { type: OpCode.delete, path: '/a' },
  { type: OpCode.deleteContainer, path: '/c' },
  { type: OpCode.setData, path: '/a', data: Buffer.from('new'), version: 4 },
  { type: OpCode.setData, path: '/a', data: null, version: 0 },
  { type: OpCode.setACL, path: '/a', acl: DIGEST, version: 2 },
  { type: OpCode.check, path: '/a', version: 3 },
  { type: OpCode.createSession, timeOut: 30000 },
  { type: OpCode.closeSession, paths2Delete: ['/e1', '/e2'] },
  { type: OpCode.closeSession, paths2Delete: [] },
  { type: OpCode.closeSession, paths2Delete: null },
  { type: OpCode.error, err: -110 },
];

describe('Txn round trips', () => {
  test('every non-multi Txn variant', () => {
    for (const txn of SIMPLE_TXNS) roundTrip(txn);
  });

  test('multi with every sub-txn type, nested multis and an empty multi', () => {
    roundTrip({ type: OpCode.multi, txns: SIMPLE_TXNS });
    roundTrip({ type: OpCode.multi, txns: [] });
    roundTrip({
      type: OpCode.multi,
      txns: [
        { type: OpCode.error, err: 0 },
        {
          type: OpCode.multi,
          txns: [
            { type: OpCode.multi, txns: [{ type: OpCode.delete, path: '/deep' }] },
            { type: OpCode.error, err: -2 },
          ],
        },
      ],
    });
  });

  test('wire layout: create is path, data, acl, ephemeral, parentCVersion', () => {
    const hex = encode({ type: OpCode.create, path: '/a', data: null, acl: [], ephemeral: true, parentCVersion: 5 }).toString('hex');
    assert.equal(hex, '000000022f61' + 'ffffffff' + '00000000' + '01' + '00000005');
  });

  test('wire layout: MultiTxn is count then (type, buffer) pairs', () => {
    const hex = encode({ type: OpCode.multi, txns: [{ type: OpCode.error, err: -101 }] }).toString('hex');
    assert.equal(hex, '00000001' + 'ffffffff' + '00000004' + 'ffffff9b');
  });

  test('closeSession with null paths writes nothing (pre-3.6 CloseSessionTxn)', () => {
    assert.equal(encode({ type: OpCode.closeSession, paths2Delete: null }).length, 0);
  });

  test('TxnHeader round trips with a full 64-bit clientId', () => {
    const h: TxnHeader = { clientId: -(2n ** 63n) + 5n, cxid: -3, zxid: 0x300000007, time: 1_700_000_000_000, type: OpCode.multi };
    const w = new JuteWriter();
    writeTxnHeader(w, h);
    assert.equal(w.length, 32);
    assert.deepEqual(readTxnHeader(new JuteReader(w.toBuffer())), h);
  });

  test('unknown txn types, bad multi counts and truncations are CodecErrors', () => {
    assert.throws(() => readTxn(3, new JuteReader(Buffer.alloc(8))), /unknown txn type 3/);
    assert.throws(() => readTxn(OpCode.multi, new JuteReader(Buffer.from('ffffffff', 'hex'))), /bad multi txn count/);
    assert.throws(() => readTxn(OpCode.multi, new JuteReader(Buffer.from('7fffffff', 'hex'))), /bad multi txn count/);
    // A sub-txn with an unknown type inside a multi.
    const w = new JuteWriter().writeInt(1).writeInt(55).writeBuffer(Buffer.alloc(0));
    assert.throws(() => readTxn(OpCode.multi, new JuteReader(w.toBuffer())), CodecError);
    for (const txn of SIMPLE_TXNS) {
      const bytes = encode(txn);
      if (txn.type === OpCode.closeSession) continue; // an absent list is a valid (null) encoding
      for (let cut = 0; cut < bytes.length; cut++) {
        assert.throws(() => readTxn(txn.type, new JuteReader(bytes.subarray(0, cut))), CodecError, `${opName(txn.type)} cut at ${cut}`);
      }
    }
  });
});
