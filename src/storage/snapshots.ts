/** Writing, finding and purging snapshot files (ZooKeeper's FileSnap / PurgeTxnLog roles). */
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { DataTree } from '../tree/index.js';
import { snapshotFileName, zxidOfFileName } from './format.js';
import { SnapshotSerializer, UNSLICED, type ChunkSink, type SlicePacer } from './snapshot-serializer.js';
import { SnappyJavaCompressor, snappyJavaUncompress } from './snappy.js';
import { StorageError, type FileHandle, type FileSystem } from './file-system.js';

export type SnapshotCompression = '' | 'gz' | 'snappy';

/** Bytes of snapshot compressed per gzip member: about a millisecond of deflate. */
const GZIP_MEMBER_BYTES = 64 * 1024;

/** What a snapshot file holds. */
export interface SnapshotWritten {
  name: string;
  /** S: its name's zxid, the last one applied when it began. */
  zxid: number;
  /** The last zxid applied when its walk ended: above S if txns applied during it (fuzzy). */
  walkEndZxid: number;
  nodes: number;
  /** Bytes before compression. */
  bytes: number;
}

/**
 * Writes the tree as snapshot.<its last zxid>: at once (start-up, a fresh dataDir, tools), or
 * in the pacer's slices when nothing changes the tree meanwhile (a learner saving a SNAP while
 * its later actions wait). Returns the file's name.
 */
export async function writeSnapshot(
  fs: FileSystem,
  dir: string,
  tree: DataTree,
  sessions: ReadonlyMap<bigint, number>,
  compression: SnapshotCompression,
  pacer: SlicePacer = UNSLICED,
): Promise<string> {
  return (await new SnapshotFileWriter(fs, dir, tree, sessions, compression).run(pacer)).name;
}

/**
 * A snapshot of the tree as snapshot.<S>[.gz|.snappy], S being the last zxid applied when
 * the writer is made (between two applies). `run` walks the tree in slices while txns go on
 * applying (see snapshot-serializer.ts), and the chunks are compressed (in slices too) and
 * written as they come, to a temp file (".snapshot.<S>.tmp", which no reader takes for a
 * snapshot); then fsync, rename, directory fsync. A crash before the rename leaves only the
 * temp file, which recovery removes; a failure removes it at once.
 */
export class SnapshotFileWriter {
  private readonly file: SnapshotFile;
  private readonly serializer: SnapshotSerializer;

  constructor(
    fs: FileSystem,
    dir: string,
    private readonly tree: DataTree,
    sessions: ReadonlyMap<bigint, number>,
    compression: SnapshotCompression,
  ) {
    this.file = new SnapshotFile(fs, dir, tree.lastProcessedZxid, compression);
    this.serializer = new SnapshotSerializer(tree, sessions, this.file);
  }

  get zxid(): number {
    return this.serializer.zxid;
  }

  async run(pacer: SlicePacer): Promise<SnapshotWritten> {
    let walkEndZxid = this.zxid;
    try {
      for (;;) {
        await pacer.nextSlice();
        this.file.throwIfFailed();
        // compressing first gives buffers back to the walk
        if (!this.file.compress(pacer.sliceDone)) continue;
        const step = this.serializer.step(pacer.sliceDone);
        if (step === 'done') break;
        if (step === 'full' && !this.file.compressing) {
          // every buffer is being written: wait for the disk, outside any slice
          pacer.endSlice();
          await this.serializer.writable();
        }
      }
      walkEndZxid = this.tree.lastProcessedZxid;
      while (!this.file.compress(pacer.sliceDone)) await pacer.nextSlice();
      pacer.endSlice();
      const name = await this.file.publish();
      return { name, zxid: this.zxid, walkEndZxid, nodes: this.serializer.nodes, bytes: this.serializer.bytes };
    } catch (e) {
      pacer.endSlice();
      this.serializer.abort();
      await this.file.discard();
      throw e;
    }
  }
}

/** The temp file a snapshot's chunks go to, compressed if asked, written one after another. */
class SnapshotFile implements ChunkSink {
  readonly name: string;
  private readonly temp: string;
  private readonly handle: Promise<FileHandle>;
  private writes: Promise<void> = Promise.resolve();
  private position = 0;
  private failure: Error | null = null;
  /** Chunks waiting for compression, each as the pieces it becomes. */
  private readonly backlog: Array<{ pieces: Iterator<Buffer>; release: () => void }> = [];
  private readonly snappy: SnappyJavaCompressor | null;

  constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    zxid: number,
    private readonly compression: SnapshotCompression,
  ) {
    this.name = snapshotFileName(zxid, compression);
    this.temp = path.join(dir, `.${this.name}.tmp`);
    this.handle = fs.create(this.temp);
    this.handle.catch((e: unknown) => this.fail(e));
    this.snappy = compression === 'snappy' ? new SnappyJavaCompressor() : null;
    if (this.snappy !== null) this.write(this.snappy.header());
  }

  chunk(bytes: Buffer, release: () => void): void {
    if (this.failure !== null) release();
    else if (this.compression === '') this.write(bytes, release);
    else this.backlog.push({ pieces: this.snappy?.push(bytes) ?? gzipMembers(bytes), release });
  }

  /** Whether chunks wait for compression. */
  get compressing(): boolean {
    return this.backlog.length !== 0;
  }

  /** Compresses waiting chunks, a piece at a time, until none is left (true) or the slice is over. */
  compress(sliceDone: () => boolean): boolean {
    for (let job = this.backlog[0]; job !== undefined; job = this.backlog[0]) {
      const piece = job.pieces.next();
      if (piece.done === true) {
        this.backlog.shift();
        job.release();
      } else {
        this.write(piece.value);
      }
      if (sliceDone()) return this.backlog.length === 0;
    }
    return true;
  }

  throwIfFailed(): void {
    if (this.failure !== null) throw this.failure;
  }

  /** Once every chunk is written: fsync, close, rename into place, fsync the directory. */
  async publish(): Promise<string> {
    for (const block of this.snappy?.end() ?? []) this.write(block);
    await this.writes;
    this.throwIfFailed();
    const handle = await this.handle;
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await this.fs.rename(this.temp, path.join(this.dir, this.name));
    await this.fs.syncDir(this.dir);
    return this.name;
  }

  /** After a failure: the temp file goes (recovery would remove it too). */
  async discard(): Promise<void> {
    for (const job of this.backlog.splice(0)) job.release();
    await this.writes;
    try {
      await (await this.handle).close();
    } catch {
      // not opened, or already closed
    }
    await this.fs.unlink(this.temp).catch(() => undefined);
  }

  /** Bytes go out in order; `release` once they are on their way to the disk (or failed). */
  private write(bytes: Buffer, release?: () => void): void {
    const at = this.position;
    this.position += bytes.length;
    this.writes = this.writes.then(async () => {
      try {
        if (this.failure === null) await (await this.handle).write(bytes, at);
      } catch (e) {
        this.fail(e);
      } finally {
        release?.();
      }
    });
  }

  private fail(e: unknown): void {
    this.failure ??= e instanceof Error ? e : new StorageError(String(e));
  }
}

/**
 * gzip: one member per GZIP_MEMBER_BYTES of input. A gzip file may hold several members;
 * java.util.zip.GZIPInputStream, which ZooKeeper reads snapshots with, and zlib read them as
 * one stream. So no single deflate call holds the thread for long.
 */
function* gzipMembers(chunk: Buffer): Generator<Buffer, void, undefined> {
  for (let at = 0; at < chunk.length; at += GZIP_MEMBER_BYTES) {
    yield gzipSync(chunk.subarray(at, Math.min(chunk.length, at + GZIP_MEMBER_BYTES)));
  }
}

/** Whether `name` is a snapshot left half-written (by a crash, or a failed write). */
export function isTempSnapshotName(name: string): boolean {
  return /^\.snapshot\.[0-9a-fA-F]+(\.(gz|snappy))?\.tmp$/.test(name);
}

/** The raw (decompressed) bytes of a snapshot file. */
export async function readSnapshotBytes(fs: FileSystem, dir: string, name: string): Promise<Buffer> {
  const bytes = await fs.readFile(path.join(dir, name));
  if (name.endsWith('.gz')) return gunzipSync(bytes);
  if (name.endsWith('.snappy')) return snappyJavaUncompress(bytes);
  return bytes;
}

export interface DataFiles {
  snapshots: Array<{ name: string; zxid: number }>;
  logs: Array<{ name: string; zxid: number }>;
}

/** Snapshots newest first, logs oldest first. */
export async function listDataFiles(fs: FileSystem, snapDir: string, logDir: string): Promise<DataFiles> {
  const snapshots = (await fs.list(snapDir))
    .map((name) => ({ name, zxid: zxidOfFileName(name, 'snapshot') }))
    .filter((f): f is { name: string; zxid: number } => f.zxid !== null)
    .sort((a, b) => b.zxid - a.zxid);
  const logs = (await fs.list(logDir))
    .map((name) => ({ name, zxid: zxidOfFileName(name, 'log') }))
    .filter((f): f is { name: string; zxid: number } => f.zxid !== null)
    .sort((a, b) => a.zxid - b.zxid);
  return { snapshots, logs };
}

/** The logs a replay from `snapZxid` needs: the last one starting at or before it, and all later. */
export function logsFrom<T extends { zxid: number }>(logs: readonly T[], snapZxid: number): T[] {
  let start = 0;
  for (let i = 0; i < logs.length; i++) if ((logs[i]?.zxid ?? Infinity) <= snapZxid) start = i;
  return logs.slice(start);
}

/**
 * ZooKeeper's PurgeTxnLog: keep the newest `retain` snapshots (at least 3) and the logs needed
 * to replay from the oldest kept one; delete the rest. Returns the deleted names.
 */
export async function purge(fs: FileSystem, snapDir: string, logDir: string, retain: number): Promise<string[]> {
  const keep = Math.max(3, retain);
  const { snapshots, logs } = await listDataFiles(fs, snapDir, logDir);
  if (snapshots.length <= keep) return [];
  const oldestKept = snapshots[keep - 1];
  if (oldestKept === undefined) return [];
  const neededLogs = new Set(logsFrom(logs, oldestKept.zxid).map((l) => l.name));
  const deleted: string[] = [];
  for (const s of snapshots.slice(keep)) {
    await fs.unlink(path.join(snapDir, s.name));
    deleted.push(s.name);
  }
  for (const l of logs) {
    if (neededLogs.has(l.name) || l.zxid > oldestKept.zxid) continue;
    await fs.unlink(path.join(logDir, l.name));
    deleted.push(l.name);
  }
  return deleted;
}
