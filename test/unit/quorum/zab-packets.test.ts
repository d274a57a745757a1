/**
 * src/quorum/zab/packets.ts against the packets a real ZooKeeper 3.8.0 ensemble exchanged
 * (test/golden/quorum): each captured packet, decoded into a core message and encoded back, must
 * be the same bytes, so what our cores say on the wire is what ZooKeeper's members say.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  CodecError,
  JuteReader,
  JuteWriter,
  PacketType,
  decodeLeaderMessage,
  readQuorumPacket,
  writeQuorumPacket,
  type QuorumPacket,
} from '../../../src/codec/index.js';
import { decodeToLeader, decodeToLearner, encodeToLeader, encodeToLearner, learnerInfoOf } from '../../../src/quorum/zab/index.js';
import { readManifest, readStream, splitStream } from '../../golden/quorum/fixtures.js';

function bytesOf(p: QuorumPacket): Buffer {
  const w = new JuteWriter();
  writeQuorumPacket(w, p);
  return Buffer.from(w.toBuffer());
}

function packetsOf(bytes: Buffer, direction: 'forward' | 'backward'): Array<{ packet: QuorumPacket; bytes: Buffer }> {
  return splitStream('quorum', direction, bytes)
    .records.filter((r) => r.kind === 'quorumPacket')
    .map((r) => ({ packet: readQuorumPacket(new JuteReader(bytes, r.start, r.end)), bytes: bytes.subarray(r.start, r.end) }));
}

const manifest = readManifest();
const quorumConnections = manifest.connections.filter((c) => c.port === 'quorum');

describe('ZAB messages <-> QuorumPackets, against ZooKeeper 3.8.0', () => {
  test('the capture has quorum connections with both directions', () => {
    assert.ok(quorumConnections.length >= 3);
  });

  for (const conn of quorumConnections) {
    test(`learner ${conn.from} -> leader ${conn.to}: every packet decodes and encodes to its own bytes`, () => {
      const packets = packetsOf(readStream(conn, 'forward'), 'forward');
      assert.ok(packets.length > 3);
      const first = packets[0];
      assert.ok(first !== undefined);
      const who = learnerInfoOf(first.packet);
      assert.ok(who !== null, 'the first packet says who the learner is');
      assert.equal(who.sid, conn.from);
      const seen = new Set<number>();
      for (const { packet, bytes } of packets) {
        const m = decodeToLeader(packet);
        seen.add(m.type);
        assert.deepEqual(bytesOf(encodeToLeader(m, who.sid)), bytes, `packet type ${packet.type}`);
      }
      for (const t of [PacketType.ackEpoch, PacketType.ack]) assert.ok(seen.has(t), `type ${t} seen`);
    });

    test(`leader ${conn.to} -> learner ${conn.from}: every packet decodes and encodes to its own bytes`, () => {
      const packets = packetsOf(readStream(conn, 'backward'), 'backward');
      assert.ok(packets.length > 3);
      const newLeader = packets.find((p) => p.packet.type === PacketType.newLeader);
      assert.ok(newLeader !== undefined);
      const decoded = decodeLeaderMessage(newLeader.packet);
      assert.ok(decoded.type === PacketType.newLeader && decoded.config !== null);
      const config = decoded.config;
      for (const { packet, bytes } of packets) {
        const m = decodeToLearner(packet);
        assert.deepEqual(bytesOf(encodeToLearner(m, config)), bytes, `packet type ${packet.type}`);
      }
    });
  }

  test('the decoded values are what the protocol means: epochs, zxids, txn headers', () => {
    const conn = quorumConnections[0];
    assert.ok(conn !== undefined);
    const fromLeader = packetsOf(readStream(conn, 'backward'), 'backward').map((p) => decodeToLearner(p.packet));
    const info = fromLeader[0];
    assert.ok(info !== undefined && info.type === PacketType.leaderInfo);
    assert.ok(info.epoch >= 1);
    for (const m of fromLeader) {
      if (m.type === PacketType.proposal || m.type === PacketType.inform) assert.equal(Math.floor(m.txn.zxid / 2 ** 32) >= 1, true);
      if (m.type === PacketType.newLeader) assert.equal(m.zxid, info.epoch * 2 ** 32);
    }
  });

  test('packets a learner must not get, and a PROPOSAL whose zxid differs from its txn, are CodecErrors', () => {
    const good = quorumConnections
      .flatMap((c) => packetsOf(readStream(c, 'backward'), 'backward'))
      .find((p) => p.packet.type === PacketType.proposal || p.packet.type === PacketType.inform);
    assert.ok(good !== undefined);
    assert.throws(() => decodeToLearner({ ...good.packet, zxid: good.packet.zxid + 1 }), CodecError);
    assert.throws(() => decodeToLearner({ type: PacketType.ackEpoch, zxid: 0, data: Buffer.alloc(4), authinfo: null }), CodecError);
    // COMMITANDACTIVATE carries the designated leader's 8-byte id: shorter data is garbage
    assert.throws(
      () => decodeToLearner({ type: PacketType.commitAndActivate, zxid: 0, data: Buffer.alloc(4), authinfo: null }),
      CodecError,
    );
    assert.throws(
      () => decodeToLearner({ type: PacketType.informAndActivate, zxid: 0, data: Buffer.alloc(4), authinfo: null }),
      CodecError,
    );
    assert.throws(() => decodeToLeader({ type: PacketType.snap, zxid: 0, data: null, authinfo: null }), CodecError);
    assert.equal(learnerInfoOf({ type: PacketType.ack, zxid: 0, data: null, authinfo: null }), null);
  });
});
