/**
 * A write load against the real server with a model of what must survive when the server dies
 * under it (kill -9, or a power cut), shared by the crash and power-cut suites; the syscall
 * suite uses it as its load and reads its acknowledgements.
 *
 * Several sessions pipeline creates, sequential creates, setData (half of them
 * version-conditional), deletes, creates of existing nodes (which fail: error txns, which take
 * a zxid too) and multis (a fresh parent plus 2-4 children, so a half-applied multi shows);
 * a churn loop opens short sessions that create an ephemeral node and mostly close again
 * (createSession and closeSession are txns). Every reply is recorded with its zxid. After the
 * server is restarted on the same dataDir, `verify` checks:
 *
 *   - every acknowledged write is there with the acknowledged data and version; a newer value
 *     is accepted only if it was sent (and then it is the one at that version, with a later
 *     mzxid), and the tree is a prefix of what each session sent;
 *   - an acknowledged delete stays done; no node that was missing after a restart ever shows
 *     up later; no multi is half-applied;
 *   - sequential suffixes never repeat and only grow;
 *   - a session whose creation was acknowledged (and whose close was not sent) re-attaches and
 *     still owns its acknowledged ephemeral; one whose close was acknowledged is expired and
 *     its ephemeral gone;
 *   - the server answers, and the zxid of a new write is above every zxid acknowledged or seen.
 *
 * The interleaving of real processes is not replayable, so a seed fixes the plan (op mix,
 * timing), not every byte.
 */
import assert from 'node:assert/strict';
import type { SeededRandom } from '../../src/base/index.js';
import { CreateMode, ErrorCode, OpCode, type Request, type Stat } from '../../src/codec/index.js';
import { OPEN_ACL_UNSAFE, RawClient } from './raw-client.js';

export interface Target {
  host: string;
  port: number;
}

/** What the load was told by the server: a session created, or a reply to a write (any error code). */
export type Ack =
  { kind: 'session'; sessionId: bigint } | { kind: 'reply'; sessionId: bigint; xid: number; zxid: number; err: number; what: string };

export interface WriteLoadOptions {
  /** Named in every failure message (e.g. the seed). */
  label: string;
  /** The subtree the load works in (created by `setup`). */
  root?: string;
  sessions?: number;
  /** Requests in flight per session. */
  window?: number;
  onAck?: (ack: Ack) => void;
}

/** A plain node: history[v] is the data it holds at version v (history[0] from the create). */
interface NodeModel {
  path: string;
  history: string[];
  /** Highest version known durable (acknowledged, read back, or seen after a restart); -1 = none. */
  durableVersion: number;
  /** mzxid of durableVersion, when known exactly. */
  durableMzxid: number | null;
  czxid: number | null;
  /** A delete of the node went out ('sent') or was acknowledged (its zxid). */
  deletion: null | 'sent' | number;
}

interface MultiModel {
  parent: string;
  children: Map<string, string>;
  parentData: string;
  /** zxid of the acknowledged (or seen) multi; null while neither. */
  zxid: number | null;
}

interface SeqModel {
  token: string;
  /** Name (with suffix) once acknowledged or found. */
  name: string | null;
  zxid: number | null;
}

/** A short session of the churn loop, recorded once its creation was acknowledged. */
interface ChurnSession {
  id: bigint;
  passwd: Buffer;
  ephemeral: string;
  ephemeralAcked: boolean;
  close: null | 'sent' | 'acked';
}

export class Violations {
  readonly list: string[] = [];
  constructor(private readonly label: string) {}
  add(msg: string): void {
    if (this.list.length < 50) this.list.push(msg);
  }
  assertNone(when: string): void {
    assert.deepEqual(this.list, [], `${when} (${this.label})`);
  }
}

/** One load run: its clients and what it saw, checked when it stops. */
class Cycle {
  stopping = false;
  readonly seqAcks: Array<{ zxid: number; suffix: number }> = [];
  /** Per session: (xid, zxid, what) of every acknowledged write, to check zxids grow in request order. */
  readonly acks: Array<Array<{ xid: number; zxid: number; what: string }>>;
  readonly churned: ChurnSession[] = [];
  loops: Array<Promise<void>> = [];

  constructor(
    readonly n: number,
    readonly clients: RawClient[],
    readonly owned: string[][],
    /** Every zxid acknowledged in this load must be above this (the highest known before it). */
    readonly zxidFloor: number,
  ) {
    this.acks = clients.map(() => []);
  }
}

export interface RunningLoad {
  /** Stops sending, waits for what is in flight (the server may be gone), closes the clients and checks reply order. */
  stop(): Promise<void>;
}

export class AckedWrites {
  readonly violations: Violations;
  readonly stats = {
    acked: 0,
    sent: 0,
    lostUnacked: 0,
    creates: 0,
    sets: 0,
    deletes: 0,
    failing: 0,
    multis: 0,
    seq: 0,
    sessions: 0,
    closes: 0,
    /**
     * Items checked after restarts, summed over restarts: nodes with an acknowledged (or seen)
     * version, acknowledged deletes, multis and sequential creates, and churn sessions.
     */
    checked: 0,
  };
  private readonly root: string;
  private readonly sessionCount: number;
  private readonly window: number;
  private readonly nodes = new Map<string, NodeModel>();
  private readonly multis: MultiModel[] = [];
  private readonly seqs: SeqModel[] = [];
  /** Paths found missing after a restart (never acknowledged, or deleted): must never appear later. */
  private readonly gone = new Set<string>();
  private readonly knownSuffixes = new Set<number>();
  private maxKnownSuffix = -1;
  /** Highest zxid acknowledged or seen in the tree so far. */
  private maxZxid = 0;
  private cycle: Cycle | null = null;

  constructor(
    private readonly rng: SeededRandom,
    private readonly o: WriteLoadOptions,
  ) {
    this.violations = new Violations(o.label);
    this.root = o.root ?? '/crash';
    this.sessionCount = o.sessions ?? 3;
    this.window = o.window ?? 24;
  }

  get nodeCount(): number {
    return this.nodes.size;
  }

  /** Creates the load's subtree. */
  async setup(target: Target): Promise<void> {
    const c = await RawClient.connect({ host: target.host, port: target.port, timeoutMs: 4000 });
    for (const p of this.basePaths()) assert.equal((await c.create(p, Buffer.alloc(0))).err, 0, p);
    c.destroy();
  }

  private basePaths(): string[] {
    return ['', '/n', '/m', '/seq', '/e'].map((p) => this.root + p);
  }

  // ------------------------------------------------------------------ the load

  async start(target: Target, n: number): Promise<RunningLoad> {
    const clients = await Promise.all(
      Array.from({ length: this.sessionCount }, () => RawClient.connect({ host: target.host, port: target.port, timeoutMs: 2000 })),
    );
    for (const c of clients) this.tell({ kind: 'session', sessionId: c.sessionId });
    const owned: string[][] = clients.map(() => []);
    let i = 0;
    for (const node of this.nodes.values()) if (node.deletion === null) owned[i++ % clients.length]?.push(node.path);
    const cycle = new Cycle(n, clients, owned, this.maxZxid);
    this.cycle = cycle;
    cycle.loops = [...clients.map((c, k) => this.loop(cycle, k, c)), this.churn(cycle, target)];
    return { stop: () => this.stop(cycle) };
  }

  private tell(ack: Ack): void {
    this.o.onAck?.(ack);
  }

  private async stop(cycle: Cycle): Promise<void> {
    cycle.stopping = true;
    await Promise.all(cycle.loops);
    for (const c of cycle.clients) c.destroy();
    const v = this.violations;
    for (const list of cycle.acks) {
      list.sort((a, b) => a.xid - b.xid);
      for (let j = 1; j < list.length; j++) {
        const [p, q] = [list[j - 1], list[j]];
        if (p !== undefined && q !== undefined && q.zxid <= p.zxid)
          v.add(`cycle ${cycle.n}: ${q.what} (xid ${q.xid}) got zxid ${q.zxid}, not above ${p.zxid} of ${p.what} (xid ${p.xid})`);
      }
    }
    // Sequential suffixes acknowledged in this cycle only grow with the zxid, above all known ones.
    cycle.seqAcks.sort((a, b) => a.zxid - b.zxid);
    let prev = this.maxKnownSuffix;
    for (const a of cycle.seqAcks) {
      if (a.suffix <= prev) v.add(`cycle ${cycle.n}: sequential suffix ${a.suffix} (zxid ${a.zxid}) not above ${prev}`);
      prev = Math.max(prev, a.suffix);
    }
    for (const node of this.nodes.values()) if (node.durableMzxid !== null) this.maxZxid = Math.max(this.maxZxid, node.durableMzxid);
    for (const m of this.multis) if (m.zxid !== null) this.maxZxid = Math.max(this.maxZxid, m.zxid);
    for (const s of this.seqs) if (s.zxid !== null) this.maxZxid = Math.max(this.maxZxid, s.zxid);
    v.assertNone(`violations during cycle ${cycle.n}`);
  }

  private async loop(cycle: Cycle, k: number, c: RawClient): Promise<void> {
    const inflight = new Set<Promise<void>>();
    let seq = 0;
    while (!cycle.stopping && !c.isClosed) {
      if (inflight.size >= this.window) {
        await Promise.race(inflight);
        continue;
      }
      const p: Promise<void> = this.sendOne(cycle, k, c, seq++).finally(() => inflight.delete(p));
      inflight.add(p);
      if (seq % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.allSettled(inflight);
  }

  private acked(cycle: Cycle, k: number, c: RawClient, what: string, r: { xid: number; zxid: number; err: number }): void {
    this.tell({ kind: 'reply', sessionId: c.sessionId, xid: r.xid, zxid: r.zxid, err: r.err, what });
    if (r.err === 0) this.stats.acked++;
    // failed writes are error txns: they take a zxid in order too
    if (r.zxid <= cycle.zxidFloor)
      this.violations.add(`cycle ${cycle.n}: ${what} acknowledged with zxid ${r.zxid}, not above ${cycle.zxidFloor} (before the restart)`);
    cycle.acks[k]?.push({ xid: r.xid, zxid: r.zxid, what });
  }

  private sendOne(cycle: Cycle, k: number, c: RawClient, seq: number): Promise<void> {
    this.stats.sent++;
    const mine = cycle.owned[k] ?? [];
    // The op mix; new nodes get rarer as the tree grows, so each verification stays quick.
    const weights = {
      create: this.nodes.size < 600 ? 0.3 : 0.05,
      set: 0.3,
      del: this.nodes.size > 100 ? 0.06 : 0.01,
      dup: 0.03,
      multi: this.multis.length < 300 ? 0.2 : 0.01,
      seq: this.seqs.length < 400 ? 0.15 : 0.02,
      read: 0.05,
    };
    let roll = this.rng.next() * Object.values(weights).reduce((a, b) => a + b, 0);
    const is = (w: number): boolean => {
      roll -= w;
      return roll < 0;
    };
    if (is(weights.create) || mine.length === 0) return this.sendCreate(cycle, k, c, seq);
    if (is(weights.set)) return this.sendSet(cycle, k, c, seq);
    if (is(weights.del)) return this.sendDelete(cycle, k, c);
    if (is(weights.dup)) return this.sendCreateExisting(cycle, k, c);
    if (is(weights.multi)) return this.sendMulti(cycle, k, c, seq);
    if (is(weights.seq)) return this.sendSequential(cycle, k, c, seq);
    return this.sendRead(cycle, k, c);
  }

  private sendCreate(cycle: Cycle, k: number, c: RawClient, seq: number): Promise<void> {
    const path = `${this.root}/n/c${cycle.n}s${k}-${seq}`;
    const data = `d${cycle.n}.${k}.${seq}.0-${'z'.repeat(this.rng.int(64))}`;
    const model: NodeModel = { path, history: [data], durableVersion: -1, durableMzxid: null, czxid: null, deletion: null };
    this.nodes.set(path, model);
    cycle.owned[k]?.push(path);
    this.stats.creates++;
    return c.create(path, Buffer.from(data)).then(
      (r) => {
        this.acked(cycle, k, c, `create ${path}`, r);
        if (r.err !== 0) {
          this.violations.add(`cycle ${cycle.n}: create ${path} failed with ${r.err}`);
          return;
        }
        model.czxid = r.zxid;
        if (model.durableVersion < 0) {
          model.durableVersion = 0;
          model.durableMzxid = r.zxid;
        }
      },
      () => undefined,
    );
  }

  private sendSet(cycle: Cycle, k: number, c: RawClient, seq: number): Promise<void> {
    const path = this.rng.pick(cycle.owned[k] ?? []);
    const model = this.nodes.get(path);
    if (model === undefined) return Promise.resolve();
    const version = model.history.length; // the version this setData makes, if all before it apply
    const data = `d${cycle.n}.${k}.${seq}.${version}`;
    model.history.push(data);
    const conditional = this.rng.chance(0.5);
    this.stats.sets++;
    return c.setData(path, Buffer.from(data), conditional ? version - 1 : -1).then(
      (r) => {
        this.acked(cycle, k, c, `setData ${path}`, r);
        if (r.err !== 0) {
          this.violations.add(`cycle ${cycle.n}: setData ${path} (v${version - 1}) failed with ${r.err}`);
          return;
        }
        if (r.stat?.version !== version)
          this.violations.add(`cycle ${cycle.n}: setData ${path} made version ${r.stat?.version}, expected ${version}`);
        if (r.stat?.mzxid !== r.zxid)
          this.violations.add(`cycle ${cycle.n}: setData ${path}: stat.mzxid ${r.stat?.mzxid} != reply zxid ${r.zxid}`);
        if (version > model.durableVersion) {
          model.durableVersion = version;
          model.durableMzxid = r.zxid;
        }
      },
      () => undefined,
    );
  }

  /** Deletes one of the session's nodes; it leaves the session's list at once, so nothing later touches it. */
  private sendDelete(cycle: Cycle, k: number, c: RawClient): Promise<void> {
    const mine = cycle.owned[k] ?? [];
    const path = mine.splice(this.rng.int(mine.length), 1)[0];
    const model = path === undefined ? undefined : this.nodes.get(path);
    if (model === undefined) return Promise.resolve();
    model.deletion = 'sent';
    this.stats.deletes++;
    return c.delete(model.path).then(
      (r) => {
        this.acked(cycle, k, c, `delete ${model.path}`, r);
        if (r.err !== 0) this.violations.add(`cycle ${cycle.n}: delete ${model.path} failed with ${r.err}`);
        else model.deletion = r.zxid;
      },
      () => undefined,
    );
  }

  /** A create that must fail with NODEEXISTS: an error txn, logged and answered like any write. */
  private sendCreateExisting(cycle: Cycle, k: number, c: RawClient): Promise<void> {
    const path = this.rng.pick(cycle.owned[k] ?? []);
    this.stats.failing++;
    return c.create(path, Buffer.from('again')).then(
      (r) => {
        this.acked(cycle, k, c, `create of existing ${path}`, r);
        if (r.err !== ErrorCode.NODEEXISTS) this.violations.add(`cycle ${cycle.n}: create of existing ${path} answered ${r.err}`);
      },
      () => undefined,
    );
  }

  private sendMulti(cycle: Cycle, k: number, c: RawClient, seq: number): Promise<void> {
    const parent = `${this.root}/m/c${cycle.n}s${k}-${seq}`;
    const children = new Map<string, string>();
    const count = 2 + this.rng.int(3);
    for (let j = 0; j < count; j++) children.set(`k${j}`, `${parent}#${j}`);
    const m: MultiModel = { parent, children, parentData: `p${seq}`, zxid: null };
    this.multis.push(m);
    this.stats.multis++;
    const ops: Request[] = [
      { op: OpCode.create, path: parent, data: Buffer.from(m.parentData), acl: OPEN_ACL_UNSAFE, flags: 0 },
      ...[...children].map(([name, data]): Request => ({
        op: OpCode.create,
        path: `${parent}/${name}`,
        data: Buffer.from(data),
        acl: OPEN_ACL_UNSAFE,
        flags: 0,
      })),
    ];
    return c.multi(ops).then(
      (r) => {
        this.acked(cycle, k, c, `multi ${parent}`, r);
        if (r.err !== 0) {
          this.violations.add(`cycle ${cycle.n}: multi under ${parent} failed with ${r.err}`);
          return;
        }
        if (r.results?.length !== ops.length || r.results.some((x) => x.type !== OpCode.create))
          this.violations.add(`cycle ${cycle.n}: multi ${parent}: unexpected results ${JSON.stringify(r.results)}`);
        m.zxid = r.zxid;
      },
      () => undefined,
    );
  }

  private sendSequential(cycle: Cycle, k: number, c: RawClient, seq: number): Promise<void> {
    const s: SeqModel = { token: `t${cycle.n}.${k}.${seq}`, name: null, zxid: null };
    this.seqs.push(s);
    this.stats.seq++;
    return c.create(`${this.root}/seq/s-`, Buffer.from(s.token), { flags: CreateMode.PERSISTENT_SEQUENTIAL }).then(
      (r) => {
        this.acked(cycle, k, c, `sequential create (${s.token})`, r);
        if (r.err !== 0 || r.path === undefined) {
          this.violations.add(`cycle ${cycle.n}: sequential create (${s.token}) failed with ${r.err}`);
          return;
        }
        s.name = r.path.slice(`${this.root}/seq/`.length);
        s.zxid = r.zxid;
        const suffix = suffixOf(s.name);
        if (this.knownSuffixes.has(suffix)) this.violations.add(`cycle ${cycle.n}: sequence suffix ${suffix} reused (${r.path})`);
        cycle.seqAcks.push({ zxid: r.zxid, suffix });
      },
      () => undefined,
    );
  }

  /** A read: what a session reads was made durable before it was applied, so it must survive. */
  private sendRead(cycle: Cycle, k: number, c: RawClient): Promise<void> {
    const path = this.rng.pick(cycle.owned[k] ?? []);
    const model = this.nodes.get(path);
    if (model === undefined) return Promise.resolve();
    const expectAtLeast = model.durableVersion;
    return c.getData(path).then(
      (r) => {
        if (r.err === ErrorCode.NONODE && expectAtLeast < 0) return; // its create is still in flight
        if (r.err !== 0 || r.stat === undefined) {
          this.violations.add(`cycle ${cycle.n}: getData ${path} failed with ${r.err}`);
          return;
        }
        const ver = r.stat.version;
        if (model.history[ver] !== r.data?.toString())
          this.violations.add(`cycle ${cycle.n}: getData ${path} read "${r.data?.toString()}" at v${ver}`);
        if (ver > model.durableVersion) {
          model.durableVersion = ver;
          model.durableMzxid = r.stat.mzxid;
        }
      },
      () => undefined,
    );
  }

  /** Short sessions, one after another: create, an ephemeral node, and mostly an explicit close. */
  private async churn(cycle: Cycle, target: Target): Promise<void> {
    for (let i = 0; !cycle.stopping; i++) {
      let c: RawClient;
      try {
        c = await RawClient.connect({ host: target.host, port: target.port, timeoutMs: 10000, connectTimeoutMs: 3000 });
      } catch {
        return; // the server is gone
      }
      this.stats.sessions++;
      this.tell({ kind: 'session', sessionId: c.sessionId });
      const s: ChurnSession = {
        id: c.sessionId,
        passwd: c.passwd,
        ephemeral: `${this.root}/e/c${cycle.n}-${i}`,
        ephemeralAcked: false,
        close: null,
      };
      cycle.churned.push(s);
      const done = await this.churnSession(cycle, c, s).catch(() => true);
      c.destroy();
      if (done) return;
      await new Promise((resolve) => setTimeout(resolve, this.rng.int(20)));
    }
  }

  /** Resolves true once the server is gone. */
  private async churnSession(cycle: Cycle, c: RawClient, s: ChurnSession): Promise<boolean> {
    const r = await c.create(s.ephemeral, Buffer.from(s.ephemeral), { flags: CreateMode.EPHEMERAL });
    this.tell({ kind: 'reply', sessionId: s.id, xid: r.xid, zxid: r.zxid, err: r.err, what: `create ephemeral ${s.ephemeral}` });
    if (r.err !== 0) this.violations.add(`cycle ${cycle.n}: create ephemeral ${s.ephemeral} failed with ${r.err}`);
    else s.ephemeralAcked = true;
    // A quarter of the sessions are left open: they must survive a restart.
    if (cycle.stopping || this.rng.chance(0.25)) return false;
    s.close = 'sent';
    this.stats.closes++;
    const closed = await c.close(2000);
    this.tell({ kind: 'reply', sessionId: s.id, xid: closed.xid, zxid: closed.zxid, err: closed.err, what: 'closeSession' });
    if (closed.err !== 0) this.violations.add(`cycle ${cycle.n}: closeSession of 0x${s.id.toString(16)} failed with ${closed.err}`);
    else s.close = 'acked';
    return false;
  }

  // ------------------------------------------------------------------ verification

  /** After a restart: everything acknowledged is there, nothing half-done shows, zxids grow. */
  async verify(target: Target, n: number): Promise<void> {
    const c = await RawClient.connect({ host: target.host, port: target.port, timeoutMs: 4000 });
    try {
      const base = await Promise.all(this.basePaths().map((p) => c.exists(p)));
      base.forEach((r, j) => {
        if (r.err !== 0)
          this.violations.add(`cycle ${n}: LOST ${this.basePaths()[j]}, created (and acknowledged) before the load: ${r.err}`);
      });
      await this.verifyNodes(c, n);
      await this.verifyMultis(c, n);
      await this.verifySequential(c, n);
      await this.verifySessions(target, c, n);
      // The server answers writes, with a zxid above everything acknowledged or seen before.
      const probe = await c.create(`${this.root}/probe${n}`, Buffer.from('p'));
      assert.equal(probe.err, 0, `a write after restart ${n}`);
      if (probe.zxid <= this.maxZxid)
        this.violations.add(`cycle ${n}: ZXID REUSED: new write got zxid ${probe.zxid}, not above ${this.maxZxid}`);
      this.maxZxid = probe.zxid;
    } finally {
      c.destroy();
    }
    this.violations.assertNone(`after restart ${n}`);
  }

  private seen(zxid: number): void {
    this.maxZxid = Math.max(this.maxZxid, zxid);
  }

  private async verifyNodes(c: RawClient, n: number): Promise<void> {
    const v = this.violations;
    const nodeList = [...this.nodes.values()];
    const reads = await Promise.all(nodeList.map((node) => c.getData(node.path)));
    nodeList.forEach((node, j) => {
      const r = reads[j];
      if (r === undefined) return;
      if (node.durableVersion >= 0 || typeof node.deletion === 'number') this.stats.checked++;
      if (r.err === ErrorCode.NONODE) {
        if (node.deletion === null && node.durableVersion >= 0)
          v.add(`cycle ${n}: LOST ${node.path} (create acknowledged or seen, v${node.durableVersion})`);
        else if (node.deletion === null) this.stats.lostUnacked++;
        this.nodes.delete(node.path);
        this.gone.add(node.path);
        return;
      }
      if (r.err !== 0 || r.stat === undefined) {
        v.add(`cycle ${n}: getData ${node.path}: ${r.err}`);
        return;
      }
      if (typeof node.deletion === 'number')
        v.add(`cycle ${n}: LOST DELETE: ${node.path} exists, its delete was acknowledged at zxid ${node.deletion}`);
      node.deletion = null; // a delete that was sent but did not survive
      this.checkNode(node, r.stat, r.data?.toString() ?? '', n);
    });
    const goneReads = await Promise.all([...this.gone].map((p) => c.exists(p)));
    [...this.gone].forEach((p, j) => {
      if (goneReads[j]?.err !== ErrorCode.NONODE) v.add(`cycle ${n}: ${p} was missing after an earlier restart but exists now`);
    });
  }

  private checkNode(node: NodeModel, st: Stat, data: string, n: number): void {
    const v = this.violations;
    if (st.version < node.durableVersion)
      v.add(
        `cycle ${n}: LOST write to ${node.path}: version ${st.version} ("${data}"), acknowledged v${node.durableVersion} ("${node.history[node.durableVersion]}")`,
      );
    else if (st.version >= node.history.length)
      v.add(`cycle ${n}: ${node.path} at version ${st.version}, only ${node.history.length - 1} sets sent`);
    else if (node.history[st.version] !== data)
      v.add(`cycle ${n}: ${node.path} v${st.version} holds "${data}", sent "${node.history[st.version]}"`);
    if (st.version === node.durableVersion && node.durableMzxid !== null && st.mzxid !== node.durableMzxid)
      v.add(`cycle ${n}: ${node.path} v${st.version} mzxid ${st.mzxid}, acknowledged with zxid ${node.durableMzxid}`);
    if (st.version > node.durableVersion && node.durableMzxid !== null && st.mzxid <= node.durableMzxid)
      v.add(`cycle ${n}: ${node.path}: newer value with mzxid ${st.mzxid} not above the acknowledged ${node.durableMzxid}`);
    if (node.czxid !== null && st.czxid !== node.czxid) v.add(`cycle ${n}: ${node.path} czxid ${st.czxid}, created at ${node.czxid}`);
    // What is there now is durable: later restarts must keep at least this.
    node.czxid = st.czxid;
    node.durableVersion = Math.min(st.version, node.history.length - 1);
    node.durableMzxid = st.mzxid;
    node.history.length = node.durableVersion + 1; // unacknowledged later sets are gone for good
    this.seen(st.mzxid);
  }

  private async verifyMultis(c: RawClient, n: number): Promise<void> {
    const v = this.violations;
    const multis = this.multis;
    const multiReads = await Promise.all(multis.map((m) => c.getChildren2(m.parent)));
    const childReads = await Promise.all(
      multis.map((m, j) =>
        multiReads[j]?.err === 0
          ? Promise.all([...m.children.keys()].map((name) => c.getData(`${m.parent}/${name}`)))
          : Promise.resolve([]),
      ),
    );
    for (let j = multis.length - 1; j >= 0; j--) {
      const m = multis[j];
      const r = multiReads[j];
      if (m === undefined || r === undefined) continue;
      if (m.zxid !== null) this.stats.checked++;
      if (r.err === ErrorCode.NONODE) {
        if (m.zxid !== null) v.add(`cycle ${n}: LOST multi ${m.parent} (acknowledged at zxid ${m.zxid})`);
        else this.stats.lostUnacked++;
        this.gone.add(m.parent);
        multis.splice(j, 1);
        continue;
      }
      const kids = [...(r.children ?? [])].sort();
      const want = [...m.children.keys()].sort();
      if (JSON.stringify(kids) !== JSON.stringify(want))
        v.add(`cycle ${n}: HALF-APPLIED multi ${m.parent}: children ${kids.join(',')} != ${want.join(',')}`);
      const czxid = r.stat?.czxid ?? -1;
      if (m.zxid !== null && czxid !== m.zxid) v.add(`cycle ${n}: multi ${m.parent} czxid ${czxid}, acknowledged at ${m.zxid}`);
      [...m.children].forEach(([name, data], x) => {
        const cr = childReads[j]?.[x];
        if (cr?.err !== 0) return; // reported above as a children mismatch
        if (cr.data?.toString() !== data) v.add(`cycle ${n}: multi child ${m.parent}/${name} holds "${cr.data?.toString()}"`);
        if (cr.stat?.czxid !== czxid) v.add(`cycle ${n}: multi child ${m.parent}/${name} czxid ${cr.stat?.czxid} != parent's ${czxid}`);
      });
      m.zxid = czxid;
      this.seen(czxid);
    }
  }

  private async verifySequential(c: RawClient, n: number): Promise<void> {
    const v = this.violations;
    const seqKids = await c.getChildren(`${this.root}/seq`);
    if (seqKids.err !== 0) return; // reported as a lost base node
    const names = seqKids.children ?? [];
    const seqData = await Promise.all(names.map((name) => c.getData(`${this.root}/seq/${name}`)));
    const byToken = new Map(this.seqs.map((s) => [s.token, s]));
    const tokensSeen = new Set<string>();
    names.forEach((name, j) => {
      const r = seqData[j];
      const token = r?.data?.toString() ?? '';
      const s = byToken.get(token);
      if (s === undefined) {
        v.add(`cycle ${n}: ${this.root}/seq/${name} holds "${token}", never sent`);
        return;
      }
      if (tokensSeen.has(token)) v.add(`cycle ${n}: sequential create ${token} applied twice`);
      tokensSeen.add(token);
      if (s.name !== null && s.name !== name) v.add(`cycle ${n}: sequential create ${token} acknowledged as ${s.name}, found as ${name}`);
      if (s.zxid !== null && r?.stat?.czxid !== s.zxid)
        v.add(`cycle ${n}: ${this.root}/seq/${name} czxid ${r?.stat?.czxid}, acknowledged at ${s.zxid}`);
      s.name = name;
      s.zxid = r?.stat?.czxid ?? null;
      const suffix = suffixOf(name);
      this.knownSuffixes.add(suffix);
      this.maxKnownSuffix = Math.max(this.maxKnownSuffix, suffix);
      this.seen(r?.stat?.czxid ?? 0);
    });
    for (let j = this.seqs.length - 1; j >= 0; j--) {
      const s = this.seqs[j];
      if (s === undefined || tokensSeen.has(s.token)) continue;
      if (s.zxid !== null) this.stats.checked++;
      if (s.name !== null) v.add(`cycle ${n}: LOST sequential node ${s.name} (${s.token}), acknowledged at zxid ${s.zxid}`);
      else this.stats.lostUnacked++;
      this.seqs.splice(j, 1);
    }
    this.stats.checked += tokensSeen.size;
  }

  /** The last load's churn sessions: created ones live on, closed ones stay closed. */
  private async verifySessions(target: Target, c: RawClient, n: number): Promise<void> {
    const v = this.violations;
    const churned = this.cycle?.churned ?? [];
    const reads = await Promise.all(churned.map((s) => c.exists(s.ephemeral)));
    for (const [j, s] of churned.entries()) {
      const r = reads[j];
      const id = `0x${s.id.toString(16)}`;
      this.stats.checked++;
      if (s.close === 'acked' && r?.err !== ErrorCode.NONODE)
        v.add(`cycle ${n}: ${s.ephemeral} exists, its session ${id} closed (acknowledged)`);
      if (s.close === null && s.ephemeralAcked && r?.stat?.ephemeralOwner !== s.id)
        v.add(`cycle ${n}: LOST ephemeral ${s.ephemeral} of live session ${id} (err ${r?.err}, owner ${r?.stat?.ephemeralOwner})`);
      if (r?.err === ErrorCode.NONODE) this.gone.add(s.ephemeral);
      if (s.close === 'sent') continue; // either outcome is right
      const again = await RawClient.connect({ host: target.host, port: target.port, timeoutMs: 10000, sessionId: s.id, passwd: s.passwd });
      if (s.close === 'acked' && !again.expired) v.add(`cycle ${n}: session ${id} re-attached after its close was acknowledged`);
      if (s.close === null && again.expired)
        v.add(`cycle ${n}: LOST session ${id}: its creation was acknowledged, it is expired after the restart`);
      again.destroy();
    }
    if (this.cycle !== null) this.cycle.churned.length = 0;
  }

  /** One line of figures for the test's diagnostics. */
  summary(): string {
    const s = this.stats;
    return (
      `${s.sent} requests, ${s.acked} writes acknowledged (${s.creates} creates, ${s.sets} setData, ${s.deletes} deletes, ` +
      `${s.failing} failing creates, ${s.multis} multis, ${s.seq} sequential; ${s.sessions} sessions opened, ${s.closes} closed); ` +
      `${s.checked} checks of acknowledged state after restarts; ${s.lostUnacked} unacknowledged writes did not survive; ` +
      `${this.nodes.size} nodes, ${this.multis.length} multis, ${this.seqs.length} sequential nodes at the end`
    );
  }
}

function suffixOf(name: string): number {
  return Number(name.slice(-10));
}
