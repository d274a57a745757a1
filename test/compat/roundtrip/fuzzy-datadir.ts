/**
 * Writes a dataDir whose snapshot is fuzzy, for the round trip's `zephyr-fuzzy-snapshot` case:
 * ZephyrCoord's serializer walks a tree of a few thousand znodes (every kind, digest / ip /
 * world ACLs, ephemerals of three sessions) in slices of 1-30 nodes, and between slices writes
 * apply: creates (create and create2, under nodes written and not yet written), deletes and
 * re-creates, setData, setACL to lists new and old, multis, a session closed with its
 * ephemerals and one opened. The dataDir holds that snapshot and the txn log of every write.
 * Apache ZooKeeper and ZephyrCoord must each load it, replay the log over the snapshot, and
 * serve the same tree; first this checks, in-process, that ZephyrCoord's recovery (recover()
 * over the files) gives the tree the writes made, and that some records of the snapshot hold
 * txns after its zxid.
 *
 *   node dist/test/compat/roundtrip/fuzzy-datadir.js DATADIR [SEED]
 *
 * Prints one JSON line: the snapshot's name and zxid, the last zxid, znodes, sessions, and how
 * many records hold txns after the snapshot's zxid. Exit status 1 if the in-process check fails.
 */
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { SeededRandom } from '../../../src/base/index.js';
import { CreateMode, OpCode, Perms, type ACL } from '../../../src/codec/index.js';
import { DataTree, OPEN_ACL_UNSAFE, type TreeChange } from '../../../src/tree/index.js';
import { RequestPreparer, type Prepared } from '../../../src/prep/index.js';
import { encodeTxnRecord, logFileHeader, logFileName, recover, snapshotFileName, SnapshotSerializer } from '../../../src/storage/index.js';
import { nodeFileSystem } from '../../../src/runtime/node-file-system.js';
import { assertSameTree, snapshotRecords } from '../../support/snapshot-check.js';

type WriteRequest = Parameters<RequestPreparer['prepare']>[1];
type SubRequest = Exclude<WriteRequest, { op: typeof OpCode.multi }>;

const SESSION_TIMEOUT_MS = 30_000;
/** The txns' times are of 2023: TTL nodes must outlive the test (no reaper deletes them). */
const TTL_MS = 1_000_000_000_000;
const OPEN: ACL[] = [...OPEN_ACL_UNSAFE];
const ACLS: ACL[][] = [
  OPEN,
  [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }],
  [{ perms: Perms.ALL, id: { scheme: 'digest', id: 'alice:7ZTbEzhPmdqXgfK3HoGoBtVlI9Y=' } }],
  [
    { perms: Perms.READ | Perms.WRITE, id: { scheme: 'ip', id: '127.0.0.1' } },
    { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } },
  ],
];

class Writer {
  readonly tree = new DataTree(true);
  readonly prep = new RequestPreparer(this.tree, { extendedTypesEnabled: true, skipAcl: true, enforceQuota: false });
  readonly sessions = new Map<bigint, number>();
  readonly history: Prepared[] = [];
  private readonly changes: TreeChange[] = [];
  private cxid = 0;
  private fresh = 0;
  private nextSession = 0x0100000000000001n;

  constructor(readonly rng: SeededRandom) {}

  private ctx(sessionId: bigint): { sessionId: bigint; cxid: number; authIds: []; nowMs: number } {
    return { sessionId, cxid: ++this.cxid, authIds: [], nowMs: 1_700_000_000_000 + this.cxid * 7 };
  }

  private apply(p: Prepared): void {
    this.history.push(p);
    this.tree.applyTxn(p.header, p.txn, this.changes);
    this.changes.length = 0;
    this.prep.applied(p.header.zxid);
    if (p.txn.type === OpCode.closeSession) this.sessions.delete(p.header.clientId);
  }

  openSession(): bigint {
    const id = this.nextSession++;
    this.sessions.set(id, SESSION_TIMEOUT_MS);
    this.apply(this.prep.createSession(this.ctx(id), SESSION_TIMEOUT_MS));
    return id;
  }

  closeSession(id: bigint): void {
    this.apply(this.prep.closeSession(this.ctx(id)));
  }

  write(req: WriteRequest, session: bigint): void {
    this.apply(this.prep.prepare(this.ctx(session), req));
  }

  acl(): ACL[] {
    if (this.rng.chance(0.1)) return [{ perms: Perms.ALL, id: { scheme: 'digest', id: `fresh${this.fresh++}:x` } }];
    return this.rng.pick(ACLS);
  }

  /**
   * A user node picked at random. Never a container (one that had a child and lost it would
   * be reaped, by each server at its own moment), nor `/`: only the planted create2 below
   * touches the root's children.
   */
  node(): string {
    const paths = [...this.tree.paths()].filter((p) => p !== '/' && !p.startsWith('/zookeeper') && !this.tree.containers.has(p));
    return this.rng.pick(paths);
  }

  /** One random write as `session` (ephemerals are made by the live sessions). */
  randomWrite(sessions: readonly bigint[]): void {
    const session = this.rng.pick(sessions);
    // a multi holds no setACL (neither server reads one in a multi from a client)
    if (this.rng.chance(0.1)) this.write({ op: OpCode.multi, ops: [this.randomRequest(9), this.randomRequest(9)] }, session);
    else this.write(this.randomRequest(10), session);
  }

  /** A create, delete or setData; a setACL too when `kinds` is 10. */
  private randomRequest(kinds: 9 | 10): SubRequest {
    const r = this.rng.int(kinds);
    const target = this.node();
    const data = Buffer.from(`v${this.cxid}`.repeat(1 + this.rng.int(8)));
    if (r < 4) {
      const parent = this.node();
      const name = `${parent === '/' ? '' : parent}/w${this.rng.int(6)}`;
      const flags = this.rng.pick([CreateMode.PERSISTENT, CreateMode.PERSISTENT, CreateMode.EPHEMERAL, CreateMode.PERSISTENT_SEQUENTIAL]);
      return { op: this.rng.chance(0.5) ? OpCode.create : OpCode.create2, path: name, data, acl: this.acl(), flags };
    }
    if (r < 6) return { op: OpCode.delete, path: target, version: -1 };
    if (r < 9) return { op: OpCode.setData, path: target, data, version: -1 };
    return { op: OpCode.setACL, path: target, acl: this.acl(), version: -1 };
  }
}

async function main(): Promise<void> {
  const [dataDir, seedArg] = process.argv.slice(2);
  if (dataDir === undefined) throw new Error('usage: fuzzy-datadir DATADIR [SEED]');
  const w = new Writer(new SeededRandom(Number(seedArg ?? 1)));
  const s1 = w.openSession();
  const s2 = w.openSession();
  const s3 = w.openSession();
  // the tree to walk: 40 directories of 50 children of every kind
  for (let d = 0; d < 40; d++) {
    w.write({ op: OpCode.create, path: `/d${d}`, data: Buffer.from(`dir ${d}`), acl: OPEN, flags: 0 }, s1);
    for (let i = 0; i < 50; i++) {
      const p = `/d${d}/n${i}`;
      const data = Buffer.from(`${p} `.repeat(1 + (i % 5)));
      const kind = i % 10;
      if (kind === 7) w.write({ op: OpCode.create, path: p, data, acl: OPEN, flags: CreateMode.EPHEMERAL }, i % 20 === 7 ? s2 : s3);
      else if (kind === 8) w.write({ op: OpCode.createContainer, path: p, data, acl: OPEN, flags: CreateMode.CONTAINER }, s1);
      else if (kind === 9)
        w.write({ op: OpCode.createTTL, path: p, data, acl: OPEN, flags: CreateMode.PERSISTENT_WITH_TTL, ttl: TTL_MS }, s1);
      else w.write({ op: OpCode.create, path: p, data, acl: w.rng.pick(ACLS), flags: 0 }, s1);
    }
  }
  const chunks: Buffer[] = [];
  const serializer = new SnapshotSerializer(w.tree, new Map(w.sessions), {
    chunk: (bytes, release) => {
      chunks.push(Buffer.from(bytes));
      release();
    },
  });
  let live = [s1, s2, s3];
  let sessionsChanged = false;
  let planted = false;
  for (;;) {
    let left = 1 + w.rng.int(30);
    if (serializer.step(() => --left <= 0) === 'done') break;
    if (!planted) {
      // The root was written first and its children are walked to the end: a child created
      // now must be left out. Written, ZooKeeper's replay would meet it as NodeExists on a
      // create2 and leave the root's cversion and pzxid as the snapshot has them (it fixes a
      // parent's counters for `create` txns only): its tree would differ from ours.
      planted = true;
      w.write({ op: OpCode.create2, path: '/late', data: Buffer.from('late'), acl: OPEN, flags: 0 }, s1);
    }
    for (let k = w.rng.int(4); k > 0; k--) w.randomWrite(live);
    if (!sessionsChanged && serializer.nodes > 1000) {
      // in the middle of the walk: a session closes (its ephemerals go), another opens
      sessionsChanged = true;
      w.closeSession(s3);
      live = [s1, s2, w.openSession()];
    }
  }
  for (let k = 0; k < 20; k++) w.randomWrite(live);
  const snapshot = Buffer.concat(chunks);
  const dir = path.join(dataDir, 'version-2');
  await nodeFileSystem.mkdirp(dir);
  const name = snapshotFileName(serializer.zxid);
  await writeFile(path.join(dir, name), snapshot);
  await writeFile(
    path.join(dir, logFileName(1)),
    Buffer.concat([logFileHeader(), ...w.history.map((p) => encodeTxnRecord(p.header, p.txn))]),
  );
  const records = snapshotRecords(snapshot);
  const newer = records.filter((r) => r.czxid > serializer.zxid || r.pzxid > serializer.zxid).length;
  const recovered = await recover(nodeFileSystem, {
    snapDir: dir,
    logDir: dir,
    extendedTypesEnabled: true,
    maxEntryBytes: 2 * 1024 * 1024,
    compression: '',
    warn: (msg) => {
      throw new Error(`recovery warned: ${msg}`);
    },
  });
  if (recovered.snapshotName !== name) throw new Error(`recovery loaded ${recovered.snapshotName}, not ${name}`);
  assertSameTree(recovered.tree, w.tree, 'ZephyrCoord recovery');
  if ([...recovered.sessions].sort().join() !== [...w.sessions].sort().join()) throw new Error('ZephyrCoord recovery: sessions differ');
  process.stdout.write(
    `${JSON.stringify({
      snapshot: name,
      zxid: serializer.zxid,
      lastZxid: w.tree.lastProcessedZxid,
      znodes: w.tree.size,
      sessions: w.sessions.size,
      records: records.length,
      recordsNewerThanSnapshot: newer,
    })}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
