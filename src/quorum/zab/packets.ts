/**
 * The ZAB cores' messages as QuorumPackets and back: what each packet's zxid and data hold in
 * ZooKeeper 3.8 (codec/quorum.ts documents each type). PROPOSAL and INFORM data stay opaque
 * bytes (a ZabTxn): only the TxnHeader's fields are read here; the host decodes the txn when it
 * logs or applies it, so a txn passes from leader to learner to disk without being re-encoded.
 *
 * Anything a core would not expect from that side (a SNAP sent to a leader, a packet type a 3.8
 * member never sends) is a CodecError: the driver closes the connection.
 */
import {
  CodecError,
  JuteReader,
  PacketType,
  ZAB_PROTOCOL_VERSION,
  decodeLeaderMessage,
  decodeLearnerMessage,
  encodeLeaderMessage,
  encodeLearnerMessage,
  readTxnHeader,
  type LearnerInfo,
  type QuorumPacket,
} from '../../codec/index.js';
import { epochOf, makeZxid, type Sid, type ToLeader, type ToLearner, type ZabTxn } from './types.js';

/** The zxid REQUEST, REVALIDATE and UPTODATE carry: ZooKeeper sends -1 there. */
const NO_ZXID = -1;

/** A txn from PROPOSAL or INFORM data (TxnHeader first, then the txn and digest). */
export function zabTxnOf(data: Buffer): ZabTxn {
  const header = readTxnHeader(new JuteReader(data));
  return { zxid: header.zxid, sessionId: header.clientId, cxid: header.cxid, type: header.type, bytes: data };
}

function txnPacket(type: number, txn: ZabTxn): QuorumPacket {
  const bytes = txn.bytes;
  const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { type, zxid: txn.zxid, data, authinfo: null };
}

/**
 * Leader -> learner. `config` is the leader's quorum config text, which NEWLEADER carries (a 3.8
 * learner reads it as the config it syncs to).
 */
export function encodeToLearner(m: ToLearner, config: string): QuorumPacket {
  switch (m.type) {
    case PacketType.leaderInfo:
      return encodeLeaderMessage({ type: m.type, zxid: makeZxid(m.epoch, 0), protocolVersion: ZAB_PROTOCOL_VERSION });
    case PacketType.diff:
    case PacketType.trunc:
    case PacketType.snap:
    case PacketType.commit:
    case PacketType.ping:
      return encodeLeaderMessage({ type: m.type, zxid: m.zxid });
    case PacketType.upToDate:
      return encodeLeaderMessage({ type: m.type, zxid: NO_ZXID });
    case PacketType.sync:
      return encodeLeaderMessage({ type: m.type, zxid: 0 });
    case PacketType.newLeader:
      return encodeLeaderMessage({ type: m.type, zxid: m.zxid, config });
    case PacketType.proposal:
    case PacketType.inform:
      return txnPacket(m.type, m.txn);
    case PacketType.revalidate:
      return encodeLeaderMessage({ type: m.type, zxid: NO_ZXID, sessionId: m.sessionId, valid: m.valid });
    case PacketType.commitAndActivate:
      return encodeLeaderMessage({ type: m.type, zxid: m.zxid, suggestedLeaderId: BigInt(m.designated) });
    case PacketType.informAndActivate: {
      // the designated leader's id, then the PROPOSAL's bytes as they are
      const txn = txnPacket(m.type, m.txn);
      const id = Buffer.alloc(8);
      id.writeBigInt64BE(BigInt(m.designated));
      return { ...txn, data: Buffer.concat([id, txn.data ?? Buffer.alloc(0)]) };
    }
  }
}

function designatedSid(id: bigint): Sid {
  const sid = Number(id);
  if (!Number.isSafeInteger(sid) || sid < 0) throw new CodecError(`designated leader ${id} out of range`);
  return sid;
}

/** A packet a learner received, for ZabLearner.receive. */
export function decodeToLearner(p: QuorumPacket): ToLearner {
  if (p.type === PacketType.proposal || p.type === PacketType.inform || p.type === PacketType.informAndActivate) {
    const activate = p.type === PacketType.informAndActivate;
    if (p.data === null || (activate && p.data.length < 8)) throw new CodecError(`packet type ${p.type} has no data`);
    const txn = zabTxnOf(activate ? p.data.subarray(8) : p.data);
    if (txn.zxid !== p.zxid) throw new CodecError(`packet zxid 0x${p.zxid.toString(16)} differs from its txn's 0x${txn.zxid.toString(16)}`);
    if (activate) return { type: PacketType.informAndActivate, txn, designated: designatedSid(p.data.readBigInt64BE(0)) };
    return { type: p.type === PacketType.proposal ? PacketType.proposal : PacketType.inform, txn };
  }
  const m = decodeLeaderMessage(p);
  switch (m.type) {
    case PacketType.leaderInfo:
      if (m.protocolVersion < ZAB_PROTOCOL_VERSION)
        throw new CodecError(`leader speaks Zab protocol 0x${m.protocolVersion.toString(16)}, before 1.0`);
      return { type: m.type, epoch: epochOf(m.zxid) };
    case PacketType.diff:
    case PacketType.trunc:
    case PacketType.snap:
    case PacketType.commit:
    case PacketType.ping:
    case PacketType.newLeader:
      return { type: m.type, zxid: m.zxid };
    case PacketType.upToDate:
      return { type: m.type };
    case PacketType.sync:
      return { type: m.type };
    case PacketType.revalidate:
      return { type: m.type, sessionId: m.sessionId, valid: m.valid };
    case PacketType.commitAndActivate:
      return { type: m.type, zxid: m.zxid, designated: designatedSid(m.suggestedLeaderId) };
    default:
      throw new CodecError(`packet type ${m.type} is not expected here`);
  }
}

/**
 * Learner -> leader. `me` is this learner's sid and `configVersion` its committed membership's
 * version (FOLLOWERINFO/OBSERVERINFO carry both).
 */
export function encodeToLeader(m: ToLeader, me: Sid, configVersion = 0): QuorumPacket {
  switch (m.type) {
    case PacketType.followerInfo:
    case PacketType.observerInfo: {
      const info: LearnerInfo = { serverId: BigInt(me), protocolVersion: ZAB_PROTOCOL_VERSION, configVersion };
      return encodeLearnerMessage({ type: m.type, zxid: makeZxid(m.acceptedEpoch, 0), info });
    }
    case PacketType.ackEpoch:
      return encodeLearnerMessage({ type: m.type, zxid: m.lastZxid, currentEpoch: m.currentEpoch });
    case PacketType.ack:
      return encodeLearnerMessage({ type: m.type, zxid: m.zxid });
    case PacketType.ping:
      return encodeLearnerMessage({ type: m.type, zxid: m.zxid, touches: [...m.touches] });
    case PacketType.revalidate:
      return encodeLearnerMessage({ type: m.type, zxid: NO_ZXID, sessionId: m.sessionId, timeoutMs: m.timeoutMs });
    case PacketType.request: {
      const r = m.request;
      const body = Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength);
      const authinfo = r.authinfo === null ? null : r.authinfo.map((id) => ({ scheme: id.scheme, id: id.id }));
      return encodeLearnerMessage({
        type: m.type,
        zxid: NO_ZXID,
        sessionId: r.sessionId,
        cxid: r.cxid,
        requestType: r.requestType,
        body,
        authinfo,
      });
    }
  }
}

/** A packet a leader received from a learner, for ZabLeader.receive. */
export function decodeToLeader(p: QuorumPacket): ToLeader {
  const m = decodeLearnerMessage(p);
  switch (m.type) {
    case PacketType.followerInfo:
    case PacketType.observerInfo:
      return { type: m.type, acceptedEpoch: epochOf(m.zxid) };
    case PacketType.ackEpoch:
      return { type: m.type, currentEpoch: m.currentEpoch, lastZxid: m.zxid };
    case PacketType.ack:
      return { type: m.type, zxid: m.zxid };
    case PacketType.ping:
      return { type: m.type, zxid: m.zxid, touches: m.touches };
    case PacketType.revalidate:
      return { type: m.type, sessionId: m.sessionId, timeoutMs: m.timeoutMs };
    case PacketType.request:
      return {
        type: m.type,
        request: { sessionId: m.sessionId, cxid: m.cxid, requestType: m.requestType, body: m.body, authinfo: m.authinfo },
      };
  }
}

/**
 * Who a learner is, from its first packet (FOLLOWERINFO or OBSERVERINFO): the leader side reads
 * this before it hands the learner to the core. Null for any other first packet.
 */
export function learnerInfoOf(p: QuorumPacket): { sid: Sid; observer: boolean; info: LearnerInfo } | null {
  if (p.type !== PacketType.followerInfo && p.type !== PacketType.observerInfo) return null;
  const m = decodeLearnerMessage(p);
  if (m.type !== PacketType.followerInfo && m.type !== PacketType.observerInfo) return null;
  const sid = Number(m.info.serverId);
  if (!Number.isSafeInteger(sid) || sid < 0) throw new CodecError(`learner sid ${m.info.serverId} out of range`);
  return { sid, observer: m.type === PacketType.observerInfo, info: m.info };
}
