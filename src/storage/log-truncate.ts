/**
 * ZAB's TRUNC on the txn log files (ZooKeeper's FileTxnLog.truncate): every txn above a zxid
 * leaves the log. Later files are removed, the file holding the zxid is cut after it.
 *
 * ZooKeeper neither syncs this nor guards it against a crash. Here a crash at any point leaves
 * either the old log or the new one, as recovery sees it: an empty marker file naming the zxid
 * is made durable first (the commit point), the files are changed, then the marker is removed
 * durably before the truncation returns. Recovery finds a marker left by a crash and carries
 * the truncation out again (it is idempotent). Later files go first, each removal durable
 * before the cut, so a reader that knows nothing of the marker (Apache ZooKeeper) sees a prefix
 * of the old log after a crash, never a gap.
 */
import path from 'node:path';
import type { FileSystem } from './file-system.js';
import { LogFileScanner, TxnLogDamageError } from './log-reader.js';
import { listDataFiles } from './snapshots.js';

/** Not `log.*`: Apache ZooKeeper takes any `log.<x>` name for a txn log. */
const MARKER_PREFIX = 'txnlog-truncate.';

export function truncationMarkerName(zxid: number): string {
  return `${MARKER_PREFIX}${zxid.toString(16)}`;
}

function zxidOfMarker(name: string): number | null {
  const m = /^txnlog-truncate\.([0-9a-f]+)$/.exec(name);
  return m?.[1] === undefined ? null : parseInt(m[1], 16);
}

interface TruncationPlan {
  /** Log files that start above the zxid, newest first. */
  remove: string[];
  /** The file holding the zxid, and the offset of its first txn above it (if any). */
  cut: { file: string; at: number } | null;
}

async function planTruncation(fs: FileSystem, logDir: string, zxid: number, maxEntryBytes: number): Promise<TruncationPlan> {
  const { logs } = await listDataFiles(fs, logDir, logDir);
  const remove = logs.filter((l) => l.zxid > zxid).map((l) => l.name);
  remove.reverse();
  const holder = logs.filter((l) => l.zxid <= zxid).at(-1);
  if (holder === undefined) return { remove, cut: null };
  const file = path.join(logDir, holder.name);
  const at = await offsetOfFirstAbove(fs, file, zxid, maxEntryBytes);
  return { remove, cut: at === null ? null : { file, at } };
}

async function offsetOfFirstAbove(fs: FileSystem, file: string, zxid: number, maxEntryBytes: number): Promise<number | null> {
  const scanner = await LogFileScanner.open(fs, file, maxEntryBytes);
  try {
    for (let t = await scanner.next(); t !== null; t = await scanner.next()) {
      if (t.header.zxid > zxid) return scanner.recordOffset;
    }
    // A truncation runs on a recovered, idle log: records it cannot read are not a torn tail.
    const damage = scanner.damage;
    if (damage !== null) throw new TxnLogDamageError(file, damage.offset, damage.reason);
    return null;
  } finally {
    await scanner.close();
  }
}

async function carryOut(fs: FileSystem, logDir: string, plan: TruncationPlan): Promise<void> {
  for (const name of plan.remove) await fs.unlink(path.join(logDir, name));
  if (plan.remove.length > 0) await fs.syncDir(logDir);
  if (plan.cut === null) return;
  const handle = await fs.openExisting(plan.cut.file);
  try {
    await handle.truncate(plan.cut.at);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Cuts every txn above `zxid` from the log files in `logDir`, durably; false if there was none.
 * Nobody may write the log meanwhile (TxnLog.truncate sees to that).
 */
export async function truncateLogFiles(fs: FileSystem, logDir: string, zxid: number, maxEntryBytes: number): Promise<boolean> {
  const plan = await planTruncation(fs, logDir, zxid, maxEntryBytes);
  if (plan.remove.length === 0 && plan.cut === null) return false;
  const marker = path.join(logDir, truncationMarkerName(zxid));
  await (await fs.create(marker)).close();
  await fs.syncDir(logDir);
  await carryOut(fs, logDir, plan);
  await fs.unlink(marker);
  await fs.syncDir(logDir);
  return true;
}

/**
 * Carries out again a truncation a crash interrupted (its marker is still there), before
 * anything reads the log. Returns the zxids truncated to.
 */
export async function finishInterruptedTruncation(fs: FileSystem, logDir: string, maxEntryBytes: number): Promise<number[]> {
  const markers = (await fs.list(logDir))
    .map((name) => ({ name, zxid: zxidOfMarker(name) }))
    .filter((m): m is { name: string; zxid: number } => m.zxid !== null)
    .sort((a, b) => b.zxid - a.zxid);
  if (markers.length === 0) return [];
  for (const { zxid } of markers) await carryOut(fs, logDir, await planTruncation(fs, logDir, zxid, maxEntryBytes));
  for (const { name } of markers) await fs.unlink(path.join(logDir, name));
  await fs.syncDir(logDir);
  return markers.map((m) => m.zxid);
}
