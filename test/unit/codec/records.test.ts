import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  CodecError,
  JuteReader,
  JuteWriter,
  OpCode,
  opName,
  readAclList,
  readConnectRequest,
  readConnectResponse,
  readOpResults,
  readReplyHeader,
  readRequest,
  readStat,
  readWatcherEvent,
  writeAclList,
  writeConnectRequest,
  writeConnectResponse,
  writeOpResults,
  writeReplyHeader,
  writeRequest,
  writeStat,
  writeWatcherEvent,
  type ACL,
  type ConnectRequest,
  type ConnectResponse,
  type OpResult,
  type Request,
  type Stat,
} from '../../../src/codec/index.js';
import { CONNECT_REQUEST_BYTES_MIN } from '../../../src/base/index.js';

const OPEN: ACL[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const MIXED: ACL[] = [
  { perms: 1, id: { scheme: 'digest', id: 'bob:abc=' } },
  { perms: 31, id: { scheme: 'ip', id: '10.0.0.0/8' } },
];

function encodeRequest(req: Request): Buffer {
  const w = new JuteWriter(8);
  writeRequest(w, req);
  return Buffer.from(w.toBuffer());
}

function roundTrip(req: Request): void {
  const bytes = encodeRequest(req);
  const r = new JuteReader(bytes);
  const back = readRequest(req.op, r);
  assert.deepEqual(back, req, `round trip of ${opName(req.op)}`);
  assert.equal(r.remaining, 0, `${opName(req.op)} consumed every byte`);
}

const stat: Stat = {
  czxid: 0x100000001,
  mzxid: 0x100000002,
  ctime: 1_700_000_000_000,
  mtime: 1_700_000_000_123,
  version: 3,
  cversion: -1,
  aversion: -1,
  ephemeralOwner: -(2n ** 63n),
  dataLength: 17,
  numChildren: 2,
  pzxid: 0x100000003,
};

/** One instance of every Request variant. */
const ALL_REQUESTS: Request[] = [
  { op: OpCode.create, path: '/a', data: Buffer.from('x'), acl: OPEN, flags: 0 },
  { op: OpCode.create2, path: '/a/b', data: null, acl: MIXED, flags: 3 },
  { op: OpCode.createContainer, path: '/c', data: Buffer.alloc(0), acl: OPEN, flags: 4 },
  { op: OpCode.createTTL, path: '/t', data: Buffer.from('ttl'), acl: OPEN, flags: 5, ttl: 2 ** 40 - 1 },
  { op: OpCode.delete, path: '/a', version: -1 },
  { op: OpCode.deleteContainer, path: '/c' },
  { op: OpCode.check, path: '/a', version: 7 },
  { op: OpCode.setData, path: '/a', data: Buffer.from('new'), version: 2 },
  { op: OpCode.setData, path: '/a', data: null, version: -1 },
  { op: OpCode.setACL, path: '/a', acl: MIXED, version: 0 },
  { op: OpCode.setACL, path: '/a', acl: [], version: -1 },
  { op: OpCode.exists, path: '/a', watch: true },
  { op: OpCode.getData, path: '/a', watch: false },
  { op: OpCode.getChildren, path: '/', watch: true },
  { op: OpCode.getChildren2, path: '/zookeeper', watch: false },
  { op: OpCode.getACL, path: '/a' },
  { op: OpCode.sync, path: '/' },
  { op: OpCode.getAllChildrenNumber, path: '/a' },
  { op: OpCode.getEphemerals, prefixPath: '/e' },
  { op: OpCode.addWatch, path: '/w', mode: 1 },
  { op: OpCode.checkWatches, path: '/w', type: 3 },
  { op: OpCode.removeWatches, path: '/w', type: 2 },
  {
    op: OpCode.multi,
    ops: [
      { op: OpCode.create, path: '/m', data: null, acl: OPEN, flags: 0 },
      { op: OpCode.create2, path: '/m/a', data: Buffer.from('1'), acl: OPEN, flags: 2 },
      { op: OpCode.createTTL, path: '/m/t', data: null, acl: OPEN, flags: 5, ttl: 10 },
      { op: OpCode.createContainer, path: '/m/c', data: null, acl: OPEN, flags: 4 },
      { op: OpCode.check, path: '/m', version: 0 },
      { op: OpCode.setData, path: '/m', data: Buffer.from('d'), version: -1 },
      { op: OpCode.delete, path: '/m/a', version: 0 },
    ],
  },
  { op: OpCode.multi, ops: [] },
  {
    op: OpCode.multiRead,
    ops: [
      { op: OpCode.getData, path: '/a', watch: false },
      { op: OpCode.getChildren, path: '/', watch: false },
    ],
  },
  {
    op: OpCode.setWatches,
    relativeZxid: 0x500000001,
    dataWatches: ['/d1', '/d2'],
    existWatches: ['/e'],
    childWatches: [],
    persistentWatches: [],
    persistentRecursiveWatches: [],
  },
  {
    op: OpCode.setWatches2,
    relativeZxid: 42,
    dataWatches: [],
    existWatches: ['/e'],
    childWatches: ['/c'],
    persistentWatches: ['/p'],
    persistentRecursiveWatches: ['/r', '/r2'],
  },
  { op: OpCode.auth, type: 0, scheme: 'digest', auth: Buffer.from('bob:pw') },
  { op: OpCode.reconfig, joiningServers: 'server.4=h:1:2;3', leavingServers: '2', newMembers: '', curConfigId: -1 },
  { op: OpCode.sasl, token: Buffer.from([0, 1, 2, 255]) },
  { op: OpCode.ping },
  { op: OpCode.closeSession },
  { op: OpCode.whoAmI },
];

describe('Request round trips', () => {
  test('every Request variant decodes to what was encoded', () => {
    const seen = new Set<number>();
    for (const req of ALL_REQUESTS) {
      roundTrip(req);
      seen.add(req.op);
    }
    // Every opcode a Request can carry is covered.
    const requestOps = [
      OpCode.create,
      OpCode.create2,
      OpCode.createContainer,
      OpCode.createTTL,
      OpCode.delete,
      OpCode.deleteContainer,
      OpCode.check,
      OpCode.setData,
      OpCode.setACL,
      OpCode.exists,
      OpCode.getData,
      OpCode.getChildren,
      OpCode.getChildren2,
      OpCode.getACL,
      OpCode.sync,
      OpCode.getAllChildrenNumber,
      OpCode.getEphemerals,
      OpCode.addWatch,
      OpCode.checkWatches,
      OpCode.removeWatches,
      OpCode.multi,
      OpCode.multiRead,
      OpCode.setWatches,
      OpCode.setWatches2,
      OpCode.auth,
      OpCode.reconfig,
      OpCode.sasl,
      OpCode.ping,
      OpCode.closeSession,
      OpCode.whoAmI,
    ];
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      [...requestOps].sort((a, b) => a - b),
    );
  });

  test("wire bytes of getData and create match ZooKeeper's jute layout", () => {
    assert.equal(encodeRequest({ op: OpCode.getData, path: '/a', watch: true }).toString('hex'), '000000022f61' + '01');
    assert.equal(
      encodeRequest({ op: OpCode.create, path: '/a', data: Buffer.from('x'), acl: OPEN, flags: 1 }).toString('hex'),
      '000000022f61' + '0000000178' + '00000001' + '0000001f' + '00000005776f726c64' + '00000006616e796f6e65' + '00000001',
    );
  });

  test('multi is a list of (type, done=false, err=-1) headers closed by (-1, true, -1)', () => {
    const bytes = encodeRequest({ op: OpCode.multi, ops: [{ op: OpCode.check, path: '/a', version: 1 }] });
    assert.equal(bytes.toString('hex'), '0000000d' + '00' + 'ffffffff' + '000000022f61' + '00000001' + 'ffffffff' + '01' + 'ffffffff');
  });

  test('null strings in requests read as ""; a null ACL vector reads as []', () => {
    const w = new JuteWriter();
    w.writeString(null).writeBuffer(null).writeInt(-1).writeInt(0);
    assert.deepEqual(readRequest(OpCode.create, new JuteReader(w.toBuffer())), {
      op: OpCode.create,
      path: '',
      data: null,
      acl: [],
      flags: 0,
    });
  });

  test('unknown opcodes and disallowed multi members are CodecErrors', () => {
    assert.throws(() => readRequest(99, new JuteReader(Buffer.alloc(0))), CodecError);
    assert.throws(() => readRequest(OpCode.notification, new JuteReader(Buffer.alloc(0))), CodecError);
    // getData inside a write multi
    const inWrite = encodeRequest({ op: OpCode.multiRead, ops: [{ op: OpCode.getData, path: '/a', watch: false }] });
    assert.throws(() => readRequest(OpCode.multi, new JuteReader(inWrite)), /invalid op type 4 in multi/);
    // create inside a multiRead
    const inRead = encodeRequest({ op: OpCode.multi, ops: [{ op: OpCode.create, path: '/a', data: null, acl: OPEN, flags: 0 }] });
    assert.throws(() => readRequest(OpCode.multiRead, new JuteReader(inRead)), /invalid op type 1 in multi/);
    // setACL is not a multi op
    const setAcl = encodeRequest({ op: OpCode.multi, ops: [{ op: OpCode.setACL, path: '/a', acl: OPEN, version: 0 }] });
    assert.throws(() => readRequest(OpCode.multi, new JuteReader(setAcl)), CodecError);
  });

  test('a multi without its terminating header is truncated', () => {
    const bytes = encodeRequest({ op: OpCode.multi, ops: [{ op: OpCode.delete, path: '/a', version: -1 }] });
    assert.throws(() => readRequest(OpCode.multi, new JuteReader(bytes.subarray(0, bytes.length - 9))), CodecError);
  });

  test('every truncation of a request body fails with CodecError', () => {
    for (const req of ALL_REQUESTS) {
      const bytes = encodeRequest(req);
      for (let cut = 0; cut < bytes.length; cut++) {
        assert.throws(
          () => {
            const r = new JuteReader(bytes.subarray(0, cut));
            readRequest(req.op, r);
          },
          CodecError,
          `${opName(req.op)} cut at ${cut}`,
        );
      }
    }
  });
});

describe('connect handshake', () => {
  const base: ConnectRequest = {
    protocolVersion: 0,
    lastZxidSeen: 0x200000005,
    timeOut: 30000,
    sessionId: 0x0100018c2f3a0001n,
    passwd: Buffer.alloc(16, 0xab),
    readOnly: undefined,
  };

  test('without the readOnly byte: 44 bytes and readOnly undefined', () => {
    const w = new JuteWriter();
    writeConnectRequest(w, base);
    assert.equal(w.length, CONNECT_REQUEST_BYTES_MIN);
    const back = readConnectRequest(new JuteReader(w.toBuffer()));
    assert.deepEqual(back, base);
    assert.equal(back.readOnly, undefined);
  });

  test('with the readOnly byte: 45 bytes, true and false survive', () => {
    for (const readOnly of [true, false]) {
      const w = new JuteWriter();
      writeConnectRequest(w, { ...base, readOnly });
      assert.equal(w.length, CONNECT_REQUEST_BYTES_MIN + 1);
      assert.deepEqual(readConnectRequest(new JuteReader(w.toBuffer())), { ...base, readOnly });
    }
  });

  test('a null password reads as an empty buffer; a truncated request throws', () => {
    const w = new JuteWriter();
    w.writeInt(0).writeLong(0).writeInt(4000).writeBigLong(0n).writeBuffer(null);
    assert.deepEqual(readConnectRequest(new JuteReader(w.toBuffer())).passwd, Buffer.alloc(0));
    assert.throws(() => readConnectRequest(new JuteReader(w.toBuffer().subarray(0, 10))), CodecError);
  });

  test('ConnectResponse round trips with and without readOnly', () => {
    const resp: ConnectResponse = { protocolVersion: 0, timeOut: 4000, sessionId: -5n, passwd: Buffer.alloc(16, 1), readOnly: undefined };
    for (const readOnly of [undefined, true, false]) {
      const w = new JuteWriter();
      writeConnectResponse(w, { ...resp, readOnly });
      assert.equal(w.length, 36 + (readOnly === undefined ? 0 : 1));
      assert.deepEqual(readConnectResponse(new JuteReader(w.toBuffer())), { ...resp, readOnly });
    }
  });
});

describe('other records', () => {
  test('Stat is 68 bytes and round trips every field', () => {
    const w = new JuteWriter();
    writeStat(w, stat);
    assert.equal(w.length, 68);
    const r = new JuteReader(w.toBuffer());
    assert.deepEqual(readStat(r), stat);
    assert.equal(r.remaining, 0);
  });

  test('ReplyHeader and WatcherEvent round trip', () => {
    const w = new JuteWriter();
    writeReplyHeader(w, { xid: -1, zxid: -1, err: 0 });
    writeWatcherEvent(w, { type: 4, state: 3, path: '/a/b' });
    assert.equal(w.toBuffer().subarray(0, 16).toString('hex'), 'ffffffff' + 'ffffffffffffffff' + '00000000');
    const r = new JuteReader(w.toBuffer());
    assert.deepEqual(readReplyHeader(r), { xid: -1, zxid: -1, err: 0 });
    assert.deepEqual(readWatcherEvent(r), { type: 4, state: 3, path: '/a/b' });
    assert.equal(r.remaining, 0);
  });

  test('ACL lists round trip, null reads as null', () => {
    const w = new JuteWriter();
    writeAclList(w, MIXED);
    writeAclList(w, null);
    const r = new JuteReader(w.toBuffer());
    assert.deepEqual(readAclList(r), MIXED);
    assert.equal(readAclList(r), null);
  });

  test('multi OpResults round trip', () => {
    const results: OpResult[] = [
      { type: OpCode.create, path: '/a' },
      { type: OpCode.create2, path: '/b', stat },
      { type: OpCode.delete },
      { type: OpCode.setData, stat },
      { type: OpCode.check },
      { type: OpCode.getData, data: Buffer.from('v'), stat },
      { type: OpCode.getData, data: null, stat },
      { type: OpCode.getChildren, children: ['x', 'y'] },
      { type: OpCode.error, err: -101 },
      { type: OpCode.error, err: 0 },
    ];
    const w = new JuteWriter();
    writeOpResults(w, results);
    const r = new JuteReader(w.toBuffer());
    assert.deepEqual(readOpResults(r), results);
    assert.equal(r.remaining, 0);
  });

  test('an error OpResult carries its code in the header and the body', () => {
    const w = new JuteWriter();
    writeOpResults(w, [{ type: OpCode.error, err: -110 }]);
    assert.equal(w.toBuffer().toString('hex'), 'ffffffff' + '00' + 'ffffff92' + 'ffffff92' + 'ffffffff' + '01' + 'ffffffff');
  });

  test('createTTL / createContainer results read as create2; unknown result types throw', () => {
    const w = new JuteWriter();
    w.writeInt(OpCode.createTTL).writeBool(false).writeInt(0).writeString('/t');
    writeStat(w, stat);
    w.writeInt(OpCode.createContainer).writeBool(false).writeInt(0).writeString('/c');
    writeStat(w, stat);
    w.writeInt(-1).writeBool(true).writeInt(-1);
    assert.deepEqual(readOpResults(new JuteReader(w.toBuffer())), [
      { type: OpCode.create2, path: '/t', stat },
      { type: OpCode.create2, path: '/c', stat },
    ]);
    const bad = new JuteWriter().writeInt(77).writeBool(false).writeInt(0);
    assert.throws(() => readOpResults(new JuteReader(bad.toBuffer())), /unknown multi result type 77/);
  });

  test('opName names opcodes', () => {
    assert.equal(opName(OpCode.create2), 'create2');
    assert.equal(opName(OpCode.closeSession), 'closeSession');
    assert.equal(opName(1234), 'unknown(1234)');
  });
});
