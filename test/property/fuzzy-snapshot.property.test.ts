/**
 * Snapshot + log replay = live tree, with snapshots taken DURING a stream of writes.
 *
 * Random writes (creates of every kind under random parents, deletes, setData, setACL with
 * lists new and old, multis, sessions opened and closed with ephemerals, quotas set, removed
 * and written under) are prepared by RequestPreparer and applied to a DataTree, pipelined as
 * the server pipelines them (prepared ahead, applied in order, the session table changed as
 * ZkServer changes it). Between any two applies a snapshot may begin, and a running one goes on
 * for a random number of nodes (a slice), so txns apply in the middle of its walk.
 *
 * Every finished snapshot must be replayable (every path once, parents first, no node newer
 * than its parent's record: what ZooKeeper's replay relies on too), and parsing it, replaying
 * every txn after its zxid and dropping dead sessions' ephemerals, as recovery does, must give
 * the live tree at the end exactly: every stored Stat field, data, children, ACLs, ephemerals,
 * containers, TTL nodes, quota stats, lastProcessedZxid, and the sessions with their timeouts.
 * fast-check prints the seed and the shrunk counterexample on failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CreateMode, OpCode, Perms, type ACL } from '../../src/codec/index.js';
import { DataTree, OPEN_ACL_UNSAFE, QUOTA_PATH, type TreeChange } from '../../src/tree/index.js';
import { RequestPreparer, type Prepared } from '../../src/prep/index.js';
import { parseSnapshot, removeDeadSessionsEphemerals, replayTxn, SnapshotSerializer } from '../../src/storage/index.js';
import { assertReplayableSnapshot, assertSameTree, snapshotRecords } from '../support/snapshot-check.js';

const FIRST_SESSION = 0x0100000000000001n;
const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'] as const;
const QUOTA_ROOTS = ['/a', '/b'] as const;
const FIXED_ACLS: ACL[][] = [
  [...OPEN_ACL_UNSAFE],
  [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }],
  [{ perms: Perms.ALL, id: { scheme: 'digest', id: 'alice:x' } }],
  [
    { perms: Perms.READ | Perms.WRITE, id: { scheme: 'ip', id: '10.0.0.1' } },
    { perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } },
  ],
];
const DATA = ['', 'x', 'hello', 'y'.repeat(300)];

type Kind = 'persistent' | 'ephemeral' | 'seq' | 'container' | 'ttl';
const FLAGS: Record<Kind, number> = {
  persistent: CreateMode.PERSISTENT,
  ephemeral: CreateMode.EPHEMERAL,
  seq: CreateMode.PERSISTENT_SEQUENTIAL,
  container: CreateMode.CONTAINER,
  ttl: CreateMode.PERSISTENT_WITH_TTL,
};

type WriteRequest = Parameters<RequestPreparer['prepare']>[1];
type SubRequest = Exclude<WriteRequest, { op: typeof OpCode.multi }>;

/** A write, its targets chosen from the live tree when it is prepared. */
type SubOp =
  | { k: 'create'; parent: number; name: number; kind: Kind; data: number; acl: number }
  | { k: 'delete'; target: number }
  | { k: 'setData'; target: number; data: number }
  | { k: 'setAcl'; target: number; acl: number };
type Op =
  | SubOp
  | { k: 'multi'; ops: SubOp[] }
  | { k: 'openSession' }
  | { k: 'closeSession'; session: number }
  | { k: 'setQuota'; root: number }
  | { k: 'delQuota'; root: number };
/** prepare an op (queued), apply the oldest prepared one, or a slice of snapshot (beginning one if none runs). */
type Event = { k: 'prepare'; op: Op; session: number } | { k: 'apply' } | { k: 'snap'; nodes: number };

const ix = fc.nat({ max: 1000 });
const createOp: fc.Arbitrary<SubOp> = fc.record({
  k: fc.constant('create' as const),
  parent: ix,
  name: ix,
  kind: fc.constantFrom<Kind>('persistent', 'persistent', 'persistent', 'ephemeral', 'seq', 'container', 'ttl'),
  data: fc.nat({ max: DATA.length - 1 }),
  acl: fc.nat({ max: FIXED_ACLS.length }), // FIXED_ACLS.length: a list never used before
});
const subOp: fc.Arbitrary<SubOp> = fc.oneof(
  { arbitrary: createOp, weight: 8 },
  { arbitrary: fc.record({ k: fc.constant('delete' as const), target: ix }), weight: 3 },
  { arbitrary: fc.record({ k: fc.constant('setData' as const), target: ix, data: fc.nat({ max: DATA.length - 1 }) }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant('setAcl' as const), target: ix, acl: fc.nat({ max: FIXED_ACLS.length }) }), weight: 1 },
);
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: subOp, weight: 12 },
  // no setACL in a multi: neither server reads one there from a client
  {
    arbitrary: fc.record({
      k: fc.constant('multi' as const),
      ops: fc.array(
        subOp.filter((o) => o.k !== 'setAcl'),
        { minLength: 1, maxLength: 3 },
      ),
    }),
    weight: 2,
  },
  { arbitrary: fc.constant({ k: 'openSession' as const }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant('closeSession' as const), session: ix }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant('setQuota' as const), root: fc.nat({ max: 1 }) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant('delQuota' as const), root: fc.nat({ max: 1 }) }), weight: 1 },
);
const event: fc.Arbitrary<Event> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant('prepare' as const), op, session: ix }), weight: 6 },
  { arbitrary: fc.constant({ k: 'apply' as const }), weight: 6 },
  { arbitrary: fc.record({ k: fc.constant('snap' as const), nodes: fc.integer({ min: 1, max: 4 }) }), weight: 5 },
);

/** A finished snapshot: its bytes and its zxid. */
interface Taken {
  bytes: Buffer;
  zxid: number;
  /** Txns applied while it was walked. */
  fuzzy: boolean;
}

class Server {
  readonly tree = new DataTree(true);
  readonly prep = new RequestPreparer(this.tree, { extendedTypesEnabled: true, skipAcl: true, enforceQuota: false });
  /** ZkServer's session table: a session joins when its createSession is prepared, leaves when its closeSession applies. */
  readonly sessions = new Map<bigint, number>();
  readonly history: Prepared[] = [];
  readonly queue: Prepared[] = [];
  readonly taken: Taken[] = [];
  private running: { serializer: SnapshotSerializer; chunks: Buffer[] } | null = null;
  private readonly changes: TreeChange[] = [];
  private cxid = 0;
  private nextSession = FIRST_SESSION;
  private freshAcls = 0;

  constructor() {
    this.openSession();
    this.openSession();
    this.drain();
  }

  private ctx(sessionId: bigint): { sessionId: bigint; cxid: number; authIds: []; nowMs: number } {
    return { sessionId, cxid: ++this.cxid, authIds: [], nowMs: 1_700_000_000_000 + this.cxid };
  }

  private enqueue(p: Prepared): void {
    this.history.push(p);
    this.queue.push(p);
  }

  openSession(): void {
    const id = this.nextSession++;
    const timeout = 4000 + Number(id % 7n) * 1000;
    this.enqueue(this.prep.createSession(this.ctx(id), timeout));
    this.sessions.set(id, timeout);
  }

  /** User nodes, in a stable order. */
  private userNodes(): string[] {
    return [...this.tree.paths()].filter((p) => p !== '/' && !p.startsWith('/zookeeper')).sort();
  }

  private pick(list: readonly string[], i: number, fallback: string): string {
    return list.length === 0 ? fallback : (list[i % list.length] ?? fallback);
  }

  private acl(i: number): ACL[] {
    if (i < FIXED_ACLS.length) return FIXED_ACLS[i] ?? [];
    // a list no node had before: interned during a snapshot's walk, it is not in its table
    return [{ perms: Perms.ALL, id: { scheme: 'digest', id: `fresh${this.freshAcls++}:x` } }];
  }

  private request(o: SubOp): SubRequest {
    const nodes = this.userNodes();
    switch (o.k) {
      case 'create': {
        const parents = ['/', ...nodes.filter((p) => p.split('/').length <= 4)];
        const parent = this.pick(parents, o.parent, '/');
        const path = `${parent === '/' ? '' : parent}/${NAMES[o.name % NAMES.length] ?? 'a'}`;
        const data = Buffer.from(DATA[o.data] ?? '');
        const acl = this.acl(o.acl);
        const flags = FLAGS[o.kind];
        if (o.kind === 'ttl') return { op: OpCode.createTTL, path, data, acl, flags, ttl: 60_000 };
        if (o.kind === 'container') return { op: OpCode.createContainer, path, data, acl, flags };
        // both kinds: ZooKeeper's replay fixes a parent's counters for `create` txns only
        return o.parent % 2 === 0 ? { op: OpCode.create, path, data, acl, flags } : { op: OpCode.create2, path, data, acl, flags };
      }
      case 'delete':
        return { op: OpCode.delete, path: this.pick(nodes, o.target, '/a'), version: -1 };
      case 'setData':
        return { op: OpCode.setData, path: this.pick(nodes, o.target, '/a'), data: Buffer.from(DATA[o.data] ?? ''), version: -1 };
      case 'setAcl':
        return { op: OpCode.setACL, path: this.pick(nodes, o.target, '/a'), acl: this.acl(o.acl), version: -1 };
    }
  }

  prepare(o: Op, sessionIx: number): void {
    const live = [...this.sessions.keys()];
    const session = live[sessionIx % live.length] ?? FIRST_SESSION;
    switch (o.k) {
      case 'openSession':
        this.openSession();
        return;
      case 'closeSession':
        // its own batch, as the server's pipeline in practice (see tree-model.property.test.ts)
        this.drain();
        if (session !== FIRST_SESSION) {
          this.enqueue(this.prep.closeSession(this.ctx(session)));
          this.drain();
        }
        return;
      case 'setQuota':
        this.setQuota(QUOTA_ROOTS[o.root] ?? '/a');
        return;
      case 'delQuota':
        this.delQuota(QUOTA_ROOTS[o.root] ?? '/a');
        return;
      case 'multi':
        this.enqueue(this.prep.prepare(this.ctx(session), { op: OpCode.multi, ops: o.ops.map((s) => this.request(s)) }));
        return;
      default:
        this.enqueue(this.prep.prepare(this.ctx(session), this.request(o)));
    }
  }

  /**
   * As zkCli's setquota: the quota path, then the limits node, then the stats node (a quota
   * whose stats node existed before its limits node, or whose stats were overwritten by a
   * client, drifts from its subtree in ZooKeeper and here alike: a loaded snapshot recounts it).
   */
  private setQuota(root: string): void {
    this.drain();
    const base = `${QUOTA_PATH}${root}`;
    if (this.tree.get(`${base}/zookeeper_limits`) !== undefined || this.tree.get(`${base}/zookeeper_stats`) !== undefined) return;
    const create = (path: string, data: string): void =>
      this.enqueue(
        this.prep.prepare(this.ctx(FIRST_SESSION), {
          op: OpCode.create,
          path,
          data: Buffer.from(data),
          acl: [...OPEN_ACL_UNSAFE],
          flags: 0,
        }),
      );
    if (this.tree.get(base) === undefined) create(base, '');
    create(`${base}/zookeeper_limits`, 'count=50,bytes=-1');
    create(`${base}/zookeeper_stats`, 'count=0,bytes=0');
  }

  private delQuota(root: string): void {
    this.drain();
    for (const name of ['zookeeper_stats', 'zookeeper_limits']) {
      const path = `${QUOTA_PATH}${root}/${name}`;
      if (this.tree.get(path) !== undefined)
        this.enqueue(this.prep.prepare(this.ctx(FIRST_SESSION), { op: OpCode.delete, path, version: -1 }));
    }
  }

  /** Applies the oldest prepared txn, as ZkServer.applyCommitted does. */
  applyNext(): void {
    const p = this.queue.shift();
    if (p === undefined) return;
    this.tree.applyTxn(p.header, p.txn, this.changes);
    this.changes.length = 0;
    this.prep.applied(p.header.zxid);
    if (p.txn.type === OpCode.closeSession) this.sessions.delete(p.header.clientId);
  }

  drain(): void {
    while (this.queue.length > 0) this.applyNext();
  }

  /** Begins a snapshot (between two applies), or walks the running one `nodes` further. */
  snap(nodes: number): void {
    if (this.running === null) {
      const chunks: Buffer[] = [];
      const serializer = new SnapshotSerializer(this.tree, new Map(this.sessions), {
        chunk: (bytes, release) => {
          chunks.push(Buffer.from(bytes));
          release();
        },
      });
      this.running = { serializer, chunks };
      return;
    }
    let left = nodes;
    if (this.running.serializer.step(() => --left <= 0) === 'done') this.finishSnapshot();
  }

  finishSnapshot(): void {
    const running = this.running;
    if (running === null) return;
    assert.equal(
      running.serializer.step(() => false),
      'done',
    );
    const zxid = running.serializer.zxid;
    this.taken.push({ bytes: Buffer.concat(running.chunks), zxid, fuzzy: this.tree.lastProcessedZxid > zxid });
    this.running = null;
  }

  /** Recovery from one snapshot and the whole log, as recover() does it. */
  recoverFrom(t: Taken): { tree: DataTree; sessions: Map<bigint, number> } {
    const { tree, sessions } = parseSnapshot(t.bytes, true);
    tree.lastProcessedZxid = t.zxid;
    for (const { header, txn } of this.history) if (header.zxid > t.zxid) replayTxn(tree, sessions, header, txn, this.changes);
    removeDeadSessionsEphemerals(tree, sessions);
    return { tree, sessions };
  }
}

/** Whether some record of the snapshot shows a txn after its zxid (the snapshot is visibly fuzzy). */
function showsLaterTxns(t: Taken): boolean {
  return snapshotRecords(t.bytes).some((r) => r.czxid > t.zxid || r.pzxid > t.zxid);
}

test('fuzzy snapshots taken at random moments of a stream of writes: snapshot + replay = the live tree', () => {
  const totals = { snapshots: 0, fuzzy: 0, showingLaterTxns: 0 };
  fc.assert(
    fc.property(
      fc.array(createOp, { minLength: 10, maxLength: 60 }),
      fc.array(event, { minLength: 20, maxLength: 150 }),
      (prelude, events) => {
        const server = new Server();
        // a tree to walk first
        for (const c of prelude) server.prepare(c, 0);
        server.drain();
        for (const e of events) {
          if (e.k === 'prepare') server.prepare(e.op, e.session);
          else if (e.k === 'apply') server.applyNext();
          else server.snap(e.nodes);
        }
        server.drain();
        server.finishSnapshot();
        server.taken.forEach((t, i) => {
          const context = `snapshot ${i} (zxid ${t.zxid} of ${server.tree.lastProcessedZxid})`;
          assertReplayableSnapshot(t.bytes, context);
          const recovered = server.recoverFrom(t);
          assertSameTree(recovered.tree, server.tree, context);
          assert.equal(recovered.tree.lastProcessedZxid, server.tree.lastProcessedZxid, `${context}: lastProcessedZxid`);
          assert.deepEqual([...recovered.sessions].sort(), [...server.sessions].sort(), `${context}: sessions`);
          totals.snapshots++;
          if (t.fuzzy) totals.fuzzy++;
          if (showsLaterTxns(t)) totals.showingLaterTxns++;
        });
      },
    ),
    { numRuns: 300 },
  );
  // The property is about fuzzy snapshots: most must have had txns applied during their walk,
  // and many must hold some of them.
  assert.ok(totals.fuzzy > totals.snapshots / 2, JSON.stringify(totals));
  assert.ok(totals.showingLaterTxns > totals.snapshots / 10, JSON.stringify(totals));
});
