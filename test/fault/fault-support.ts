/**
 * Helpers shared by the fault-injection suites: temp dirs, an independent reader for
 * ZooKeeper's txn log layout (so the tests locate records without trusting the server's own
 * parser), byte-exact file fingerprints and the server's JSON log lines. The dataDir helpers
 * the durability suites use too are in test/support/data-dir.ts.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { versionDir } from '../support/data-dir.js';

/** A fresh temp directory (removed by the caller). */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `zephyr-fault-${prefix}-`));
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
