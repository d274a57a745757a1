/**
 * The durable txn pipeline of a server: txns go to the log (group commit) and are applied only
 * once fsynced; every ~snapCount txns the log rolls and a snapshot is written in the background
 * (the tree is serialized at one zxid between two applies, then written without blocking).
 */
import type { DataTree } from '../tree/index.js';
import type { FileSystem, StorageError } from './file-system.js';
import { writeSnapshot, type SnapshotCompression } from './snapshots.js';
import { TxnLog, type OnDurable, type TxnLogEntry } from './txn-log.js';

export interface DurableStoreOptions {
  snapDir: string;
  logDir: string;
  snapCount: number;
  preAllocBytes: number;
  forceSync: boolean;
  compression: SnapshotCompression;
  /** Random integer in [0, n): randomises the snapshot point as ZooKeeper does. */
  random: (n: number) => number;
  onFatal: (e: StorageError) => void;
  info: (msg: string, details: object) => void;
  /** The recovered state's zxid: logged zxids must be above it (default 0). */
  lastZxid?: number;
  /** The largest entry length read back as a record (jute.maxbuffer + TXN_ENTRY_EXTRA_BYTES). */
  maxEntryBytes?: number;
}

export class DurableStore {
  readonly log: TxnLog;
  private sinceSnapshot = 0;
  private snapAt: number;
  private snapshotDue = false;
  private snapshotting: Promise<void> | null = null;
  private tree: DataTree | null = null;
  private sessions: () => ReadonlyMap<bigint, number> = () => new Map();

  constructor(
    private readonly fs: FileSystem,
    private readonly o: DurableStoreOptions,
  ) {
    const { preAllocBytes, forceSync, lastZxid, maxEntryBytes } = o;
    this.log = new TxnLog(fs, o.logDir, { preAllocBytes, forceSync, lastZxid, maxEntryBytes }, o.onFatal);
    this.snapAt = this.nextSnapPoint();
  }

  /** ZooKeeper snaps after snapCount/2 + random(snapCount/2) txns, so servers don't snap together. */
  private nextSnapPoint(): number {
    const half = Math.max(1, Math.floor(this.o.snapCount / 2));
    return half + this.o.random(half);
  }

  attach(tree: DataTree, sessions: () => ReadonlyMap<bigint, number>): void {
    this.tree = tree;
    this.sessions = sessions;
  }

  /** TxnSink: durable first, then the caller applies. */
  append(entry: TxnLogEntry, done: OnDurable): void {
    this.log.append(entry.header, entry.txn, done);
    if (++this.sinceSnapshot >= this.snapAt) {
      this.sinceSnapshot = 0;
      this.snapAt = this.nextSnapPoint();
      this.log.roll();
      this.snapshotDue = true;
    }
  }

  /** Called after each apply: the moment a due snapshot is taken (the tree is consistent). */
  applied(zxid: number): void {
    if (!this.snapshotDue || this.tree === null) return;
    this.snapshotDue = false;
    if (this.snapshotting !== null) {
      this.o.info('a snapshot is still being written; skipping this one', { zxid });
      return;
    }
    this.snapshotting = this.snapshot(zxid).finally(() => {
      this.snapshotting = null;
    });
  }

  private async snapshot(zxid: number): Promise<void> {
    const tree = this.tree;
    if (tree === null) return;
    try {
      const name = await writeSnapshot(this.fs, this.o.snapDir, tree, new Map(this.sessions()), zxid, this.o.compression);
      this.o.info('snapshot written', { file: name });
    } catch (e) {
      // A snapshot that fails is not fatal by itself: the log still holds every txn.
      this.o.info('snapshot failed', { zxid, reason: (e as Error).message });
    }
  }

  async close(): Promise<void> {
    await this.log.close();
    await this.snapshotting;
  }
}
