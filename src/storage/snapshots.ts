/** Writing, finding and purging snapshot files (ZooKeeper's FileSnap / PurgeTxnLog roles). */
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { DataTree } from '../tree/index.js';
import { snapshotFileName, zxidOfFileName } from './format.js';
import { SnapshotSerializer, UNSLICED, type SlicePacer, type SnapshotImage } from './snapshot-serializer.js';
import { snappyJavaCompressChunks, snappyJavaUncompress } from './snappy.js';
import type { FileSystem } from './file-system.js';

export type SnapshotCompression = '' | 'gz' | 'snappy';

/** Bytes of snapshot compressed per gzip member: about a millisecond of deflate. */
const GZIP_MEMBER_BYTES = 64 * 1024;

/**
 * Writes the tree as snapshot.<zxid> at once (the tree must not change meanwhile: start-up,
 * a fresh dataDir). Returns the file's name.
 */
export async function writeSnapshot(
  fs: FileSystem,
  dir: string,
  tree: DataTree,
  sessions: ReadonlyMap<bigint, number>,
  zxid: number,
  compression: SnapshotCompression,
): Promise<string> {
  const serializer = new SnapshotSerializer(tree, sessions);
  serializer.step(() => false);
  return writeSnapshotImage(fs, dir, { ...serializer.result(), zxid }, compression);
}

/**
 * Writes a serialized snapshot as snapshot.<zxid>[.gz|.snappy], atomically: a temp file
 * (".snapshot.<zxid>.tmp", which no reader takes for a snapshot), fsync, rename, directory
 * fsync. A crash before the rename leaves only the temp file, which recovery removes.
 * Compression runs in slices as `pacer` allows. Returns the file's name.
 */
export async function writeSnapshotImage(
  fs: FileSystem,
  dir: string,
  image: SnapshotImage,
  compression: SnapshotCompression,
  pacer: SlicePacer = UNSLICED,
): Promise<string> {
  const parts = compression === '' ? image.chunks : await compressInSlices(image.chunks, compression, pacer);
  const name = snapshotFileName(image.zxid, compression);
  const temp = path.join(dir, tempSnapshotName(name));
  const handle = await fs.create(temp);
  try {
    let position = 0;
    for (const part of parts) {
      await handle.write(part, position);
      position += part.length;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temp, path.join(dir, name));
  await fs.syncDir(dir);
  return name;
}

/** The name a snapshot file has while it is being written. */
function tempSnapshotName(name: string): string {
  return `.${name}.tmp`;
}

/** Whether `name` is a snapshot left half-written (by a crash, or a failed write). */
export function isTempSnapshotName(name: string): boolean {
  return /^\.snapshot\.[0-9a-fA-F]+(\.(gz|snappy))?\.tmp$/.test(name);
}

/**
 * Compresses the chunks, pausing between blocks as `pacer` allows. gzip: one member per
 * GZIP_MEMBER_BYTES of input (a gzip file may hold several; java.util.zip.GZIPInputStream,
 * which ZooKeeper reads snapshots with, and zlib read them as one stream), so that no single
 * deflate call holds the thread for long.
 */
async function compressInSlices(chunks: readonly Buffer[], compression: 'gz' | 'snappy', pacer: SlicePacer): Promise<Buffer[]> {
  const parts: Buffer[] = [];
  const pieces = compression === 'gz' ? gzipMembers(chunks) : snappyJavaCompressChunks(chunks);
  await pacer.nextSlice();
  for (const piece of pieces) {
    parts.push(piece);
    if (pacer.sliceDone()) await pacer.nextSlice();
  }
  pacer.finished();
  return parts;
}

function* gzipMembers(chunks: readonly Buffer[]): Generator<Buffer, void, undefined> {
  for (const chunk of chunks) {
    for (let at = 0; at < chunk.length; at += GZIP_MEMBER_BYTES) {
      yield gzipSync(chunk.subarray(at, Math.min(chunk.length, at + GZIP_MEMBER_BYTES)));
    }
  }
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
