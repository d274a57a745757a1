/**
 * Checks on trees and snapshots shared by the storage tests: two trees alike in every stored
 * field, and a snapshot's node records read without building a tree.
 */
import assert from 'node:assert/strict';
import { JuteReader } from '../../src/codec/index.js';
import type { DataTree } from '../../src/tree/index.js';

/** Every node with its stored Stat, data (null apart from empty), children and ACL; the indexes of ephemerals, containers, TTL nodes. */
export function assertSameTree(actual: DataTree, expected: DataTree, context = ''): void {
  const at = context === '' ? '' : `${context}: `;
  assert.deepEqual([...actual.paths()].sort(), [...expected.paths()].sort(), `${at}paths`);
  for (const [path, e] of expected.entries()) {
    const a = actual.get(path);
    assert.ok(a !== undefined, path);
    assert.deepEqual(a.toStatPersisted(), e.toStatPersisted(), `${at}${path}: stat`);
    assert.deepEqual(a.childNames().sort(), e.childNames().sort(), `${at}${path}: children`);
    assert.deepEqual(a.acl, e.acl, `${at}${path}: acl`);
    assert.deepEqual(a.dataLatin1, e.dataLatin1, `${at}${path}: data`);
    assert.equal(a.dataLatin1 === null, e.dataLatin1 === null, `${at}${path}: null vs empty data`);
  }
  assert.deepEqual(
    [...actual.ephemerals].map(([s, paths]) => [s, [...paths].sort()]).sort(),
    [...expected.ephemerals].map(([s, paths]) => [s, [...paths].sort()]).sort(),
    `${at}ephemerals`,
  );
  assert.deepEqual([...actual.containers].sort(), [...expected.containers].sort(), `${at}containers`);
  assert.deepEqual([...actual.ttls].sort(), [...expected.ttls].sort(), `${at}ttls`);
}

/** One node record of a snapshot file, as stored. */
export interface SnapshotRecord {
  path: string;
  aclIndex: number;
  czxid: number;
  pzxid: number;
  cversion: number;
}

/** The node records of an uncompressed snapshot, in file order (no checksum check: parseSnapshot does that). */
export function snapshotRecords(buf: Buffer): SnapshotRecord[] {
  const r = new JuteReader(buf);
  r.readInt();
  r.readInt();
  r.readLong();
  const sessions = r.readInt();
  for (let i = 0; i < sessions; i++) {
    r.readLong();
    r.readInt();
  }
  const lists = r.readInt();
  for (let i = 0; i < lists; i++) {
    r.readLong();
    const entries = r.readInt();
    for (let j = 0; j < entries; j++) {
      r.readInt();
      r.readText();
      r.readText();
    }
  }
  const records: SnapshotRecord[] = [];
  for (let path = r.readText(); path !== '/'; path = r.readText()) {
    r.readLatin1Buffer();
    const aclIndex = r.readLong();
    const czxid = r.readLong();
    r.readLong(); // mzxid
    r.readLong(); // ctime
    r.readLong(); // mtime
    r.readInt(); // version
    const cversion = r.readInt();
    r.readInt(); // aversion
    r.readBigLong(); // ephemeralOwner
    const pzxid = r.readLong();
    records.push({ path: path === '' ? '/' : path, aclIndex, czxid, pzxid, cversion });
  }
  return records;
}

/**
 * What replay over a fuzzy snapshot relies on, ZooKeeper's replay included: every path once,
 * parents first, and each node's parent record written after the node's creation (its pzxid
 * at or above the node's czxid), so a create replayed onto a node already there needs no
 * fix of its parent (ZooKeeper fixes the parent only for `create` txns, not create2,
 * container or TTL ones).
 */
export function assertReplayableSnapshot(buf: Buffer, context: string): void {
  const seen = new Map<string, SnapshotRecord>();
  for (const rec of snapshotRecords(buf)) {
    assert.ok(!seen.has(rec.path), `${context}: ${rec.path} written twice`);
    if (rec.path !== '/') {
      const parentPath = rec.path.slice(0, rec.path.lastIndexOf('/')) || '/';
      const parent = seen.get(parentPath);
      assert.ok(parent !== undefined, `${context}: ${rec.path} written before its parent`);
      assert.ok(
        parent.pzxid >= rec.czxid,
        `${context}: ${rec.path} (czxid ${rec.czxid}) is newer than its parent's record (pzxid ${parent.pzxid})`,
      );
    }
    seen.set(rec.path, rec);
  }
}
