/**
 * The database a leader streams to a learner after a SNAP packet, outside any QuorumPacket
 * (LearnerHandler writes ZKDatabase.serializeSnapshot then the signature; Learner reads them
 * back with ZKDatabase.deserializeSnapshot and checks the signature):
 *
 *   int count, {long sessionId, int timeout}*           sessions (SerializeUtils.serializeSnapshot)
 *   int count, {long index, vector<ACL>}*               the ACL cache (ReferenceCountedACLCache)
 *   {string path, buffer data, long aclIndex, StatPersisted}*
 *                                                       nodes, each parent before its children,
 *                                                       the root as "" (DataTree.serializeNode)
 *   string "/"                                          end of the nodes
 *   string "BenWasHere"                                 the signature (not in snapshot files)
 *
 * Everything before the signature is the body of a snapshot file as well: FileSnap writes
 * FileHeader{"ZKSN", 2, dbid} before it and the Adler32 seal (long checksum, string "/") after
 * it, and since 3.6 the digest. storage/format.ts writes and parses whole files from a DataTree
 * (encodeSnapshot, parseSnapshot); the bytes between its 16-byte header and its seal are a
 * SnapshotBody here (a unit test holds the two together). This module stays with records, as
 * the codec may not import the tree: turning a body into a tree, or a tree into a body, is
 * storage's business (storage/format.ts `SnapshotLoader` builds a tree from a file's records or
 * a transfer's).
 *
 * Unlike the file, the transfer carries no checksum. It has no length either: a reader must walk
 * it. readSnapTransfer needs all of it in one buffer; `SnapTransferReader` (below) reads it off a
 * stream one record at a time as it arrives, which is how a learner reads it. What 3.8 puts in it, seen in the capture: the ACL
 * cache numbered from 1 in first-use order; /zookeeper/config with the leader's config text,
 * version -1, aversion -1 and world:anyone READ; children in hash-set order, not sorted.
 */
import { QUORUM_RECORD_BYTES_MAX } from '../base/index.js';
import { readBoundedBuffer, readBoundedText } from './bounded.js';
import { CodecError, int32At, JuteReader, type JuteWriter } from './jute.js';
import type { JuteScanner } from './measure.js';
import type { RecordStream } from './record-stream.js';
import { readStatPersisted, writeStatPersisted, type ACL, type StatPersisted } from './records.js';

/** LearnerHandler's end-of-snapshot marker, checked by the learner. */
export const SNAP_SIGNATURE = 'BenWasHere';
/** The ACL index of world:anyone with all permissions, which the cache never stores. */
export const OPEN_ACL_UNSAFE_INDEX = -1;

export interface SnapSession {
  sessionId: bigint;
  timeoutMs: number;
}
export interface SnapAclList {
  index: number;
  acl: ACL[];
}
export interface SnapNode {
  /** "" for the root, else the absolute path. */
  path: string;
  data: Buffer | null;
  /** An index into the ACL cache, or OPEN_ACL_UNSAFE_INDEX. */
  aclIndex: number;
  stat: StatPersisted;
}
export interface SnapshotBody {
  sessions: SnapSession[];
  acls: SnapAclList[];
  nodes: SnapNode[];
}

/** Every length inside the body is held to `maxRecordBytes`, as the learner's archive holds it. */
export function readSnapshotBody(r: JuteReader, maxRecordBytes = QUORUM_RECORD_BYTES_MAX): SnapshotBody {
  const sessions: SnapSession[] = [];
  for (let n = readCount(r, SESSION_BYTES); n > 0; n--) sessions.push(readSnapSession(r));
  const acls: SnapAclList[] = [];
  for (let n = readCount(r, 12); n > 0; n--) acls.push(readSnapAclList(r, maxRecordBytes));
  const nodes: SnapNode[] = [];
  for (let path = readBoundedText(r, maxRecordBytes); path !== '/'; path = readBoundedText(r, maxRecordBytes)) {
    nodes.push(readSnapNodeAfterPath(r, path, maxRecordBytes));
  }
  return { sessions, acls, nodes };
}

/** {long sessionId, int timeout} */
const SESSION_BYTES = 12;
/** StatPersisted: four longs, three ints, two longs. */
const STAT_PERSISTED_BYTES = 60;

function readSnapSession(r: JuteReader): SnapSession {
  return { sessionId: r.readBigLong(), timeoutMs: r.readInt() };
}

function readSnapAclList(r: JuteReader, maxRecordBytes: number): SnapAclList {
  const index = r.readSafeLong();
  const acl = r.readVector((ar) => readAcl(ar, maxRecordBytes));
  if (acl === null) throw new CodecError(`ACL list ${index} is null`);
  return { index, acl };
}

function readSnapNodeAfterPath(r: JuteReader, path: string, maxRecordBytes: number): SnapNode {
  return { path, data: readBoundedBuffer(r, maxRecordBytes), aclIndex: r.readSafeLong(), stat: readStatPersisted(r) };
}

export function writeSnapshotBody(w: JuteWriter, body: SnapshotBody): void {
  w.writeInt(body.sessions.length);
  for (const s of body.sessions) w.writeBigLong(s.sessionId).writeInt(s.timeoutMs);
  w.writeInt(body.acls.length);
  for (const list of body.acls) {
    w.writeLong(list.index).writeVector(list.acl, (aw, a) => aw.writeInt(a.perms).writeString(a.id.scheme).writeString(a.id.id));
  }
  for (const node of body.nodes) {
    if (node.path === '/') throw new RangeError('the root is written as "", "/" ends the nodes');
    w.writeString(node.path).writeBuffer(node.data).writeLong(node.aclIndex);
    writeStatPersisted(w, node.stat);
  }
  w.writeString('/');
}

/** What follows a SNAP packet: the body, then the signature (CodecError if it is not there). */
export function readSnapTransfer(r: JuteReader, maxRecordBytes = QUORUM_RECORD_BYTES_MAX): SnapshotBody {
  const body = readSnapshotBody(r, maxRecordBytes);
  const signature = readBoundedText(r, maxRecordBytes);
  if (signature !== SNAP_SIGNATURE) throw new CodecError(`SNAP signature ${JSON.stringify(signature.slice(0, 32))} missing`);
  return body;
}

export function writeSnapTransfer(w: JuteWriter, body: SnapshotBody): void {
  writeSnapshotBody(w, body);
  w.writeString(SNAP_SIGNATURE);
}

/** A count of records of at least `minBytes` each: negative or more than the bytes left is garbage. */
function readCount(r: JuteReader, minBytes: number): number {
  const n = r.readInt();
  if (n < 0 || n * minBytes > r.remaining) throw new CodecError(`count ${n} does not fit the ${r.remaining} bytes left`);
  return n;
}

function readAcl(r: JuteReader, maxBytes: number): ACL {
  const perms = r.readInt();
  return { perms, id: { scheme: readBoundedText(r, maxBytes), id: readBoundedText(r, maxBytes) } };
}

/** One record of a SNAP transfer, in stream order. */
export type SnapItem =
  | { kind: 'session'; session: SnapSession }
  | { kind: 'acl'; list: SnapAclList }
  | { kind: 'node'; node: SnapNode }
  /** The signature arrived: the transfer is complete, and the bytes after it are packets again. */
  | { kind: 'end' };

type SnapPhase = 'sessionCount' | 'sessions' | 'aclCount' | 'acls' | 'nodes' | 'signature' | 'done';

/**
 * Reads a SNAP transfer off a stream one record at a time, as its bytes arrive: a learner can
 * build its tree in slices, and never holds the transfer whole. Bounds as readSnapTransfer.
 */
export class SnapTransferReader {
  private phase: SnapPhase = 'sessionCount';
  private left = 0;
  private endOfNodes = false;

  constructor(private readonly maxRecordBytes = QUORUM_RECORD_BYTES_MAX) {}

  get done(): boolean {
    return this.phase === 'done';
  }

  /** The next record, or null until more bytes arrive. Throws CodecError on garbage. */
  next(stream: RecordStream): SnapItem | null {
    for (;;) {
      switch (this.phase) {
        case 'sessionCount':
        case 'aclCount': {
          if (!stream.next((s) => s.skip(4), 4)) return null;
          const n = int32At(stream.buffer, stream.start);
          if (n < 0) throw new CodecError(`negative count ${n} in a SNAP transfer`);
          this.left = n;
          this.phase = this.phase === 'sessionCount' ? 'sessions' : 'acls';
          break;
        }
        case 'sessions':
          if (this.left === 0) {
            this.phase = 'aclCount';
            break;
          }
          if (!stream.next((s) => s.skip(SESSION_BYTES), SESSION_BYTES)) return null;
          this.left--;
          return { kind: 'session', session: readSnapSession(this.reader(stream)) };
        case 'acls':
          if (this.left === 0) {
            this.phase = 'nodes';
            break;
          }
          if (!stream.next((s) => this.walkAclList(s), this.maxRecordBytes * 4)) return null;
          this.left--;
          return { kind: 'acl', list: readSnapAclList(this.reader(stream), this.maxRecordBytes) };
        case 'nodes': {
          if (!stream.next((s) => this.walkNode(s), this.maxRecordBytes * 2 + 4 + 8 + STAT_PERSISTED_BYTES)) return null;
          if (this.endOfNodes) {
            this.phase = 'signature';
            break;
          }
          const r = this.reader(stream);
          return { kind: 'node', node: readSnapNodeAfterPath(r, readBoundedText(r, this.maxRecordBytes), this.maxRecordBytes) };
        }
        case 'signature': {
          if (!stream.next((s) => s.lengthPrefixed(this.maxRecordBytes), this.maxRecordBytes + 4)) return null;
          const signature = readBoundedText(this.reader(stream), this.maxRecordBytes);
          if (signature !== SNAP_SIGNATURE) throw new CodecError(`SNAP signature ${JSON.stringify(signature.slice(0, 32))} missing`);
          this.phase = 'done';
          return { kind: 'end' };
        }
        case 'done':
          throw new CodecError('read past the end of a SNAP transfer');
      }
    }
  }

  private reader(stream: RecordStream): JuteReader {
    return new JuteReader(stream.buffer, stream.start, stream.end);
  }

  private walkAclList(s: JuteScanner): void {
    s.skip(8);
    const n = s.count();
    if (n < 0) throw new CodecError('null ACL list in a SNAP transfer');
    for (let i = 0; i < n; i++) {
      s.skip(4);
      s.lengthPrefixed(this.maxRecordBytes);
      s.lengthPrefixed(this.maxRecordBytes);
    }
  }

  /** A node, or the "/" that ends the nodes (then `endOfNodes` is set). */
  private walkNode(s: JuteScanner): void {
    this.endOfNodes = s.textEquals(this.maxRecordBytes, '/');
    if (this.endOfNodes) return;
    s.lengthPrefixed(this.maxRecordBytes);
    s.skip(8 + STAT_PERSISTED_BYTES);
  }
}
