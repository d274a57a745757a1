import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  CodecError,
  INCOMPLETE,
  JuteReader,
  JuteWriter,
  OpCode,
  PacketType,
  ZAB_PROTOCOL_VERSION,
  decodeLeaderMessage,
  decodeLearnerMessage,
  encodeLeaderMessage,
  encodeLearnerMessage,
  measureQuorumPacket,
  readForwardedRequest,
  readQuorumPacket,
  readTxnEntry,
  writeQuorumPacket,
  writeTxnEntry,
  type LeaderMessage,
  type LearnerMessage,
  type QuorumPacket,
  type TxnEntry,
} from '../../../src/codec/index.js';
import { QUORUM_PACKET_BYTES_MAX, QUORUM_RECORD_BYTES_MAX } from '../../../src/base/index.js';
import { i32, i64, text, buffer } from '../../support/hand-bytes.js';

// Expected bytes are built by hand (hand-bytes.ts), not with the writer under test.
const ZXID = 0x200000007;

function packetBytes(type: number, zxid: number, data: Buffer | null, ids: Array<[string, string]> | null = null): Buffer {
  const auth = ids === null ? i32(-1) : Buffer.concat([i32(ids.length), ...ids.flatMap(([s, id]) => [text(s), text(id)])]);
  return Buffer.concat([i32(type), i64(zxid), buffer(data), auth]);
}
function decodePacket(bytes: Buffer): QuorumPacket {
  const r = new JuteReader(bytes);
  const p = readQuorumPacket(r);
  assert.equal(r.remaining, 0);
  return p;
}
function encodePacket(p: QuorumPacket): Buffer {
  const w = new JuteWriter(16);
  writeQuorumPacket(w, p);
  return Buffer.from(w.toBuffer());
}
function entryBytes(e: TxnEntry): Buffer {
  const w = new JuteWriter(16);
  writeTxnEntry(w, e);
  return Buffer.from(w.toBuffer());
}

const SET_DATA_ENTRY: TxnEntry = {
  header: { clientId: 0x100000abcn, cxid: 4, zxid: ZXID, time: 1_700_000_000_000, type: OpCode.setData },
  txn: { type: OpCode.setData, path: '/a', data: Buffer.from('v'), version: 2 },
  digest: { version: 2, treeDigest: -5n },
};
const RECONFIG_ENTRY: TxnEntry = {
  header: { clientId: 7n, cxid: 1, zxid: ZXID, time: 5, type: OpCode.reconfig },
  txn: {
    type: OpCode.setData,
    path: '/zookeeper/config',
    data: Buffer.from('server.1=h:1:2:participant\nversion=200000007'),
    version: -1,
  },
  digest: null,
};

describe('QuorumPacket', () => {
  test('an ACK: null data and null authinfo are length -1', () => {
    const bytes = packetBytes(PacketType.ack, ZXID, null);
    const p: QuorumPacket = { type: PacketType.ack, zxid: ZXID, data: null, authinfo: null };
    assert.deepEqual(decodePacket(bytes), p);
    assert.deepEqual(encodePacket(p), bytes);
    assert.equal(bytes.length, 20);
  });

  test('data and auth ids, byte for byte', () => {
    const bytes = packetBytes(PacketType.request, -1, Buffer.from('0123456789abcdef'), [
      ['digest', 'u:h='],
      ['ip', '127.0.0.1'],
    ]);
    const p = decodePacket(bytes);
    assert.deepEqual(p.authinfo, [
      { scheme: 'digest', id: 'u:h=' },
      { scheme: 'ip', id: '127.0.0.1' },
    ]);
    assert.deepEqual(encodePacket(p), bytes);
  });

  test('measure: INCOMPLETE for every proper prefix, the exact length once whole, from any offset', () => {
    const one = packetBytes(PacketType.request, -1, Buffer.from('data'), [['digest', 'u:h=']]);
    const stream = Buffer.concat([Buffer.from('skip'), one, packetBytes(PacketType.ping, 1, null)]);
    for (let end = 4; end < 4 + one.length; end++) assert.equal(measureQuorumPacket(stream, 4, end), INCOMPLETE, `end ${end}`);
    assert.equal(measureQuorumPacket(stream, 4, stream.length), one.length);
    assert.equal(measureQuorumPacket(stream, 4 + one.length, stream.length), 20);
  });

  test('a length over its bound is refused at once, before its bytes arrive', () => {
    const header = Buffer.concat([i32(PacketType.proposal), i64(1)]);
    const cases = [
      Buffer.concat([header, i32(QUORUM_RECORD_BYTES_MAX + 1)]),
      Buffer.concat([header, i32(-2)]),
      Buffer.concat([header, i32(-1), i32(-2)]),
      Buffer.concat([header, i32(-1), i32(1), i32(QUORUM_RECORD_BYTES_MAX + 1)]),
      // within each field's bound, but no packet is that big: refused once the first field is in
      Buffer.concat([
        header,
        i32(-1),
        i32(1),
        i32(QUORUM_RECORD_BYTES_MAX),
        Buffer.alloc(QUORUM_RECORD_BYTES_MAX),
        i32(QUORUM_RECORD_BYTES_MAX),
      ]),
    ];
    for (const bytes of cases) {
      assert.throws(() => measureQuorumPacket(bytes, 0, bytes.length), CodecError, bytes.toString('hex'));
      assert.throws(() => readQuorumPacket(new JuteReader(bytes)), CodecError);
    }
    assert.ok(QUORUM_PACKET_BYTES_MAX < 2 * QUORUM_RECORD_BYTES_MAX + 64);
  });

  test('the reader holds a buffer to maxRecordBytes even when the bytes are there, and zxids to exact numbers', () => {
    const bytes = packetBytes(PacketType.proposal, 1, Buffer.alloc(100));
    assert.throws(() => readQuorumPacket(new JuteReader(bytes), 99), CodecError);
    assert.equal(readQuorumPacket(new JuteReader(bytes), 100).data?.length, 100);
    assert.throws(() => decodePacket(Buffer.concat([i32(3), i64(2n ** 60n), i32(-1), i32(-1)])), CodecError);
    assert.throws(() => decodePacket(packetBytes(PacketType.ack, 1, null).subarray(0, 19)), CodecError);
    assert.throws(() => decodePacket(Buffer.concat([i32(3), i64(1), i32(-1), i32(1), i32(-1), text('x')])), CodecError, 'null auth scheme');
  });
});

describe('typed quorum messages', () => {
  const leaderMessages: LeaderMessage[] = [
    { type: PacketType.leaderInfo, zxid: 0x300000000, protocolVersion: ZAB_PROTOCOL_VERSION },
    { type: PacketType.diff, zxid: ZXID },
    { type: PacketType.trunc, zxid: ZXID },
    { type: PacketType.snap, zxid: ZXID },
    { type: PacketType.upToDate, zxid: -1 },
    { type: PacketType.commit, zxid: ZXID },
    { type: PacketType.ping, zxid: ZXID },
    { type: PacketType.sync, zxid: 0 },
    { type: PacketType.newLeader, zxid: 0x300000000, config: 'server.1=h:1:2:participant\nversion=0' },
    { type: PacketType.newLeader, zxid: 0x300000000, config: null },
    { type: PacketType.proposal, zxid: ZXID, entry: SET_DATA_ENTRY },
    { type: PacketType.proposal, zxid: ZXID, entry: RECONFIG_ENTRY },
    { type: PacketType.inform, zxid: ZXID, entry: SET_DATA_ENTRY },
    { type: PacketType.commitAndActivate, zxid: ZXID, suggestedLeaderId: 3n },
    { type: PacketType.informAndActivate, zxid: ZXID, suggestedLeaderId: 3n, entry: RECONFIG_ENTRY },
    { type: PacketType.revalidate, zxid: -1, sessionId: -0x7000000000000001n, valid: false },
  ];
  const learnerMessages: LearnerMessage[] = [
    {
      type: PacketType.followerInfo,
      zxid: 0x200000000,
      info: { serverId: 2n, protocolVersion: ZAB_PROTOCOL_VERSION, configVersion: 0x100000004 },
    },
    { type: PacketType.observerInfo, zxid: 0, info: { serverId: 9n, protocolVersion: ZAB_PROTOCOL_VERSION, configVersion: 0 } },
    { type: PacketType.ackEpoch, zxid: ZXID, currentEpoch: -1 },
    { type: PacketType.ack, zxid: ZXID },
    { type: PacketType.ping, zxid: ZXID, touches: [] },
    {
      type: PacketType.ping,
      zxid: ZXID,
      touches: [
        { sessionId: 0x100000abcn, timeoutMs: 30000 },
        { sessionId: -1n, timeoutMs: 4000 },
      ],
    },
    { type: PacketType.revalidate, zxid: -1, sessionId: 0x100000abcn, timeoutMs: 30000 },
    {
      type: PacketType.request,
      zxid: -1,
      sessionId: 5n,
      cxid: 9,
      requestType: OpCode.sync,
      body: text('/a'),
      authinfo: [{ scheme: 'ip', id: '::1' }],
    },
    { type: PacketType.request, zxid: -1, sessionId: 5n, cxid: 0, requestType: OpCode.closeSession, body: Buffer.alloc(0), authinfo: null },
  ];

  test('every leader message survives packet and bytes', () => {
    for (const m of leaderMessages) {
      const bytes = encodePacket(encodeLeaderMessage(m));
      assert.deepEqual(decodeLeaderMessage(decodePacket(bytes)), m, `type ${m.type}`);
    }
  });

  test('every learner message survives packet and bytes', () => {
    for (const m of learnerMessages) {
      const bytes = encodePacket(encodeLearnerMessage(m));
      assert.deepEqual(decodeLearnerMessage(decodePacket(bytes)), m, `type ${m.type}`);
    }
  });

  test('data layouts, as the Java side writes them', () => {
    const learnerInfo = Buffer.concat([i64(2n), i32(0x10000), i64(0x100000004)]);
    assert.deepEqual(encodeLearnerMessage(learnerMessages[0] as LearnerMessage).data, learnerInfo);
    assert.deepEqual(encodeLearnerMessage({ type: PacketType.ackEpoch, zxid: 1, currentEpoch: 3 }).data, i32(3));
    assert.deepEqual(
      encodeLearnerMessage({ type: PacketType.ping, zxid: 1, touches: [{ sessionId: 5n, timeoutMs: 6 }] }).data,
      Buffer.concat([i64(5n), i32(6)]),
    );
    assert.deepEqual(
      encodeLeaderMessage({ type: PacketType.revalidate, zxid: -1, sessionId: 5n, valid: true }).data,
      Buffer.concat([i64(5n), Buffer.from([1])]),
    );
    assert.deepEqual(
      encodeLearnerMessage({
        type: PacketType.request,
        zxid: -1,
        sessionId: 5n,
        cxid: 6,
        requestType: 9,
        body: Buffer.from('b'),
        authinfo: null,
      }).data,
      Buffer.concat([i64(5n), i32(6), i32(9), Buffer.from('b')]),
    );
    assert.deepEqual(encodeLeaderMessage(leaderMessages[0] as LeaderMessage).data, i32(0x10000));
    assert.deepEqual(encodeLeaderMessage({ type: PacketType.commitAndActivate, zxid: 1, suggestedLeaderId: 3n }).data, i64(3n));
    const informAndActivate = encodeLeaderMessage(leaderMessages[14] as LeaderMessage).data;
    assert.deepEqual(informAndActivate, Buffer.concat([i64(3n), entryBytes(RECONFIG_ENTRY)]));
  });

  test('like ZooKeeper, data it never reads and bytes after what it reads are ignored', () => {
    const ack = decodeLearnerMessage({ type: PacketType.ack, zxid: 1, data: Buffer.from('junk'), authinfo: [{ scheme: 'x', id: 'y' }] });
    assert.deepEqual(ack, { type: PacketType.ack, zxid: 1 });
    const info = decodeLeaderMessage({ type: PacketType.leaderInfo, zxid: 1, data: Buffer.concat([i32(0x10000), i32(7)]), authinfo: null });
    assert.deepEqual(info, { type: PacketType.leaderInfo, zxid: 1, protocolVersion: 0x10000 });
  });

  test('data too short for what ZooKeeper reads, unknown or misdirected types are CodecErrors', () => {
    const learnerCases: QuorumPacket[] = [
      { type: PacketType.followerInfo, zxid: 0, data: Buffer.concat([i64(2n), i32(0x10000)]), authinfo: null }, // a 3.4 learner
      { type: PacketType.followerInfo, zxid: 0, data: null, authinfo: null },
      { type: PacketType.ackEpoch, zxid: 0, data: Buffer.alloc(3), authinfo: null },
      { type: PacketType.ping, zxid: 0, data: Buffer.alloc(13), authinfo: null },
      { type: PacketType.ping, zxid: 0, data: null, authinfo: null },
      { type: PacketType.revalidate, zxid: -1, data: Buffer.alloc(11), authinfo: null },
      { type: PacketType.request, zxid: -1, data: Buffer.alloc(15), authinfo: null },
      { type: PacketType.proposal, zxid: 1, data: entryBytes(SET_DATA_ENTRY), authinfo: null },
      { type: 99, zxid: 1, data: null, authinfo: null },
    ];
    for (const p of learnerCases) assert.throws(() => decodeLearnerMessage(p), CodecError, `learner type ${p.type}`);
    const leaderCases: QuorumPacket[] = [
      { type: PacketType.leaderInfo, zxid: 1, data: null, authinfo: null },
      { type: PacketType.proposal, zxid: 1, data: null, authinfo: null },
      { type: PacketType.proposal, zxid: 1, data: entryBytes(SET_DATA_ENTRY).subarray(0, 30), authinfo: null },
      { type: PacketType.proposal, zxid: 1, data: Buffer.concat([entryBytes(SET_DATA_ENTRY), Buffer.alloc(5)]), authinfo: null },
      { type: PacketType.commitAndActivate, zxid: 1, data: Buffer.alloc(7), authinfo: null },
      { type: PacketType.revalidate, zxid: -1, data: Buffer.alloc(8), authinfo: null },
      { type: PacketType.followerInfo, zxid: 1, data: null, authinfo: null },
      { type: 0, zxid: 1, data: null, authinfo: null },
    ];
    for (const p of leaderCases) assert.throws(() => decodeLeaderMessage(p), CodecError, `leader type ${p.type}`);
  });
});

describe('txn entries and forwarded requests', () => {
  test('a txn entry with and without its digest, and a reconfig (a SetDataTxn)', () => {
    for (const e of [SET_DATA_ENTRY, { ...SET_DATA_ENTRY, digest: null }, RECONFIG_ENTRY]) {
      const r = new JuteReader(entryBytes(e));
      assert.deepEqual(readTxnEntry(r), e);
      assert.equal(r.remaining, 0);
    }
    const hand = Buffer.concat([
      Buffer.concat([i64(0x100000abcn), i32(4), i64(ZXID), i64(1_700_000_000_000), i32(OpCode.setData)]),
      Buffer.concat([text('/a'), buffer(Buffer.from('v')), i32(2)]),
      Buffer.concat([i32(2), i64(-5n)]),
    ]);
    assert.deepEqual(entryBytes(SET_DATA_ENTRY), hand);
  });

  test('a forwarded createSession carries the timeout; closeSession nothing; others the client record', () => {
    assert.deepEqual(readForwardedRequest(OpCode.createSession, i32(30000)), { op: OpCode.createSession, timeOutMs: 30000 });
    assert.deepEqual(readForwardedRequest(OpCode.closeSession, Buffer.alloc(0)), { op: OpCode.closeSession });
    assert.deepEqual(readForwardedRequest(OpCode.setData, Buffer.concat([text('/a'), buffer(Buffer.from('v')), i32(-1)])), {
      op: OpCode.setData,
      path: '/a',
      data: Buffer.from('v'),
      version: -1,
    });
    assert.throws(() => readForwardedRequest(OpCode.createSession, Buffer.alloc(2)), CodecError);
    assert.throws(() => readForwardedRequest(12345, Buffer.alloc(0)), CodecError);
  });
});
