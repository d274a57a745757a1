/**
 * The captured quorum fixtures: what manifest.json holds, and how a captured byte stream splits
 * into the records ZooKeeper wrote (shared by capture.ts and the golden tests).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  INCOMPLETE,
  JuteReader,
  PacketType,
  electionFrameDecoder,
  measureInitialMessage,
  measureQuorumPacket,
  readSnapTransfer,
} from '../../../src/codec/index.js';

/** This directory in the source tree (the tests run from dist/). */
export const FIXTURE_DIR = fileURLToPath(new URL('../../../../test/golden/quorum/', import.meta.url));

export interface MemberInfo {
  id: number;
  observer: boolean;
  /** The member's own quorum and election ports (two of each for the multi-address member). */
  quorumPorts: number[];
  electionPorts: number[];
  multiAddress: boolean;
  /** The proxy ports this member's zoo.cfg lists for each other member. */
  proxyPorts: Record<string, { quorum: number; election: number }>;
}

export interface SessionInfo {
  name: string;
  /** Decimal, as the client got it in its ConnectResponse. */
  sessionId: string;
  timeoutMs: number;
  passwd: string;
}

/** A request a client sent and the reply it got. */
export interface RecordedOp {
  session: string;
  /** The member the client was connected to. */
  via: number;
  requestType: number;
  cxid: number;
  /** The zxid of the reply header. */
  zxid: number;
  /** The request record the client sent after its RequestHeader, hex. */
  body: string;
}

/** A notification as the receiving member logged it (FastLeaderElection's "Notification:" line). */
export interface LoggedNotification {
  receiver: number;
  sender: number;
  state: string;
  leader: string;
  electionEpoch: number;
  peerEpoch: number;
  zxid: number;
  version: number;
  configVersion: number;
}

export interface ConnectionInfo {
  /** The stem of its two stream files: `<name>.fwd.bin` (from `from`) and `<name>.bwd.bin`. */
  name: string;
  port: 'election' | 'quorum';
  /** The member that opened the connection, and the one it connected to. */
  from: number;
  to: number;
  openedAtMs: number;
  /** False when the stream was cut inside a record (a member stopped mid-send). */
  forwardComplete: boolean;
  backwardComplete: boolean;
}

export interface Manifest {
  zookeeper: string;
  members: MemberInfo[];
  sessions: SessionInfo[];
  phases: Array<{ name: string; atMs: number }>;
  ops: RecordedOp[];
  connections: ConnectionInfo[];
  notifications: LoggedNotification[];
}

export function readManifest(): Manifest {
  return JSON.parse(fs.readFileSync(path.join(FIXTURE_DIR, 'manifest.json'), 'utf8')) as Manifest;
}

export function readStream(conn: ConnectionInfo, direction: Direction): Buffer {
  return fs.readFileSync(path.join(FIXTURE_DIR, 'streams', `${conn.name}.${direction === 'forward' ? 'fwd' : 'bwd'}.bin`));
}

/** forward: from the member that opened the connection; backward: from the one that accepted it. */
export type Direction = 'forward' | 'backward';

export type RecordKind = 'initialMessage' | 'electionFrame' | 'quorumPacket' | 'snapTransfer';

export interface StreamRecord {
  kind: RecordKind;
  start: number;
  end: number;
}

export interface SplitStream {
  records: StreamRecord[];
  /** False if bytes are left that do not make a whole record. */
  complete: boolean;
}

/**
 * Splits a captured stream into records by the framing rules alone. An election connection's
 * opener sends its initial message first; after that both directions are length-prefixed frames.
 * The quorum port carries bare QuorumPackets, and the SNAP transfer right after a SNAP packet.
 */
export function splitStream(port: 'election' | 'quorum', direction: Direction, bytes: Buffer): SplitStream {
  if (port === 'election') return splitElectionStream(direction, bytes);
  const records: StreamRecord[] = [];
  let at = 0;
  let next: 'quorumPacket' | 'snapTransfer' = 'quorumPacket';
  while (at < bytes.length) {
    const length = next === 'quorumPacket' ? measureQuorumPacket(bytes, at, bytes.length) : measureSnapTransfer(bytes, at);
    if (length === INCOMPLETE) return { records, complete: false };
    records.push({ kind: next, start: at, end: at + length });
    next = next === 'quorumPacket' && bytes.readInt32BE(at) === PacketType.snap ? 'snapTransfer' : 'quorumPacket';
    at += length;
  }
  return { records, complete: true };
}

function splitElectionStream(direction: Direction, bytes: Buffer): SplitStream {
  const records: StreamRecord[] = [];
  let at = 0;
  if (direction === 'forward' && bytes.length > 0) {
    const length = measureInitialMessage(bytes, 0, bytes.length);
    if (length === INCOMPLETE) return { records, complete: false };
    records.push({ kind: 'initialMessage', start: 0, end: length });
    at = length;
  }
  const frames = electionFrameDecoder();
  frames.push(bytes.subarray(at));
  while (frames.nextFrame()) records.push({ kind: 'electionFrame', start: at + frames.frameStart - 4, end: at + frames.frameEnd });
  return { records, complete: frames.buffered === 0 };
}

/** The transfer has no length: it ends where a whole read of it ends. */
function measureSnapTransfer(bytes: Buffer, at: number): number {
  const r = new JuteReader(bytes, at);
  readSnapTransfer(r);
  return r.offset - at;
}
