/**
 * The write load of the crash model (crash-model.ts), shared by the kill -9, power-cut and
 * syscall suites through crash-run.ts: one SessionWorker per session pipelines writes until
 * the fault. Every op is chosen so that its outcome is known when it is sent: a session only
 * touches the nodes it was given for the cycle (nobody else writes them), so versions and
 * existence follow from what it sent before, in order. Where the server's own reapers may
 * interfere (TTL nodes, empty used containers) the op says which error it may get and when.
 * Any other error reply, and any request left unanswered for another reason than the fault,
 * is a violation.
 */
import type { SeededRandom } from '../../src/base/index.js';
import { CreateMode, ErrorCode, OpCode, type ACL, type Request } from '../../src/codec/index.js';
import { OPEN_ACL_UNSAFE, RawClientError, type RawClient, type ReplyBase } from './raw-client.js';
import {
  ContainerModel,
  MultiModel,
  NodeModel,
  PARENTS,
  SeqModel,
  WRITE_KINDS,
  Write,
  type CrashModel,
  type SessionModel,
  type Violations,
  type WriteKind,
} from './crash-model.js';

const WINDOW = 24;
/** Bounds on what the tree holds, so one verification stays quick. */
const LIMITS = { nodes: 400, ttl: 80, ephemerals: 120, containers: 60, containerChildren: 4, multis: 250, sequential: 300 };
export const TTL_MAX_MS = 4000;

const ERROR_NAMES = new Map<number, string>(Object.entries(ErrorCode).map(([k, v]) => [v, k]));
export function errorName(err: number): string {
  return `${ERROR_NAMES.get(err) ?? 'error'} (${err})`;
}

type ReadKind = 'read';
export class CrashStats {
  readonly sent = new Map<WriteKind | ReadKind, number>();
  readonly acked = new Map<WriteKind | ReadKind, number>();
  /** Error replies the model allowed (NONODE from a reaper), by kind. */
  readonly refused = new Map<WriteKind | ReadKind, number>();
  unanswered = 0;
  lostUnacked = 0;
  /** Kills or power cuts, and those of them that struck a server during its start-up. */
  faults = 0;
  startupFaults = 0;
  sessions = 0;
  reattached = 0;
  abandoned = 0;
  /** Keepers found expired after a restart that took longer than their timeout. */
  expiredKeepers = 0;
  /** Abandoned sessions a server outlived by more than their timeout. */
  expiryDue = 0;
  /** closeSession requests unanswered at a fault, by what the restart showed. */
  closesApplied = 0;
  closesLost = 0;

  static bump(m: Map<string, number>, kind: string): void {
    m.set(kind, (m.get(kind) ?? 0) + 1);
  }
  totalAcked(): number {
    let n = 0;
    for (const k of WRITE_KINDS) n += this.acked.get(k) ?? 0;
    return n;
  }
  /** Counts of `m` per write kind, then reads. */
  byKind(m: Map<string, number>): string {
    return `${WRITE_KINDS.map((k) => `${k} ${m.get(k) ?? 0}`).join(', ')}; reads ${m.get('read') ?? 0}`;
  }
}

/** A reply one of the workload's sessions got (error replies too), as the server sent it. */
export interface SessionReply {
  sessionId: bigint;
  xid: number;
  zxid: number;
  err: number;
  what: string;
}

/** One cycle's shared state: the fault flag, the acks so far, where violations go. */
export interface CycleContext {
  readonly label: string;
  readonly cycle: number;
  readonly model: CrashModel;
  readonly v: Violations;
  readonly stats: CrashStats;
  /** Highest zxid acknowledged or seen before this cycle: every new write is above it. */
  readonly zxidFloor: number;
  readonly seqAcks: Array<{ zxid: number; suffix: number }>;
  /** Told of every reply (the syscall suite looks for each in the server's trace). */
  readonly onReply: ((r: SessionReply) => void) | undefined;
  /** Set just before the fault (kill -9, power cut) may strike: from then on a connection may drop. */
  faultIssued: boolean;
  stopping: boolean;
  acks: number;
}

/** A request whose reply never came: allowed only when the fault closed the connection. */
function lostReply(ctx: CycleContext, what: string, e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  const connectionLoss =
    e instanceof RawClientError && msg.startsWith('connection closed') && !/protocol error|destroyed by the client/.test(msg);
  if (connectionLoss && ctx.faultIssued) {
    ctx.stats.unanswered++;
    return;
  }
  ctx.v.add(`${ctx.label}: ${what}: no reply, ${ctx.faultIssued ? 'after' : 'before'} the fault: ${msg}`);
}

type OpName = 'create' | 'ttl' | 'ephemeral' | 'container' | 'setData' | 'setACL' | 'delete' | 'multi' | 'sequential' | 'read' | 'close';

export class SessionWorker {
  private readonly acks: Array<{ xid: number; zxid: number; what: string }> = [];
  private seq = 0;
  private ownAcks = 0;

  constructor(
    readonly session: SessionModel,
    readonly client: RawClient,
    /** Nodes only this session writes this cycle (its ephemerals among them). */
    private readonly pool: NodeModel[],
    private readonly containers: ContainerModel[],
    private readonly ctx: CycleContext,
    private readonly rng: SeededRandom,
    /** When it sends closeSession (null: never this cycle). */
    private readonly closeAt: number | null,
    private readonly aclIds: { next: number },
  ) {
    void client.closed.then((info) => {
      if (!ctx.faultIssued && session.state !== 'closed')
        ctx.v.add(`${ctx.label}: the server closed ${session.name}'s connection before the fault: ${info.reason}`);
    });
  }

  async run(): Promise<void> {
    const inflight = new Set<Promise<void>>();
    while (!this.ctx.stopping && !this.client.isClosed && this.session.state === 'alive') {
      if (inflight.size >= WINDOW) {
        await Promise.race(inflight);
        continue;
      }
      const p: Promise<void> = this.sendOne().finally(() => inflight.delete(p));
      inflight.add(p);
      if (this.seq % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.allSettled(inflight);
  }

  /** After the fault: a session's writes got zxids in the order it sent them. */
  checkAckOrder(): void {
    const list = [...this.acks].sort((a, b) => a.xid - b.xid);
    for (let j = 1; j < list.length; j++) {
      const [p, q] = [list[j - 1], list[j]];
      if (p !== undefined && q !== undefined && q.zxid <= p.zxid)
        this.ctx.v.add(`${this.ctx.label}: ${q.what} (xid ${q.xid}) got zxid ${q.zxid}, not above ${p.zxid} of ${p.what} (xid ${p.xid})`);
    }
  }

  private tag(seq: number): string {
    return `c${this.ctx.cycle}${this.session.name}-${seq}`;
  }

  private sendOne(): Promise<void> {
    const seq = this.seq++;
    const op = this.pickOp();
    if (op === 'close') return this.closeSession();
    if (op === 'create') return this.createNode(seq);
    if (op === 'ttl') return this.createTtl(seq);
    if (op === 'ephemeral') return this.createEphemeral(seq);
    if (op === 'container') return this.containerOp(seq);
    if (op === 'multi') return this.multi(seq);
    if (op === 'sequential') return this.sequential(seq);
    const live = this.pool.filter((n) => n.live);
    if (live.length === 0) return this.createNode(seq);
    const n = this.rng.pick(live);
    if (op === 'setData') return this.setData(n, seq);
    if (op === 'setACL') return this.setAcl(n);
    if (op === 'delete') return this.deleteNode(n);
    return this.read(n);
  }

  /** The op mix; new objects get rarer as the tree fills, so each verification stays quick. */
  private pickOp(): OpName {
    if (this.closeAt !== null && Date.now() >= this.closeAt && this.ownAcks >= 3) return 'close';
    const m = this.ctx.model;
    const plain = m.count('persistent');
    const below = (n: number, limit: number, w: number): number => (n < limit ? w : w / 20);
    const weights: Array<[OpName, number]> = [
      ['create', below(plain, LIMITS.nodes, 0.1)],
      ['ttl', below(m.count('ttl'), LIMITS.ttl, 0.04)],
      ['ephemeral', below(m.count('ephemeral'), LIMITS.ephemerals, 0.05)],
      ['container', 0.08],
      ['setData', 0.22],
      ['setACL', 0.08],
      ['delete', plain > LIMITS.nodes / 4 ? 0.08 : 0.02],
      ['multi', below(m.multis.length, LIMITS.multis, 0.07)],
      ['sequential', below(m.seqs.length, LIMITS.sequential, 0.06)],
      ['read', 0.05],
    ];
    let roll = this.rng.next() * weights.reduce((sum, [, w]) => sum + w, 0);
    for (const [op, w] of weights) {
      roll -= w;
      if (roll < 0) return op;
    }
    return 'read';
  }

  /**
   * Sends one request and checks its answer: success runs `onOk`; an error reply must be one
   * `onError` allows; no reply at all must be the fault's doing.
   */
  private track<T extends ReplyBase>(
    kind: WriteKind | 'read',
    write: Write | string,
    sent: Promise<T>,
    onOk: (r: T, at: number) => void,
    onError?: (err: number, at: number) => boolean,
  ): Promise<void> {
    const { stats, v, label } = this.ctx;
    const what = typeof write === 'string' ? write : write.what;
    CrashStats.bump(stats.sent, kind);
    if (typeof write !== 'string') this.session.writes.push(write);
    return sent.then(
      (r) => {
        const at = Date.now();
        this.ctx.onReply?.({ sessionId: this.session.id, xid: r.xid, zxid: r.zxid, err: r.err, what });
        if (r.err !== 0) {
          if (onError?.(r.err, at) !== true) v.add(`${label}: ${what} failed with ${errorName(r.err)}, which the model does not allow`);
          else {
            CrashStats.bump(stats.refused, kind);
            if (typeof write !== 'string') write.refused = true;
          }
          return;
        }
        CrashStats.bump(stats.acked, kind);
        if (typeof write !== 'string') this.ack(write, r);
        onOk(r, at);
      },
      (e: unknown) => lostReply(this.ctx, what, e),
    );
  }

  private ack(w: Write, r: ReplyBase): void {
    w.acked = true;
    this.ctx.acks++;
    this.ownAcks++;
    if (r.zxid <= this.ctx.zxidFloor)
      this.ctx.v.add(`${this.ctx.label}: ${w.what} acknowledged with zxid ${r.zxid}, not above ${this.ctx.zxidFloor}`);
    this.acks.push({ xid: r.xid, zxid: r.zxid, what: w.what });
    this.ctx.model.sawZxid(r.zxid);
  }

  /** NONODE where the node may have been removed by the server itself (a TTL node past its TTL). */
  private vanished(n: NodeModel, err: number, at: number): boolean {
    if (err !== ErrorCode.NONODE || !n.mayVanish(at)) return false;
    n.goneByReply = true;
    return true;
  }

  /** A success on a node a NONODE reply already showed gone: it came back. */
  private stillThere(n: NodeModel, what: string): void {
    if (n.goneByReply) this.ctx.v.add(`${this.ctx.label}: ${what} succeeded after a NONODE for ${n.path}`);
  }

  private createNode(seq: number): Promise<void> {
    const path = `${PARENTS.nodes}/${this.tag(seq)}`;
    const data = `${this.tag(seq)}.0-${'z'.repeat(this.rng.int(64))}`;
    const n = this.ctx.model.addNode(new NodeModel(path, 'persistent', data, OPEN_ACL_UNSAFE, Date.now()));
    this.pool.push(n);
    const w = new Write('create', `create ${path}`, () => n.outcomeOf('create'));
    return this.track('create', w, this.client.create(path, Buffer.from(data)), (r) => n.learnCreate(r.zxid));
  }

  private createTtl(seq: number): Promise<void> {
    const path = `${PARENTS.ttl}/${this.tag(seq)}`;
    const data = `${this.tag(seq)}.0`;
    const ttl = 300 + this.rng.int(TTL_MAX_MS - 300);
    const n = this.ctx.model.addNode(new NodeModel(path, 'ttl', data, OPEN_ACL_UNSAFE, Date.now(), ttl));
    this.pool.push(n);
    const w = new Write('createTTL', `createTTL ${path} (ttl ${ttl} ms)`, () => n.outcomeOf('create'));
    return this.track('createTTL', w, this.client.createTTL(path, Buffer.from(data), ttl), (r, at) => {
      if (r.stat === undefined || r.path !== path) this.ctx.v.add(`${this.ctx.label}: ${w.what}: reply ${r.path} without a Stat`);
      else n.learnStat(r.stat, at);
    });
  }

  private createEphemeral(seq: number): Promise<void> {
    const s = this.session;
    const path = `${PARENTS.ephemerals}/${this.tag(seq)}`;
    const data = `${this.tag(seq)}.0`;
    const n = this.ctx.model.addNode(new NodeModel(path, 'ephemeral', data, OPEN_ACL_UNSAFE, Date.now(), 0, s));
    this.pool.push(n);
    const w = new Write('createEphemeral', `create ephemeral ${path}`, () => n.outcomeOf('create'));
    const sent = this.client.create2(path, Buffer.from(data), { flags: CreateMode.EPHEMERAL });
    return this.track('createEphemeral', w, sent, (r, at) => {
      if (r.stat?.ephemeralOwner !== s.id)
        this.ctx.v.add(`${this.ctx.label}: ${w.what}: ephemeralOwner ${r.stat?.ephemeralOwner}, not ${s.id}`);
      if (r.stat !== undefined) n.learnStat(r.stat, at);
    });
  }

  private setData(n: NodeModel, seq: number): Promise<void> {
    const version = n.history.length;
    const data = `${this.tag(seq)}.${version}`;
    n.history.push(data);
    const conditional = this.rng.chance(0.5);
    const what = `setData ${n.path} to v${version}${conditional ? ` if at v${version - 1}` : ''}`;
    const w = new Write('setData', what, () => n.outcomeOf('setData', version));
    const sent = this.client.setData(n.path, Buffer.from(data), conditional ? version - 1 : -1);
    return this.track(
      'setData',
      w,
      sent,
      (r, at) => {
        this.stillThere(n, what);
        if (r.stat?.version !== version) this.ctx.v.add(`${this.ctx.label}: ${what} made version ${r.stat?.version}`);
        if (r.stat?.mzxid !== r.zxid) this.ctx.v.add(`${this.ctx.label}: ${what}: stat.mzxid ${r.stat?.mzxid} != reply zxid ${r.zxid}`);
        if (r.stat !== undefined) n.learnStat(r.stat, at);
      },
      (err, at) => this.vanished(n, err, at),
    );
  }

  /** An ACL that keeps the node usable (world:anyone may do all) and tells one setACL from another. */
  private nextAcl(): ACL[] {
    const k = this.aclIds.next++;
    const acl: ACL[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
    acl.push({ perms: 1 + this.rng.int(31), id: { scheme: 'ip', id: `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}` } });
    if (this.rng.chance(0.5)) acl.push({ perms: 1 + this.rng.int(31), id: { scheme: 'digest', id: `u${k}:h${this.rng.int(1e6)}` } });
    return acl;
  }

  private setAcl(n: NodeModel): Promise<void> {
    const aversion = n.acls.length;
    n.acls.push(this.nextAcl());
    const conditional = this.rng.chance(0.5);
    const what = `setACL ${n.path} to aversion ${aversion}${conditional ? ` if at ${aversion - 1}` : ''}`;
    const w = new Write('setACL', what, () => n.outcomeOf('setACL', aversion));
    const sent = this.client.setACL(n.path, n.acls[aversion] ?? [], conditional ? aversion - 1 : -1);
    return this.track(
      'setACL',
      w,
      sent,
      (r, at) => {
        this.stillThere(n, what);
        if (r.stat?.aversion !== aversion) this.ctx.v.add(`${this.ctx.label}: ${what} made aversion ${r.stat?.aversion}`);
        if (r.stat !== undefined) n.learnStat(r.stat, at);
      },
      (err, at) => this.vanished(n, err, at),
    );
  }

  private deleteNode(n: NodeModel): Promise<void> {
    n.deleteSent = true;
    const conditional = this.rng.chance(0.5);
    const what = `delete ${n.path}${conditional ? ` if at v${n.version}` : ''}`;
    const w = new Write('delete', what, () => n.outcomeOf('delete'));
    return this.track(
      'delete',
      w,
      this.client.delete(n.path, conditional ? n.version : -1),
      () => {
        this.stillThere(n, what);
        n.deleteAcked = true;
      },
      (err, at) => this.vanished(n, err, at),
    );
  }

  /** A read sees exactly what this session sent before it: reads wait behind the session's writes. */
  private read(n: NodeModel): Promise<void> {
    const version = n.version;
    const what = `getData ${n.path}`;
    return this.track(
      'read',
      what,
      this.client.getData(n.path),
      (r, at) => {
        this.stillThere(n, what);
        const data = r.data?.toString();
        if (r.stat === undefined || r.stat.version !== version || data !== n.history[version])
          this.ctx.v.add(`${this.ctx.label}: ${what} read v${r.stat?.version} "${data}", expected v${version} "${n.history[version]}"`);
        else n.learnStat(r.stat, at);
      },
      (err, at) => this.vanished(n, err, at),
    );
  }

  private containerOp(seq: number): Promise<void> {
    const m = this.ctx.model;
    const ready = this.containers.filter((c) => c.live && !c.busy);
    if (ready.length === 0 || (m.containers.size < LIMITS.containers && this.rng.chance(0.15))) return this.createContainer(seq);
    const c = this.rng.pick(ready);
    const kids = c.liveChildren();
    if (!c.mayBeReaped && kids.length > 0 && (kids.length >= LIMITS.containerChildren || this.rng.chance(0.45)))
      return this.deleteChild(c, this.rng.pick(kids));
    return this.createChild(c, seq);
  }

  private createContainer(seq: number): Promise<void> {
    const path = `${PARENTS.containers}/${this.tag(seq)}`;
    const c = this.ctx.model.addContainer(new ContainerModel(path, this.tag(seq)));
    this.containers.push(c);
    const w = new Write('createContainer', `createContainer ${path}`, () => c.outcome());
    return this.track('createContainer', w, this.client.createContainer(path, Buffer.from(c.data)), (r) => c.learnCreate(r.stat, r.zxid));
  }

  /** In a container that may have been reaped, the create may get NONODE; nothing else is sent to it until it is answered. */
  private createChild(c: ContainerModel, seq: number): Promise<void> {
    const uncertain = c.mayBeReaped;
    const path = `${c.path}/${this.tag(seq)}`;
    const n = this.ctx.model.addNode(new NodeModel(path, 'persistent', this.tag(seq), OPEN_ACL_UNSAFE, Date.now(), 0, null, c));
    c.children.push(n);
    c.busy = uncertain;
    const w = new Write('createChild', `create ${path}${uncertain ? ' (its container may be reaped)' : ''}`, () => n.outcomeOf('create'));
    const done = this.track(
      'createChild',
      w,
      this.client.create(path, Buffer.from(this.tag(seq))),
      (r) => {
        n.learnCreate(r.zxid);
        if (c.goneByReply) this.ctx.v.add(`${this.ctx.label}: ${w.what} succeeded after a NONODE for ${c.path}`);
        // Sent alone, so the container now holds this child; a create pipelined behind later
        // deletes says nothing about the state after them.
        if (uncertain) c.mayBeReaped = false;
      },
      (err) => {
        if (!uncertain || err !== ErrorCode.NONODE) return false;
        c.goneByReply = true;
        n.goneByReply = true;
        return true;
      },
    );
    return uncertain ? done.finally(() => (c.busy = false)) : done;
  }

  private deleteChild(c: ContainerModel, n: NodeModel): Promise<void> {
    n.deleteSent = true;
    if (c.liveChildren().length === 0) c.mayBeReaped = true;
    const conditional = this.rng.chance(0.5);
    const w = new Write('deleteChild', `delete ${n.path}`, () => n.outcomeOf('delete'));
    return this.track('deleteChild', w, this.client.delete(n.path, conditional ? 0 : -1), () => (n.deleteAcked = true));
  }

  /** A fresh parent plus 2-4 children in one multi, so a half-applied multi shows. */
  private multi(seq: number): Promise<void> {
    const parent = `${PARENTS.multis}/${this.tag(seq)}`;
    const children = new Map<string, string>();
    const count = 2 + this.rng.int(3);
    for (let j = 0; j < count; j++) children.set(`k${j}`, `${parent}#${j}`);
    const m = new MultiModel(parent, `p${seq}`, children);
    this.ctx.model.multis.push(m);
    const create = (path: string, data: string): Request => ({
      op: OpCode.create,
      path,
      data: Buffer.from(data),
      acl: OPEN_ACL_UNSAFE,
      flags: 0,
    });
    const ops = [create(parent, m.parentData), ...[...children].map(([name, data]) => create(`${parent}/${name}`, data))];
    const w = new Write('multi', `multi creating ${parent} and ${count} children`, () => m.outcome());
    return this.track('multi', w, this.client.multi(ops), (r) => {
      if (r.results?.length !== ops.length || r.results.some((x) => x.type !== OpCode.create))
        this.ctx.v.add(`${this.ctx.label}: ${w.what}: unexpected results ${JSON.stringify(r.results)}`);
      m.zxid = r.zxid;
    });
  }

  private sequential(seq: number): Promise<void> {
    const s = new SeqModel(this.tag(seq));
    this.ctx.model.seqs.push(s);
    const w = new Write('createSequential', `sequential create (${s.token})`, () => s.outcome());
    const sent = this.client.create(`${PARENTS.sequential}/s-`, Buffer.from(s.token), { flags: CreateMode.PERSISTENT_SEQUENTIAL });
    return this.track('createSequential', w, sent, (r) => {
      if (r.path === undefined) return;
      s.name = r.path.slice(PARENTS.sequential.length + 1);
      s.zxid = r.zxid;
      this.ctx.seqAcks.push({ zxid: r.zxid, suffix: Number(s.name.slice(-10)) });
    });
  }

  /** The session's last request: its ephemerals go with it once this applies. */
  private closeSession(): Promise<void> {
    const s = this.session;
    s.state = 'closing';
    const w = new Write('closeSession', `closeSession of ${s.name}`, () => s.closeOutcome);
    const sent = this.client
      .request({ op: OpCode.closeSession })
      .then((r): ReplyBase => ({ err: r.header.err, zxid: r.header.zxid, xid: r.header.xid, bodyBytes: r.body.length }));
    return this.track('closeSession', w, sent, () => {
      s.state = 'closed';
      s.closeOutcome = 'applied';
    });
  }
}
