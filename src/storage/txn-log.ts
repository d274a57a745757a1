/**
 * The txn log with group commit. Appends queue up while earlier batches are being written;
 * the next flush writes everything queued as one write and covers it with one fsync, so the
 * batch size follows the load with no timer. A record's callback runs only once it is durable.
 *
 * With forceSync the log file is opened for synced writes (O_DSYNC): a batch is durable when
 * its one write returns, one trip to the thread pool instead of two (write, then fdatasync),
 * which measured 340 vs 620 us per commit here. Writes are issued one after another, so one
 * batch is in flight and the next one grows meanwhile (group commit sized by the disk).
 *
 * Without synced writes (a FileSystem that cannot, or forceSync=no) up to two batches are in
 * flight: writes are issued one after another at increasing offsets, each batch's fsync after
 * its own write completed, so batch k+1 is written while batch k's fsync runs. Either way
 * batches are acknowledged strictly in order.
 */
import path from 'node:path';
import { appendTxnRecord, logFileHeader, logFileName, LOG_HEADER_BYTES, type TxnBody } from './format.js';
import { StorageError, type FileHandle, type FileSystem } from './file-system.js';
import { TxnLogReader } from './log-reader.js';
import { truncateLogFiles } from './log-truncate.js';
import { JuteWriter, type TxnHeader } from '../codec/index.js';
import { assert, JUTE_MAXBUFFER_DEFAULT, TXN_ENTRY_EXTRA_BYTES } from '../base/index.js';

/** Batches written but not yet acknowledged, at most, when a write and its fsync are separate steps. */
const PIPELINE_DEPTH = 2;

export interface TxnLogOptions {
  /** `preAllocSize`: the file grows in steps of this many bytes of zeros (ZooKeeper: 64 MiB). */
  preAllocBytes: number;
  /** `forceSync`: fsync before acknowledging (default yes). */
  forceSync: boolean;
  /** The zxid of the state the log continues (the recovered one): appends must be above it. Default 0. */
  lastZxid?: number | undefined;
  /** The largest entry length read back as a record (default jute.maxbuffer + TXN_ENTRY_EXTRA_BYTES). */
  maxEntryBytes?: number | undefined;
}

/**
 * A txn as storage takes it: its header and its body, typed or encoded. A follower logs
 * PROPOSALs it did not prepare; prep's own txns fit as they are.
 */
export interface TxnLogEntry {
  readonly header: TxnHeader;
  readonly txn: TxnBody;
}

/**
 * Told once its txn is durable. An object rather than a callback: the server's entry for a
 * write is this object too, so a write allocates no closure for the log.
 */
export interface OnDurable {
  durable(): void;
}

/**
 * The txns of one group commit: their records encoded back to back in one writer, and whom
 * to tell once they are durable.
 */
class Batch {
  readonly records = new JuteWriter(64 * 1024);
  done: OnDurable[] = [];
  firstZxid = 0;

  get empty(): boolean {
    return this.done.length === 0;
  }

  reset(): void {
    this.records.reset();
    this.done = [];
  }
}

interface OpenLog {
  handle: FileHandle;
  name: string;
  position: number;
  size: number;
}

export class TxnLog {
  private current: OpenLog | null = null;
  /** Appends go here; a flush takes it and starts a fresh one from `spares`. */
  private filling = new Batch();
  /** Acknowledged batches, whose memory can be reused (their bytes are on disk). */
  private readonly spares: Batch[] = [];
  private inFlight = 0;
  /** Batches in flight at most: 1 when the log file syncs its writes itself. */
  private readonly depth: number;
  /** Writes happen one after another, in batch order (offsets, rolls, preallocation). */
  private writes: Promise<unknown> = Promise.resolve();
  /** Settles once every batch started so far has been acknowledged (or the log failed). */
  private acks: Promise<void> = Promise.resolve();
  /** The next batch opens a new file: at first, and after roll(). */
  private rollRequested = true;
  private failure: StorageError | null = null;
  private lastAppended: number;
  private truncating = false;
  private readonly maxEntryBytes: number;
  /** Figures for mntr / benchmarks. */
  readonly stats = { batches: 0, txns: 0, fsyncs: 0 };

  constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly options: TxnLogOptions,
    private readonly onFatal: (e: StorageError) => void,
  ) {
    this.depth = options.forceSync && fs.canSyncWrites ? 1 : PIPELINE_DEPTH;
    this.lastAppended = options.lastZxid ?? 0;
    this.maxEntryBytes = options.maxEntryBytes ?? JUTE_MAXBUFFER_DEFAULT + TXN_ENTRY_EXTRA_BYTES;
  }

  /** The zxid of the last txn appended (durable or not): the one the next append must exceed. */
  get lastZxid(): number {
    return this.lastAppended;
  }

  /**
   * Queues a txn (its body typed or encoded); `done` is told once it is durable. Zxids must
   * strictly increase. After a disk failure nothing completes.
   */
  append(header: TxnHeader, txn: TxnBody, done: OnDurable): void {
    if (!(header.zxid > this.lastAppended) || this.truncating) this.refuse(header.zxid);
    this.lastAppended = header.zxid;
    if (this.failure !== null) return;
    const batch = this.filling;
    if (batch.empty) batch.firstZxid = header.zxid;
    appendTxnRecord(batch.records, header, txn);
    batch.done.push(done);
    if (this.inFlight < this.depth && !this.startQueued) {
      this.startQueued = true;
      process.nextTick(this.startQueuedBatch);
    }
  }

  /**
   * An idle log starts its next batch once the code that appended has run to its end (the
   * next tick: before the socket stream's own tick work), not at the first append: the requests
   * of one socket read, a client's pipelined writes, then share a batch. Starting at the first
   * append sent it alone and the rest as the next batch, which kept a pipelining client at two
   * half-full batches per round trip (and their replies and watch notifications in twice as
   * many bursts, and socket writes).
   */
  private startQueued = false;
  private readonly startQueuedBatch = (): void => {
    this.startQueued = false;
    if (!this.filling.empty && this.inFlight < this.depth && this.failure === null) this.startBatch();
  };

  private refuse(zxid: number): never {
    assert(!this.truncating, () => `txn log: append of zxid ${zxid.toString(16)} during a truncation`);
    assert(
      false,
      () => `txn log: zxid ${zxid.toString(16)} appended after ${this.lastAppended.toString(16)}: zxids must strictly increase`,
    );
  }

  /** The next batch starts a new file (ZooKeeper rolls the log when it takes a snapshot). */
  roll(): void {
    this.rollRequested = true;
  }

  /** No batch being written and nothing queued. */
  get idle(): boolean {
    return this.inFlight === 0 && this.filling.empty;
  }

  /**
   * ZAB's TRUNC: cuts every txn above `zxid` from the log files, durably, crash-safe (see
   * log-truncate.ts); false if none was above it. The log must be idle (drain it first); the
   * next append starts a new file. A disk failure is fatal, as for a write.
   *
   * Snapshots are not touched, as in ZooKeeper: none may hold a txn above `zxid`. ZooKeeper
   * keeps that by writing no snapshot on a follower between start-up (whose replay may hold
   * txns never committed) and its sync with the leader; only a leader snapshots as it starts
   * (ZooKeeperServer.loadData), as a standalone server does.
   */
  async truncate(zxid: number): Promise<boolean> {
    assert(this.idle && !this.truncating, 'txn log: truncate needs an idle log (drain it first)');
    this.throwIfFailed();
    this.truncating = true;
    try {
      const open = this.current;
      this.current = null;
      this.rollRequested = true;
      if (open !== null) await open.handle.close();
      const cut = await truncateLogFiles(this.fs, this.dir, zxid, this.maxEntryBytes);
      if (zxid < this.lastAppended) this.lastAppended = zxid;
      return cut;
    } catch (e) {
      this.fail(e);
      throw this.failure ?? e;
    } finally {
      this.truncating = false;
    }
  }

  /**
   * The txns logged after `after` (up to `until`, if given), read back from the files in
   * slices; see TxnLogReader. Close it when done.
   */
  read(after: number, until?: number): Promise<TxnLogReader> {
    return TxnLogReader.open(this.fs, this.dir, after, { maxEntryBytes: this.maxEntryBytes, ...(until === undefined ? {} : { until }) });
  }

  /** Resolves once everything queued so far is durable. */
  async drain(): Promise<void> {
    while (!this.idle) {
      if (this.failure !== null) throw this.failure;
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (this.failure !== null) throw this.failure;
  }

  async close(): Promise<void> {
    await this.drain().catch(() => undefined);
    if (this.current !== null) await this.current.handle.close().catch(() => undefined);
    this.current = null;
  }

  /** Takes the filling batch and sends it on its way: write (in order), fsync, acknowledge (in order). */
  private startBatch(): void {
    const batch = this.filling;
    this.filling = this.spares.pop() ?? new Batch();
    this.inFlight++;
    const roll = this.rollRequested;
    this.rollRequested = false;
    const log = this.current;
    // The common case with synced writes: the one batch in flight (every earlier one is
    // acknowledged), durable when its write returns (O_DSYNC: a file system that refused it
    // gave a plain file, whose writes need their fsync below), written where the open file
    // already has room. One callback, no promises: an async write's promises were about a
    // third of what a lone setData allocated.
    if (
      this.depth === 1 &&
      !roll &&
      log !== null &&
      log.handle.syncsWrites &&
      this.failure === null &&
      !this.mustGrow(log, batch.records.length)
    ) {
      const data = batch.records.toBuffer();
      const at = log.position;
      log.position += data.length;
      log.handle.writeThen(data, at, (err) => {
        if (err === null) this.stats.fsyncs++;
        else this.fail(err);
        this.completed(batch);
      });
      return;
    }
    const earlierAcks = this.acks;
    const written = this.writes.then(() => this.write(batch, roll, earlierAcks));
    this.writes = written.catch(() => undefined);
    this.acks = this.acknowledge(batch, written, earlierAcks);
  }

  /** Writes the batch at the end of the log; resolves with the handle to fsync. */
  private async write(batch: Batch, roll: boolean, earlierAcks: Promise<void>): Promise<FileHandle> {
    this.throwIfFailed();
    if (roll) {
      // the old file's last fsyncs must finish before it is closed
      await earlierAcks;
      this.throwIfFailed();
      await this.openNew(batch.firstZxid);
    }
    this.throwIfFailed();
    const log = this.current;
    if (log === null) throw new StorageError('txn log not open');
    const data = batch.records.toBuffer();
    await this.ensureSpace(log, data.length);
    // an earlier batch's fsync may have failed meanwhile: then nothing more is written
    this.throwIfFailed();
    await log.handle.write(data, log.position);
    log.position += data.length;
    return log.handle;
  }

  /** Every step of a write checks: an earlier batch may have failed while it waited. */
  private throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }

  private async acknowledge(batch: Batch, written: Promise<FileHandle>, earlierAcks: Promise<void>): Promise<void> {
    try {
      const handle = await written;
      this.throwIfFailed();
      if (this.options.forceSync) {
        if (!handle.syncsWrites) await handle.sync();
        this.stats.fsyncs++;
      }
    } catch (e) {
      this.fail(e);
    }
    await earlierAcks;
    this.completed(batch);
  }

  /**
   * The batch is durable (or the log failed): the next batch starts, then this one's callbacks
   * run. In that order the disk writes the next batch while the callbacks apply this one's txns
   * and answer them, as ZooKeeper's sync thread writes on while its final processor applies;
   * the other way round, each batch also waited for all of the previous batch's replies.
   */
  private completed(batch: Batch): void {
    this.inFlight--;
    if (this.failure !== null) return;
    this.stats.batches++;
    this.stats.txns += batch.done.length;
    if (!this.filling.empty && this.inFlight < this.depth) this.startBatch();
    for (const done of batch.done) done.durable();
    batch.reset();
    this.spares.push(batch);
  }

  private fail(e: unknown): void {
    if (this.failure !== null) return;
    this.failure = e instanceof StorageError ? e : new StorageError(`txn log write failed in ${this.dir}: ${(e as Error).message}`, e);
    this.filling.reset();
    this.onFatal(this.failure);
  }

  private async openNew(firstZxid: number): Promise<void> {
    if (this.current !== null) {
      await this.current.handle.close();
      this.current = null;
    }
    const name = logFileName(firstZxid);
    const handle = await this.fs.create(path.join(this.dir, name), { syncWrites: this.options.forceSync });
    await handle.write(logFileHeader(), 0);
    this.current = { handle, name, position: LOG_HEADER_BYTES, size: LOG_HEADER_BYTES };
    await this.ensureSpace(this.current, 0);
    await handle.sync();
    await this.fs.syncDir(this.dir);
  }

  /** Whether `incoming` more bytes bring the log within 4 KiB of its preallocated end. */
  private mustGrow(log: OpenLog, incoming: number): boolean {
    return this.options.preAllocBytes > 0 && log.position + incoming + 4096 >= log.size;
  }

  /** ZooKeeper's FilePadding: grow the file by preAllocSize of zeros when within 4 KiB of its end. */
  private async ensureSpace(log: OpenLog, incoming: number): Promise<void> {
    if (!this.mustGrow(log, incoming)) return;
    const step = this.options.preAllocBytes;
    let size = log.size;
    const end = log.position + incoming;
    if (end > size) size = end + step - ((end + step) % step);
    else size += step;
    await log.handle.truncate(size);
    // A synced write does not promise the new length; the records written into it rely on it.
    if (this.options.forceSync && log.handle.syncsWrites) await log.handle.sync();
    log.size = size;
  }
}
