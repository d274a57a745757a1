/**
 * decode(encode(x)) == x for arbitrary requests, txns (with nested multis), Stats and the
 * connect handshake; and the frame decoder reassembles frames across arbitrary chunking.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  FrameDecoder,
  JuteReader,
  JuteWriter,
  OpCode,
  readConnectRequest,
  readConnectResponse,
  readOpResults,
  readRequest,
  readStat,
  readTxn,
  readTxnHeader,
  writeConnectRequest,
  writeConnectResponse,
  writeOpResults,
  writeRequest,
  writeStat,
  writeTxn,
  writeTxnHeader,
  type ACL,
  type ConnectRequest,
  type ConnectResponse,
  type OpResult,
  type Request,
  type Stat,
  type Txn,
  type TxnHeader,
} from '../../src/codec/index.js';

const RUNS = 300;

/** fc.record, but with ordinary prototypes so deepStrictEqual compares values only. */
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

// ---------------------------------------------------------------- arbitraries

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const long = fc.maxSafeInteger();
const bigLong = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
/** Full Unicode without lone surrogates (jute strings are UTF-8). */
const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const path = fc.oneof(text, fc.constantFrom('/', '/a', '/a/b', '/zookeeper/config'));
const bytes = fc.uint8Array({ maxLength: 24 }).map((u) => Buffer.from(u));
const nullableBytes = fc.option(bytes, { nil: null });
const strings = fc.array(text, { maxLength: 4 });
const acl: fc.Arbitrary<ACL> = rec({ perms: int32, id: rec({ scheme: text, id: text }) });
const acls = fc.array(acl, { maxLength: 3 });

const stat: fc.Arbitrary<Stat> = rec({
  czxid: long,
  mzxid: long,
  ctime: long,
  mtime: long,
  version: int32,
  cversion: int32,
  aversion: int32,
  ephemeralOwner: bigLong,
  dataLength: int32,
  numChildren: int32,
  pzxid: long,
});

const createReq = rec({
  op: fc.constantFrom(OpCode.create, OpCode.create2, OpCode.createContainer),
  path,
  data: nullableBytes,
  acl: acls,
  flags: int32,
});
const createTtlReq = rec({ op: fc.constant(OpCode.createTTL), path, data: nullableBytes, acl: acls, flags: int32, ttl: long });
const deleteReq = rec({ op: fc.constantFrom(OpCode.delete, OpCode.check), path, version: int32 });
const setDataReq = rec({ op: fc.constant(OpCode.setData), path, data: nullableBytes, version: int32 });

/** The ops a write multi may contain. */
const multiWriteOp: fc.Arbitrary<Request> = fc.oneof(createReq, createTtlReq, deleteReq, setDataReq);
const multiReadOp: fc.Arbitrary<Request> = rec({ op: fc.constantFrom(OpCode.getData, OpCode.getChildren), path, watch: fc.boolean() });

const request: fc.Arbitrary<Request> = fc.oneof(
  createReq,
  createTtlReq,
  deleteReq,
  setDataReq,
  rec({ op: fc.constant(OpCode.deleteContainer), path }),
  rec({ op: fc.constant(OpCode.setACL), path, acl: acls, version: int32 }),
  rec({ op: fc.constantFrom(OpCode.exists, OpCode.getData, OpCode.getChildren, OpCode.getChildren2), path, watch: fc.boolean() }),
  rec({ op: fc.constantFrom(OpCode.getACL, OpCode.sync, OpCode.getAllChildrenNumber), path }),
  rec({ op: fc.constant(OpCode.getEphemerals), prefixPath: path }),
  rec({ op: fc.constant(OpCode.addWatch), path, mode: int32 }),
  rec({ op: fc.constantFrom(OpCode.checkWatches, OpCode.removeWatches), path, type: int32 }),
  rec({ op: fc.constant(OpCode.multi), ops: fc.array(multiWriteOp, { maxLength: 5 }) }),
  rec({ op: fc.constant(OpCode.multiRead), ops: fc.array(multiReadOp, { maxLength: 5 }) }),
  // setWatches (v1) has no persistent lists on the wire
  rec({
    op: fc.constant(OpCode.setWatches),
    relativeZxid: long,
    dataWatches: strings,
    existWatches: strings,
    childWatches: strings,
    persistentWatches: fc.constant<string[]>([]),
    persistentRecursiveWatches: fc.constant<string[]>([]),
  }),
  rec({
    op: fc.constant(OpCode.setWatches2),
    relativeZxid: long,
    dataWatches: strings,
    existWatches: strings,
    childWatches: strings,
    persistentWatches: strings,
    persistentRecursiveWatches: strings,
  }),
  rec({ op: fc.constant(OpCode.auth), type: int32, scheme: text, auth: bytes }),
  rec({ op: fc.constant(OpCode.reconfig), joiningServers: text, leavingServers: text, newMembers: text, curConfigId: long }),
  rec({ op: fc.constant(OpCode.sasl), token: bytes }),
  rec({ op: fc.constantFrom(OpCode.ping, OpCode.closeSession, OpCode.whoAmI) }),
);

const leafTxn: fc.Arbitrary<Txn> = fc.oneof(
  rec({
    type: fc.constantFrom(OpCode.create, OpCode.create2),
    path,
    data: nullableBytes,
    acl: acls,
    ephemeral: fc.boolean(),
    parentCVersion: int32,
  }),
  rec({ type: fc.constant(OpCode.createContainer), path, data: nullableBytes, acl: acls, parentCVersion: int32 }),
  rec({ type: fc.constant(OpCode.createTTL), path, data: nullableBytes, acl: acls, parentCVersion: int32, ttl: long }),
  rec({ type: fc.constantFrom(OpCode.delete, OpCode.deleteContainer), path }),
  rec({ type: fc.constant(OpCode.setData), path, data: nullableBytes, version: int32 }),
  rec({ type: fc.constant(OpCode.setACL), path, acl: acls, version: int32 }),
  rec({ type: fc.constant(OpCode.check), path, version: int32 }),
  rec({ type: fc.constant(OpCode.createSession), timeOut: int32 }),
  rec({ type: fc.constant(OpCode.closeSession), paths2Delete: fc.option(strings, { nil: null }) }),
  rec({ type: fc.constant(OpCode.error), err: int32 }),
);

const txn: fc.Arbitrary<Txn> = fc.letrec<{ txn: Txn }>((tie) => ({
  txn: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafTxn,
    rec({ type: fc.constant(OpCode.multi), txns: fc.array(tie('txn'), { maxLength: 4 }) }),
  ),
})).txn;

const txnHeader: fc.Arbitrary<TxnHeader> = rec({ clientId: bigLong, cxid: int32, zxid: long, time: long, type: int32 });

const readOnly = fc.option(fc.boolean(), { nil: undefined });
const connectRequest: fc.Arbitrary<ConnectRequest> = rec({
  protocolVersion: int32,
  lastZxidSeen: long,
  timeOut: int32,
  sessionId: bigLong,
  passwd: bytes,
  readOnly,
});
const connectResponse: fc.Arbitrary<ConnectResponse> = rec({
  protocolVersion: int32,
  timeOut: int32,
  sessionId: bigLong,
  passwd: bytes,
  readOnly,
});

const opResult: fc.Arbitrary<OpResult> = fc.oneof(
  rec({ type: fc.constant(OpCode.create), path }),
  rec({ type: fc.constant(OpCode.create2), path, stat }),
  rec({ type: fc.constantFrom(OpCode.delete, OpCode.check) }),
  rec({ type: fc.constant(OpCode.setData), stat }),
  rec({ type: fc.constant(OpCode.getData), data: nullableBytes, stat }),
  rec({ type: fc.constant(OpCode.getChildren), children: strings }),
  rec({ type: fc.constant(OpCode.error), err: int32 }),
);

// ---------------------------------------------------------------- helpers

function encodeWith<T>(write: (w: JuteWriter, v: T) => void, v: T): Buffer {
  const w = new JuteWriter(16);
  write(w, v);
  return Buffer.from(w.toBuffer());
}

function decodeAll<T>(buf: Buffer, read: (r: JuteReader) => T): T {
  const r = new JuteReader(buf);
  const v = read(r);
  assert.equal(r.remaining, 0, 'decoder consumed every byte');
  return v;
}

const params = { numRuns: RUNS };

// ---------------------------------------------------------------- properties

describe('codec round trips (property)', () => {
  test('Request', () => {
    fc.assert(
      fc.property(request, (req) => {
        const back = decodeAll(encodeWith(writeRequest, req), (r) => readRequest(req.op, r));
        assert.deepEqual(back, req);
      }),
      params,
    );
  });

  test('Txn, including nested multi', () => {
    fc.assert(
      fc.property(txn, (t) => {
        assert.deepEqual(
          decodeAll(encodeWith(writeTxn, t), (r) => readTxn(t.type, r)),
          t,
        );
      }),
      params,
    );
  });

  test('TxnHeader followed by its Txn', () => {
    fc.assert(
      fc.property(txnHeader, txn, (h, t) => {
        const w = new JuteWriter();
        writeTxnHeader(w, { ...h, type: t.type });
        writeTxn(w, t);
        const r = new JuteReader(w.toBuffer());
        const hb = readTxnHeader(r);
        assert.deepEqual(hb, { ...h, type: t.type });
        assert.deepEqual(readTxn(hb.type, r), t);
        assert.equal(r.remaining, 0);
      }),
      params,
    );
  });

  test('Stat', () => {
    fc.assert(
      fc.property(stat, (s) => {
        assert.deepEqual(decodeAll(encodeWith(writeStat, s), readStat), s);
      }),
      params,
    );
  });

  test('ConnectRequest and ConnectResponse (with and without readOnly)', () => {
    fc.assert(
      fc.property(connectRequest, connectResponse, (req, resp) => {
        assert.deepEqual(decodeAll(encodeWith(writeConnectRequest, req), readConnectRequest), req);
        assert.deepEqual(decodeAll(encodeWith(writeConnectResponse, resp), readConnectResponse), resp);
      }),
      params,
    );
  });

  test('multi OpResults', () => {
    fc.assert(
      fc.property(fc.array(opResult, { maxLength: 6 }), (results) => {
        assert.deepEqual(decodeAll(encodeWith(writeOpResults, results), readOpResults), results);
      }),
      params,
    );
  });

  test('decoding arbitrary bytes either succeeds or throws CodecError, never anything else', () => {
    const ops = [OpCode.create, OpCode.createTTL, OpCode.setACL, OpCode.multi, OpCode.multiRead, OpCode.setWatches2, OpCode.auth];
    fc.assert(
      fc.property(fc.constantFrom(...ops), fc.uint8Array({ maxLength: 64 }), (op, raw) => {
        try {
          readRequest(op, new JuteReader(Buffer.from(raw)));
        } catch (e) {
          assert.equal((e as Error).name, 'CodecError', String(e));
        }
      }),
      params,
    );
  });
});

describe('FrameDecoder (property)', () => {
  test('frames split at arbitrary chunk boundaries come out whole and in order', () => {
    const frames = fc.array(
      fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
      { maxLength: 8 },
    );
    fc.assert(
      fc.property(frames, fc.array(fc.nat(), { maxLength: 12 }), (bodies, cutSeeds) => {
        const stream = Buffer.concat(
          bodies.map((b) => {
            const len = Buffer.alloc(4);
            len.writeInt32BE(b.length);
            return Buffer.concat([len, b]);
          }),
        );
        const cuts = [...new Set(cutSeeds.map((c) => (stream.length === 0 ? 0 : c % (stream.length + 1))))].sort((a, b) => a - b);
        const d = new FrameDecoder(40);
        const out: Buffer[] = [];
        let prev = 0;
        for (const cut of [...cuts, stream.length]) {
          d.push(stream.subarray(prev, cut));
          prev = cut;
          for (let f = d.next(); f !== null; f = d.next()) out.push(Buffer.from(f));
        }
        assert.deepEqual(out, bodies);
        assert.equal(d.buffered, 0);
      }),
      params,
    );
  });
});
