/**
 * Helpers shared by the fault-injection suites: a dataDir that outlives server processes, an
 * independent reader for ZooKeeper's txn log layout (so the tests locate records without
 * trusting the server's own parser), and byte-exact file fingerprints.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, type ACL, type Stat } from '../../src/codec/index.js';
import type { RawClient } from '../support/raw-client.js';
import { startServer, type ServerProcess, type StartOptions } from '../support/server-process.js';

/** A fresh temp directory (removed by the caller). */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `zephyr-fault-${prefix}-`));
}

/** Starts the real server on an existing dataDir (kept across restarts; startServer's own temp dir is not). */
export function startOn(
  dataDir: string,
  config: Record<string, string | null> = {},
  extra: Omit<StartOptions, 'config'> = {},
): Promise<ServerProcess> {
  return startServer({ ...extra, config: { dataDir, ...config } });
}

export function versionDir(dataDir: string): string {
  return path.join(dataDir, 'version-2');
}

export interface DataFile {
  name: string;
  zxid: number;
  path: string;
}

function filesOf(dir: string, prefix: 'log' | 'snapshot'): DataFile[] {
  if (!existsSync(dir)) return [];
  const re = new RegExp(`^${prefix}\\.([0-9a-f]+)$`);
  const out: DataFile[] = [];
  for (const name of readdirSync(dir)) {
    const m = re.exec(name);
    if (m?.[1] !== undefined) out.push({ name, zxid: parseInt(m[1], 16), path: path.join(dir, name) });
  }
  return out.sort((a, b) => a.zxid - b.zxid);
}

/** log.<hex> files, oldest first. */
export function logFiles(dataDir: string): DataFile[] {
  return filesOf(versionDir(dataDir), 'log');
}

/** snapshot.<hex> files, oldest first. */
export function snapshotFiles(dataDir: string): DataFile[] {
  return filesOf(versionDir(dataDir), 'snapshot');
}

/** sha256 of every file in dataDir/version-2, by name: "left byte-for-byte untouched" checks. */
export function fingerprint(dataDir: string): Map<string, string> {
  const dir = versionDir(dataDir);
  const out = new Map<string, string>();
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (!statSync(p).isFile()) continue;
    out.set(name, createHash('sha256').update(readFileSync(p)).digest('hex'));
  }
  return out;
}

export interface ScannedRecord {
  /** Offset of the record (its checksum field) in the file. */
  offset: number;
  /** Length of the entry (TxnHeader + txn). */
  len: number;
  /** Offset just past the record's trailing 'B'. */
  end: number;
  zxid: number;
  type: number;
}

export const LOG_HEADER_BYTES = 16;
const ZKLG = 0x5a4b4c47;

/**
 * Reads a txn log as the format defines it: FileHeader (16 bytes), then
 * {long checksum, int len, byte[len] entry, byte 'B'} until a zero length. Throws on anything
 * else: the tests only scan logs they expect to be intact.
 */
export function scanLog(buf: Buffer): ScannedRecord[] {
  if (buf.length < LOG_HEADER_BYTES || buf.readInt32BE(0) !== ZKLG) throw new Error('not a txn log');
  const out: ScannedRecord[] = [];
  let pos = LOG_HEADER_BYTES;
  while (pos + 12 <= buf.length) {
    const len = buf.readInt32BE(pos + 8);
    if (len === 0) break;
    if (len < 0 || pos + 12 + len + 1 > buf.length || buf[pos + 12 + len] !== 0x42) throw new Error(`malformed record at ${pos}`);
    // TxnHeader: long clientId, int cxid, long zxid, long time, int type.
    const zxid = Number(buf.readBigInt64BE(pos + 12 + 12));
    const type = buf.readInt32BE(pos + 12 + 28);
    out.push({ offset: pos, len, end: pos + 12 + len + 1, zxid, type });
    pos += 12 + len + 1;
  }
  return out;
}

/** The JSON log lines of a server's output (non-JSON lines are skipped). */
export function logLines(output: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of output.split('\n')) {
    try {
      const v: unknown = JSON.parse(line);
      if (typeof v === 'object' && v !== null) out.push(v as Record<string, unknown>);
    } catch {
      // not a log line
    }
  }
  return out;
}

/** One node as read: its data (as text), Stat, sorted children and, when asked for, its ACL. */
export interface NodeRead {
  stat: Stat;
  data: string;
  children: string[];
  acl: ACL[] | null;
}
export type TreeRead = Map<string, NodeRead>;

/** Nodes read at once: each costs up to three pipelined requests. */
const READ_BATCH = 400;

/**
 * Reads `root` and everything below it, level by level: every node's data, Stat and children
 * (so nothing under root escapes a check), and its ACL where `withAcl` says. A node removed
 * while the read runs (a reaped node, an expired session's ephemeral) is left out.
 */
export async function readTree(c: RawClient, root: string, withAcl: (path: string) => boolean): Promise<TreeRead> {
  const tree: TreeRead = new Map();
  let level = [root];
  while (level.length > 0) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += READ_BATCH) {
      const batch = level.slice(i, i + READ_BATCH);
      const reads = await Promise.all(batch.map((p) => readNode(c, p, withAcl(p))));
      batch.forEach((p, j) => {
        const r = reads[j];
        if (r === undefined || r === null) return;
        tree.set(p, r);
        for (const name of r.children) next.push(`${p === '/' ? '' : p}/${name}`);
      });
    }
    level = next;
  }
  return tree;
}

async function readNode(c: RawClient, path: string, withAcl: boolean): Promise<NodeRead | null> {
  const [d, ch, a] = await Promise.all([c.getData(path), c.getChildren(path), withAcl ? c.getACL(path) : null]);
  const errs = [d.err, ch.err, a?.err ?? 0];
  if (errs.includes(ErrorCode.NONODE)) return null;
  if (errs.some((e) => e !== 0) || d.stat === undefined) throw new Error(`reading ${path}: errors ${errs.join(', ')}`);
  return { stat: d.stat, data: d.data?.toString() ?? '', children: [...(ch.children ?? [])].sort(), acl: a?.acl ?? null };
}
