/**
 * Kill -9 at random moments, restart on the same dataDir, and check what survived against a
 * model of everything sent (crash-model.ts). Three sessions pipeline writes against the real
 * server (crash-workload.ts), each op chosen so that its outcome is known when it is sent:
 * creates, sequential creates, setData and setACL (half of them version-conditional, with the
 * version the model knows), deletes, multis (a fresh parent plus 2-4 children), ephemerals,
 * TTL nodes (300 ms - 4 s) and containers (children created and deleted). Sessions are either
 * keepers, re-attached with their id, password and last zxid after every restart (sometimes
 * closing themselves mid-cycle), or short (1 s timeout) and abandoned at their first kill.
 *
 * During the load:
 *   - every reply is a success, or an error the model allows when it is sent (NONODE from a
 *     TTL node past its TTL, or from a container that may have been reaped); a request with no
 *     reply is allowed only if the kill closed its connection, and the server closing a
 *     connection before the kill (other than after an acknowledged closeSession) fails;
 *   - a read sees exactly the version and data its session sent last;
 *   - a session's acknowledged writes have zxids growing in request order, above every zxid
 *     acknowledged or seen before the restart; sequential suffixes only grow;
 *   - at least MIN_CYCLE_ACKS writes are acknowledged before each kill (within ACK_WAIT_MS).
 *
 * After each restart (sometimes after a second kill during start-up):
 *   - keepers re-attach, sending the last zxid they saw (a server that lost it refuses them,
 *     which fails); a keeper found expired sooner than its timeout after the kill is a lost
 *     session, later it is counted and its ephemerals must go; a session whose closeSession
 *     was acknowledged cannot re-attach; one whose closeSession got no reply re-attaches
 *     exactly when that closeSession did not survive;
 *   - / holds only crash and zookeeper, and the whole of /crash is read (data, Stat, children
 *     of every node, ACLs): every node must be explained by the model; a node whose delete
 *     was acknowledged, a reaped node, an ephemeral of a closed session, or anything else that
 *     left the model never comes back;
 *   - every acknowledged or seen write is there with its data, version, aversion, ACL and
 *     zxids; a newer value is accepted only if it was sent; a node may be missing only if its
 *     delete was sent, it is a TTL node whose TTL ran out since its last known modification,
 *     an ephemeral whose session may have ended, or an empty container that had children;
 *   - an ephemeral of a live session is there, one of an abandoned session that must have
 *     expired is not; no multi is half-applied; sequential tokens appear once;
 *   - per session, the writes of the cycle that survived are a prefix of what it sent: none
 *     survived after one that the tree shows missing (writes the tree cannot decide are
 *     skipped);
 *   - the server answers a write, with a zxid above everything acknowledged or seen.
 *
 * At the end every session is closed; ephemerals, TTL nodes and empty used containers must
 * then go within their timeouts, and one more kill -9 and restart must not bring any back.
 * The run must acknowledge at least a minimum of writes in total and of each kind.
 *
 * Kill moments and the session plan come from a seeded PRNG (printed; rerun with
 * ZEPHYR_FAULT_SEED=<seed>, and set ZEPHYR_FAULT_CYCLES for more cycles). The interleaving of
 * real processes is not replayable, so the seed fixes the plan (kill delays, kills during
 * start-up, session kinds and closes, the seed of each session's own choices), not every byte.
 */
import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { SeededRandom } from '../../src/base/index.js';
import { CreateMode } from '../../src/codec/index.js';
import { RawClient } from '../support/raw-client.js';
import { runServerToExit, sleep, type ServerProcess } from '../support/server-process.js';
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
import { CrashStats, SessionWorker, type CycleContext } from './crash-workload.js';
import { logFiles, readTree, snapshotFiles, startOn, tempDir } from './fault-support.js';

const SEED = Number(process.env['ZEPHYR_FAULT_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const CYCLES = Number(process.env['ZEPHYR_FAULT_CYCLES'] ?? 40);
/** About 1.5-2.5 s a cycle here (2 shared cores); room for a machine three times slower. */
const TEST_TIMEOUT_MS = 60000 + CYCLES * 6000;
const CONTAINER_CHECK_MS = 200;
/** Low snapCount: snapshots and log rolls happen all through the run. A quick reaper. */
const CONFIG = {
  tickTime: '500',
  snapCount: '40',
  preAllocSize: '64',
  'znode.container.checkIntervalMs': String(CONTAINER_CHECK_MS),
};
const SESSIONS = 3;
/** The longest and shortest session timeouts tickTime 500 allows. */
const KEEPER_TIMEOUT_MS = 10000;
const SHORT_TIMEOUT_MS = 1000;
/** Time past a deadline for an expiry or a reap to be done: tick rounding, timers, a slow fsync. */
const SERVER_REMOVAL_SLACK_MS = 3000;
/** Each cycle acknowledges at least this many writes before its kill, within ACK_WAIT_MS. */
const MIN_CYCLE_ACKS = 5;
const ACK_WAIT_MS = 20000;
/**
 * Acknowledged writes per cycle the run must reach on average, in total and per kind: far
 * below what a slow machine does (see the printed totals), far above what a server that
 * acknowledges little would reach.
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

process.stdout.write(`# crash test seed ${SEED} (rerun with ZEPHYR_FAULT_SEED=${SEED})\n`);

/** One crash run: the server, the sessions, the model, and the cycles. */
class CrashRun {
  readonly model = new CrashModel();
  readonly stats = new CrashStats();
  readonly v = new Violations(SEED);
  readonly phaseMs = { workload: 0, restart: 0, verify: 0, final: 0 };
  /** Kill delays, session kinds, closes and each worker's seed: the replayable plan. */
  private readonly plan = new SeededRandom(SEED);
  private sessions: SessionModel[] = [];
  private readonly clients = new Map<SessionModel, RawClient>();
  private readonly aclIds = { next: 0 };
  private current: ServerProcess | undefined;
  /** When the running server started listening: it restored every session at or before this. */
  private startedAt = 0;

  constructor(private readonly dataDir: string) {}

  private get server(): ServerProcess {
    assert.ok(this.current !== undefined, 'no server started');
    return this.current;
  }

  async start(): Promise<void> {
    await this.startServer();
    const c = await this.connect();
    for (const p of STRUCTURE) assert.equal((await c.create(p, Buffer.alloc(0))).err, 0, p);
    c.destroy();
  }

  async cycle(cycle: number): Promise<void> {
    let t0 = Date.now();
    const killAt = await this.workload(cycle);
    this.phaseMs.workload += Date.now() - t0;
    t0 = Date.now();
    await this.restart(`restart after kill ${cycle}`, this.plan.chance(0.25));
    this.phaseMs.restart += Date.now() - t0;
    t0 = Date.now();
    await this.verify(`cycle ${cycle}`, killAt);
    this.phaseMs.verify += Date.now() - t0;
  }

  /** Closes every session, waits for the server to remove what then ended, and checks one more restart brings none of it back. */
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
    const killAt = Date.now();
    await this.server.kill9();
    this.stats.kills++;
    await this.restart('the final restart', false);
    await this.verify('the final restart', killAt);
    await this.server.stop();
    this.phaseMs.final = Date.now() - t0;
  }

  /** After a failure too: no server or connection may keep the test process alive. */
  async dispose(): Promise<void> {
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
    if (this.current?.alive() === true) await this.current.kill9();
  }

  report(t: TestContext, totalMs: number): void {
    const s = this.stats;
    const m = this.model;
    t.diagnostic(
      `${CYCLES} cycles, ${s.kills} kills (+${s.startupKills} during start-up); ${s.sessions} sessions: ${s.reattached} re-attachments, ` +
        `${s.abandoned} abandoned (${s.expiryDue} then outlived on a server up long enough), ${s.expiredKeepers} found expired after a slow restart`,
    );
    t.diagnostic(`acknowledged writes: ${s.totalAcked()} (${s.byKind(s.acked)})`);
    t.diagnostic(`sent: ${s.byKind(s.sent)}`);
    t.diagnostic(`error replies the model allowed: ${s.byKind(s.refused)}`);
    t.diagnostic(
      `${s.unanswered} requests unanswered at the kills; ${s.lostUnacked} unacknowledged writes did not survive; ` +
        `closeSession unanswered at a kill: ${s.closesApplied} found applied, ${s.closesLost} not`,
    );
    t.diagnostic(`nodes found gone, by cause: ${[...m.removed].map(([cause, n]) => `${cause} ${n}`).join(', ')}`);
    t.diagnostic(
      `at the end: ${m.nodes.size} nodes, ${m.containers.size} containers, ${m.multis.length} multis, ${m.seqs.length} sequential nodes; ` +
        `version-2 holds ${snapshotFiles(this.dataDir).length} snapshots and ${logFiles(this.dataDir).length} logs`,
    );
    const p = this.phaseMs;
    t.diagnostic(`time: ${totalMs} ms (workload ${p.workload}, restarts ${p.restart}, verification ${p.verify}, final checks ${p.final})`);
  }

  assertMinimums(): void {
    assert.equal(this.stats.kills, CYCLES + 1);
    const total = this.stats.totalAcked();
    assert.ok(total >= MIN_ACKS_PER_CYCLE.total * CYCLES, `only ${total} writes acknowledged in ${CYCLES} cycles (seed ${SEED})`);
    for (const kind of WRITE_KINDS) {
      const n = this.stats.acked.get(kind) ?? 0;
      const min = Math.floor(MIN_ACKS_PER_CYCLE[kind] * CYCLES);
      assert.ok(n >= min, `only ${n} ${kind} writes acknowledged in ${CYCLES} cycles, at least ${min} expected (seed ${SEED})`);
    }
  }

  // ------------------------------------------------------------ the load until the kill

  private async workload(cycle: number): Promise<number> {
    const label = `cycle ${cycle}`;
    const ctx: CycleContext = {
      label,
      cycle,
      model: this.model,
      v: this.v,
      stats: this.stats,
      zxidFloor: this.model.maxZxid,
      seqAcks: [],
      killIssued: false,
      stopping: false,
      acks: 0,
    };
    const killAfter = this.killDelay();
    const workers = await this.workers(ctx, killAfter);
    const loops = workers.map((w) => w.run());
    await sleep(killAfter);
    const deadline = Date.now() + ACK_WAIT_MS;
    while (ctx.acks < MIN_CYCLE_ACKS && Date.now() < deadline) await sleep(5);
    this.markExpiryDue(Date.now());
    ctx.killIssued = true;
    const killAt = Date.now();
    await this.server.kill9();
    this.stats.kills++;
    ctx.stopping = true;
    await Promise.all(loops);
    for (const w of workers) this.endWorker(w);
    assert.ok(
      ctx.acks >= MIN_CYCLE_ACKS,
      `${label}: only ${ctx.acks} writes acknowledged in ${killAfter + ACK_WAIT_MS} ms (seed ${SEED}); first violations: ${this.v.list.slice(0, 3).join('; ')}`,
    );
    this.model.checkSequentialAcks(ctx.seqAcks, label, this.v);
    this.v.assertNone(`violations during ${label}`);
    return killAt;
  }

  /** Mostly 20-920 ms; sometimes right after the first acknowledgements; sometimes long enough for abandoned sessions to expire. */
  private killDelay(): number {
    const r = this.plan.next();
    if (r < 0.1) return this.plan.int(20);
    if (r < 0.92) return 20 + this.plan.int(900);
    return SHORT_TIMEOUT_MS + SERVER_REMOVAL_SLACK_MS + this.plan.int(1000);
  }

  /** The open keepers plus new sessions; nodes and containers dealt out so each has one writer. */
  private async workers(ctx: CycleContext, killAfter: number): Promise<SessionWorker[]> {
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
    // Every fourth cycle one keeper closes its session, at a random moment or just as the kill
    // comes (so that some closes are in doubt after the restart); now and then another.
    const keepers = live.filter((s) => s.keeper);
    const closer = ctx.cycle % 4 === 1 && keepers.length > 0 ? this.plan.pick(keepers) : null;
    const start = Date.now();
    return live.map((s, k) => {
      const closes = s.keeper && (s === closer || this.plan.chance(0.04));
      const closeAt = !closes ? null : this.plan.chance(0.6) ? start + killAfter - this.plan.int(5) : start + this.plan.int(killAfter + 1);
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
      this.stats.abandoned++;
    }
  }

  /** Abandoned sessions on a server that has been up long enough have expired, durably. */
  private markExpiryDue(now: number): void {
    for (const s of this.sessions) {
      if (s.state !== 'abandoned' || s.expiryDue || now - this.startedAt < s.timeoutMs + SERVER_REMOVAL_SLACK_MS) continue;
      s.expiryDue = true;
      this.stats.expiryDue++;
    }
  }

  // ------------------------------------------------------------ restart

  private async startServer(): Promise<void> {
    this.current = await startOn(this.dataDir, CONFIG);
    this.startedAt = Date.now();
  }

  private connect(): Promise<RawClient> {
    return RawClient.connect({ host: this.server.host, port: this.server.port, timeoutMs: 4000 });
  }

  private async restart(what: string, killDuringStartup: boolean): Promise<void> {
    if (killDuringStartup) {
      const r = await runServerToExit({ config: { dataDir: this.dataDir, ...CONFIG } }, 30 + this.plan.int(400));
      assert.ok(r.timedOut, `the server exited by itself during start-up (${what}, seed ${SEED}):\n${r.output}`);
      this.stats.startupKills++;
    }
    try {
      await this.startServer();
    } catch (e) {
      const files = `snapshots: ${snapshotFiles(this.dataDir)
        .map((f) => f.name)
        .join(' ')}; logs: ${logFiles(this.dataDir)
        .map((f) => f.name)
        .join(' ')}`;
      assert.fail(`${what} failed (seed ${SEED}); ${files}\n${(e as Error).message}`);
    }
  }

  // ------------------------------------------------------------ verification

  private async verify(label: string, killAt: number): Promise<void> {
    const c = await this.connect();
    for (const s of this.sessions) {
      if (s.state === 'alive' || s.state === 'closing') await this.reattach(s, label, killAt);
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
    const probe = `${PARENTS.probes}/p${this.stats.kills}`;
    const r = await c.create(probe, Buffer.from('p'));
    assert.equal(r.err, 0, `a write after ${label} (seed ${SEED})`);
    if (r.zxid <= this.model.maxZxid) this.v.add(`${label}: ZXID REUSED: a new write got zxid ${r.zxid}, not above ${this.model.maxZxid}`);
    this.model.sawZxid(r.zxid);
    this.model.probes.add(probe);
    c.destroy();
    this.dropSettledSessions();
    this.v.assertNone(`after ${label}`);
  }

  /** A keeper (or a session whose closeSession got no reply) re-attaches with its id, password and last zxid. */
  private async reattach(s: SessionModel, label: string, killAt: number): Promise<void> {
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
    // Restored sessions get a fresh timeout: one that expired sooner than that was lost.
    const couldTimeOut = Date.now() - killAt >= s.timeoutMs;
    if (s.state === 'closing') {
      s.closeOutcome = couldTimeOut ? 'unknown' : 'applied';
      this.stats.closesApplied++;
    } else if (couldTimeOut) this.stats.expiredKeepers++;
    else
      this.v.add(
        `${label}: SESSION LOST: ${s.name} found expired ${Date.now() - killAt} ms after the kill, within its ${s.timeoutMs} ms timeout`,
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

describe(`kill -9 at random moments (seed ${SEED})`, { timeout: TEST_TIMEOUT_MS + 60000 }, () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test(`${CYCLES} kill/restart cycles lose no acknowledged write and show nothing unexplained`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    t.diagnostic(`seed ${SEED}`);
    const dataDir = tempDir('crash');
    dirs.push(dataDir);
    const started = Date.now();
    const run = new CrashRun(dataDir);
    try {
      await run.start();
      for (let cycle = 0; cycle < CYCLES; cycle++) await run.cycle(cycle);
      await run.finish();
    } finally {
      await run.dispose();
    }
    run.report(t, Date.now() - started);
    run.assertMinimums();
  });

  test(
    'a session that re-attaches within its timeout after kill -9 keeps its ephemerals; one that does not loses them',
    { timeout: 40000 },
    async () => {
      const dataDir = tempDir('eph');
      dirs.push(dataDir);
      const config = { tickTime: '500' }; // session timeouts 1 s .. 10 s
      let server = await startOn(dataDir, config);
      const a = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 10000 });
      const b = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 1000 });
      assert.equal(a.negotiatedTimeout, 10000);
      assert.equal((await a.create('/eph', Buffer.alloc(0))).err, 0);
      const mine = ['/eph/a1', '/eph/a2'];
      for (const p of mine) assert.equal((await a.create(p, Buffer.from(p), { flags: CreateMode.EPHEMERAL })).err, 0);
      const seq = await a.create('/eph/aseq-', Buffer.alloc(0), { flags: CreateMode.EPHEMERAL_SEQUENTIAL });
      assert.equal(seq.err, 0);
      mine.push(seq.path ?? '');
      assert.equal((await b.create('/eph/b1', Buffer.alloc(0), { flags: CreateMode.EPHEMERAL })).err, 0);
      const session = { id: a.sessionId, passwd: a.passwd };
      a.destroy();
      b.destroy();

      for (let round = 0; round < 2; round++) {
        await server.kill9();
        server = await startOn(dataDir, config);
        const again = await RawClient.connect({
          host: server.host,
          port: server.port,
          timeoutMs: 10000,
          sessionId: session.id,
          passwd: session.passwd,
          keepAliveMs: 1000,
        });
        assert.equal(again.expired, false, `round ${round}: the session survived the restart`);
        assert.equal(again.sessionId, session.id);
        for (const p of mine) {
          const r = await again.exists(p);
          assert.equal(r.err, 0, `round ${round}: ${p} kept`);
          assert.equal(r.stat?.ephemeralOwner, session.id, `round ${round}: ${p} still owned by the session`);
        }
        assert.deepEqual((await again.getEphemerals('/eph')).paths?.sort(), [...mine].sort());
        // b never comes back: its ephemeral goes once its 1 s timeout has run out after the restart.
        const deadline = Date.now() + 8000;
        while ((await again.exists('/eph/b1')).err === 0) {
          assert.ok(Date.now() < deadline, `round ${round}: /eph/b1 outlived its session's timeout`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        for (const p of mine) assert.equal((await again.exists(p)).err, 0, `round ${round}: ${p} kept after b expired`);
        again.destroy();
      }
      // A closed session's ephemerals are gone for good, also after kill -9 and restart.
      const last = await RawClient.connect({
        host: server.host,
        port: server.port,
        timeoutMs: 10000,
        sessionId: session.id,
        passwd: session.passwd,
      });
      assert.equal(last.expired, false);
      await last.close();
      await server.kill9();
      server = await startOn(dataDir, config);
      const check = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 10000 });
      assert.deepEqual((await check.getChildren('/eph')).children, []);
      const gone = await RawClient.connect({
        host: server.host,
        port: server.port,
        timeoutMs: 10000,
        sessionId: session.id,
        passwd: session.passwd,
      });
      assert.equal(gone.expired, true, 'a closed session cannot be re-attached after a restart');
      check.destroy();
      gone.destroy();
      await server.stop();
    },
  );
});
