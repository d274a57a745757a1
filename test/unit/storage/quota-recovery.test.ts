/**
 * Quota stats through a restart: a snapshot plus the txn log after it must give the stats
 * ZooKeeper 3.8.0 gives. ZooKeeper recounts every quota's stats from the tree when it loads a
 * snapshot, then replays the logged txns, which update them as live writes do.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OpCode } from '../../../src/codec/index.js';
import { encodeTxnRecord, logFileHeader, recover, writeSnapshot } from '../../../src/storage/index.js';
import { nodeFileSystem } from '../../../src/runtime/node-file-system.js';
import { quotaStatsPath, type DataTree } from '../../../src/tree/index.js';
import type { Prepared } from '../../../src/prep/index.js';
import { Fixture, create, del, multi, setData, S2, type MultiReq, type WriteReq } from '../prep/helpers.js';

const B = (s: string): Buffer => Buffer.from(s, 'latin1');
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A server's history: every txn applied to a live tree, and kept for its log. */
class History extends Fixture {
  readonly logged: Prepared[] = [];

  write(req: WriteReq | MultiReq, sessionId?: bigint): void {
    const p = this.prepare(req, sessionId);
    this.apply(p);
    this.logged.push(p);
  }

  setQuota(root: string, limits: string): void {
    let p = '/zookeeper/quota';
    for (const part of root.split('/').slice(1)) {
      p += `/${part}`;
      if (this.tree.get(p) === undefined) this.write(create(p, { data: null }));
    }
    this.write(create(`${p}/zookeeper_limits`, { data: B(limits) }));
    this.write(create(`${p}/zookeeper_stats`, { data: B('count=0,bytes=0') }));
  }

  closeSession(sessionId: bigint): void {
    const p = this.prep.closeSession(this.ctx(sessionId));
    this.apply(p);
    this.logged.push(p);
  }
}

/** A data dir with the snapshot `snap` (taken at `snapZxid`) and a log of the txns after it, recovered. */
async function restart(h: History, snap: Buffer | null, snapZxid: number): Promise<DataTree> {
  const dir = await mkdtemp(path.join(tmpdir(), 'zephyr-quota-'));
  dirs.push(dir);
  const snapDir = path.join(dir, 'version-2');
  await mkdir(snapDir);
  if (snap !== null) await writeFile(path.join(snapDir, `snapshot.${snapZxid.toString(16)}`), snap);
  const rest = h.logged.filter((p) => p.header.zxid > snapZxid);
  const first = rest[0]?.header.zxid ?? snapZxid + 1;
  const records = rest.map((p) => encodeTxnRecord(p.header, p.txn));
  await writeFile(path.join(snapDir, `log.${first.toString(16)}`), Buffer.concat([logFileHeader(), ...records, Buffer.alloc(512)]));
  const recovered = await recover(nodeFileSystem, {
    snapDir,
    logDir: snapDir,
    extendedTypesEnabled: false,
    maxEntryBytes: 2 * 1024 * 1024,
    compression: '',
    warn: () => undefined,
  });
  return recovered.tree;
}

/** Takes a snapshot of the live tree as the server writes it. */
async function snapshotOf(tree: DataTree): Promise<Buffer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'zephyr-quota-snap-'));
  dirs.push(dir);
  const name = await writeSnapshot(nodeFileSystem, dir, tree, new Map(), '');
  return nodeFileSystem.readFile(path.join(dir, name));
}

function statsNode(tree: DataTree, root: string): { data: string | null; stat: unknown } {
  const node = tree.get(quotaStatsPath(root));
  assert.ok(node !== undefined, `stats of ${root}`);
  return { data: node.dataLatin1, stat: tree.statOf(node) };
}

describe('quota stats after a restart', () => {
  test('snapshot mid-history + log replay gives the live stats (data and Stat)', async () => {
    const h = new History();
    h.write(create('/app', { data: B('root') }));
    h.write(create('/app/a', { data: B('12345') }));
    h.setQuota('/app', 'count=100,bytes=1000');
    h.setQuota('/other', 'count=1');
    h.write(create('/app/e', { data: B('eph'), flags: 1 }), S2);
    const snap = await snapshotOf(h.tree);
    const snapZxid = h.tree.lastProcessedZxid;
    h.write(create('/app/b', { data: B('bb') }));
    h.write(setData('/app/a', -1, B('1')));
    h.write(multi(create('/app/m', { data: B('mmm') }), del('/app/b')));
    h.closeSession(S2);
    h.write(create('/other', { data: B('o') }));
    h.write(create('/other/x', { data: B('xx') }));
    assert.equal(statsNode(h.tree, '/app').data, 'count=3,bytes=8');
    const recovered = await restart(h, snap, snapZxid);
    for (const root of ['/app', '/other']) assert.deepEqual(statsNode(recovered, root), statsNode(h.tree, root), root);
  });

  test('a snapshot load recounts: nested roots and stale stats come back counted, as ZooKeeper 3.8.0 does', async () => {
    const h = new History();
    h.write(create('/n', { data: B('1') }));
    h.write(create('/n/m', { data: B('22') }));
    h.setQuota('/n', 'count=100');
    h.setQuota('/n/m', 'count=100');
    h.write(create('/n/m/k', { data: B('333') }));
    h.write(del('/zookeeper/quota/n/m/zookeeper_limits'));
    h.write(create('/n/m/k2', { data: B('4444') }));
    // Live: /n counted only what it saw while /n/m was a root of its own.
    assert.equal(statsNode(h.tree, '/n').data, 'count=3,bytes=7');
    const snap = await snapshotOf(h.tree);
    const recovered = await restart(h, snap, h.tree.lastProcessedZxid);
    // Measured on ZooKeeper 3.8.0 with this history: /n recounted over its whole subtree; /n/m,
    // no longer a root, left as it was; the Stat of each untouched.
    assert.equal(statsNode(recovered, '/n').data, 'count=4,bytes=10');
    assert.equal(statsNode(recovered, '/n/m').data, 'count=2,bytes=5');
    assert.deepEqual(
      { ...(statsNode(recovered, '/n').stat as object), dataLength: 0 },
      { ...(statsNode(h.tree, '/n').stat as object), dataLength: 0 },
    );
    // And the roots are back: writes are counted again after the restart.
    recovered.applyTxn(
      { clientId: S2, cxid: 1, zxid: recovered.lastProcessedZxid + 1, time: 1, type: OpCode.create },
      { type: OpCode.create, path: '/n/z', data: B('z'), acl: [], ephemeral: false, parentCVersion: -1 },
      [],
    );
    assert.equal(statsNode(recovered, '/n').data, 'count=5,bytes=11');
  });

  test('replaying the whole log from an empty snapshot retraces the live stats exactly', async () => {
    const h = new History();
    const empty = await snapshotOf(h.tree);
    h.write(create('/n', { data: B('1') }));
    h.write(create('/n/m', { data: B('22') }));
    h.setQuota('/n', 'count=100');
    h.setQuota('/n/m', 'count=100');
    h.write(create('/n/m/k', { data: B('333') }));
    h.write(setData('/zookeeper/quota/n/zookeeper_stats', -1, B('count=40,bytes=2;note=1')));
    h.write(create('/n/x', { data: B('4444') }));
    const recovered = await restart(h, empty, 0);
    for (const root of ['/n', '/n/m']) assert.deepEqual(statsNode(recovered, root), statsNode(h.tree, root), root);
    assert.equal(statsNode(recovered, '/n').data, 'count=41,bytes=6=;note=1');
  });
});
