/**
 * The election and quorum codecs: decode(encode(x)) = x for arbitrary records; unframed quorum
 * streams split back into their packets however the bytes are chunked; and arbitrary or damaged
 * bytes only ever decode or throw CodecError.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CodecError,
  ELECTION_PROTOCOL_V1,
  ELECTION_PROTOCOL_V2,
  INCOMPLETE,
  JuteReader,
  JuteWriter,
  NO_VOTE_LONG,
  OpCode,
  PacketType,
  decodeLeaderMessage,
  decodeLearnerMessage,
  encodeLeaderMessage,
  encodeLearnerMessage,
  measureInitialMessage,
  measureQuorumPacket,
  readInitialMessage,
  readNotification,
  readQuorumPacket,
  readSnapTransfer,
  writeInitialMessage,
  writeNotification,
  writeQuorumPacket,
  writeSnapTransfer,
  type ACL,
  type ElectionAddress,
  type Id,
  type InitialMessage,
  type LeaderMessage,
  type LearnerMessage,
  type Notification,
  type QuorumPacket,
  type SnapshotBody,
  type StatPersisted,
  type Txn,
  type TxnEntry,
} from '../../src/codec/index.js';

const RUNS = 300;

function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}
function encode(write: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriter(8);
  write(w);
  return Buffer.from(w.toBuffer());
}

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const long = fc.maxSafeInteger();
const bigLong = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const bytes = fc.uint8Array({ maxLength: 24 }).map((u) => Buffer.from(u));
const nullableBytes = fc.option(bytes, { nil: null });
const id: fc.Arbitrary<Id> = rec({ scheme: text, id: text });
const acl: fc.Arbitrary<ACL> = rec({ perms: int32, id });

// ---------------------------------------------------------------- election

const host = fc.oneof(fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,20}$/), fc.ipV4(), fc.ipV6(), fc.constant('fe80::1%eth0'));
const address: fc.Arbitrary<ElectionAddress> = rec({ host, port: fc.integer({ min: 0, max: 65535 }) });
const initialMessage: fc.Arbitrary<InitialMessage> = fc.oneof(
  rec({ protocolVersion: fc.constant(ELECTION_PROTOCOL_V1), sid: bigLong, addresses: fc.array(address, { minLength: 1, maxLength: 1 }) }),
  rec({ protocolVersion: fc.constant(ELECTION_PROTOCOL_V2), sid: bigLong, addresses: fc.array(address, { minLength: 1, maxLength: 6 }) }),
  rec({ protocolVersion: fc.constant(null), sid: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }) }),
);
const voteLong = fc.oneof(long, fc.constant(NO_VOTE_LONG));
const notification: fc.Arbitrary<Notification> = rec({
  state: fc.constantFrom(0, 1, 2, 3),
  leader: bigLong,
  zxid: voteLong,
  electionEpoch: long,
  peerEpoch: voteLong,
  version: fc.integer({ min: 2, max: 2 ** 31 - 1 }),
  config: fc.string({ unit: 'grapheme', maxLength: 200 }),
});

describe('election codec properties', () => {
  test('initial messages round trip, and measure finds their end', () => {
    fc.assert(
      fc.property(initialMessage, (m) => {
        const b = encode((w) => writeInitialMessage(w, m));
        assert.deepEqual(readInitialMessage(new JuteReader(b)), m);
        assert.equal(measureInitialMessage(b, 0, b.length), b.length);
        assert.equal(measureInitialMessage(b, 0, b.length - 1), INCOMPLETE);
      }),
      { numRuns: RUNS },
    );
  });

  test('notifications round trip', () => {
    fc.assert(
      fc.property(notification, (n) => {
        assert.deepEqual(readNotification(encode((w) => writeNotification(w, n))), n);
      }),
      { numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------- quorum

const stat: fc.Arbitrary<StatPersisted> = rec({
  czxid: long,
  mzxid: long,
  ctime: long,
  mtime: long,
  version: int32,
  cversion: int32,
  aversion: int32,
  ephemeralOwner: bigLong,
  pzxid: long,
});
const path = fc.oneof(text, fc.constantFrom('/a', '/a/b', '/zookeeper/config'));
const acls = fc.array(acl, { maxLength: 3 });
const leafTxn: fc.Arbitrary<Txn> = fc.oneof(
  rec({ type: fc.constant(OpCode.create), path, data: nullableBytes, acl: acls, ephemeral: fc.boolean(), parentCVersion: int32 }),
  rec({ type: fc.constant(OpCode.delete), path }),
  rec({ type: fc.constant(OpCode.setData), path, data: nullableBytes, version: int32 }),
  rec({ type: fc.constant(OpCode.createSession), timeOut: int32 }),
  // ZooKeeper 3.8 always sends the CloseSessionTxn (zookeeper.closeSessionTxn.enabled)
  rec({ type: fc.constant(OpCode.closeSession), paths2Delete: fc.array(path, { maxLength: 3 }) }),
  rec({ type: fc.constant(OpCode.error), err: int32 }),
);
const txn: fc.Arbitrary<Txn> = fc.oneof(leafTxn, rec({ type: fc.constant(OpCode.multi), txns: fc.array(leafTxn, { maxLength: 3 }) }));
const txnEntry: fc.Arbitrary<TxnEntry> = fc.oneof(
  fc
    .tuple(txn, bigLong, int32, long, long, fc.option(rec({ version: int32, treeDigest: bigLong }), { nil: null }))
    .map(([t, clientId, cxid, zxid, time, digest]) => ({ header: { clientId, cxid, zxid, time, type: t.type }, txn: t, digest })),
  fc.tuple(bigLong, long, nullableBytes, int32).map(([clientId, zxid, data, version]) => ({
    header: { clientId, cxid: 1, zxid, time: 0, type: OpCode.reconfig },
    txn: { type: OpCode.setData, path: '/zookeeper/config', data, version },
    digest: null,
  })),
);

const leaderMessage: fc.Arbitrary<LeaderMessage> = fc.oneof(
  rec({ type: fc.constant(PacketType.leaderInfo), zxid: long, protocolVersion: int32 }),
  rec({
    type: fc.constantFrom(
      PacketType.diff,
      PacketType.trunc,
      PacketType.snap,
      PacketType.upToDate,
      PacketType.commit,
      PacketType.ping,
      PacketType.sync,
    ),
    zxid: long,
  }),
  rec({ type: fc.constant(PacketType.newLeader), zxid: long, config: fc.option(text, { nil: null }) }),
  rec({ type: fc.constantFrom(PacketType.proposal, PacketType.inform), zxid: long, entry: txnEntry }),
  rec({ type: fc.constant(PacketType.commitAndActivate), zxid: long, suggestedLeaderId: bigLong }),
  rec({ type: fc.constant(PacketType.informAndActivate), zxid: long, suggestedLeaderId: bigLong, entry: txnEntry }),
  rec({ type: fc.constant(PacketType.revalidate), zxid: long, sessionId: bigLong, valid: fc.boolean() }),
);
const learnerMessage: fc.Arbitrary<LearnerMessage> = fc.oneof(
  rec({
    type: fc.constantFrom(PacketType.followerInfo, PacketType.observerInfo),
    zxid: long,
    info: rec({ serverId: bigLong, protocolVersion: int32, configVersion: long }),
  }),
  rec({ type: fc.constant(PacketType.ackEpoch), zxid: long, currentEpoch: int32 }),
  rec({ type: fc.constant(PacketType.ack), zxid: long }),
  rec({
    type: fc.constant(PacketType.ping),
    zxid: long,
    touches: fc.array(rec({ sessionId: bigLong, timeoutMs: int32 }), { maxLength: 5 }),
  }),
  rec({ type: fc.constant(PacketType.revalidate), zxid: long, sessionId: bigLong, timeoutMs: int32 }),
  rec({
    type: fc.constant(PacketType.request),
    zxid: long,
    sessionId: bigLong,
    cxid: int32,
    requestType: int32,
    body: bytes,
    authinfo: fc.option(fc.array(id, { maxLength: 3 }), { nil: null }),
  }),
);
const packet: fc.Arbitrary<QuorumPacket> = rec({
  type: int32,
  zxid: long,
  data: nullableBytes,
  authinfo: fc.option(fc.array(id, { maxLength: 3 }), { nil: null }),
});
const snapshotBody: fc.Arbitrary<SnapshotBody> = rec({
  sessions: fc.array(rec({ sessionId: bigLong, timeoutMs: int32 }), { maxLength: 4 }),
  acls: fc.array(rec({ index: long, acl: acls }), { maxLength: 4 }),
  nodes: fc.array(rec({ path: path.filter((p) => p !== '/'), data: nullableBytes, aclIndex: long, stat }), { maxLength: 6 }),
});

function packetBytes(p: QuorumPacket): Buffer {
  return encode((w) => writeQuorumPacket(w, p));
}

describe('quorum codec properties', () => {
  test('QuorumPackets round trip', () => {
    fc.assert(
      fc.property(packet, (p) => {
        assert.deepEqual(readQuorumPacket(new JuteReader(packetBytes(p))), p);
      }),
      { numRuns: RUNS },
    );
  });

  test('leader and learner messages round trip through packets and bytes', () => {
    fc.assert(
      fc.property(leaderMessage, learnerMessage, (leader, learner) => {
        assert.deepEqual(decodeLeaderMessage(readQuorumPacket(new JuteReader(packetBytes(encodeLeaderMessage(leader))))), leader);
        assert.deepEqual(decodeLearnerMessage(readQuorumPacket(new JuteReader(packetBytes(encodeLearnerMessage(learner))))), learner);
      }),
      { numRuns: RUNS },
    );
  });

  test('SNAP transfers round trip', () => {
    fc.assert(
      fc.property(snapshotBody, (body) => {
        const r = new JuteReader(encode((w) => writeSnapTransfer(w, body)));
        assert.deepEqual(readSnapTransfer(r), body);
        assert.equal(r.remaining, 0);
      }),
      { numRuns: RUNS },
    );
  });

  test('a stream of packets, received in arbitrary chunks, splits back into the packets', () => {
    fc.assert(
      fc.property(
        fc.array(packet, { minLength: 1, maxLength: 6 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 30 }),
        (packets, cuts) => {
          const stream = Buffer.concat(packets.map(packetBytes));
          // a receiver's buffer holds what arrived so far; it measures from the first unread byte
          const out: QuorumPacket[] = [];
          let received = 0;
          let at = 0;
          for (const cut of [...cuts, stream.length]) {
            received = Math.min(stream.length, received + cut);
            for (let n = measureQuorumPacket(stream, at, received); n !== INCOMPLETE; n = measureQuorumPacket(stream, at, received)) {
              out.push(readQuorumPacket(new JuteReader(stream, at, at + n)));
              at += n;
              if (at === received) break;
            }
          }
          assert.deepEqual(out, packets);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('arbitrary and damaged bytes decode or throw CodecError, nothing else', () => {
    const valid = fc.oneof(
      packet.map(packetBytes),
      leaderMessage.map((m) => packetBytes(encodeLeaderMessage(m))),
      learnerMessage.map((m) => packetBytes(encodeLearnerMessage(m))),
      snapshotBody.map((b) => encode((w) => writeSnapTransfer(w, b))),
      notification.map((n) => encode((w) => writeNotification(w, n))),
      initialMessage.map((m) => encode((w) => writeInitialMessage(w, m))),
    );
    const damaged = fc
      .tuple(valid, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat())
      .map(([b, flips, cut]) => {
        const out = Buffer.from(b);
        for (const [at, v] of flips) if (out.length > 0) out[at % out.length] = v;
        return out.subarray(0, out.length === 0 ? 0 : cut % (out.length + 1));
      });
    const decoders: Array<(b: Buffer) => unknown> = [
      (b) => readQuorumPacket(new JuteReader(b)),
      (b) => decodeLeaderMessage(readQuorumPacket(new JuteReader(b))),
      (b) => decodeLearnerMessage(readQuorumPacket(new JuteReader(b))),
      (b) => measureQuorumPacket(b, 0, b.length),
      (b) => readSnapTransfer(new JuteReader(b)),
      (b) => readNotification(b),
      (b) => readInitialMessage(new JuteReader(b)),
      (b) => measureInitialMessage(b, 0, b.length),
    ];
    fc.assert(
      fc.property(
        fc.oneof(
          damaged,
          fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)),
        ),
        (b) => {
          for (const decode of decoders) {
            try {
              decode(b);
            } catch (e) {
              if (!(e instanceof CodecError)) throw e;
            }
          }
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });
});
