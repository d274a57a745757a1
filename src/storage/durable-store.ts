/**
 * The durable txn pipeline of a server: txns go to the log (group commit) and are applied only
 * once fsynced; every ~snapCount txns the log rolls and a fuzzy snapshot is taken: it is named
 * by the last zxid applied when it begins and written in slices (snapshot-serializer.ts) while
 * txns go on being applied, so request handling never waits for more than one slice.
 */
import type { DataTree } from '../tree/index.js';
import type { FileSystem, StorageError } from './file-system.js';
import { SnapshotFileWriter, type SnapshotCompression } from './snapshots.js';
import type { SlicePacer } from './snapshot-serializer.js';
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
  /** A pacer for each snapshot: how its slices share the event loop with request handling. */
  pacer: () => SlicePacer;
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

  /**
   * Takes a snapshot of the tree as it is now (a leader starting its term does, as ZooKeeper's
   * does when it loads its database: the newest snapshot then weighs DIFF against SNAP).
   */
  snapshotNow(): void {
    if (this.tree === null) return;
    this.snapshotDue = true;
    this.applied(this.tree.lastProcessedZxid);
  }

  /**
   * Called after each apply: a due snapshot begins here, between two applies, so its zxid is
   * a whole txn (a multi included) and its sessions are those of that moment.
   */
  applied(zxid: number): void {
    if (!this.snapshotDue || this.tree === null) return;
    this.snapshotDue = false;
    if (this.snapshotting !== null) {
      this.o.info('a snapshot is still being written; skipping this one', { zxid });
      return;
    }
    const writer = new SnapshotFileWriter(this.fs, this.o.snapDir, this.tree, this.sessions(), this.o.compression);
    this.snapshotting = this.snapshot(writer).finally(() => {
      this.snapshotting = null;
    });
  }

  private async snapshot(writer: SnapshotFileWriter): Promise<void> {
    const pacer = this.o.pacer();
    try {
      const { name, zxid, walkEndZxid, nodes, bytes } = await writer.run(pacer);
      this.o.info('snapshot written', { file: name, zxid, walkEndZxid, znodes: nodes, bytes, ...pacer.report?.() });
    } catch (e) {
      // A snapshot that fails is not fatal by itself: the log still holds every txn.
      this.o.info('snapshot failed', { zxid: writer.zxid, reason: (e as Error).message });
    }
  }

  async close(): Promise<void> {
    await this.log.close();
    await this.snapshotting;
  }
}
