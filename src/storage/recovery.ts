/**
 * Start-up recovery: newest valid snapshot, then every logged txn after it, replayed through
 * the same applyTxn as live txns. A torn last record (a crash mid-write) is cut off with a
 * warning; damage anywhere else stops start-up with the file and offset, leaving the files as
 * they are for the operator.
 *
 * Snapshots are fuzzy (ours and ZooKeeper's): snapshot.<S> may already hold some effects of
 * txns after S. Replaying those txns again must leave the tree exactly as the live one was
 * (see replayTxn). Loading is not sliced: nothing is served until it is done.
 */
import path from 'node:path';
import { OpCode, type Txn, type TxnHeader } from '../codec/index.js';
import { DataTree, type TreeChange } from '../tree/index.js';
import { LOG_HEADER_BYTES, parseLogFile, parseSnapshot, SnapshotError } from './format.js';
import type { FileSystem } from './file-system.js';
import { finishInterruptedTruncation } from './log-truncate.js';
import { isTempSnapshotName, listDataFiles, logsFrom, readSnapshotBytes, writeSnapshot, type SnapshotCompression } from './snapshots.js';

export class CorruptDataError extends Error {
  override readonly name = 'CorruptDataError';
}

export interface RecoveryOptions {
  snapDir: string;
  logDir: string;
  extendedTypesEnabled: boolean;
  maxEntryBytes: number;
  compression: SnapshotCompression;
  warn: (msg: string, details: object) => void;
}

export interface Recovered {
  tree: DataTree;
  /** Live sessions and their timeouts (ms). */
  sessions: Map<bigint, number>;
  snapshotName: string;
  replayedTxns: number;
}

/**
 * Applies one logged txn during recovery, sessions included (ZooKeeper's
 * FileTxnSnapLog.processTransaction). Over a fuzzy snapshot a txn may meet what it did
 * already: a create finds its node (NodeExists), a delete finds none (NoNode), a setData or
 * setACL writes what the node holds. The tree takes those as no-ops, except that the parent's
 * cversion and pzxid still move forward (they only ever grow), so the result is the live
 * tree's. The errors are expected and ignored, as in ZooKeeper.
 */
export function replayTxn(tree: DataTree, sessions: Map<bigint, number>, header: TxnHeader, txn: Txn, changes: TreeChange[]): void {
  tree.applyTxn(header, txn, changes);
  changes.length = 0;
  if (txn.type === OpCode.createSession) sessions.set(header.clientId, txn.timeOut);
  else if (txn.type === OpCode.closeSession) sessions.delete(header.clientId);
}

/** Ephemerals of sessions that no longer exist die at the end of recovery, as in ZooKeeper's loadData. */
export function removeDeadSessionsEphemerals(tree: DataTree, sessions: ReadonlyMap<bigint, number>): void {
  const ignored: TreeChange[] = [];
  for (const owner of [...tree.ephemerals.keys()]) {
    if (sessions.has(owner)) continue;
    tree.applyTxn(
      { clientId: owner, cxid: 0, zxid: tree.lastProcessedZxid, time: 0, type: OpCode.closeSession },
      { type: OpCode.closeSession, paths2Delete: null },
      ignored,
    );
    ignored.length = 0;
  }
}

export async function recover(fs: FileSystem, o: RecoveryOptions): Promise<Recovered> {
  await fs.mkdirp(o.snapDir);
  await fs.mkdirp(o.logDir);
  for (const zxid of await finishInterruptedTruncation(fs, o.logDir, o.maxEntryBytes)) {
    o.warn('finished a txn log truncation a crash interrupted', { logDir: o.logDir, zxid: `0x${zxid.toString(16)}` });
  }
  await removeTempSnapshots(fs, o);
  const { snapshots, logs } = await listDataFiles(fs, o.snapDir, o.logDir);
  if (snapshots.length === 0) {
    if (logs.length > 0) {
      throw new CorruptDataError(`${o.logDir} has txn logs but ${o.snapDir} has no snapshot: refusing to start (as Apache ZooKeeper does)`);
    }
    // A fresh dataDir: ZooKeeper writes snapshot.0 first.
    const tree = new DataTree(o.extendedTypesEnabled);
    const name = await writeSnapshot(fs, o.snapDir, tree, new Map(), o.compression);
    return { tree, sessions: new Map(), snapshotName: name, replayedTxns: 0 };
  }
  let loaded: { tree: DataTree; sessions: Map<bigint, number>; name: string; zxid: number } | null = null;
  for (const snap of snapshots) {
    try {
      const parsed = parseSnapshot(await readSnapshotBytes(fs, o.snapDir, snap.name), o.extendedTypesEnabled);
      loaded = { ...parsed, name: snap.name, zxid: snap.zxid };
      break;
    } catch (e) {
      if (!(e instanceof SnapshotError) && !(e instanceof Error && /incorrect header|unexpected end/.test(e.message))) throw e;
      o.warn('skipping invalid snapshot; trying an older one', { file: path.join(o.snapDir, snap.name), reason: e.message });
    }
  }
  if (loaded === null) throw new CorruptDataError(`no valid snapshot in ${o.snapDir}`);
  const { tree, sessions } = loaded;
  tree.lastProcessedZxid = loaded.zxid;
  const toRead = logsFrom(logs, loaded.zxid);
  let replayed = 0;
  const ignored: TreeChange[] = [];
  for (let i = 0; i < toRead.length; i++) {
    const log = toRead[i];
    if (log === undefined) continue;
    const file = path.join(o.logDir, log.name);
    const parsed = parseLogFile(await fs.readFile(file), o.maxEntryBytes);
    for (const { header, txn } of parsed.records) {
      if (header.zxid <= tree.lastProcessedZxid) continue;
      replayTxn(tree, sessions, header, txn, ignored);
      replayed++;
    }
    if (parsed.damage === null) continue;
    const isLast = i === toRead.length - 1;
    if (isLast && parsed.damage.tornTail && parsed.damage.offset < LOG_HEADER_BYTES) {
      // The crash came before the file's header was durable: it holds nothing; remove it so
      // neither we nor Apache ZooKeeper trip over a headerless log later.
      o.warn('removing a txn log whose header never reached the disk', { file, reason: parsed.damage.reason });
      await fs.unlink(file);
      await fs.syncDir(o.logDir);
      continue;
    }
    if (isLast && parsed.damage.tornTail) {
      o.warn('truncating a torn txn log tail (crash during a write)', { file, offset: parsed.damage.offset, reason: parsed.damage.reason });
      const handle = await fs.openExisting(file);
      try {
        await handle.truncate(parsed.damage.offset);
        await handle.sync();
      } finally {
        await handle.close();
      }
      continue;
    }
    throw new CorruptDataError(
      `corrupt txn log ${file} at offset ${parsed.damage.offset}: ${parsed.damage.reason}; refusing to start (files left untouched)`,
    );
  }
  removeDeadSessionsEphemerals(tree, sessions);
  return { tree, sessions, snapshotName: loaded.name, replayedTxns: replayed };
}

/**
 * Snapshots a crash left half-written (they never got their name, so nothing reads them) take
 * up to a snapshot's size each: removed at start-up.
 */
async function removeTempSnapshots(fs: FileSystem, o: RecoveryOptions): Promise<void> {
  const temps = (await fs.list(o.snapDir)).filter(isTempSnapshotName);
  for (const name of temps) {
    o.warn('removing a snapshot left unfinished (by a crash or a failed write)', { file: path.join(o.snapDir, name) });
    await fs.unlink(path.join(o.snapDir, name));
  }
  if (temps.length > 0) await fs.syncDir(o.snapDir);
}
