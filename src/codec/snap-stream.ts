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
 * storage's business: until a learner needs one, a tree is built from a transfer by wrapping its
 * body in that header and seal and handing it to parseSnapshot (the golden test does so with a
 * transfer captured from ZooKeeper).
 *
 * Unlike the file, the transfer carries no checksum. It has no length either: a reader must walk
 * it, and readSnapTransfer needs all of it in one buffer (a learner reading it off a socket will
 * want a resumable scanner, not written yet). What 3.8 puts in it, seen in the capture: the ACL
 * cache numbered from 1 in first-use order; /zookeeper/config with the leader's config text,
 * version -1, aversion -1 and world:anyone READ; children in hash-set order, not sorted.
 */
import { QUORUM_RECORD_BYTES_MAX } from '../base/index.js';
import { readBoundedBuffer, readBoundedText } from './bounded.js';
import { CodecError, type JuteReader, type JuteWriter } from './jute.js';
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
  for (let n = readCount(r, 12); n > 0; n--) sessions.push({ sessionId: r.readBigLong(), timeoutMs: r.readInt() });
  const acls: SnapAclList[] = [];
  for (let n = readCount(r, 12); n > 0; n--) {
    const index = r.readSafeLong();
    const acl = r.readVector((ar) => readAcl(ar, maxRecordBytes));
    if (acl === null) throw new CodecError(`ACL list ${index} is null`);
    acls.push({ index, acl });
  }
  const nodes: SnapNode[] = [];
  for (let path = readBoundedText(r, maxRecordBytes); path !== '/'; path = readBoundedText(r, maxRecordBytes)) {
    nodes.push({ path, data: readBoundedBuffer(r, maxRecordBytes), aclIndex: r.readSafeLong(), stat: readStatPersisted(r) });
  }
  return { sessions, acls, nodes };
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
