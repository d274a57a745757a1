/**
 * The election port, as ZooKeeper 3.8's QuorumCnxManager and FastLeaderElection speak it.
 *
 * A member that opens an election connection first sends an initial message, unframed:
 *
 *   long protocolVersion      -65536 (V1, since 3.5) or -65535 (V2, multi-address, since 3.6)
 *   long sid
 *   int  addressBytes         1..2048 (QuorumCnxManager.maxBuffer)
 *   byte[addressBytes]        "host:port", V2 "host1:port1|host2:port2|..." (IPv6 as "[addr]:port")
 *
 * Before 3.5 the first long was the sid itself and nothing followed; the receiver still takes a
 * non-negative first long to be that sid. 3.8 sends V2 only when `zookeeper.multiAddress.enabled`
 * is true (default false), even if the member has a single address.
 *
 * After it, both directions carry frames: int length (1..512 KiB, PACKETMAXSIZE; any other
 * length closes the connection) then the message. The only messages in 3.8 are FastLeaderElection
 * notifications (below). The side that accepted the connection sends no initial message.
 *
 * Two habits of the receiver matter to a sender. Only the larger sid keeps a connection: a member
 * that receives one from a smaller sid closes it and connects back to the address(es) in that
 * sid's initial message, so those addresses must be reachable as sent. And InitialMessage.parse takes
 * the address bytes with a single `read`, not readFully: an initial message split across TCP
 * segments can be refused ("Read only N bytes"), so it should leave in one write.
 */
import { ELECTION_ADDRESS_BYTES_MAX, ELECTION_MESSAGE_BYTES_MAX, NOTIFICATION_BYTES_MIN } from '../base/index.js';
import { FrameDecoder } from './frame.js';
import { CodecError, JuteReader, type JuteWriter } from './jute.js';
import { INCOMPLETE } from './measure.js';

/** QuorumCnxManager.PROTOCOL_VERSION_V1: one address (3.5 on). */
export const ELECTION_PROTOCOL_V1 = -65536n;
/** QuorumCnxManager.PROTOCOL_VERSION_V2: any number of addresses, '|'-separated (3.6 on). */
export const ELECTION_PROTOCOL_V2 = -65535n;
/** QuorumPeer.OBSERVER_ID: the sid an old observer announced; the receiver numbers it itself. */
export const OBSERVER_SID = 0x7fffffffffffffffn;

export interface ElectionAddress {
  host: string;
  port: number;
}

export type InitialMessage =
  /** 3.5 and later: the protocol version, the sid and the member's election address(es). */
  | { protocolVersion: typeof ELECTION_PROTOCOL_V1 | typeof ELECTION_PROTOCOL_V2; sid: bigint; addresses: ElectionAddress[] }
  /** Before 3.5 (ZOOKEEPER-107): the sid alone. */
  | { protocolVersion: null; sid: bigint };

/**
 * Decodes an initial message, as QuorumCnxManager.handleConnection and InitialMessage.parse do.
 * Unlike ZooKeeper, which drops wildcard addresses (0.0.0.0, ::) after resolving them, every
 * address is kept: resolving is not the codec's business.
 */
export function readInitialMessage(r: JuteReader): InitialMessage {
  const first = r.readBigLong();
  if (first >= 0n) return { protocolVersion: null, sid: first };
  if (first !== ELECTION_PROTOCOL_V1 && first !== ELECTION_PROTOCOL_V2) {
    throw new CodecError(`unknown election protocol version ${first}`);
  }
  const sid = r.readBigLong();
  const length = r.peekInt();
  checkAddressLength(length);
  const text = r.readString() ?? '';
  return { protocolVersion: first, sid, addresses: text.split('|').map(parseElectionAddress) };
}

export function writeInitialMessage(w: JuteWriter, m: InitialMessage): void {
  if (m.protocolVersion === null) {
    w.writeBigLong(m.sid);
    return;
  }
  w.writeBigLong(m.protocolVersion).writeBigLong(m.sid);
  w.writeString(m.addresses.map(formatElectionAddress).join('|'));
}

/**
 * The byte length of the initial message at the start of `buf[start, end)`, or INCOMPLETE.
 * Throws CodecError as soon as the bytes present cannot start a valid one.
 */
export function measureInitialMessage(buf: Buffer, start: number, end: number): number {
  if (end - start < 8) return INCOMPLETE;
  const first = buf.readBigInt64BE(start);
  if (first >= 0n) return 8;
  if (first !== ELECTION_PROTOCOL_V1 && first !== ELECTION_PROTOCOL_V2) {
    throw new CodecError(`unknown election protocol version ${first}`);
  }
  if (end - start < 20) return INCOMPLETE;
  const length = buf.readInt32BE(start + 16);
  checkAddressLength(length);
  return end - start < 20 + length ? INCOMPLETE : 20 + length;
}

function checkAddressLength(length: number): void {
  if (length <= 0 || length > ELECTION_ADDRESS_BYTES_MAX) {
    throw new CodecError(`election address length ${length} outside [1, ${ELECTION_ADDRESS_BYTES_MAX}]`);
  }
}

const PORT_DIGITS = /^(0|[1-9][0-9]{0,4})$/;

/**
 * "host:port" or "[ipv6]:port", as ConfigUtils.getHostAndPort splits it. The port must be in
 * canonical decimal (ZooKeeper's Integer.parseInt would take "+80" or "080", which no member
 * sends) so that an address re-encodes to the bytes it came from.
 */
export function parseElectionAddress(text: string): ElectionAddress {
  let host: string;
  let port: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') throw new CodecError(`badly formed election address ${JSON.stringify(text)}`);
    host = text.slice(1, close);
    port = text.slice(close + 2);
  } else {
    const parts = text.split(':');
    if (parts.length !== 2) throw new CodecError(`badly formed election address ${JSON.stringify(text)}`);
    host = parts[0] ?? '';
    port = parts[1] ?? '';
  }
  const value = Number(port);
  if (host === '' || !PORT_DIGITS.test(port) || value > 0xffff) {
    throw new CodecError(`badly formed election address ${JSON.stringify(text)}`);
  }
  return { host, port: value };
}

/** NetUtils.formatInetAddr: an IPv6 host goes in brackets. */
export function formatElectionAddress(a: ElectionAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * A decoder for the frames after the initial message. ZooKeeper's RecvWorker closes the
 * connection on a length of 0 or less, or over PACKETMAXSIZE: FrameLengthError.
 */
export function electionFrameDecoder(maxMessageBytes = ELECTION_MESSAGE_BYTES_MAX): FrameDecoder {
  return new FrameDecoder(maxMessageBytes, 1);
}

// ---------------------------------------------------------------- notifications

/** QuorumPeer.ServerState, sent as its ordinal. */
export const ServerState = { looking: 0, following: 1, leading: 2, observing: 3 } as const;
export type ServerState = (typeof ServerState)[keyof typeof ServerState];

/**
 * Java's Long.MIN_VALUE, exact as a number (-2^63). A non-voter (an observer) has no vote of its
 * own: FastLeaderElection proposes Long.MIN_VALUE as its leader, zxid and peer epoch, and these
 * reach the wire in its notifications.
 */
export const NO_VOTE_LONG = -(2 ** 63);
const LONG_MIN = -(2n ** 63n);

/** FastLeaderElection.Notification.CURRENTVERSION: the format 3.5 to 3.9 send (with the config). */
export const NOTIFICATION_VERSION = 2;
/** state, leader, zxid, electionEpoch: the pre-3.4 form. */
const NOTIFICATION_V0_BYTES = 28;
/** + peerEpoch + an int the receiver never reads: the 3.4 form. */
const NOTIFICATION_V1_BYTES = 40;

/**
 * A FastLeaderElection notification (a vote). The first one on a new connection may be stale:
 * QuorumCnxManager keeps, per sid, the last notification queued while that sid could not be
 * reached (a queue of one) and sends it when a connection comes up, or else re-sends the last one
 * it sent. So a member long since FOLLOWING can open with a LOOKING vote of an old round (the
 * capture in test/golden/quorum shows it).
 *
 *   int  state             ServerState of the sender
 *   long leader            the sid it proposes
 *   long zxid              the proposed leader's last zxid
 *   long electionEpoch     the sender's logical clock (the election round)
 *   long peerEpoch         the proposed leader's epoch
 *   int  version           NOTIFICATION_VERSION
 *   int  configBytes       then the sender's quorum config as text (QuorumVerifier.toString)
 */
export interface Notification {
  state: ServerState;
  /** The proposed leader's sid (Long.MIN_VALUE from an observer). */
  leader: bigint;
  /** The proposed leader's last zxid (NO_VOTE_LONG from an observer). */
  zxid: number;
  electionEpoch: number;
  /** The proposed leader's epoch (NO_VOTE_LONG from an observer). */
  peerEpoch: number;
  /** 0 for the 28- and 40-byte forms, whatever their bytes say. */
  version: number;
  /**
   * The sender's config ("server.N=host:quorumPort:electionPort:role\n...version=hex"), null
   * before version 2. It lists members as the sender's own zoo.cfg does, not as they announce
   * themselves. For a member with several addresses, 3.8 sorts its quorum and its election
   * addresses apart (each by host alone) and pairs them by position: on one host a quorum port
   * can come out beside another address's election port (seen in the capture).
   */
  config: string | null;
}

/**
 * Decodes one election message as FastLeaderElection's WorkerReceiver does, by its length: under
 * 28 bytes it is dropped; exactly 28 is the pre-3.4 form (the peer epoch is the zxid's epoch);
 * exactly 40 has a peer epoch and no version is read (the 3.4 sender put 1 there); any other length
 * has a version, and from version 2 on a config. Bytes after what the version calls for are
 * ignored, as ZooKeeper ignores them. A CodecError here means "skip this message": ZooKeeper keeps
 * the connection open after a malformed or short notification.
 */
export function readNotification(buf: Buffer, start = 0, end = buf.length): Notification {
  const length = end - start;
  if (length < NOTIFICATION_BYTES_MIN) throw new CodecError(`notification of ${length} bytes is too short`);
  const r = new JuteReader(buf, start, end);
  const state = readServerState(r);
  const leader = r.readBigLong();
  const zxid = readVoteLong(r);
  const electionEpoch = r.readSafeLong();
  if (length === NOTIFICATION_V0_BYTES) {
    return { state, leader, zxid, electionEpoch, peerEpoch: Math.floor(zxid / 2 ** 32), version: 0, config: null };
  }
  const peerEpoch = readVoteLong(r);
  if (length === NOTIFICATION_V1_BYTES) return { state, leader, zxid, electionEpoch, peerEpoch, version: 0, config: null };
  const version = r.readInt();
  if (version <= 1) return { state, leader, zxid, electionEpoch, peerEpoch, version, config: null };
  const configBytes = r.peekInt();
  // ZooKeeper's own bound (the message length), checked before the bytes are read
  if (configBytes < 0 || configBytes > length) throw new CodecError(`notification config length ${configBytes} is invalid`);
  return { state, leader, zxid, electionEpoch, peerEpoch, version, config: r.readString() ?? '' };
}

/**
 * Encodes a notification in the current form. Only versions from 2 on can be written: the older
 * forms are told apart by their length alone, which a version 0 or 1 record cannot keep.
 */
export function writeNotification(w: JuteWriter, n: Notification): void {
  if (n.version < NOTIFICATION_VERSION || n.config === null) {
    throw new RangeError(`only notifications of version >= ${NOTIFICATION_VERSION} with a config are written`);
  }
  w.writeInt(n.state).writeBigLong(n.leader).writeLong(n.zxid).writeLong(n.electionEpoch).writeLong(n.peerEpoch);
  w.writeInt(n.version).writeString(n.config);
}

/** A zxid or epoch of a vote: exact as a number, or NO_VOTE_LONG. */
function readVoteLong(r: JuteReader): number {
  const v = r.readBigLong();
  if (v === LONG_MIN) return NO_VOTE_LONG;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new CodecError(`vote value ${v} is outside the exact number range`);
  return n;
}

function readServerState(r: JuteReader): ServerState {
  const state = r.readInt();
  switch (state) {
    case ServerState.looking:
    case ServerState.following:
    case ServerState.leading:
    case ServerState.observing:
      return state;
    default:
      // ZooKeeper skips a notification whose state it does not know
      throw new CodecError(`unknown server state ${state}`);
  }
}
