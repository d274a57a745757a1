/** Writing, finding and purging snapshot files (ZooKeeper's FileSnap / PurgeTxnLog roles). */
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { DataTree } from '../tree/index.js';
import { encodeSnapshot, snapshotFileName, zxidOfFileName } from './format.js';
import { snappyJavaCompress, snappyJavaUncompress } from './snappy.js';
import type { FileSystem } from './file-system.js';

export type SnapshotCompression = '' | 'gz' | 'snappy';

/** Writes snapshot.<zxid> atomically (temp file, fsync, rename, directory fsync). Returns its name. */
export async function writeSnapshot(
  fs: FileSystem,
  dir: string,
  tree: DataTree,
  sessions: ReadonlyMap<bigint, number>,
  zxid: number,
  compression: SnapshotCompression,
): Promise<string> {
  const raw = encodeSnapshot(tree, sessions);
  const bytes = compression === 'gz' ? gzipSync(raw) : compression === 'snappy' ? snappyJavaCompress(raw) : raw;
  const name = snapshotFileName(zxid, compression);
  const temp = path.join(dir, `.${name}.tmp`);
  const handle = await fs.create(temp);
  try {
    await handle.write(bytes, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temp, path.join(dir, name));
  await fs.syncDir(dir);
  return name;
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
