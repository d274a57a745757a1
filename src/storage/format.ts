/**
 * ZooKeeper's on-disk formats (FileTxnLog, FileSnap, SerializeUtils, DataTree.serialize), as
 * pure functions over buffers, so a dataDir moves between Apache ZooKeeper and ZephyrCoord.
 *
 * Txn log file:  FileHeader{int magic "ZKLG", int version 2, long dbid 0}, then records
 *   {long adler32(entry), int len, entry = TxnHeader + txn body [+ TxnDigest], byte 'B'},
 *   then zero padding (preallocation); an entry of length 0 marks the end.
 * Snapshot file: FileHeader{"ZKSN", 2, -1}, int sessionCount, {long id, int timeout}*,
 *   ACL cache {int count, {long index, vector<ACL>}*}, nodes {string path ("" = root),
 *   buffer data, long aclIndex, StatPersisted}* in parent-first order, string "/", then the
 *   seal: long adler32(all previous bytes), string "/". Later seals (digest, 3.6+) are ignored.
 * Snapshots are written by snapshot-serializer.ts (in slices, fuzzy) and read here.
 */
import { adler32 } from '../base/index.js';
import {
  CodecError,
  JuteReader,
  JuteWriter,
  OpCode,
  readAcl,
  readTxn,
  readTxnHeader,
  writeTxn,
  writeTxnHeader,
  type ACL,
  type Txn,
  type TxnHeader,
} from '../codec/index.js';
import { DataTree, OPEN_ACL_UNSAFE } from '../tree/index.js';

const NO_OWNER = 0n;

export const TXNLOG_MAGIC = 0x5a4b4c47; // "ZKLG"
export const SNAP_MAGIC = 0x5a4b534e; // "ZKSN"
export const FORMAT_VERSION = 2;
export const LOG_HEADER_BYTES = 16;
/** ZooKeeper's ACL cache index for "no ACL list", which reads back as world:anyone ALL. */
export const OPEN_UNSAFE_ACL_ID = -1;

export function logFileName(zxid: number): string {
  return `log.${zxid.toString(16)}`;
}
export function snapshotFileName(zxid: number, compression: '' | 'gz' | 'snappy' = ''): string {
  return `snapshot.${zxid.toString(16)}${compression === '' ? '' : `.${compression}`}`;
}
/** The zxid in a `log.<hex>` / `snapshot.<hex>[.ext]` name, or null for other files. */
export function zxidOfFileName(name: string, prefix: 'log' | 'snapshot'): number | null {
  const m = new RegExp(`^${prefix}\\.([0-9a-fA-F]+)(\\.(gz|snappy))?$`).exec(name);
  if (m?.[1] === undefined) return null;
  return parseInt(m[1], 16);
}

export function logFileHeader(dbid = 0): Buffer {
  const w = new JuteWriter(LOG_HEADER_BYTES);
  w.writeInt(TXNLOG_MAGIC).writeInt(FORMAT_VERSION).writeLong(dbid);
  return Buffer.from(w.toBuffer());
}

/**
 * A txn's body as the log takes it: typed (as prep makes it), or already encoded (as a
 * PROPOSAL carries it: the txn record, and any TxnDigest after it, which the log keeps).
 */
export type TxnBody = Txn | Uint8Array;

/**
 * Appends one log record to `w`: checksum, length, entry, end-of-record marker. The log
 * encodes a whole group commit into one writer this way, with no buffer per record.
 */
export function appendTxnRecord(w: JuteWriter, header: TxnHeader, txn: TxnBody): void {
  const at = w.reserveInt(); // the checksum is a long: its high int stays 0
  w.reserveInt();
  const lengthAt = w.reserveInt();
  const start = w.length;
  writeTxnHeader(w, header);
  if (txn instanceof Uint8Array) {
    const bodyAt = w.reserve(txn.length); // first: reserving may move the writer to a new buffer
    w.view().set(txn, bodyAt);
  } else writeTxn(w, txn);
  const end = w.length;
  w.patchInt(at, 0);
  w.patchUint(at + 4, adler32(w.view(), start, end));
  w.patchInt(lengthAt, end - start);
  w.writeByte(0x42); // 'B'
}

/** One log record as its own buffer. */
export function encodeTxnRecord(header: TxnHeader, txn: TxnBody): Buffer {
  const w = new JuteWriter(160);
  appendTxnRecord(w, header, txn);
  return Buffer.from(w.toBuffer());
}

export interface LogRecord {
  header: TxnHeader;
  txn: Txn;
  /** Byte offset of the record in its file. */
  offset: number;
}

/** Where and why reading a log stopped before its natural end. */
export interface LogDamage {
  offset: number;
  reason: string;
  /** True if no valid record follows the damage: a torn tail, not corruption. */
  tornTail: boolean;
}

export interface ParsedLog {
  records: LogRecord[];
  /** Offset just after the last good record (where appends may continue). */
  end: number;
  damage: LogDamage | null;
}

/** checkLogRecord: zeros (preallocated space) where the next record would start. */
export const END_OF_RECORDS = -1;
/** checkLogRecord: the bytes end inside the record (a reader with more to read reads on). */
export const RECORD_CUT_SHORT = -2;

/**
 * What starts at `pos` of a txn log's bytes (`end`: how many there are): a whole record, with
 * its checksum and end-of-record marker checked (its entry's length), END_OF_RECORDS,
 * RECORD_CUT_SHORT, or a string saying why the bytes there are no record.
 */
export function checkLogRecord(buf: Buffer, pos: number, end: number, maxEntryBytes: number): number | string {
  if (pos + 12 > end) return onlyZeros(buf, pos, end) ? END_OF_RECORDS : RECORD_CUT_SHORT;
  const crc = buf.readUInt32BE(pos + 4) + buf.readInt32BE(pos) * 4294967296;
  const len = buf.readInt32BE(pos + 8);
  if (len === 0 && crc === 0) return END_OF_RECORDS;
  if (len < 0 || len > maxEntryBytes) return `record length ${len} out of range`;
  if (pos + 12 + len + 1 > end) return RECORD_CUT_SHORT;
  if (adler32(buf, pos + 12, pos + 12 + len) !== crc) return 'checksum mismatch';
  if (buf[pos + 12 + len] !== 0x42) return 'missing end-of-record marker';
  return len;
}

/**
 * The txn of a log entry (TxnHeader + txn [+ TxnDigest, ignored]) at buf[from, to); CodecError
 * if it does not decode. Data fields are views of `buf`.
 */
export function decodeTxnEntry(buf: Buffer, from: number, to: number): { header: TxnHeader; txn: Txn } {
  const r = new JuteReader(buf, from, to);
  const header = readTxnHeader(r);
  return { header, txn: readTxn(header.type === OpCode.error ? OpCode.error : header.type, r) };
}

function onlyZeros(buf: Buffer, from: number, end: number): boolean {
  for (let i = from; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

export function parseLogFile(buf: Buffer, maxEntryBytes: number): ParsedLog {
  if (buf.length < LOG_HEADER_BYTES || buf.readInt32BE(0) !== TXNLOG_MAGIC) {
    // A header torn by a crash while the file was being created has no records after it.
    const damage = { offset: 0, reason: 'bad txn log header (magic "ZKLG" expected)', tornTail: !hasLaterRecord(buf, -1) };
    return { records: [], end: 0, damage };
  }
  const records: LogRecord[] = [];
  let pos = LOG_HEADER_BYTES;
  const damaged = (reason: string): ParsedLog => ({
    records,
    end: pos,
    // A damaged record with no valid record after it is a torn tail: the crash hit the last
    // (unacknowledged) write. One with valid records after it is corruption.
    damage: { offset: pos, reason, tornTail: !hasLaterRecord(buf, pos) },
  });
  for (;;) {
    const len = checkLogRecord(buf, pos, buf.length, maxEntryBytes);
    if (len === END_OF_RECORDS) return { records, end: pos, damage: null };
    if (len === RECORD_CUT_SHORT)
      return damaged(pos + 12 > buf.length ? 'truncated record header' : 'record runs past the end of the file');
    if (typeof len === 'string') return damaged(len);
    try {
      const { header, txn } = decodeTxnEntry(buf, pos + 12, pos + 12 + len);
      records.push({ header, txn, offset: pos });
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      return damaged(`undecodable txn: ${e.message}`);
    }
    pos += 12 + len + 1;
  }
}

/** A crude scan for a well-formed record after `from`: tells corruption from a torn tail. */
function hasLaterRecord(buf: Buffer, from: number): boolean {
  for (let pos = from + 1; pos + 13 <= buf.length; pos++) {
    if (buf[pos] === 0 && buf[pos + 1] === 0 && buf[pos + 2] === 0 && buf[pos + 3] === 0) {
      const len = buf.readInt32BE(pos + 8);
      if (len <= 0 || pos + 12 + len + 1 > buf.length) continue;
      if (buf[pos + 12 + len] !== 0x42) continue;
      if (adler32(buf, pos + 12, pos + 12 + len) === buf.readUInt32BE(pos + 4)) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------- snapshots

export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}

export interface ParsedSnapshot {
  tree: DataTree;
  sessions: Map<bigint, number>;
}

export function parseSnapshot(buf: Buffer, extendedTypesEnabled: boolean): ParsedSnapshot {
  try {
    const r = new JuteReader(buf);
    if (r.readInt() !== SNAP_MAGIC) throw new SnapshotError('bad snapshot header (magic "ZKSN" expected)');
    r.readInt();
    r.readLong();
    const sessions = new Map<bigint, number>();
    const sessionCount = r.readInt();
    for (let i = 0; i < sessionCount; i++) sessions.set(r.readBigLong(), r.readInt());
    const tree = new DataTree(extendedTypesEnabled);
    tree.clearForRestore();
    // Lists are interned as nodes use them: one no node uses is dropped (as ZooKeeper's
    // loader purges unused ACL cache entries), so lists do not pile up across restarts.
    const tableAcls = new Map<number, ACL[]>();
    const acls = new Map<number, readonly ACL[]>();
    const aclCount = r.readInt();
    for (let i = 0; i < aclCount; i++) {
      const index = r.readLong();
      tableAcls.set(index, r.readVector(readAcl) ?? []);
    }
    const aclOf = (index: number): readonly ACL[] | undefined => {
      if (index === OPEN_UNSAFE_ACL_ID) return OPEN_ACL_UNSAFE;
      let acl = acls.get(index);
      if (acl === undefined) {
        const listed = tableAcls.get(index);
        if (listed === undefined) return undefined;
        acl = tree.internAcl(listed);
        acls.set(index, acl);
      }
      return acl;
    };
    for (let path = r.readText(); path !== '/'; path = r.readText()) {
      const data = r.readLatin1Buffer();
      const aclIndex = r.readLong();
      const acl = aclOf(aclIndex);
      if (acl === undefined) throw new SnapshotError(`node ${path} refers to missing ACL list ${aclIndex}`);
      const czxid = r.readLong();
      const mzxid = r.readLong();
      const ctime = r.readLong();
      const mtime = r.readLong();
      const version = r.readInt();
      const cversion = r.readInt();
      const aversion = r.readInt();
      const owner = r.readBigLong();
      const pzxid = r.readLong();
      // most nodes have no owner: share one 0n rather than keep a bigint per node
      const ephemeralOwner = owner === 0n ? NO_OWNER : owner;
      const node = tree.newNode(data, acl, czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner, pzxid);
      if (!tree.restoreNode(path === '' ? '/' : path, node)) throw new SnapshotError(`node ${path} has no parent in the snapshot`);
    }
    const sealed = r.offset;
    const checksum = r.readLong();
    if (checksum !== adler32(buf, 0, sealed)) throw new SnapshotError('snapshot checksum mismatch');
    if (r.readText() !== '/') throw new SnapshotError('snapshot seal missing');
    tree.restoreQuotas();
    return { tree, sessions };
  } catch (e) {
    if (e instanceof CodecError) throw new SnapshotError(`snapshot truncated or malformed: ${e.message}`);
    throw e;
  }
}
