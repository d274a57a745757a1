/**
 * A deterministic ZAB cluster: N voters (and observers), each running the real cores
 * (src/quorum/zab) over a simulated disk and network, driven by one seeded event queue.
 *
 * - Disk: a durable snapshot + log and the two epoch files; writes complete in order after a
 *   delay (a slow disk takes longer). A power cut loses every write not yet complete. Leaving
 *   a role (no power cut) lets pending writes finish, as the OS would, and fast-forwards the
 *   database to the log, as ZooKeeper does.
 * - Database: a digest chain over the applied txns and the set of their zxids.
 * - Network: one connection per learner and its leader; messages in each direction arrive in
 *   order (TCP) after random delays, connections are independent. A message that would cross a
 *   partition breaks its connection (both ends are told), so nothing arrives after a loss.
 * - Election (simplified; FLE lives elsewhere): a looking member follows a live leader it can
 *   reach; else a quorum of looking voters that reach each other picks the best
 *   (currentEpoch, last zxid, sid), as FLE's order does.
 *
 * Checkers (a failure throws SimFailure with the seed's trace): at most one leader serves per
 * epoch; the digest at each zxid is the same on every member that reaches it (applied, replayed
 * or loaded); zxids strictly increase in each log and database; every acknowledged write (applied
 * by a core, so answered) is in the final leader's database; after the faults heal a leader
 * serves and a new write reaches a quorum within `healTicks`.
 */
import { SeededRandom } from '../../src/base/index.js';
import { EventQueue, Link, Partitions, electionRound } from './sim-cluster.js';
import {
  PacketType,
  ZabLeader,
  ZabLearner,
  counterOf,
  epochOf,
  hex,
  type Sid,
  type ToLeader,
  type ToLearner,
  type ZabAction,
  type ZabTxn,
  type Zxid,
} from '../../src/quorum/zab/index.js';

export class SimFailure extends Error {
  constructor(
    message: string,
    readonly trace: readonly string[],
  ) {
    super(message);
  }
}

export interface SimOptions {
  readonly seed: number;
  readonly voters: number;
  readonly observers: number;
  readonly faultTicks: number;
  readonly healTicks: number;
  readonly trace?: boolean;
  /** Faults during the fault phase (crashes, partitions, broken connections, slow disks). */
  readonly faults?: boolean;
  readonly initLimitTicks?: number;
  readonly syncLimitTicks?: number;
}

export interface SimResult {
  readonly acked: number;
  readonly healedAfterTicks: number;
  readonly stats: ReadonlyMap<string, number>;
  readonly trace: string[];
}

export const TICK = 10; // time units per tick
const OUTSTANDING_MAX = 20;

interface DbState {
  last: Zxid;
  digest: number;
  readonly zxids: Set<Zxid>;
}

function cloneState(s: DbState): DbState {
  return { last: s.last, digest: s.digest, zxids: new Set(s.zxids) };
}

interface Disk {
  snapZxid: Zxid;
  snapState: DbState;
  log: ZabTxn[];
  acceptedEpoch: number;
  currentEpoch: number;
}

interface DiskOp {
  readonly readyAt: number;
  readonly term: number;
  readonly effect: () => void;
  readonly done: () => void;
}

interface Conn {
  readonly id: number;
  readonly learner: Sid;
  readonly leader: Sid;
  readonly learnerTerm: number;
  readonly leaderTerm: number;
  readonly link: Link;
}

type Role = { kind: 'looking' } | { kind: 'leader'; core: ZabLeader } | { kind: 'learner'; core: ZabLearner; conn: Conn | null };

export class Member {
  up = true;
  gen = 0; // power cycles
  term = 0; // cores: a new one per role
  role: Role = { kind: 'looking' };
  state: DbState;
  readonly disk: Disk;
  diskQueue: DiskOp[] = [];
  diskFreeAt = 0;
  /** Epoch file writes in flight: files of their own, each with its own fsync. */
  epochWrites: DiskOp[] = [];
  /** The log's device (dataLogDir) is slow: appends take longer to be durable. */
  diskSlow = false;
  readonly conns = new Map<Sid, Conn>(); // leader: learner -> conn
  constructor(
    readonly sid: Sid,
    readonly observer: boolean,
  ) {
    const empty: DbState = { last: 0, digest: 0, zxids: new Set() };
    this.disk = { snapZxid: 0, snapState: empty, log: [], acceptedEpoch: 0, currentEpoch: 0 };
    this.state = cloneState(empty);
  }
  get lastLogged(): Zxid {
    return this.disk.log.at(-1)?.zxid ?? this.disk.snapZxid;
  }
}

function mix(digest: number, txn: ZabTxn): number {
  let h = (digest ^ counterOf(txn.zxid) ^ Math.imul(epochOf(txn.zxid), 0x9e3779b1)) >>> 0;
  for (const b of txn.bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h;
}

export class ZabCluster {
  readonly rnd: SeededRandom;
  readonly members: Member[] = [];
  readonly voters: Sid[] = [];
  private readonly events = new EventQueue();
  now = 0;
  private readonly partitions = new Partitions();
  private connIds = 0;
  private readonly digestAt = new Map<Zxid, number>();
  private readonly leaderOfEpoch = new Map<number, Sid>();
  readonly acked = new Set<Zxid>();
  readonly trace: string[] = [];
  /** How often each path ran (packets by name, `readLog`, `crash`, `looking`, `serving`). */
  readonly stats = new Map<string, number>();
  private readonly newLeaderAcked = new Set<string>();
  private readonly lastTxnSent = new Map<string, Zxid>();
  private readonly syncEnd = new Map<string, Zxid>();
  /** The counter a new leader's epoch starts from (ZooKeeper's testing-only initialZxid). */
  initialCounter = 0;
  private writeSeq = 0;
  /** Set by tests: called with each action before the sim carries it out; false skips it. */
  intercept: ((m: Member, a: ZabAction) => boolean) | null = null;
  /** Election pause (scenarios build their schedules by hand). */
  autoElect = true;
  readonly initLimit: number;
  readonly syncLimit: number;
  readonly window: number;

  constructor(readonly opts: SimOptions) {
    this.rnd = new SeededRandom(opts.seed);
    this.initLimit = opts.initLimitTicks ?? 10;
    this.syncLimit = opts.syncLimitTicks ?? 5;
    this.window = 1 + this.rnd.int(8);
    for (let i = 1; i <= opts.voters + opts.observers; i++) {
      const m = new Member(i, i > opts.voters);
      this.members.push(m);
      if (!m.observer) this.voters.push(i);
    }
  }

  count(what: string): void {
    this.stats.set(what, (this.stats.get(what) ?? 0) + 1);
  }

  log(line: string): void {
    if (this.opts.trace === true) this.trace.push(`${this.now} ${line}`);
  }

  fail(msg: string): never {
    throw new SimFailure(`SEED=${this.opts.seed} t=${this.now}: ${msg}`, this.trace);
  }

  member(sid: Sid): Member {
    const m = this.members[sid - 1];
    if (m === undefined) this.fail(`no member ${sid}`);
    return m;
  }

  // ------------------------------------------------------------------ time

  /** Runs events up to `time`, or until `stop` says so after an event. */
  runUntil(time: number, stop?: () => boolean): void {
    while (this.now < time) {
      const e = this.events.pop();
      if (e === undefined || e.at > time) {
        if (e !== undefined) this.events.push(e.at, e.fn);
        this.now = time;
        return;
      }
      this.now = e.at;
      e.fn();
      if (stop?.() === true) return;
    }
  }

  /** Starts the per-tick clock: cores tick, elections run, writes arrive. */
  startClock(onTick: (tick: number) => void): void {
    const step = (): void => {
      const tick = this.now / TICK;
      for (const m of this.members) this.tickMember(m);
      if (this.autoElect) this.elect();
      onTick(tick);
      this.events.push(this.now + TICK, step);
    };
    this.events.push(this.now + TICK, step);
  }

  private tickMember(m: Member): void {
    if (!m.up) return;
    if (m.role.kind === 'leader') {
      m.role.core.tick();
      this.drive(m);
    } else if (m.role.kind === 'learner') {
      m.role.core.tick();
      this.drive(m);
    }
  }

  // ------------------------------------------------------------------ database

  private record(m: Member, txn: ZabTxn): void {
    if (txn.zxid <= m.state.last) this.fail(`member ${m.sid} applies ${hex(txn.zxid)} after ${hex(m.state.last)}`);
    m.state.digest = mix(m.state.digest, txn);
    m.state.last = txn.zxid;
    m.state.zxids.add(txn.zxid);
    const seen = this.digestAt.get(txn.zxid);
    if (seen === undefined) this.digestAt.set(txn.zxid, m.state.digest);
    else if (seen !== m.state.digest) this.fail(`member ${m.sid}: digest at ${hex(txn.zxid)} differs from another member's`);
  }

  /** The database a restart (or a fast-forward) finds: snapshot plus every logged txn. */
  private rebuild(m: Member): void {
    m.state = cloneState(m.disk.snapState);
    for (const txn of m.disk.log) this.record(m, txn);
  }

  // ------------------------------------------------------------------ disk

  private diskOp(m: Member, effect: () => void, done: () => void): void {
    // group commit: a write queued behind a busy disk lands with the next flush, soon after
    const busy = m.diskFreeAt > this.now;
    const delay = busy ? 1 + this.rnd.int(3) : m.diskSlow ? 10 + this.rnd.int(60) : 1 + this.rnd.int(15);
    const readyAt = Math.max(this.now, m.diskFreeAt) + delay;
    m.diskFreeAt = readyAt;
    m.diskQueue.push({ readyAt, term: m.term, effect, done });
    const gen = m.gen;
    this.events.push(readyAt, () => {
      if (m.gen === gen) this.completeDisk(m, readyAt);
    });
  }

  private completeDisk(m: Member, upTo: number): void {
    while (m.diskQueue.length > 0 && (m.diskQueue[0]?.readyAt ?? Infinity) <= upTo) {
      const op = m.diskQueue.shift();
      if (op === undefined) return;
      op.effect();
      if (op.term === m.term) {
        op.done();
        this.drive(m);
      }
    }
  }

  /**
   * An epoch file is written and fsynced on its own, as ZooKeeper's and ours are: it does not
   * wait for the log's queued appends, so a learner that wrote currentEpoch (and ACKed NEWLEADER)
   * before its log was durable would lose those txns in a power cut here too. A slow disk is
   * the log's (dataLogDir); the epoch files are in dataDir, a few bytes each.
   */
  private epochWrite(m: Member, effect: () => void, done: () => void): void {
    const op: DiskOp = { readyAt: this.now + 1 + this.rnd.int(15), term: m.term, effect, done };
    m.epochWrites.push(op);
    const gen = m.gen;
    this.events.push(op.readyAt, () => {
      const i = m.epochWrites.indexOf(op);
      if (m.gen !== gen || i < 0) return;
      m.epochWrites.splice(i, 1);
      op.effect();
      if (op.term === m.term) {
        op.done();
        this.drive(m);
      }
    });
  }

  /** A slow disk recovers: its queued writes complete at the normal pace from now on. */
  fixDisk(m: Member): void {
    m.diskSlow = false;
    let at = this.now;
    m.diskQueue = m.diskQueue.map((op) => ({ ...op, readyAt: (at = Math.min(op.readyAt, at + 1 + this.rnd.int(15))) }));
    m.diskFreeAt = at;
    const gen = m.gen;
    for (const op of m.diskQueue) {
      this.events.push(op.readyAt, () => {
        if (m.gen === gen) this.completeDisk(m, op.readyAt);
      });
    }
  }

  private appendDurable(m: Member, txn: ZabTxn): void {
    if (txn.zxid <= m.lastLogged) this.fail(`member ${m.sid} logs ${hex(txn.zxid)} after ${hex(m.lastLogged)}`);
    m.disk.log.push(txn);
  }

  // ------------------------------------------------------------------ roles

  private newTerm(m: Member): void {
    m.term++;
    for (const c of [...m.conns.values()]) this.closeConn(c, 'role ended');
    m.conns.clear();
    if (m.role.kind === 'learner' && m.role.conn !== null) this.closeConn(m.role.conn, 'role ended');
  }

  /** Back to election without a power cut: pending writes land, the database catches up to the log. */
  becomeLooking(m: Member, reason: string): void {
    this.log(`${m.sid} LOOKING: ${reason}`);
    this.count('looking');
    this.newTerm(m);
    m.role = { kind: 'looking' };
    const queue = [...m.diskQueue, ...m.epochWrites];
    m.diskQueue = [];
    m.epochWrites = [];
    for (const op of queue) op.effect();
    m.gen++; // their completion events are stale now
    m.diskFreeAt = this.now;
    this.rebuildIfBehind(m);
  }

  private rebuildIfBehind(m: Member): void {
    if (m.state.last !== m.lastLogged) this.rebuild(m);
  }

  crash(m: Member): void {
    if (!m.up) return;
    this.log(`${m.sid} CRASH`);
    this.count('crash');
    this.newTerm(m);
    m.up = false;
    m.gen++;
    m.diskQueue = [];
    m.epochWrites = [];
    m.role = { kind: 'looking' };
  }

  restart(m: Member): void {
    if (m.up) return;
    this.log(`${m.sid} RESTART at ${hex(m.lastLogged)}`);
    m.up = true;
    m.diskFreeAt = this.now;
    this.rebuild(m);
  }

  startLeader(m: Member): void {
    this.newTerm(m);
    const tail = m.disk.log.slice(-this.window);
    const core = new ZabLeader({
      sid: m.sid,
      lastZxid: m.lastLogged,
      acceptedEpoch: m.disk.acceptedEpoch,
      currentEpoch: m.disk.currentEpoch,
      voters: this.voters,
      committedTail: tail,
      commitWindow: this.window,
      initLimitTicks: this.initLimit,
      syncLimitTicks: this.syncLimit,
      initialCounter: this.initialCounter,
    });
    m.role = { kind: 'leader', core };
    this.log(`${m.sid} LEADING from ${hex(m.lastLogged)} (accepted ${m.disk.acceptedEpoch}, current ${m.disk.currentEpoch})`);
    this.drive(m);
  }

  startLearner(m: Member, leader: Member): void {
    this.newTerm(m);
    const core = new ZabLearner({
      sid: m.sid,
      leader: leader.sid,
      observer: m.observer,
      lastZxid: m.lastLogged,
      acceptedEpoch: m.disk.acceptedEpoch,
      currentEpoch: m.disk.currentEpoch,
      initLimitTicks: this.initLimit,
      syncLimitTicks: this.syncLimit,
    });
    const role: Role = { kind: 'learner', core, conn: null };
    m.role = role;
    this.log(`${m.sid} ${m.observer ? 'OBSERVING' : 'FOLLOWING'} ${leader.sid} from ${hex(m.lastLogged)}`);
    const term = m.term;
    this.events.push(this.now + 1 + this.rnd.int(5), () => {
      if (m.term !== term || leader.role.kind !== 'leader' || !leader.up || this.isCut(m.sid, leader.sid)) return;
      const conn: Conn = {
        id: ++this.connIds,
        learner: m.sid,
        leader: leader.sid,
        learnerTerm: m.term,
        leaderTerm: leader.term,
        link: new Link(),
      };
      const old = leader.conns.get(m.sid);
      if (old !== undefined) this.closeConn(old, 'replaced');
      leader.conns.set(m.sid, conn);
      role.conn = conn;
      core.connected();
      this.drive(m);
    });
  }

  // ------------------------------------------------------------------ network

  isCut(a: Sid, b: Sid): boolean {
    return this.partitions.isCut(a, b);
  }
  cut(a: Sid, b: Sid): void {
    this.log(`CUT ${a}-${b}`);
    this.partitions.cut(a, b);
  }
  heal(a: Sid, b: Sid): void {
    this.partitions.heal(a, b);
  }
  healAll(): void {
    this.partitions.healAll();
  }

  private liveEnd(sid: Sid, term: number): Member | null {
    const m = this.member(sid);
    return m.up && m.term === term ? m : null;
  }

  closeConn(c: Conn, why: string): void {
    if (!c.link.open) return;
    c.link.open = false;
    this.log(`conn ${c.learner}->${c.leader} closed: ${why}`);
    this.events.push(this.now + 1 + this.rnd.int(5), () => {
      const learner = this.liveEnd(c.learner, c.learnerTerm);
      if (learner?.role.kind === 'learner') {
        learner.role.core.disconnected();
        this.drive(learner);
      }
      const leader = this.liveEnd(c.leader, c.leaderTerm);
      if (leader?.role.kind === 'leader' && leader.conns.get(c.learner) === c) {
        leader.conns.delete(c.learner);
        leader.role.core.disconnected(c.learner);
        this.drive(leader);
      }
    });
  }

  private transmit(c: Conn, toLeader: boolean, deliver: () => void): void {
    if (!c.link.open) return;
    if (this.isCut(c.learner, c.leader)) {
      this.closeConn(c, 'partition');
      return;
    }
    const at = c.link.arrival(toLeader ? 0 : 1, this.now, 1 + this.rnd.int(6));
    this.events.push(at, () => {
      if (c.link.open) deliver();
    });
  }

  private sendToLearner(leader: Member, to: Sid, msg: ToLearner): void {
    const c = leader.conns.get(to);
    if (c === undefined) return;
    let snapshot: DbState | null = null;
    if (msg.type === PacketType.snap) {
      snapshot = cloneState(leader.state);
      if (snapshot.last !== msg.zxid) this.fail(`SNAP marker ${hex(msg.zxid)} but the database is at ${hex(snapshot.last)}`);
    }
    this.transmit(c, false, () => {
      const m = this.liveEnd(c.learner, c.learnerTerm);
      if (m?.role.kind !== 'learner') return;
      if (snapshot !== null) m.state = cloneState(snapshot);
      const key = `${m.sid}/${m.term}`;
      if (msg.type === PacketType.proposal || msg.type === PacketType.inform) this.lastTxnSent.set(key, msg.txn.zxid);
      if (msg.type === PacketType.newLeader) this.syncEnd.set(key, this.lastTxnSent.get(key) ?? 0);
      if (msg.type === PacketType.diff || msg.type === PacketType.trunc || msg.type === PacketType.snap)
        this.count(describe(msg).split(' ')[0] ?? '');
      this.log(`${leader.sid}->${m.sid} ${describe(msg)}`);
      m.role.core.receive(msg);
      this.drive(m);
    });
  }

  private sendToLeader(m: Member, msg: ToLeader): void {
    if (m.role.kind !== 'learner' || m.role.conn === null) return;
    const c = m.role.conn;
    this.transmit(c, true, () => {
      const leader = this.liveEnd(c.leader, c.leaderTerm);
      if (leader?.role.kind !== 'leader') return;
      this.log(`${m.sid}->${leader.sid} ${describe(msg)}`);
      leader.role.core.receive(m.sid, msg);
      this.drive(leader);
    });
  }

  // ------------------------------------------------------------------ actions

  /** Carries out a member's core actions until it has none left. */
  drive(m: Member): void {
    for (;;) {
      const role = m.role;
      if (role.kind === 'looking' || !m.up) return;
      const actions = role.core.take();
      if (actions.length === 0) return;
      for (const a of actions) {
        if (m.role !== role) break; // the role ended midway (looking)
        if (this.intercept !== null && !this.intercept(m, a)) continue;
        this.carryOut(m, role, a);
      }
    }
  }

  private carryOut(m: Member, role: Exclude<Role, { kind: 'looking' }>, a: ZabAction): void {
    this.checkAction(m, role, a);
    switch (a.kind) {
      case 'send':
        if (role.kind === 'leader') this.sendToLearner(m, a.to, a.message as ToLearner);
        else this.sendToLeader(m, a.message as ToLeader);
        return;
      case 'disconnect': {
        const c = m.conns.get(a.peer);
        if (c !== undefined) {
          m.conns.delete(a.peer);
          this.closeConn(c, a.reason);
        }
        return;
      }
      case 'append':
        this.diskOp(
          m,
          () => this.appendDurable(m, a.txn),
          () => role.core.logged(a.txn.zxid),
        );
        return;
      case 'apply':
        this.record(m, a.txn);
        this.acked.add(a.txn.zxid);
        return;
      case 'writeEpoch':
        this.epochWrite(
          m,
          () => (a.file === 'acceptedEpoch' ? (m.disk.acceptedEpoch = a.epoch) : (m.disk.currentEpoch = a.epoch)),
          () => role.core.epochWritten(a.file, a.epoch),
        );
        return;
      case 'truncate':
        this.truncate(m, role, a.zxid);
        return;
      case 'saveSnapshot':
        this.saveSnapshot(m, role, a.zxid);
        return;
      case 'readLog':
        this.readLog(m, role, a.peer, a.after, a.until);
        return;
      case 'request':
        if (role.kind === 'leader' && role.core.isServing) this.propose(m, role.core, a.request.sessionId, a.request.cxid);
        return;
      case 'revalidate':
        if (role.kind === 'leader') role.core.revalidated(a.from, a.sessionId, true);
        return;
      case 'serving':
        this.onServing(m, role, a.epoch);
        return;
      case 'activate':
        // no simulated client proposes a reconfig, so none can be activated
        throw new Error(`reconfig 0x${a.txn.zxid.toString(16)} activated, but the simulation proposes none`);
      case 'looking':
        this.becomeLooking(m, a.reason);
        return;
      case 'touches':
      case 'revalidated':
      case 'syncDone':
        return;
    }
  }

  private onServing(m: Member, role: Exclude<Role, { kind: 'looking' }>, epoch: number): void {
    this.log(`${m.sid} SERVING epoch ${epoch}`);
    this.count(role.kind === 'leader' ? 'leader serving' : 'learner serving');
    if (role.kind !== 'leader') return;
    const other = this.leaderOfEpoch.get(epoch);
    if (other !== undefined && other !== m.sid) this.fail(`two leaders in epoch ${epoch}: ${other} and ${m.sid}`);
    this.leaderOfEpoch.set(epoch, m.sid);
  }

  private truncate(m: Member, role: Exclude<Role, { kind: 'looking' }>, zxid: Zxid): void {
    if (zxid < m.disk.snapZxid) this.fail(`member ${m.sid}: TRUNC to ${hex(zxid)} below its snapshot ${hex(m.disk.snapZxid)}`);
    // the database is reset to the log's prefix at once (ZooKeeper reloads it); the cut is a disk write
    m.state = cloneState(m.disk.snapState);
    for (const txn of m.disk.log) if (txn.zxid <= zxid) this.record(m, txn);
    this.diskOp(
      m,
      () => (m.disk.log = m.disk.log.filter((t) => t.zxid <= zxid)),
      () => {
        if (role.kind === 'learner') role.core.truncated(zxid);
      },
    );
  }

  private saveSnapshot(m: Member, role: Exclude<Role, { kind: 'looking' }>, zxid: Zxid): void {
    if (m.state.last !== zxid) this.fail(`member ${m.sid}: saveSnapshot ${hex(zxid)} of a database at ${hex(m.state.last)}`);
    const state = cloneState(m.state);
    this.diskOp(
      m,
      () => {
        m.disk.snapZxid = zxid;
        m.disk.snapState = state;
        m.disk.log = [];
      },
      () => {
        if (role.kind === 'learner') role.core.snapshotSaved(zxid);
      },
    );
  }

  private readLog(m: Member, role: Exclude<Role, { kind: 'looking' }>, peer: Sid, after: Zxid, until: Zxid): void {
    this.count('readLog');
    const log = m.disk.log;
    let preceding: Zxid | null = null;
    if (after >= m.disk.snapZxid && !this.rnd.chance(0.05)) {
      preceding = m.disk.snapZxid;
      for (const t of log) if (t.zxid <= after) preceding = t.zxid;
    }
    const txns = log.filter((t) => t.zxid > after && t.zxid <= until);
    const term = m.term;
    this.events.push(this.now + 1 + this.rnd.int(10), () => {
      if (m.term !== term || role.kind !== 'leader') return;
      role.core.logRead(peer, { preceding, txns });
      this.drive(m);
    });
  }

  // ------------------------------------------------------------------ clients

  propose(m: Member, core: ZabLeader, sessionId: bigint, cxid: number): void {
    const zxid = core.nextZxid();
    if (zxid === null) {
      this.drive(m);
      return;
    }
    const n = ++this.writeSeq;
    const bytes = new Uint8Array([n & 0xff, (n >> 8) & 0xff, m.sid, this.rnd.int(256)]);
    core.propose({ zxid, sessionId, cxid, type: 5, bytes });
    this.drive(m);
  }

  /** A client write at a random serving member (a learner forwards it). */
  clientWrite(): void {
    const serving = this.members.filter((m) => m.up && m.role.kind !== 'looking' && m.role.core.isServing);
    if (serving.length === 0) return;
    const m = this.rnd.pick(serving);
    const leader = this.servingLeader();
    // the leader's prep throttles (globalOutstandingLimit): no more than this many in flight
    if (leader?.role.kind === 'leader' && leader.role.core.outstandingCount > OUTSTANDING_MAX) return;
    if (m.role.kind === 'leader') this.propose(m, m.role.core, BigInt(m.sid), this.writeSeq);
    else if (m.role.kind === 'learner') {
      m.role.core.forward({ sessionId: BigInt(m.sid), cxid: this.writeSeq, requestType: 5, body: new Uint8Array(0), authinfo: null });
      this.drive(m);
    }
  }

  // ------------------------------------------------------------------ election

  private lastHeardBest(m: Member): [number, Zxid, Sid] {
    return [m.disk.currentEpoch, m.lastLogged, m.sid];
  }

  elect(): void {
    electionRound<Member>({
      members: this.members,
      voterCount: this.voters.length,
      rnd: this.rnd,
      sid: (m) => m.sid,
      observer: (m) => m.observer,
      looking: (m) => m.up && m.role.kind === 'looking',
      reachableLeader: (m) =>
        this.members.find((l) => l.up && l.role.kind === 'leader' && !l.role.core.isDone && !this.isCut(l.sid, m.sid)),
      vote: (m) => this.lastHeardBest(m),
      isCut: (a, b) => this.isCut(a, b),
      startLeader: (m) => this.startLeader(m),
      startLearner: (m, leader) => this.startLearner(m, leader),
    });
  }

  // ------------------------------------------------------------------ checks

  private durableOn(m: Member, zxid: Zxid): boolean {
    return m.disk.snapState.zxids.has(zxid) || m.disk.log.some((t) => t.zxid === zxid);
  }

  /**
   * Durability rules checked as the cores act, where the bugs ZooKeeper shipped would show:
   * - a COMMIT of the leader's epoch goes out only for a txn durable on a quorum of voters
   *   (the leader counts itself only once its own log is durable);
   * - a learner's ACK of a proposal only for a txn durable on it, and never before its
   *   NEWLEADER ACK (ZOOKEEPER-4685);
   * - a learner writes currentEpoch and ACKs NEWLEADER only once every txn it was sent is
   *   durable (ZOOKEEPER-3911, 4643, 4646, 4785): its durable log is at its last txn.
   */
  private checkAction(m: Member, role: Exclude<Role, { kind: 'looking' }>, a: ZabAction): void {
    if (role.kind === 'leader') {
      if (a.kind !== 'send' || a.message.type !== PacketType.commit) return;
      const z = a.message.zxid;
      if (epochOf(z) !== role.core.newEpoch) return;
      const durable = this.voters.filter((s) => this.durableOn(this.member(s), z)).length;
      if (durable * 2 <= this.voters.length) this.fail(`leader ${m.sid} commits ${hex(z)} durable on only ${durable} voters`);
      return;
    }
    const atLastTxn = (): boolean => m.lastLogged >= this.lastSentTo(m);
    if (a.kind === 'writeEpoch' && a.file === 'currentEpoch' && !atLastTxn()) {
      this.fail(`learner ${m.sid} writes currentEpoch with its log durable only at ${hex(m.lastLogged)}`);
    }
    if (a.kind !== 'send' || a.message.type !== PacketType.ack) return;
    const z = a.message.zxid;
    if (counterOf(z) === 0) {
      if (m.disk.currentEpoch !== epochOf(z))
        this.fail(`learner ${m.sid} ACKs NEWLEADER ${hex(z)} with currentEpoch ${m.disk.currentEpoch} on disk`);
      if (!atLastTxn()) this.fail(`learner ${m.sid} ACKs NEWLEADER with its log durable only at ${hex(m.lastLogged)}`);
      this.newLeaderAcked.add(`${m.sid}/${m.term}`);
      return;
    }
    if (!this.newLeaderAcked.has(`${m.sid}/${m.term}`)) this.fail(`learner ${m.sid} ACKs ${hex(z)} before NEWLEADER`);
    if (!this.durableOn(m, z)) this.fail(`learner ${m.sid} ACKs ${hex(z)} before it is durable`);
  }

  /** The last txn the member's current learner core was sent before NEWLEADER (what its log must reach). */
  private lastSentTo(m: Member): Zxid {
    return this.syncEnd.get(`${m.sid}/${m.term}`) ?? 0;
  }

  servingLeader(): Member | null {
    return this.members.find((m) => m.up && m.role.kind === 'leader' && m.role.core.isServing) ?? null;
  }

  checkAckedKept(leader: Member): void {
    for (const z of this.acked) {
      if (!leader.state.zxids.has(z)) this.fail(`acknowledged write ${hex(z)} missing from leader ${leader.sid}'s database`);
    }
  }
}

function describe(m: ToLearner | ToLeader): string {
  const name = Object.entries(PacketType).find(([, v]) => v === m.type)?.[0] ?? String(m.type);
  const parts: string[] = [name];
  if ('zxid' in m) parts.push(hex(m.zxid));
  if ('txn' in m) parts.push(hex(m.txn.zxid));
  if ('epoch' in m) parts.push(`epoch ${m.epoch}`);
  if ('acceptedEpoch' in m) parts.push(`accepted ${m.acceptedEpoch}`);
  if ('currentEpoch' in m) parts.push(`current ${m.currentEpoch} last ${hex(m.lastZxid)}`);
  return parts.join(' ');
}

/**
 * One randomized run: a fault phase with writes, crashes, restarts, partitions, broken
 * connections and slow disks; then everything heals and a leader must serve and commit a new
 * write on a quorum within `healTicks`; then the checks.
 */
export function runRandom(opts: SimOptions): SimResult {
  const sim = new ZabCluster(opts);
  const rnd = sim.rnd;
  let healedAt = -1;
  let healedAfter = -1;
  let probe: { zxid: Zxid; leader: Member; term: number } | null = null;
  sim.startClock((tick) => {
    if (tick < opts.faultTicks) {
      if (opts.faults !== false) injectFault(sim);
      for (let n = rnd.int(4); n > 0; n--) sim.clientWrite();
      return;
    }
    if (healedAt < 0) {
      healedAt = tick;
      sim.log('HEAL');
      sim.healAll();
      for (const m of sim.members) {
        sim.restart(m);
        sim.fixDisk(m);
      }
    }
    if (healedAfter >= 0) return;
    const leader = sim.servingLeader();
    if (leader?.role.kind !== 'leader') return;
    if (probe?.leader !== leader || probe.term !== leader.term) {
      sim.propose(leader, leader.role.core, 0n, tick);
      probe = { zxid: leader.role.core.lastProposedZxid, leader, term: leader.term };
      return;
    }
    const z = probe.zxid;
    const have = sim.voters.filter((s) => sim.member(s).state.zxids.has(z)).length;
    if (have * 2 > sim.voters.length) healedAfter = tick - healedAt;
  });
  const quiet = 3 * sim.syncLimit;
  let settleUntil = Infinity;
  sim.runUntil((opts.faultTicks + opts.healTicks) * TICK, () => {
    if (healedAfter >= 0 && settleUntil === Infinity) settleUntil = sim.now + quiet * TICK;
    // settled: quiet for a while and the serving leader's disk has caught up
    return sim.now >= settleUntil && sim.servingLeader()?.diskQueue.length === 0;
  });
  if (healedAfter < 0) sim.fail(`no leader committed a write within ${opts.healTicks} ticks after the faults healed`);
  const leader = sim.servingLeader();
  if (leader === null) return sim.fail('no serving leader after the cluster settled');
  sim.checkAckedKept(leader);
  return { acked: sim.acked.size, healedAfterTicks: healedAfter, trace: sim.trace, stats: sim.stats };
}

function injectFault(sim: ZabCluster): void {
  const rnd = sim.rnd;
  const pick = (): Member => rnd.pick(sim.members);
  const r = rnd.next();
  if (r < 0.02) {
    // a shared power cut: several members lose their unsynced writes at the same moment
    for (const m of sim.members) if (rnd.chance(0.6)) sim.crash(m);
  } else if (r < 0.04) sim.crash(pick());
  else if (r < 0.1) sim.restart(pick());
  else if (r < 0.11) {
    const a = pick();
    const b = pick();
    if (a !== b) sim.cut(a.sid, b.sid);
  } else if (r < 0.16) sim.healAll();
  else if (r < 0.18) {
    const m = pick();
    m.diskSlow = !m.diskSlow;
  } else if (r < 0.2) {
    const m = pick();
    if (m.role.kind === 'learner' && m.role.conn !== null) sim.closeConn(m.role.conn, 'connection broke');
  }
}
