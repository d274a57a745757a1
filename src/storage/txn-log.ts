/**
 * The txn log with group commit. Appends queue up while a write + fsync is in flight; the next
 * flush writes everything queued as one write and covers it with one fsync, so the batch size
 * follows the load with no timer. A record's callback runs only once it is durable.
 */
import path from 'node:path';
import { appendTxnRecord, logFileHeader, logFileName, LOG_HEADER_BYTES } from './format.js';
import { StorageError, type FileHandle, type FileSystem } from './file-system.js';
import { JuteWriter, type Txn, type TxnHeader } from '../codec/index.js';

export interface TxnLogOptions {
  /** `preAllocSize`: the file grows in steps of this many bytes of zeros (ZooKeeper: 64 MiB). */
  preAllocBytes: number;
  /** `forceSync`: fsync before acknowledging (default yes). */
  forceSync: boolean;
}

/**
 * The txns of one group commit: their records encoded back to back in one writer, and the
 * callbacks to run once they are durable.
 */
class Batch {
  readonly records = new JuteWriter(64 * 1024);
  done: Array<() => void> = [];
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
  /**
   * Appends go to `filling`; a flush swaps it with `spare` and writes it. The spare's bytes
   * were written by the previous flush, which has completed, so its memory can be reused.
   */
  private filling = new Batch();
  private spare = new Batch();
  private flushing = false;
  private rollRequested = false;
  private failure: StorageError | null = null;
  /** Figures for mntr / benchmarks. */
  readonly stats = { batches: 0, txns: 0, fsyncs: 0 };

  constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly options: TxnLogOptions,
    private readonly onFatal: (e: StorageError) => void,
  ) {}

  /** Queues a txn; `done` runs once it is durable. After a disk failure nothing completes. */
  append(header: TxnHeader, txn: Txn, done: () => void): void {
    if (this.failure !== null) return;
    const batch = this.filling;
    if (batch.empty) batch.firstZxid = header.zxid;
    appendTxnRecord(batch.records, header, txn);
    batch.done.push(done);
    if (!this.flushing) void this.flush();
  }

  /** The next append starts a new file (ZooKeeper rolls the log when it takes a snapshot). */
  roll(): void {
    this.rollRequested = true;
  }

  /** Resolves once everything queued so far is durable. */
  async drain(): Promise<void> {
    while (this.flushing || !this.filling.empty) {
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

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (!this.filling.empty && this.failure === null) {
        const batch = this.filling;
        this.filling = this.spare;
        this.filling.reset();
        this.spare = batch;
        if (this.current === null || this.rollRequested) await this.openNew(batch.firstZxid);
        const log = this.current;
        if (log === null) throw new StorageError('txn log not open');
        const data = batch.records.toBuffer();
        await this.ensureSpace(log, data.length);
        await log.handle.write(data, log.position);
        log.position += data.length;
        if (this.options.forceSync) {
          await log.handle.sync();
          this.stats.fsyncs++;
        }
        this.stats.batches++;
        this.stats.txns += batch.done.length;
        for (const done of batch.done) done();
        batch.done = [];
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.flushing = false;
    }
  }

  private fail(e: unknown): void {
    if (this.failure !== null) return;
    this.failure = e instanceof StorageError ? e : new StorageError(`txn log write failed in ${this.dir}: ${(e as Error).message}`, e);
    this.filling.reset();
    this.spare.reset();
    this.onFatal(this.failure);
  }

  private async openNew(firstZxid: number): Promise<void> {
    if (this.current !== null) {
      await this.current.handle.close();
      this.current = null;
    }
    this.rollRequested = false;
    const name = logFileName(firstZxid);
    const handle = await this.fs.create(path.join(this.dir, name));
    await handle.write(logFileHeader(), 0);
    this.current = { handle, name, position: LOG_HEADER_BYTES, size: LOG_HEADER_BYTES };
    await this.ensureSpace(this.current, 0);
    await handle.sync();
    await this.fs.syncDir(this.dir);
  }

  /** ZooKeeper's FilePadding: grow the file by preAllocSize of zeros when within 4 KiB of its end. */
  private async ensureSpace(log: OpenLog, incoming: number): Promise<void> {
    const step = this.options.preAllocBytes;
    if (step <= 0 || log.position + incoming + 4096 < log.size) return;
    let size = log.size;
    const end = log.position + incoming;
    if (end > size) size = end + step - ((end + step) % step);
    else size += step;
    await log.handle.truncate(size);
    log.size = size;
  }
}
