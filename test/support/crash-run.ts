/**
 * One run of the crash model (crash-model.ts) against the real server: cycles of a pipelined
 * load (crash-workload.ts) until a fault, a restart on the same dataDir, and a full check of
 * what the restarted server holds. The fault is the caller's (a `Fault`): kill -9
 * (test/fault/crash.test.ts), a power cut on a file system that forgets what was not synced
 * (test/durability/power-cut.test.ts), or none, the load just stopping (the syscall suite,
 * which wants the load's replies). What may or must survive is the same for every fault.
 *
 * Three sessions pipeline writes, each op chosen so that its outcome is known when it is sent:
 * creates, sequential creates, setData and setACL (half of them version-conditional, with the
 * version the model knows), deletes, multis (a fresh parent plus 2-4 children), ephemerals,
 * TTL nodes (300 ms - 4 s) and containers (children created and deleted). Sessions are either
 * keepers, re-attached with their id, password and last zxid after every restart (sometimes
 * closing themselves mid-cycle), or short (1 s timeout) and abandoned at their first fault.
 *
 * During the load:
 *   - every reply is a success, or an error the model allows when it is sent (NONODE from a
 *     TTL node past its TTL, or from a container that may have been reaped); a request with no
 *     reply is allowed only if the fault closed its connection, and the server closing a
 *     connection before the fault (other than after an acknowledged closeSession) fails;
 *   - a read sees exactly the version and data its session sent last;
 *   - a session's acknowledged writes have zxids growing in request order, above every zxid
 *     acknowledged or seen before the restart; sequential suffixes only grow;
 *   - at least MIN_CYCLE_ACKS writes are acknowledged before each fault (within ACK_WAIT_MS).
 *
 * After each restart (sometimes after the fault struck again during start-up):
 *   - keepers re-attach, sending the last zxid they saw (a server that lost it refuses them,
 *     which fails); a keeper found expired sooner than its timeout after a server could first
 *     restore it (`Restarted.sessionClockFrom`) is a lost session, later it is counted and its
 *     ephemerals must go; a session whose closeSession was acknowledged cannot re-attach; one
 *     whose closeSession got no reply re-attaches exactly when that closeSession did not
 *     survive;
 *   - / holds only crash and zookeeper, and the whole of /crash is read (data, Stat, children
 *     of every node, ACLs): every node must be explained by the model; a node whose delete
 *     was acknowledged, a reaped node, an ephemeral of a closed session, or anything else that
 *     left the model never comes back;
 *   - every acknowledged or seen write is there with its data, version, aversion, ACL and
 *     zxids; a newer value is accepted only if it was sent; a node may be missing only if its
 *     delete was sent, it is a TTL node whose TTL ran out since its last known modification
 *     (time while no server was up counts: TTLs run on the wall clock), an ephemeral whose
 *     session may have ended, or an empty container that had children;
 *   - an ephemeral of a live session is there, one of an abandoned session that must have
 *     expired (on a server that stayed up longer than its timeout) is not; no multi is
 *     half-applied; sequential tokens appear once;
 *   - per session, the writes of the cycle that survived are a prefix of what it sent: none
 *     survived after one that the tree shows missing (writes the tree cannot decide are
 *     skipped);
 *   - the server answers a write, with a zxid above everything acknowledged or seen.
 *
 * At the end every session is closed; ephemerals, TTL nodes and empty used containers must
 * then go within their timeouts, and one more fault and restart must not bring any back. The
 * run must acknowledge at least a minimum of writes in total and of each kind (`assertMinimums`).
 *
 * The plan (fault delays, session kinds and closes, the seed of each session's own choices)
 * comes from a seeded PRNG; the interleaving of real processes is not replayable, so the seed
 * fixes the plan, not every byte.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { SeededRandom } from '../../src/base/index.js';
import {
  CrashModel,
  PARENTS,
  STRUCTURE,
  SessionModel,
  Violations,
  WRITE_KINDS,
  checkPrefix,
  type ContainerModel,
  type NodeModel,
  type WriteKind,
} from './crash-model.js';
import { CrashStats, SessionWorker, type CycleContext, type SessionReply } from './crash-workload.js';
import { describeDataDir, logFiles, snapshotFiles } from './data-dir.js';
import { RawClient } from './raw-client.js';
import { sleep, type ServerProcess } from './server-process.js';
import { readTree } from './tree-read.js';

const CONTAINER_CHECK_MS = 200;
/** What every run's server needs in its zoo.cfg (the timeouts below assume tickTime 500). A quick reaper. */
export const CRASH_RUN_CONFIG: Readonly<Record<string, string>> = {
  tickTime: '500',
  'znode.container.checkIntervalMs': String(CONTAINER_CHECK_MS),
};
const SESSIONS = 3;
/** The longest and shortest session timeouts tickTime 500 allows. */
const KEEPER_TIMEOUT_MS = 10000;
const SHORT_TIMEOUT_MS = 1000;
/** Time past a deadline for an expiry or a reap to be done: tick rounding, timers, a slow fsync. */
const SERVER_REMOVAL_SLACK_MS = 3000;
/** Each cycle acknowledges at least this many writes before its fault, within ACK_WAIT_MS. */
const MIN_CYCLE_ACKS = 5;
const ACK_WAIT_MS = 20000;

/**
 * Acknowledged writes per cycle a run must reach on average, in total and per kind: far below
 * what a slow machine does (see the printed totals; a power-cut run through FUSE does more
 * than a kill -9 run, whose snapCount is lower), far above what a server that acknowledges
 * little would reach.
 */
const MIN_ACKS_PER_CYCLE: Record<WriteKind | 'total', number> = {
  total: 100,
  create: 10,
  createSequential: 2,
  createEphemeral: 2,
  createTTL: 1,
  createContainer: 0.5,
  createChild: 5,
  setData: 40,
  setACL: 10,
  delete: 10,
  deleteChild: 5,
  multi: 2,
  closeSession: 0.1,
};

/** What brings the server down at the end of a cycle, and back up. */
export interface Fault {
  /** What `strike` is, in the plural, for reports ("kills"). */
  readonly name: string;
  /** Starts the first server on the run's dataDir. */
  start(): Promise<ServerProcess>;
  /** Strikes while the load still runs; resolves once the server is down (or, for no fault, the load may stop). */
  strike(server: ServerProcess): Promise<void>;
  /** A server on what the storage kept, perhaps after striking again during start-up (where allowed). */
  restart(mayStrikeDuringStartup: boolean): Promise<Restarted>;
}

export interface Restarted {
  server: ServerProcess;
  /**
   * A server gives the sessions it restores a fresh timeout when it loads them, and none can
   * load them before this moment (the storage back after the fault): a keeper found expired
   * sooner than its timeout after it was lost.
   */
  sessionClockFrom: number;
  struckDuringStartup: boolean;
}

export interface CrashRunOptions {
  /** Printed in every failure message: the run replays from it. */
  seed: number;
  /** Drawn from for every choice of the run (kill delays, session kinds, closes, each worker's seed); the fault may draw from it too. */
  plan: SeededRandom;
  dataDir: string;
  fault: Fault;
  /** Told of each session the run creates, and of every reply its sessions get. */
  onSession?: (sessionId: bigint) => void;
  onReply?: (reply: SessionReply) => void;
}

/** One crash run: the server, the sessions, the model, and the cycles. */
export class CrashRun {
  readonly model = new CrashModel();
  readonly stats = new CrashStats();
  readonly v: Violations;
  readonly phaseMs = { workload: 0, restart: 0, verify: 0, final: 0 };
  cycles = 0;
  private readonly seed: number;
  private readonly fault: Fault;
  private readonly plan: SeededRandom;
  private sessions: SessionModel[] = [];
  private readonly clients = new Map<SessionModel, RawClient>();
  private readonly aclIds = { next: 0 };
  private current: ServerProcess | undefined;
  /** When the running server started listening: it restored every session at or before this. */
  private startedAt = 0;

  constructor(private readonly o: CrashRunOptions) {
    this.seed = o.seed;
    this.fault = o.fault;
    this.plan = o.plan;
    this.v = new Violations(o.seed);
  }

  get server(): ServerProcess {
    assert.ok(this.current !== undefined, 'no server started');
    return this.current;
  }

  async start(): Promise<void> {
    this.setServer(await this.fault.start());
    const c = await this.connect();
    for (const p of STRUCTURE) assert.equal((await c.create(p, Buffer.alloc(0))).err, 0, p);
    c.destroy();
  }

  async cycle(cycle: number): Promise<void> {
    let t0 = Date.now();
    await this.workload(cycle);
    this.cycles++;
    this.phaseMs.workload += Date.now() - t0;
    t0 = Date.now();
    const clockFrom = await this.restart(`restart after fault ${cycle}`, true);
    this.phaseMs.restart += Date.now() - t0;
    t0 = Date.now();
    await this.verify(`cycle ${cycle}`, clockFrom);
    this.phaseMs.verify += Date.now() - t0;
  }

  /** Closes every session, waits for the server to remove what then ended, and checks one more fault and restart brings none of it back. */
  async finish(): Promise<void> {
    const t0 = Date.now();
    for (const [s, c] of [...this.clients]) {
      CrashStats.bump(this.stats.sent, 'closeSession');
      const r = await c.close();
      this.clients.delete(s);
      if (r.err !== 0) this.v.add(`closing ${s.name} at the end failed with ${r.err}`);
      else CrashStats.bump(this.stats.acked, 'closeSession');
      s.state = 'closed';
    }
    await this.awaitServerRemovals();
    await this.fault.strike(this.server);
    this.stats.faults++;
    const clockFrom = await this.restart('the final restart', false);
    await this.verify('the final restart', clockFrom);
    this.phaseMs.final = Date.now() - t0;
  }

  /** After a failure too: no server or connection may keep the test process alive. */
  async dispose(): Promise<void> {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
    await this.current?.kill9(); // also after the server's own exit: it removes the server's temp dir
  }

  report(t: TestContext, totalMs: number): void {
    const s = this.stats;
    const m = this.model;
    t.diagnostic(
      `${this.cycles} cycles, ${s.faults} ${this.fault.name} (+${s.startupFaults} during start-up); ${s.sessions} sessions: ` +
        `${s.reattached} re-attachments, ${s.abandoned} abandoned (${s.expiryDue} then outlived on a server up long enough), ` +
        `${s.expiredKeepers} found expired after a slow restart`,
    );
    t.diagnostic(`acknowledged writes: ${s.totalAcked()} (${s.byKind(s.acked)})`);
    t.diagnostic(`sent: ${s.byKind(s.sent)}`);
    t.diagnostic(`error replies the model allowed: ${s.byKind(s.refused)}`);
    t.diagnostic(
      `${s.unanswered} requests unanswered at the ${this.fault.name}; ${s.lostUnacked} unacknowledged writes did not survive; ` +
        `closeSession unanswered at a fault: ${s.closesApplied} found applied, ${s.closesLost} not`,
    );
    t.diagnostic(`nodes found gone, by cause: ${[...m.removed].map(([cause, n]) => `${cause} ${n}`).join(', ')}`);
    t.diagnostic(
      `at the end: ${m.nodes.size} nodes, ${m.containers.size} containers, ${m.multis.length} multis, ${m.seqs.length} sequential nodes; ` +
        `version-2 holds ${snapshotFiles(this.o.dataDir).length} snapshots and ${logFiles(this.o.dataDir).length} logs`,
    );
    const p = this.phaseMs;
    t.diagnostic(`time: ${totalMs} ms (workload ${p.workload}, restarts ${p.restart}, verification ${p.verify}, final checks ${p.final})`);
  }

  /** Every cycle and the final restart had their fault; enough writes of each kind were acknowledged. */
  assertMinimums(): void {
    assert.equal(this.stats.faults, this.cycles + 1);
    const total = this.stats.totalAcked();
    const seed = `seed ${this.seed}`;
    assert.ok(total >= MIN_ACKS_PER_CYCLE.total * this.cycles, `only ${total} writes acknowledged in ${this.cycles} cycles (${seed})`);
    for (const kind of WRITE_KINDS) {
      const n = this.stats.acked.get(kind) ?? 0;
      const min = Math.floor(MIN_ACKS_PER_CYCLE[kind] * this.cycles);
      assert.ok(n >= min, `only ${n} ${kind} writes acknowledged in ${this.cycles} cycles, at least ${min} expected (${seed})`);
    }
  }

  // ------------------------------------------------------------ the load until the fault

  private async workload(cycle: number): Promise<void> {
    const label = `cycle ${cycle}`;
    const ctx: CycleContext = {
      label,
      cycle,
      model: this.model,
      v: this.v,
      stats: this.stats,
      zxidFloor: this.model.maxZxid,
      seqAcks: [],
      onReply: this.o.onReply,
      faultIssued: false,
      stopping: false,
      acks: 0,
    };
    const strikeAfter = this.strikeDelay();
    const workers = await this.workers(ctx, strikeAfter);
    const loops = workers.map((w) => w.run());
    await sleep(strikeAfter);
    const deadline = Date.now() + ACK_WAIT_MS;
    while (ctx.acks < MIN_CYCLE_ACKS && Date.now() < deadline) await sleep(5);
    this.markExpiryDue(Date.now());
    ctx.faultIssued = true;
    await this.fault.strike(this.server);
    this.stats.faults++;
    ctx.stopping = true;
    await Promise.all(loops);
    for (const w of workers) this.endWorker(w);
    assert.ok(
      ctx.acks >= MIN_CYCLE_ACKS,
      `${label}: only ${ctx.acks} writes acknowledged in ${strikeAfter + ACK_WAIT_MS} ms (seed ${this.seed}); first violations: ${this.v.list.slice(0, 3).join('; ')}`,
    );
    this.model.checkSequentialAcks(ctx.seqAcks, label, this.v);
    this.v.assertNone(`violations during ${label}`);
  }

  /** Mostly 20-920 ms; sometimes right after the first acknowledgements; sometimes long enough for abandoned sessions to expire. */
  private strikeDelay(): number {
    const r = this.plan.next();
    if (r < 0.1) return this.plan.int(20);
    if (r < 0.92) return 20 + this.plan.int(900);
    return SHORT_TIMEOUT_MS + SERVER_REMOVAL_SLACK_MS + this.plan.int(1000);
  }

  /** The open keepers plus new sessions; nodes and containers dealt out so each has one writer. */
  private async workers(ctx: CycleContext, strikeAfter: number): Promise<SessionWorker[]> {
    const live = this.sessions.filter((s) => s.state === 'alive' && this.clients.has(s));
    while (live.length < SESSIONS) live.push(await this.newSession());
    const pools = live.map((): NodeModel[] => []);
    const containers = live.map((): ContainerModel[] => []);
    let i = 0;
    for (const n of this.model.nodes.values()) {
      if (n.container !== null || !n.live) continue;
      if (n.owner === null) pools[i++ % live.length]?.push(n);
      else pools[live.indexOf(n.owner)]?.push(n);
    }
    [...this.model.containers.values()].filter((c) => c.live).forEach((c, j) => containers[j % live.length]?.push(c));
    // Every fourth cycle one keeper closes its session, at a random moment or just as the fault
    // comes (so that some closes are in doubt after the restart); now and then another.
    const keepers = live.filter((s) => s.keeper);
    const closer = ctx.cycle % 4 === 1 && keepers.length > 0 ? this.plan.pick(keepers) : null;
    const start = Date.now();
    return live.map((s, k) => {
      const closes = s.keeper && (s === closer || this.plan.chance(0.04));
      const closeAt = !closes
        ? null
        : this.plan.chance(0.6)
          ? start + strikeAfter - this.plan.int(5)
          : start + this.plan.int(strikeAfter + 1);
      const client = this.clients.get(s);
      assert.ok(client !== undefined);
      const rng = new SeededRandom(this.plan.int(2 ** 31));
      return new SessionWorker(s, client, pools[k] ?? [], containers[k] ?? [], ctx, rng, closeAt, this.aclIds);
    });
  }

  private async newSession(): Promise<SessionModel> {
    const n = this.stats.sessions++;
    // The second session is always a short one, so that every run abandons a session.
    const keeper = n !== 1 && !this.plan.chance(0.4);
    const timeoutMs = keeper ? KEEPER_TIMEOUT_MS : SHORT_TIMEOUT_MS;
    const c = await RawClient.connect({ host: this.server.host, port: this.server.port, timeoutMs, keepAliveMs: timeoutMs / 4 });
    assert.equal(c.negotiatedTimeout, timeoutMs);
    this.o.onSession?.(c.sessionId);
    const s = new SessionModel(`s${n}`, c.sessionId, c.passwd, timeoutMs, keeper);
    this.sessions.push(s);
    this.clients.set(s, c);
    return s;
  }

  private endWorker(w: SessionWorker): void {
    const s = w.session;
    s.lastZxid = Math.max(s.lastZxid, w.client.lastZxid);
    w.client.destroy();
    this.clients.delete(s);
    w.checkAckOrder();
    if (s.state === 'alive' && !s.keeper) {
      s.state = 'abandoned';
      s.abandonedAt = Date.now();
      this.stats.abandoned++;
    }
  }

  /**
   * Abandoned sessions on a server that has been up long enough have expired, durably. After a
   * fault the server restored them with a fresh timeout when it started; with no fault their
   * timeout runs from when they were abandoned.
   */
  private markExpiryDue(now: number): void {
    for (const s of this.sessions) {
      const clockFrom = Math.max(this.startedAt, s.abandonedAt);
      if (s.state !== 'abandoned' || s.expiryDue || now - clockFrom < s.timeoutMs + SERVER_REMOVAL_SLACK_MS) continue;
      s.expiryDue = true;
      this.stats.expiryDue++;
    }
  }

  // ------------------------------------------------------------ restart

  private setServer(server: ServerProcess): void {
    if (server === this.current) return; // no fault: the same server runs on
    this.current = server;
    this.startedAt = Date.now();
  }

  private connect(): Promise<RawClient> {
    return RawClient.connect({ host: this.server.host, port: this.server.port, timeoutMs: 4000 });
  }

  /** Restarts after the fault; resolves with the time restored sessions' timeouts run from. */
  private async restart(what: string, mayStrikeDuringStartup: boolean): Promise<number> {
    let r: Restarted;
    try {
      r = await this.fault.restart(mayStrikeDuringStartup);
    } catch (e) {
      assert.fail(`${what} failed (seed ${this.seed}); version-2 holds ${describeDataDir(this.o.dataDir)}\n${(e as Error).message}`);
    }
    if (r.struckDuringStartup) this.stats.startupFaults++;
    this.setServer(r.server);
    return r.sessionClockFrom;
  }

  // ------------------------------------------------------------ verification

  private async verify(label: string, clockFrom: number): Promise<void> {
    const c = await this.connect();
    for (const s of this.sessions) {
      if (s.state === 'alive' || s.state === 'closing') await this.reattach(s, label, clockFrom);
      else if (s.state === 'closed' && !s.reattachRefused) await this.expectRefused(s, label);
    }
    this.markExpiryDue(Date.now());
    const root = await c.getChildren('/');
    const top = [...(root.children ?? [])].sort().join(',');
    if (top !== 'crash,zookeeper') this.v.add(`${label}: / holds ${top}`);
    const tree = await readTree(c, '/crash', (p) => this.model.tracksAcl(p));
    const ck = this.model.verify(tree, label, Date.now(), this.v);
    this.stats.lostUnacked += ck.lostUnacked;
    for (const s of this.sessions) {
      checkPrefix(s, label, this.v);
      s.writes = [];
    }
    await this.settleExpired(c, label);
    // The server answers a write, with a zxid above everything acknowledged or seen before.
    const probe = `${PARENTS.probes}/p${this.stats.faults}`;
    const r = await c.create(probe, Buffer.from('p'));
    assert.equal(r.err, 0, `a write after ${label} (seed ${this.seed})`);
    if (r.zxid <= this.model.maxZxid) this.v.add(`${label}: ZXID REUSED: a new write got zxid ${r.zxid}, not above ${this.model.maxZxid}`);
    this.model.sawZxid(r.zxid);
    this.model.probes.add(probe);
    c.destroy();
    this.dropSettledSessions();
    this.v.assertNone(`after ${label}`);
  }

  /** A keeper (or a session whose closeSession got no reply) re-attaches with its id, password and last zxid. */
  private async reattach(s: SessionModel, label: string, clockFrom: number): Promise<void> {
    let c: RawClient;
    try {
      c = await RawClient.connect({
        host: this.server.host,
        port: this.server.port,
        timeoutMs: s.timeoutMs,
        sessionId: s.id,
        passwd: s.passwd,
        lastZxidSeen: s.lastZxid,
        keepAliveMs: s.timeoutMs / 4,
      });
    } catch (e) {
      this.v.add(`${label}: ${s.name} (last zxid seen ${s.lastZxid}) could not re-attach: ${(e as Error).message}`);
      return;
    }
    if (!c.expired) {
      this.stats.reattached++;
      if (s.state === 'closing') {
        s.closeOutcome = 'missing';
        this.stats.closesLost++;
      }
      s.state = 'alive';
      this.clients.set(s, c);
      return;
    }
    c.destroy();
    // Restored sessions get a fresh timeout (see Restarted): one that expired sooner was lost.
    const couldTimeOut = Date.now() - clockFrom >= s.timeoutMs;
    if (s.state === 'closing') {
      s.closeOutcome = couldTimeOut ? 'unknown' : 'applied';
      this.stats.closesApplied++;
    } else if (couldTimeOut) this.stats.expiredKeepers++;
    else
      this.v.add(
        `${label}: SESSION LOST: ${s.name} found expired ${Date.now() - clockFrom} ms after its sessions could be restored, within its ${s.timeoutMs} ms timeout`,
      );
    s.state = 'expired';
  }

  private async expectRefused(s: SessionModel, label: string): Promise<void> {
    const c = await RawClient.connect({
      host: this.server.host,
      port: this.server.port,
      timeoutMs: s.timeoutMs,
      sessionId: s.id,
      passwd: s.passwd,
    });
    if (!c.expired) this.v.add(`${label}: ${s.name} re-attached after its closeSession was acknowledged`);
    c.destroy();
    s.reattachRefused = true;
  }

  /** An expired session's closeSession txn may still be on its way: its ephemerals must go soon. */
  private async settleExpired(c: RawClient, label: string): Promise<void> {
    const expired = new Set(this.sessions.filter((s) => s.state === 'expired'));
    if (expired.size === 0) return;
    const theirs = [...this.model.nodes.values()].filter((n) => n.owner !== null && expired.has(n.owner));
    const deadline = Date.now() + 2 * SERVER_REMOVAL_SLACK_MS;
    for (;;) {
      const names = new Set((await c.getChildren(PARENTS.ephemerals)).children ?? []);
      const left = theirs.filter((n) => names.has(n.path.slice(PARENTS.ephemerals.length + 1)));
      if (left.length === 0) break;
      if (Date.now() > deadline) {
        this.v.add(`${label}: ephemerals of expired sessions still there: ${left.map((n) => n.path).join(', ')}`);
        break;
      }
      await sleep(100);
    }
    for (const n of theirs) {
      this.model.nodes.delete(n.path);
      this.model.noteGone(n.path, 'session ended', label);
    }
    for (const s of expired) s.state = 'closed';
  }

  private dropSettledSessions(): void {
    const owners = new Set<SessionModel | null>([...this.model.nodes.values()].map((n) => n.owner));
    this.sessions = this.sessions.filter(
      (s) => s.state === 'alive' || s.state === 'closing' || owners.has(s) || (s.state === 'closed' && !s.reattachRefused),
    );
  }

  /** After the last cycle: ended sessions' ephemerals, TTL nodes and empty used containers must go. */
  private async awaitServerRemovals(): Promise<void> {
    const c = await this.connect();
    const since = Date.now();
    for (;;) {
      this.markExpiryDue(Date.now());
      const tree = await readTree(c, '/crash', (p) => this.model.tracksAcl(p));
      const at = Date.now();
      this.model.verify(tree, 'waiting for the server to remove what ended', at, this.v);
      const { overdue, pending } = this.model.overdueRemovals(at, since, SERVER_REMOVAL_SLACK_MS + CONTAINER_CHECK_MS);
      if (overdue.length > 0) this.v.add(`not removed by the server in time: ${overdue.slice(0, 10).join('; ')}`);
      if (overdue.length > 0 || pending === 0) break;
      await sleep(250);
    }
    c.destroy();
    this.v.assertNone('after waiting for ephemerals, TTL nodes and containers to go');
  }
}
