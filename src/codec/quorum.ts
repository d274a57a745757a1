/**
 * The quorum port, as ZooKeeper 3.8's Leader, LearnerHandler, Learner, Follower and Observer
 * speak it. Both directions are a bare sequence of jute records, with no length prefix:
 *
 *   QuorumPacket { int type; long zxid; buffer data; vector<Id> authinfo }
 *
 * A learner's connection goes: FOLLOWERINFO or OBSERVERINFO (LearnerInfo) -> LEADERINFO ->
 * ACKEPOCH -> DIFF, TRUNC or SNAP (a SNAP packet is followed by the serialized database and the
 * "BenWasHere" signature, outside any packet: snap-stream.ts) -> PROPOSAL/COMMIT pairs of the
 * sync -> NEWLEADER -> ACK -> UPTODATE -> ACK, then broadcast: PROPOSAL -> ACK -> COMMIT
 * (INFORM to observers), PING both ways, REQUEST, REVALIDATE and SYNC.
 *
 * Two layers: `QuorumPacket` is the jute record, exact to the byte; `LeaderMessage` and
 * `LearnerMessage` are what each packet type's data means, decoded as the receiving side of
 * ZooKeeper decodes it. Like ZooKeeper, the typed layer ignores the data of packets whose data
 * it never reads (ACK, COMMIT, UPTODATE, ...), bytes after the fields it reads, and authinfo on
 * anything but REQUEST; ZooKeeper 3.8 sends null there, which is what the encoders write.
 */
import { QUORUM_PACKET_BYTES_MAX, QUORUM_RECORD_BYTES_MAX } from '../base/index.js';
import { readBoundedBuffer, readBoundedText } from './bounded.js';
import { CodecError, JuteReader, JuteWriter } from './jute.js';
import { JuteScanner, measure } from './measure.js';
import { OpCode } from './codes.js';
import { readRequest, type Id, type Request } from './records.js';
import { readTxnEntry, writeTxnEntry, type TxnEntry } from './txn.js';

/** Leader.java's packet types, with what 3.8 puts in their zxid and data. */
export const PacketType = {
  /**
   * learner -> leader: a client request the learner forwards (zxid -1; data: sessionId, cxid, type,
   * the request body). Its authinfo is the connection's auth ids: the ("ip", address) id every
   * connection has first, then those `addauth` added.
   */
  request: 1,
  /** leader -> follower: a txn to log (data: TxnHeader + txn + TxnDigest). */
  proposal: 2,
  /**
   * follower -> leader: the txn of zxid is logged. NEWLEADER and UPTODATE are ACKed too, both with
   * the new epoch's zxid (epoch << 32); the txns of a DIFF are ACKed as they are logged after
   * NEWLEADER, so those ACKs come between the two.
   */
  ack: 3,
  /** leader -> follower: apply everything up to zxid. */
  commit: 4,
  /**
   * both ways: the leader's liveness probe (zxid: its last proposed; no data), and the learner's
   * answer (zxid echoed; data: the sessions it has seen since its last answer). A learner also
   * lists every global session it has seen committed, wherever the session lives
   * (LearnerSessionTracker.commitSession), so each new session shows up in every learner's answer.
   * The leader pings from the moment NEWLEADER is queued, but a learner drops (does not answer) a
   * PING that arrives before UPTODATE: its sync loop has no case for it.
   */
  ping: 5,
  /** both ways: a client re-attaches a session at a learner, and the leader's verdict (zxid -1 both ways). */
  revalidate: 6,
  /**
   * leader -> learner: the oldest `sync` the learner forwarded has passed the leader's pipeline
   * (zxid 0, no data: the learner pairs it with its oldest pending sync).
   */
  sync: 7,
  /** leader -> observer: a committed txn (data as PROPOSAL). */
  inform: 8,
  /** leader -> follower: COMMIT of a reconfig, with the leader the new config designates. */
  commitAndActivate: 9,
  /**
   * leader -> learner: the sync is done (zxid: newEpoch << 32; data: the leader's config text since
   * 3.5, null for pre-Zab-1.0 learners).
   */
  newLeader: 10,
  /** follower -> leader: first packet (data: LearnerInfo; zxid: acceptedEpoch << 32). */
  followerInfo: 11,
  /** leader -> learner: start serving (zxid -1). */
  upToDate: 12,
  /**
   * leader -> learner: PROPOSAL/COMMIT pairs follow, if any (zxid: the last zxid the learner has
   * once they are applied; for a learner already in step, its own last zxid).
   */
  diff: 13,
  /** leader -> learner: drop txns after zxid. */
  trunc: 14,
  /** leader -> learner: the serialized database follows (zxid: its last processed zxid). */
  snap: 15,
  /** observer -> leader: first packet (as FOLLOWERINFO). */
  observerInfo: 16,
  /** leader -> learner: the new epoch (zxid: newEpoch << 32; data: the Zab protocol version). */
  leaderInfo: 17,
  /** learner -> leader: its current epoch (data) and last logged zxid (zxid). */
  ackEpoch: 18,
  /** leader -> observer: INFORM of a reconfig, with the designated leader. */
  informAndActivate: 19,
} as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

export interface QuorumPacket {
  type: number;
  zxid: number;
  data: Buffer | null;
  authinfo: Id[] | null;
}

/** Reads one QuorumPacket. Each buffer and string may hold at most `maxRecordBytes`. */
export function readQuorumPacket(r: JuteReader, maxRecordBytes = QUORUM_RECORD_BYTES_MAX): QuorumPacket {
  const type = r.readInt();
  const zxid = r.readSafeLong();
  const data = readBoundedBuffer(r, maxRecordBytes);
  const authinfo = r.readVector((ids) => readId(ids, maxRecordBytes));
  return { type, zxid, data, authinfo };
}

export function writeQuorumPacket(w: JuteWriter, p: QuorumPacket): void {
  w.writeInt(p.type).writeLong(p.zxid).writeBuffer(p.data);
  w.writeVector(p.authinfo, (iw, id) => iw.writeString(id.scheme).writeString(id.id));
}

function readId(r: JuteReader, maxRecordBytes: number): Id {
  return { scheme: readBoundedText(r, maxRecordBytes), id: readBoundedText(r, maxRecordBytes) };
}

/**
 * The byte length of the QuorumPacket starting at `buf[start]`, or INCOMPLETE if `buf[start, end)`
 * does not hold all of it yet: how a quorum-port reader finds packet boundaries. Throws
 * CodecError as soon as a length is out of bounds, before waiting for the bytes it claims.
 */
export function measureQuorumPacket(
  buf: Uint8Array,
  start: number,
  end: number,
  maxRecordBytes = QUORUM_RECORD_BYTES_MAX,
  maxPacketBytes = QUORUM_PACKET_BYTES_MAX,
): number {
  return measure(new JuteScanner(buf, start, end, maxPacketBytes), (s) => walkQuorumPacket(s, maxRecordBytes));
}

/** Walks one QuorumPacket's lengths (for measureQuorumPacket and RecordStream). */
export function walkQuorumPacket(s: JuteScanner, maxRecordBytes = QUORUM_RECORD_BYTES_MAX): void {
  s.skip(12); // type, zxid
  s.lengthPrefixed(maxRecordBytes);
  const ids = s.count();
  for (let i = 0; i < ids; i++) {
    s.lengthPrefixed(maxRecordBytes);
    s.lengthPrefixed(maxRecordBytes);
  }
}

// ---------------------------------------------------------------- packet data

/** The Zab protocol version 3.4+ learners and leaders announce (LearnerInfo, LEADERINFO): "1.0". */
export const ZAB_PROTOCOL_VERSION = 0x10000;

/** FOLLOWERINFO/OBSERVERINFO data, a jute record: who the learner is and the config it runs. */
export interface LearnerInfo {
  serverId: bigint;
  protocolVersion: number;
  /** The version of the learner's quorum config (the zxid of the reconfig that made it; 0 for a static config). */
  configVersion: number;
}
/** LearnerInfo's size. LearnerHandler reads 8, 12 or 20 of them: older learners sent fewer. */
const LEARNER_INFO_BYTES = 20;

/** One session a learner has seen traffic for since its last PING answer, with its timeout. */
export interface SessionTouch {
  sessionId: bigint;
  timeoutMs: number;
}
const SESSION_TOUCH_BYTES = 12;
/** sessionId, cxid, type: the REQUEST data before the client's request body. */
const REQUEST_PREFIX_BYTES = 16;

/** What a leader sends, by packet type. */
export type LeaderMessage =
  | { type: typeof PacketType.leaderInfo; zxid: number; protocolVersion: number }
  | {
      type:
        | typeof PacketType.diff
        | typeof PacketType.trunc
        | typeof PacketType.snap
        | typeof PacketType.upToDate
        | typeof PacketType.commit
        | typeof PacketType.ping
        | typeof PacketType.sync;
      zxid: number;
    }
  | { type: typeof PacketType.newLeader; zxid: number; config: string | null }
  | { type: typeof PacketType.proposal | typeof PacketType.inform; zxid: number; entry: TxnEntry }
  | { type: typeof PacketType.commitAndActivate; zxid: number; suggestedLeaderId: bigint }
  | { type: typeof PacketType.informAndActivate; zxid: number; suggestedLeaderId: bigint; entry: TxnEntry }
  /** The answer to a learner's REVALIDATE: the packet comes back with its zxid and new data. */
  | { type: typeof PacketType.revalidate; zxid: number; sessionId: bigint; valid: boolean };

/** What a learner sends, by packet type. */
export type LearnerMessage =
  | { type: typeof PacketType.followerInfo | typeof PacketType.observerInfo; zxid: number; info: LearnerInfo }
  /** currentEpoch -1: the learner had already accepted this epoch, so this is no vote for it. */
  | { type: typeof PacketType.ackEpoch; zxid: number; currentEpoch: number }
  | { type: typeof PacketType.ack; zxid: number }
  /** The answer to the leader's PING: zxid echoed, and the sessions the learner has seen. */
  | { type: typeof PacketType.ping; zxid: number; touches: SessionTouch[] }
  | { type: typeof PacketType.revalidate; zxid: number; sessionId: bigint; timeoutMs: number }
  | {
      type: typeof PacketType.request;
      zxid: number;
      sessionId: bigint;
      cxid: number;
      /** The client opcode (OpCode), or createSession/closeSession. */
      requestType: number;
      /** The request as the client sent it after its RequestHeader (readForwardedRequest decodes it). */
      body: Buffer;
      /** The session's auth ids (`addauth`), for the leader's ACL checks. */
      authinfo: Id[] | null;
    };

/** Decodes a packet a leader sent, as Learner, Follower and Observer read it. */
export function decodeLeaderMessage(p: QuorumPacket): LeaderMessage {
  const { zxid } = p;
  switch (p.type) {
    case PacketType.leaderInfo:
      return { type: p.type, zxid, protocolVersion: dataOf(p, 4).readInt() };
    case PacketType.diff:
    case PacketType.trunc:
    case PacketType.snap:
    case PacketType.upToDate:
    case PacketType.commit:
    case PacketType.ping:
    case PacketType.sync:
      return { type: p.type, zxid };
    case PacketType.newLeader:
      return { type: p.type, zxid, config: p.data === null ? null : p.data.toString('utf8') };
    case PacketType.proposal:
    case PacketType.inform:
      return { type: p.type, zxid, entry: readTxnEntry(dataOf(p, 0)) };
    case PacketType.commitAndActivate:
      return { type: p.type, zxid, suggestedLeaderId: dataOf(p, 8).readBigLong() };
    case PacketType.informAndActivate: {
      const r = dataOf(p, 8);
      return { type: p.type, zxid, suggestedLeaderId: r.readBigLong(), entry: readTxnEntry(r) };
    }
    case PacketType.revalidate: {
      const r = dataOf(p, 9);
      return { type: p.type, zxid, sessionId: r.readBigLong(), valid: r.readBool() };
    }
    default:
      throw new CodecError(`unexpected packet type ${p.type} from a leader`);
  }
}

/** Decodes a packet a learner sent, as LearnerHandler and Leader read it. */
export function decodeLearnerMessage(p: QuorumPacket): LearnerMessage {
  const { zxid } = p;
  switch (p.type) {
    case PacketType.followerInfo:
    case PacketType.observerInfo: {
      // learners before 3.5 sent 8 or 12 bytes (no config version); they cannot join a 3.8 ensemble
      const r = dataOf(p, LEARNER_INFO_BYTES);
      return { type: p.type, zxid, info: { serverId: r.readBigLong(), protocolVersion: r.readInt(), configVersion: r.readSafeLong() } };
    }
    case PacketType.ackEpoch:
      return { type: p.type, zxid, currentEpoch: dataOf(p, 4).readInt() };
    case PacketType.ack:
      return { type: p.type, zxid };
    case PacketType.ping:
      return { type: p.type, zxid, touches: readTouches(dataOf(p, 0)) };
    case PacketType.revalidate: {
      const r = dataOf(p, 12);
      return { type: p.type, zxid, sessionId: r.readBigLong(), timeoutMs: r.readInt() };
    }
    case PacketType.request: {
      const r = dataOf(p, REQUEST_PREFIX_BYTES);
      const sessionId = r.readBigLong();
      const cxid = r.readInt();
      const requestType = r.readInt();
      const data = p.data ?? Buffer.alloc(0);
      return { type: p.type, zxid, sessionId, cxid, requestType, body: data.subarray(REQUEST_PREFIX_BYTES), authinfo: p.authinfo };
    }
    default:
      throw new CodecError(`unexpected packet type ${p.type} from a learner`);
  }
}

/** A reader over the packet's data, which must hold at least `minBytes` (ZooKeeper would fail on fewer). */
function dataOf(p: QuorumPacket, minBytes: number): JuteReader {
  if (p.data === null) throw new CodecError(`packet type ${p.type} has no data`);
  if (p.data.length < minBytes) throw new CodecError(`packet type ${p.type} has ${p.data.length} bytes of data, needs ${minBytes}`);
  return new JuteReader(p.data);
}

/** The PING answer's session table: {long sessionId, int timeout} until the data ends, no count. */
function readTouches(r: JuteReader): SessionTouch[] {
  if (r.remaining % SESSION_TOUCH_BYTES !== 0) throw new CodecError(`session touch table of ${r.remaining} bytes`);
  const touches: SessionTouch[] = [];
  while (r.remaining > 0) touches.push({ sessionId: r.readBigLong(), timeoutMs: r.readInt() });
  return touches;
}

export function encodeLeaderMessage(m: LeaderMessage): QuorumPacket {
  switch (m.type) {
    case PacketType.leaderInfo:
      return packet(m, (w) => w.writeInt(m.protocolVersion));
    case PacketType.diff:
    case PacketType.trunc:
    case PacketType.snap:
    case PacketType.upToDate:
    case PacketType.commit:
    case PacketType.ping:
    case PacketType.sync:
      return packet(m, null);
    case PacketType.newLeader:
      return { type: m.type, zxid: m.zxid, data: m.config === null ? null : Buffer.from(m.config, 'utf8'), authinfo: null };
    case PacketType.proposal:
    case PacketType.inform:
      return packet(m, (w) => writeTxnEntry(w, m.entry));
    case PacketType.commitAndActivate:
      return packet(m, (w) => w.writeBigLong(m.suggestedLeaderId));
    case PacketType.informAndActivate:
      return packet(m, (w) => {
        w.writeBigLong(m.suggestedLeaderId);
        writeTxnEntry(w, m.entry);
      });
    case PacketType.revalidate:
      return packet(m, (w) => w.writeBigLong(m.sessionId).writeBool(m.valid));
  }
}

export function encodeLearnerMessage(m: LearnerMessage): QuorumPacket {
  switch (m.type) {
    case PacketType.followerInfo:
    case PacketType.observerInfo:
      return packet(m, (w) => w.writeBigLong(m.info.serverId).writeInt(m.info.protocolVersion).writeLong(m.info.configVersion));
    case PacketType.ackEpoch:
      return packet(m, (w) => w.writeInt(m.currentEpoch));
    case PacketType.ack:
      return packet(m, null);
    case PacketType.ping:
      return packet(m, (w) => {
        for (const t of m.touches) w.writeBigLong(t.sessionId).writeInt(t.timeoutMs);
      });
    case PacketType.revalidate:
      return packet(m, (w) => w.writeBigLong(m.sessionId).writeInt(m.timeoutMs));
    case PacketType.request: {
      const w = new JuteWriter(REQUEST_PREFIX_BYTES + m.body.length);
      w.writeBigLong(m.sessionId).writeInt(m.cxid).writeInt(m.requestType);
      const data = Buffer.concat([w.toBuffer(), m.body]);
      return { type: m.type, zxid: m.zxid, data, authinfo: m.authinfo };
    }
  }
}

/** A packet with no authinfo whose data `writeData` writes (null: no data). */
function packet(m: { type: number; zxid: number }, writeData: ((w: JuteWriter) => void) | null): QuorumPacket {
  if (writeData === null) return { type: m.type, zxid: m.zxid, data: null, authinfo: null };
  const w = new JuteWriter(64);
  writeData(w);
  return { type: m.type, zxid: m.zxid, data: Buffer.from(w.toBuffer()), authinfo: null };
}

// ---------------------------------------------------------------- forwarded requests

/** A REQUEST's body: a client request, or the createSession a learner opens a global session with. */
export type ForwardedRequest = Request | { op: typeof OpCode.createSession; timeOutMs: number };

/**
 * Decodes the body of a REQUEST of `requestType`. A createSession's body is the negotiated
 * timeout (ZooKeeperServer.createSession builds it: there is no client record); closeSession
 * has an empty body; anything else is the client's own request record.
 */
export function readForwardedRequest(requestType: number, body: Buffer): ForwardedRequest {
  const r = new JuteReader(body);
  if (requestType === OpCode.createSession) return { op: OpCode.createSession, timeOutMs: r.readInt() };
  return readRequest(requestType, r);
}
