/**
 * RequestPreparer + DataTree against a plain Map-based model of ZooKeeper's rules.
 *
 * Random sequences of create (all modes), delete, setData, closeSession and multi, on paths
 * drawn from a small set (plus whatever exists), with versions that are right, wrong or -1.
 * Each op is prepared and applied; the error code prep produces must be the one the model
 * predicts, and after every step the tree must match the model (existence, data, version,
 * numChildren, stored and visible cversion, sequence suffixes, ephemeral owners, czxid /
 * mzxid / pzxid, zxids).
 * A second property prepares small batches before applying any of them (the pending overlay).
 * fast-check prints the seed and the shrunk counterexample on failure.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CreateMode, ErrorCode, OpCode, Perms, type ACL, type OpResult } from '../../src/codec/index.js';
import { DataTree, OPEN_ACL_UNSAFE, type TreeChange } from '../../src/tree/index.js';
import { RequestPreparer, type Prepared } from '../../src/prep/index.js';

const E = ErrorCode;
const OPEN: ACL[] = [...OPEN_ACL_UNSAFE];
const TTL_MS = 1000;
const SESSIONS = [0x0100000000000001n, 0x0100000000000002n] as const;
const CONTAINER_OWNER = -(2n ** 63n);
const TTL_OWNER = BigInt.asIntN(64, 0xff00000000000000n | BigInt(TTL_MS));

// ---------------------------------------------------------------- the model

interface MNode {
  data: Buffer;
  version: number;
  /** Child creations so far: the next sequential suffix. */
  counter: number;
  children: Set<string>;
  owner: bigint;
  perms: number;
  czxid: number;
  mzxid: number;
  pzxid: number;
}

type Model = Map<string, MNode>;

function initialModel(): Model {
  const node = (children: string[], perms: number = Perms.ALL): MNode => ({
    data: Buffer.alloc(0),
    version: 0,
    counter: 0,
    children: new Set(children),
    owner: 0n,
    perms,
    czxid: 0,
    mzxid: 0,
    pzxid: 0,
  });
  return new Map([
    ['/', node(['zookeeper'])],
    ['/zookeeper', node(['quota', 'config'])],
    ['/zookeeper/quota', node([])],
    ['/zookeeper/config', node([], Perms.READ)],
  ]);
}

function cloneModel(m: Model): Model {
  return new Map([...m].map(([p, n]) => [p, { ...n, children: new Set(n.children) }]));
}

const parentPath = (p: string): string => {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
};
const nameOf = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
/** Enough of PathUtils for the paths this test generates. */
const validPath = (p: string): boolean => p === '/' || (/^(\/[^/]+)+$/.test(p) && !p.split('/').some((s) => s === '.' || s === '..'));
const pad10 = (n: number): string => String(n).padStart(10, '0');
const SPECIAL = new Set(['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']);
const isEphemeralOwner = (o: bigint): boolean => o !== 0n && o !== CONTAINER_OWNER && o !== TTL_OWNER;

type Kind = 'persistent' | 'ephemeral' | 'seq' | 'ephSeq' | 'container' | 'ttl' | 'ttlSeq';

/** Each function returns the code ZooKeeper would report, mutating the model on success. */
function modelCreate(m: Model, zxid: number, path: string, kind: Kind, session: bigint, data: Buffer): { code: number; path?: string } {
  if (path.lastIndexOf('/') < 0) return { code: E.BADARGUMENTS };
  const parent = m.get(parentPath(path));
  if (parent === undefined) return { code: E.NONODE };
  if ((parent.perms & Perms.CREATE) === 0) return { code: E.NOAUTH };
  const seq = kind === 'seq' || kind === 'ephSeq' || kind === 'ttlSeq';
  const actual = seq ? path + pad10(parent.counter) : path;
  if (!validPath(actual)) return { code: E.BADARGUMENTS };
  if (m.has(actual)) return { code: E.NODEEXISTS };
  if (isEphemeralOwner(parent.owner)) return { code: E.NOCHILDRENFOREPHEMERALS };
  parent.counter++;
  parent.children.add(nameOf(actual));
  parent.pzxid = zxid;
  const owner =
    kind === 'ephemeral' || kind === 'ephSeq'
      ? session
      : kind === 'container'
        ? CONTAINER_OWNER
        : kind === 'ttl' || kind === 'ttlSeq'
          ? TTL_OWNER
          : 0n;
  m.set(actual, { data, version: 0, counter: 0, children: new Set(), owner, perms: Perms.ALL, czxid: zxid, mzxid: zxid, pzxid: zxid });
  return { code: 0, path: actual };
}

function modelDelete(m: Model, zxid: number, path: string, version: number): number {
  if (path.lastIndexOf('/') < 0 || SPECIAL.has(path)) return E.BADARGUMENTS;
  const parent = m.get(parentPath(path));
  const node = m.get(path);
  if (parent === undefined || node === undefined) return E.NONODE;
  if ((parent.perms & Perms.DELETE) === 0) return E.NOAUTH;
  if (version !== -1 && version !== node.version) return E.BADVERSION;
  if (node.children.size > 0) return E.NOTEMPTY;
  parent.children.delete(nameOf(path));
  parent.pzxid = zxid;
  m.delete(path);
  return 0;
}

function modelSetData(m: Model, zxid: number, path: string, version: number, data: Buffer): number {
  if (!validPath(path)) return E.BADARGUMENTS;
  const node = m.get(path);
  if (node === undefined) return E.NONODE;
  if ((node.perms & Perms.WRITE) === 0) return E.NOAUTH;
  if (version !== -1 && version !== node.version) return E.BADVERSION;
  node.version++;
  node.data = data;
  node.mzxid = zxid;
  return 0;
}

function modelCheck(m: Model, path: string, version: number): number {
  if (!validPath(path)) return E.BADARGUMENTS;
  const node = m.get(path);
  if (node === undefined) return E.NONODE;
  if ((node.perms & Perms.READ) === 0) return E.NOAUTH;
  if (version !== -1 && version !== node.version) return E.BADVERSION;
  return 0;
}

function modelClose(m: Model, zxid: number, session: bigint): void {
  for (const [p, n] of [...m]) {
    if (n.owner === session) {
      const parent = m.get(parentPath(p));
      parent?.children.delete(nameOf(p));
      if (parent !== undefined) parent.pzxid = zxid;
      m.delete(p);
    }
  }
}

// ---------------------------------------------------------------- generated ops

/** How to pick a version at run time from the current model. */
type VersionSel = { kind: 'any' } | { kind: 'right' } | { kind: 'wrong'; delta: number };
type SubOp =
  | { k: 'create'; pathIx: number; kind: Kind; session: 0 | 1; data: number }
  | { k: 'delete'; pathIx: number; v: VersionSel }
  | { k: 'setData'; pathIx: number; v: VersionSel; data: number }
  | { k: 'check'; pathIx: number; v: VersionSel };
type Op = SubOp | { k: 'close'; session: 0 | 1 } | { k: 'multi'; ops: SubOp[] };

const CREATE_PATHS = ['/a', '/b', '/a/x', '/a/y', '/b/x', '/a/x/z', '/a/', '/c/d', '/zookeeper/config/c', '/zookeeper/n', '/a/.', 'rel'];
const TARGET_PATHS = ['/a', '/b', '/a/x', '/a/x/z', '/nope', '/a/', '/', '/zookeeper', '/zookeeper/config', '/zookeeper/quota'];

const versionSel: fc.Arbitrary<VersionSel> = fc.oneof(
  fc.constant<VersionSel>({ kind: 'any' }),
  fc.constant<VersionSel>({ kind: 'right' }),
  fc.constant<VersionSel>({ kind: 'right' }),
  fc.integer({ min: 1, max: 3 }).map((delta): VersionSel => ({ kind: 'wrong', delta })),
);
const kind = fc.constantFrom<Kind>('persistent', 'persistent', 'ephemeral', 'seq', 'ephSeq', 'container', 'ttl', 'ttlSeq');
const session = fc.constantFrom<0 | 1>(0, 1);
const pathIx = fc.nat({ max: 1000 });
const dataIx = fc.nat({ max: 3 });

const subOp: fc.Arbitrary<SubOp> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant('create' as const), pathIx, kind, session, data: dataIx }), weight: 4 },
  { arbitrary: fc.record({ k: fc.constant('delete' as const), pathIx, v: versionSel }), weight: 3 },
  { arbitrary: fc.record({ k: fc.constant('setData' as const), pathIx, v: versionSel, data: dataIx }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant('check' as const), pathIx, v: versionSel }), weight: 1 },
);
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: subOp.filter((o) => o.k !== 'check'), weight: 10 },
  { arbitrary: fc.record({ k: fc.constant('close' as const), session }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant('multi' as const), ops: fc.array(subOp, { minLength: 1, maxLength: 4 }) }), weight: 2 },
);

const DATA = [Buffer.alloc(0), Buffer.from('x'), Buffer.from('hello'), Buffer.from([0, 255, 7])];

// ---------------------------------------------------------------- turning ops into requests

type WriteRequest = Parameters<RequestPreparer['prepare']>[1];
type SubRequest = Exclude<WriteRequest, { op: typeof OpCode.multi }>;

const FLAGS: Record<Kind, number> = {
  persistent: CreateMode.PERSISTENT,
  ephemeral: CreateMode.EPHEMERAL,
  seq: CreateMode.PERSISTENT_SEQUENTIAL,
  ephSeq: CreateMode.EPHEMERAL_SEQUENTIAL,
  container: CreateMode.CONTAINER,
  ttl: CreateMode.PERSISTENT_WITH_TTL,
  ttlSeq: CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL,
};

/** User nodes that exist now, in a stable order. */
const userNodes = (m: Model): string[] => [...m.keys()].filter((p) => !p.startsWith('/zookeeper') && p !== '/').sort();

/** Half the time an existing user node, otherwise one of `list`. */
function pickTarget(list: readonly string[], m: Model, ix: number): string {
  const existing = userNodes(m);
  if (existing.length > 0 && ix % 2 === 0) return existing[(ix >> 1) % existing.length]!;
  return list[(ix >> 1) % list.length]!;
}

/** Half the time a child "k" of an existing user node (up to depth 3), otherwise one of the fixed create paths. */
function pickCreate(m: Model, ix: number): string {
  const parents = userNodes(m).filter((p) => p.split('/').length <= 3);
  if (parents.length > 0 && ix % 2 === 0) return `${parents[(ix >> 1) % parents.length]!}/k`;
  return CREATE_PATHS[(ix >> 1) % CREATE_PATHS.length]!;
}

function resolveVersion(m: Model, path: string, v: VersionSel): number {
  const current = m.get(path)?.version ?? 0;
  return v.kind === 'any' ? -1 : v.kind === 'right' ? current : current + v.delta;
}

/**
 * Builds the request for `o` from the model state, applies it to the model, and returns
 * the request with the predicted code (and created path).
 */
function step(m: Model, zxid: number, o: SubOp, sessionId: bigint): { req: SubRequest; code: number; path?: string } {
  switch (o.k) {
    case 'create': {
      const path = pickCreate(m, o.pathIx);
      const data = DATA[o.data]!;
      const flags = FLAGS[o.kind];
      const req: SubRequest =
        o.kind === 'ttl' || o.kind === 'ttlSeq'
          ? { op: OpCode.createTTL, path, data, acl: OPEN, flags, ttl: TTL_MS }
          : o.kind === 'container'
            ? { op: OpCode.createContainer, path, data, acl: OPEN, flags }
            : { op: OpCode.create, path, data, acl: OPEN, flags };
      return { req, ...modelCreate(m, zxid, path, o.kind, sessionId, data) };
    }
    case 'delete': {
      const path = pickTarget(TARGET_PATHS, m, o.pathIx);
      const version = resolveVersion(m, path, o.v);
      return { req: { op: OpCode.delete, path, version }, code: modelDelete(m, zxid, path, version) };
    }
    case 'setData': {
      const path = pickTarget(TARGET_PATHS, m, o.pathIx);
      const version = resolveVersion(m, path, o.v);
      const data = DATA[o.data]!;
      return { req: { op: OpCode.setData, path, data, version }, code: modelSetData(m, zxid, path, version, data) };
    }
    case 'check': {
      const path = pickTarget(TARGET_PATHS, m, o.pathIx);
      const version = resolveVersion(m, path, o.v);
      return { req: { op: OpCode.check, path, version }, code: modelCheck(m, path, version) };
    }
  }
}

// ---------------------------------------------------------------- the system under test

class System {
  readonly tree = new DataTree(true);
  readonly prep = new RequestPreparer(this.tree, { extendedTypesEnabled: true, skipAcl: false, enforceQuota: false });
  readonly changes: TreeChange[] = [];
  model: Model = initialModel();
  zxid = 0;
  cxid = 0;

  private ctx(sessionId: bigint): { sessionId: bigint; cxid: number; authIds: []; nowMs: number } {
    return { sessionId, cxid: ++this.cxid, authIds: [], nowMs: 1_000_000 + this.cxid };
  }

  /** Prepares `o`, checking the code prep reports; returns what to apply and what to expect. */
  prepare(o: Op): { p: Prepared; expect: (res: { err: number; path?: string; multiResults?: OpResult[] }) => void } {
    const expectedZxid = ++this.zxid;
    const label = JSON.stringify(o);
    if (o.k === 'close') {
      const sessionId = SESSIONS[o.session];
      const p = this.prep.closeSession(this.ctx(sessionId));
      assert.equal(p.header.zxid, expectedZxid);
      modelClose(this.model, expectedZxid, sessionId);
      return { p, expect: (res) => assert.equal(res.err, 0, label) };
    }
    if (o.k === 'multi') {
      const sessionId = SESSIONS[0];
      const scratch = cloneModel(this.model);
      const reqs: SubRequest[] = [];
      const codes: number[] = [];
      const paths: (string | undefined)[] = [];
      let failed = -1;
      for (const sub of o.ops) {
        const s = step(scratch, expectedZxid, sub, sessionId);
        reqs.push(s.req);
        if (failed >= 0) {
          codes.push(E.RUNTIMEINCONSISTENCY);
          continue;
        }
        codes.push(s.code);
        paths.push(s.path);
        if (s.code !== 0) failed = codes.length - 1;
      }
      const expectedCodes = failed < 0 ? codes : codes.map((c, i) => (i < failed ? 0 : c));
      if (failed < 0) this.model = scratch;
      const p = this.prep.prepare(this.ctx(sessionId), { op: OpCode.multi, ops: reqs });
      assert.equal(p.header.zxid, expectedZxid);
      assert.equal(p.header.type, OpCode.multi);
      assert.ok(p.txn.type === OpCode.multi, label);
      assert.deepEqual(
        p.txn.txns.map((t) => (t.type === OpCode.error ? t.err : 0)),
        expectedCodes,
        `multi codes for ${label}`,
      );
      return {
        p,
        expect: (res) => {
          assert.equal(res.err, 0);
          const results = res.multiResults ?? [];
          assert.deepEqual(
            results.map((r) => (r.type === OpCode.error ? r.err : 0)),
            expectedCodes,
            `multi results for ${label}`,
          );
          if (failed < 0) {
            results.forEach((r, i) => {
              if (r.type === OpCode.create || r.type === OpCode.create2) assert.equal(r.path, paths[i], label);
            });
          }
        },
      };
    }
    const sessionId = o.k === 'create' ? SESSIONS[o.session] : SESSIONS[0];
    const s = step(this.model, expectedZxid, o, sessionId);
    const p = this.prep.prepare(this.ctx(sessionId), s.req);
    assert.equal(p.header.zxid, expectedZxid);
    const got = p.txn.type === OpCode.error ? p.txn.err : 0;
    assert.equal(got, s.code, `code for ${label} (request ${JSON.stringify(s.req.path)})`);
    return {
      p,
      expect: (res) => {
        assert.equal(res.err, s.code, `apply result for ${label}`);
        if (s.path !== undefined) assert.equal(res.path, s.path, label);
      },
    };
  }

  apply(p: Prepared): { err: number; path?: string; multiResults?: OpResult[] } {
    const res = this.tree.applyTxn(p.header, p.txn, this.changes);
    this.prep.applied(p.header.zxid);
    return res;
  }

  /** The tree must equal the model. */
  compare(context: string): void {
    const { tree, model } = this;
    assert.equal(tree.size, model.size, `${context}: node count; tree has ${[...tree.paths()].sort().join(' ')}`);
    for (const [path, m] of model) {
      const node = tree.get(path);
      assert.ok(node !== undefined, `${context}: ${path} exists`);
      const s = tree.statOf(node);
      assert.deepEqual(node.data() ?? Buffer.alloc(0), m.data, `${context}: data of ${path}`);
      assert.equal(s.version, m.version, `${context}: version of ${path}`);
      assert.equal(s.numChildren, m.children.size, `${context}: numChildren of ${path}`);
      assert.deepEqual(node.childNames().sort(), [...m.children].sort(), `${context}: children of ${path}`);
      assert.equal(node.cversion, m.counter, `${context}: stored cversion of ${path}`);
      assert.equal(s.cversion, 2 * m.counter - m.children.size, `${context}: cversion of ${path}`);
      assert.equal(node.ephemeralOwner, m.owner, `${context}: owner of ${path}`);
      assert.deepEqual([s.czxid, s.mzxid, s.pzxid], [m.czxid, m.mzxid, m.pzxid], `${context}: czxid/mzxid/pzxid of ${path}`);
      assert.equal(s.ephemeralOwner, isEphemeralOwner(m.owner) ? m.owner : 0n, `${context}: visible owner of ${path}`);
    }
    for (const sid of SESSIONS) {
      const expected = [...model]
        .filter(([, n]) => n.owner === sid)
        .map(([p]) => p)
        .sort();
      assert.deepEqual([...tree.ephemeralsOf(sid)].sort(), expected, `${context}: ephemerals of ${sid}`);
    }
    const containers = [...model]
      .filter(([, n]) => n.owner === CONTAINER_OWNER)
      .map(([p]) => p)
      .sort();
    assert.deepEqual([...tree.containers].sort(), containers, `${context}: containers`);
    const ttls = [...model]
      .filter(([, n]) => n.owner === TTL_OWNER)
      .map(([p]) => p)
      .sort();
    assert.deepEqual([...tree.ttls].sort(), ttls, `${context}: ttl nodes`);
    assert.equal(tree.lastProcessedZxid, this.zxid, `${context}: lastProcessedZxid`);
  }
}

describe('DataTree + RequestPreparer vs a Map model (property)', () => {
  test('ops prepared and applied one at a time', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
        const sys = new System();
        ops.forEach((o, i) => {
          const { p, expect } = sys.prepare(o);
          expect(sys.apply(p));
          sys.compare(`after op ${i} ${JSON.stringify(o)}`);
        });
      }),
      { numRuns: 250 },
    );
  });

  test('small batches prepared before any is applied (pending overlay)', () => {
    // A closeSession is a batch of its own. Two reasons: (1) ZooKeeper's prep does not
    // decrement the parent's pending childCount for the ephemerals a close deletes, so a delete
    // of that parent prepared before the close is applied gets NOTEMPTY (ZephyrCoord matches
    // this, the model does not model it); (2) a close prepared after a pending delete +
    // re-create of one of its ephemerals deletes the other session's node (a bug, reported
    // separately with a failing test).
    const batch = fc.oneof(
      {
        arbitrary: fc.array(
          op.filter((o) => o.k !== 'close'),
          { minLength: 1, maxLength: 5 },
        ),
        weight: 6,
      },
      { arbitrary: fc.record({ k: fc.constant('close' as const), session }).map((c): Op[] => [c]), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(batch, { minLength: 1, maxLength: 10 }), (batches) => {
        const sys = new System();
        batches.forEach((b, i) => {
          const prepared = b.map((o) => sys.prepare(o));
          for (const { p, expect } of prepared) expect(sys.apply(p));
          sys.compare(`after batch ${i} ${JSON.stringify(b)}`);
        });
      }),
      { numRuns: 200 },
    );
  });
});
