/**
 * Reading the txn log back in bounded memory (ZooKeeper's FileTxnIterator): a file at a time,
 * in chunks, in zxid order across files. The leader's DIFF reads the txns after a follower's
 * last zxid this way, in slices; truncation finds where to cut; start-up finds the last zxid
 * logged.
 */
import path from 'node:path';
import { CodecError, type Txn, type TxnHeader } from '../codec/index.js';
import { checkLogRecord, decodeTxnEntry, END_OF_RECORDS, LOG_HEADER_BYTES, RECORD_CUT_SHORT, TXNLOG_MAGIC } from './format.js';
import type { FileSystem, ReadHandle } from './file-system.js';
import { listDataFiles, logsFrom } from './snapshots.js';

/** Bytes read from a log file at a time; a record larger than this grows the buffer to fit it. */
const CHUNK_BYTES_DEFAULT = 64 * 1024;
/** A slice of a read, at most (TxnLogReader.next). */
const SLICE_TXNS_DEFAULT = 1000;
const SLICE_BYTES_DEFAULT = 1024 * 1024;

/** A txn read back from the log. */
export interface LoggedTxn {
  readonly header: TxnHeader;
  readonly txn: Txn;
  /**
   * The entry as logged (TxnHeader, txn, and any TxnDigest after it): what a PROPOSAL carries.
   * A buffer of its own, which the txn's data fields are views of.
   */
  readonly entry: Buffer;
}

/** Records that cannot be read where the log says more records follow. */
export class TxnLogDamageError extends Error {
  override readonly name = 'TxnLogDamageError';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`corrupt txn log ${file} at offset ${offset}: ${reason}`);
  }
}

/** One log file's records in order, read a chunk at a time. */
export class LogFileScanner {
  private buf: Buffer;
  /** Offset in `buf` of the next record, and of the end of the bytes read. */
  private start = 0;
  private end = 0;
  /** File offset of buf[0]. */
  private base = 0;
  private eof = false;
  private stopped = false;
  /** File offset of the record `next` returned last. */
  recordOffset = -1;
  /** Why the records stopped, if not at their natural end (zeros or the end of the file). */
  damage: { offset: number; reason: string } | null = null;

  private constructor(
    private readonly handle: ReadHandle,
    readonly file: string,
    private readonly maxEntryBytes: number,
    chunkBytes: number,
  ) {
    this.buf = Buffer.alloc(Math.max(chunkBytes, LOG_HEADER_BYTES));
  }

  static async open(fs: FileSystem, file: string, maxEntryBytes: number, chunkBytes = CHUNK_BYTES_DEFAULT): Promise<LogFileScanner> {
    const scanner = new LogFileScanner(await fs.openRead(file), file, maxEntryBytes, chunkBytes);
    try {
      await scanner.readHeader();
    } catch (e) {
      await scanner.close();
      throw e;
    }
    return scanner;
  }

  private async readHeader(): Promise<void> {
    while (this.end < LOG_HEADER_BYTES && !this.eof) await this.fill();
    if (this.end < LOG_HEADER_BYTES || this.buf.readInt32BE(0) !== TXNLOG_MAGIC) {
      this.stop('bad txn log header (magic "ZKLG" expected)');
      return;
    }
    this.start = LOG_HEADER_BYTES;
  }

  /** File offset of the next record. */
  get offset(): number {
    return this.base + this.start;
  }

  /** The next record, or null once the records end (`damage` then says whether they ended well). */
  async next(): Promise<LoggedTxn | null> {
    while (!this.stopped) {
      const found = checkLogRecord(this.buf, this.start, this.end, this.maxEntryBytes);
      const unread = this.end - this.start;
      if ((found === RECORD_CUT_SHORT || (found === END_OF_RECORDS && unread < 12)) && !this.eof) {
        await this.fill();
        continue;
      }
      if (found === END_OF_RECORDS) break;
      if (found === RECORD_CUT_SHORT) return this.stop(unread < 12 ? 'truncated record header' : 'record runs past the end of the file');
      if (typeof found === 'string') return this.stop(found);
      const entry = Buffer.from(this.buf.subarray(this.start + 12, this.start + 12 + found));
      let decoded: { header: TxnHeader; txn: Txn };
      try {
        decoded = decodeTxnEntry(entry, 0, entry.length);
      } catch (e) {
        if (!(e instanceof CodecError)) throw e;
        return this.stop(`undecodable txn: ${e.message}`);
      }
      this.recordOffset = this.offset;
      this.start += 12 + found + 1;
      return { header: decoded.header, txn: decoded.txn, entry };
    }
    this.stopped = true;
    return null;
  }

  private stop(reason: string): null {
    this.damage = { offset: this.offset, reason };
    this.stopped = true;
    return null;
  }

  /** Moves the unread bytes to the buffer's start (growing it if they fill it), then reads more. */
  private async fill(): Promise<void> {
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.base += this.start;
      this.end -= this.start;
      this.start = 0;
    }
    if (this.end === this.buf.length) {
      const grown = Buffer.alloc(Math.min(2 * this.buf.length, this.maxEntryBytes + 13 + this.buf.length));
      this.buf.copy(grown, 0, 0, this.end);
      this.buf = grown;
    }
    const n = await this.handle.read(this.buf.subarray(this.end), this.base + this.end);
    if (n === 0) this.eof = true;
    this.end += n;
  }

  close(): Promise<void> {
    this.stopped = true;
    return this.handle.close();
  }
}

export interface TxnLogReadOptions {
  /** The largest entry length taken for a record (jute.maxbuffer + TXN_ENTRY_EXTRA_BYTES). */
  maxEntryBytes: number;
  /** The read ends before the first txn above this zxid (default: none). */
  until?: number;
  /** Bytes read from a file at a time (default 64 KiB). */
  chunkBytes?: number;
}

/**
 * The txns logged after a zxid, in log order, across log files, in slices of bounded size. The
 * files are listed when it opens: a reader sees the records of the file being written up to
 * the one being written (which ends the read), so a leader reads up to a zxid that is already
 * durable (`until`). Damage in any file but the last is a TxnLogDamageError.
 */
export class TxnLogReader {
  private scanner: LogFileScanner | null = null;
  private nextFile = 0;
  /** A record read ahead (the first one after `after`). */
  private pending: LoggedTxn | null = null;
  private done = false;
  /**
   * The zxid of the last txn logged at or before `after`, or -1 if no log file starts at or
   * before it (the log does not reach back that far, as after a purge). ZooKeeper's DIFF from
   * the log needs a follower's last zxid in it (equal); a follower ahead of this on a
   * different history gets TRUNC to it.
   */
  preceding = -1;

  private constructor(
    private readonly fs: FileSystem,
    private readonly files: readonly string[],
    private readonly o: TxnLogReadOptions,
  ) {}

  static async open(fs: FileSystem, logDir: string, after: number, o: TxnLogReadOptions): Promise<TxnLogReader> {
    const { logs } = await listDataFiles(fs, logDir, logDir);
    const files = logsFrom(logs, after);
    const reader = new TxnLogReader(
      fs,
      files.map((f) => path.join(logDir, f.name)),
      o,
    );
    if ((files[0]?.zxid ?? Infinity) > after) return reader;
    try {
      await reader.skipTo(after);
    } catch (e) {
      await reader.close();
      throw e;
    }
    return reader;
  }

  /** Reads past the txns at or before `after`, noting the last one. */
  private async skipTo(after: number): Promise<void> {
    for (let t = await this.nextRecord(); t !== null; t = await this.nextRecord()) {
      if (t.header.zxid > after) {
        this.pending = t;
        return;
      }
      this.preceding = t.header.zxid;
    }
  }

  /**
   * The next txns, at most `maxTxns` of them and (beyond the first) `maxBytes` of entries; []
   * once the read is over (the reader has then closed its file).
   */
  async next(maxTxns = SLICE_TXNS_DEFAULT, maxBytes = SLICE_BYTES_DEFAULT): Promise<LoggedTxn[]> {
    const slice: LoggedTxn[] = [];
    let bytes = 0;
    while (!this.done && slice.length < maxTxns && (slice.length === 0 || bytes < maxBytes)) {
      const t = await this.nextRecord();
      if (t === null || t.header.zxid > (this.o.until ?? Infinity)) {
        await this.close();
        break;
      }
      slice.push(t);
      bytes += t.entry.length;
    }
    return slice;
  }

  private async nextRecord(): Promise<LoggedTxn | null> {
    const ahead = this.pending;
    if (ahead !== null) {
      this.pending = null;
      return ahead;
    }
    for (;;) {
      if (this.scanner === null) {
        const file = this.files[this.nextFile++];
        if (file === undefined) return null;
        this.scanner = await LogFileScanner.open(this.fs, file, this.o.maxEntryBytes, this.o.chunkBytes);
      }
      const t = await this.scanner.next();
      if (t !== null) return t;
      const { damage, file } = this.scanner;
      await this.scanner.close();
      this.scanner = null;
      if (damage === null) continue;
      if (this.nextFile < this.files.length) throw new TxnLogDamageError(file, damage.offset, damage.reason);
      return null;
    }
  }

  async close(): Promise<void> {
    this.done = true;
    this.pending = null;
    const scanner = this.scanner;
    this.scanner = null;
    if (scanner !== null) await scanner.close();
  }
}

/**
 * The zxid of the last txn in the log files, or -1 if they hold none (ZooKeeper's
 * getLastLoggedZxid, which answers the newest file's name even when that file holds no txn).
 * The newest file is read to its end, then older ones if it holds none.
 */
export async function lastLoggedZxid(fs: FileSystem, logDir: string, maxEntryBytes: number): Promise<number> {
  const { logs } = await listDataFiles(fs, logDir, logDir);
  for (let i = logs.length - 1; i >= 0; i--) {
    const name = logs[i]?.name;
    if (name === undefined) continue;
    const scanner = await LogFileScanner.open(fs, path.join(logDir, name), maxEntryBytes);
    let last = -1;
    try {
      for (let t = await scanner.next(); t !== null; t = await scanner.next()) last = t.header.zxid;
    } finally {
      await scanner.close();
    }
    if (last !== -1) return last;
  }
  return -1;
}
