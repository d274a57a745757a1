/**
 * A deterministic ensemble of the real server code: each member is the real ZAB core with the
 * real ZkServer (prep on the leader, applyCommitted on learners) over the real storage on a
 * simulated disk of its own (ensemble-replica.ts). One seeded event queue drives everything:
 * the members' ticks, a network of ordered connections with random delays (sim-cluster.ts),
 * the disks one operation at a time (slow disks take longer per operation), the simplified
 * election, and clients that speak the client protocol's bytes to the members.
 *
 * The real code is asynchronous (promises, process.nextTick): between two instants of
 * simulated time the queue lets every continuation run (one macrotask turn), so a seed
 * replays exactly.
 *
 * Faults during the fault phase: power cuts of one member or several at once (unsynced writes
 * lost, the last one maybe torn), power coming back (recovery from the disk), partitions
 * between members and their healing, broken member connections, broken client connections,
 * slow disks. Then everything heals.
 *
 * Checkers (a failure throws SimFailure, with the trace when it is on): at most one leader per
 * epoch; members that reach the same zxid (applied, recovered, truncated to or loaded from a
 * SNAP) have the same tree and session table (digest); zxids strictly increase on every tree
 * between resets; after the faults heal a write is answered within `healTicks`; every write
 * acknowledged to a client is in the last leader's history; and the client history checks of
 * ensemble-history.ts (linearizable writes, per-session order, reads of committed states,
 * syncs). The real code's own asserts count as failures too.
 */
import { SeededRandom } from '../../src/base/index.js';
import {
  ErrorCode,
  JuteReader,
  JuteWriter,
  OpCode,
  readConnectResponse,
  readStat,
  writeConnectRequest,
  writeRequest,
  type ACL,
  type Request,
} from '../../src/codec/index.js';
import { PacketType, ZabLeader, hex, type Sid, type Zxid } from '../../src/quorum/zab/index.js';
import { readNow, type ClientConnection, type Clock, type Outbox } from '../../src/server/types.js';
import { takeFrames } from '../support/outbox.js';
import { OPEN_ACL_UNSAFE, type DataTree } from '../../src/tree/index.js';
import { settle } from './sim-fs.js';
import { EventQueue, Link, Partitions, compareVotes } from './sim-cluster.js';
import { majorityConfigOf, roleIn, verifierOf, type QuorumConfig } from '../../src/config/index.js';
import { electionViewOf } from '../../src/ensemble/membership.js';
import { Admin, type ReconfigScenario } from './sim-admin.js';
import { SimFailure } from './zab-cluster.js';
import { History, describeOp, isWrite, type Answer, type ClientOp, type Invocation } from './ensemble-history.js';
import { Replica, SUPER_AUTH, memberSpec, membersText, type Bug, type EnsembleHost, type QuorumMessage } from './ensemble-replica.js';

export { SimFailure };

export interface EnsembleOptions {
  readonly seed: number;
  readonly voters: number;
  readonly observers: number;
  /** Members that exist but are in no membership at the start (a reconfig may add them). */
  readonly spares?: number;
  /** An admin client changes the membership as this scenario says. */
  readonly reconfig?: ReconfigScenario;
  /** Client processes (each has one session at a time). */
  readonly clients: number;
  readonly faultTicks: number;
  readonly healTicks: number;
  readonly faults?: boolean;
  /** The chance of a fault each tick of the fault phase (default: one each tick). */
  readonly faultChance?: number;
  readonly trace?: boolean;
  readonly bug?: Bug | null;
}

export interface EnsembleResult {
  readonly acked: number;
  readonly reads: number;
  readonly healedAfterTicks: number;
  readonly stats: ReadonlyMap<string, number>;
  readonly trace: string[];
}

/** Time units per tick (tickTime), and milliseconds per unit (tickTime 100 ms). */
export const TICK = 10;
const MS_PER_UNIT = 10;
const WALL_BASE_MS = 1_700_000_000_000;
const KEYS = ['/k0', '/k1', '/k2'];
const SESSION_TIMEOUT_MS = 4000;
const PIPELINE_MAX = 3;
const PING_IDLE_UNITS = 8 * TICK;
const OPEN_ACL = OPEN_ACL_UNSAFE as ACL[];

interface PeerConn {
  readonly link: Link;
  readonly learner: Replica;
  readonly leader: Replica;
  readonly learnerTerm: number;
  readonly leaderTerm: number;
}

/** One client connection, as the member's ZkServer sees it and as the client sees it. */
class ClientConn implements ClientConnection {
  readonly remoteAddress = '10.1.0.1';
  readonly remotePort: number;
  /** The server's output for this connection, once it took the connection. */
  outbox: Outbox | null = null;
  readonly link = new Link();
  readonly replicaTerm: number;
  sessionId: bigint | null = null;
  nextXid = 1;
  lastSentAt = 0;
  readonly pending: { xid: number; inv: Invocation | null; onReply?: (zxid: Zxid, err: number, body: JuteReader) => void }[] = [];
  /** The admin's digest was sent on this connection. */
  authSent = false;

  constructor(
    readonly id: number,
    readonly client: SimClient,
    readonly replica: Replica,
    private readonly sim: Ensemble,
  ) {
    this.remotePort = 20000 + id;
    this.replicaTerm = replica.term;
  }

  private closeSeen = false;

  /** The server's driver, in step: its frames leave now, and its close after them. */
  outputReady(): void {
    const outbox = this.outbox;
    if (outbox === null) return;
    for (const frame of takeFrames(outbox)) this.sim.toClient(this, frame);
    if (outbox.closeReason !== null && !this.closeSeen) {
      this.closeSeen = true;
      this.sim.serverClosed(this, outbox.closeReason);
    }
  }
}

class SimClient {
  conn: ClientConn | null = null;
  /** The session's number in the history. */
  session = 0;
  retryAt = 0;
  seq = 0;
  /** Versions this client last saw, for its conditional writes. */
  readonly versions = new Map<string, number>();
  constructor(readonly index: number) {}
}

export class Ensemble implements EnsembleHost {
  readonly rnd: SeededRandom;
  readonly members: Replica[] = [];
  readonly initialMembership: QuorumConfig;
  /** Every membership some member committed, by version (one membership per version). */
  readonly committedMemberships = new Map<number, QuorumConfig>();
  readonly admin: Admin<SimClient> | null;
  readonly history = new History();
  readonly trace: string[] = [];
  readonly stats = new Map<string, number>();
  readonly initLimit = 10;
  readonly syncLimit = 5;
  readonly snapCount: number;
  readonly bug: Bug | null;
  readonly clock: Clock = {
    wallMs: () => WALL_BASE_MS + this.now * MS_PER_UNIT,
    monoMs: () => WALL_BASE_MS + this.now * MS_PER_UNIT,
  };
  now = 0;
  /** No new client requests (the run is settling). */
  quiet = false;
  private readonly events = new EventQueue();
  private readonly partitions = new Partitions();
  private readonly leaderConns = new Map<Replica, Map<Sid, PeerConn>>();
  private readonly learnerConns = new Map<Replica, PeerConn>();
  private readonly clientConns = new Set<ClientConn>();
  private readonly clients: SimClient[] = [];
  private readonly digestAt = new Map<Zxid, { digest: string; sid: Sid }>();
  private readonly leaderOfEpoch = new Map<number, Sid>();
  private waiters: { cond: () => boolean; alive: () => boolean; resolve: () => void }[] = [];
  private failure: Error | null = null;
  private connIds = 0;
  private sessions = 0;

  constructor(readonly opts: EnsembleOptions) {
    this.rnd = new SeededRandom(opts.seed);
    this.bug = opts.bug ?? null;
    this.snapCount = 10 + this.rnd.int(60);
    const inMembership = opts.voters + opts.observers;
    this.initialMembership = majorityConfigOf(
      Array.from({ length: inMembership }, (_, i) => memberSpec(i + 1, i < opts.voters ? 'participant' : 'observer')),
      0,
    );
    for (let sid = 1; sid <= inMembership + (opts.spares ?? 0); sid++) {
      this.members.push(new Replica(sid, this, new SeededRandom(opts.seed * 7919 + sid * 104729)));
    }
    for (let i = 0; i < opts.clients; i++) this.clients.push(new SimClient(i));
    this.admin = opts.reconfig === undefined ? null : new Admin(this, opts.reconfig, new SimClient(opts.clients));
  }

  // ------------------------------------------------------------------ host services

  get tracing(): boolean {
    return this.opts.trace === true;
  }

  log(line: string): void {
    if (this.tracing) this.trace.push(`${this.now} ${line}`);
  }

  count(what: string): void {
    this.stats.set(what, (this.stats.get(what) ?? 0) + 1);
  }

  fail(message: string): never {
    const e = new SimFailure(`SEED=${this.opts.seed} t=${this.now}: ${message}`, this.trace);
    this.failure ??= e;
    throw e;
  }

  spawn(work: () => Promise<void>): void {
    work().catch((e: unknown) => {
      this.failure ??=
        e instanceof SimFailure
          ? e
          : new SimFailure(`SEED=${this.opts.seed} t=${this.now}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, this.trace);
    });
  }

  waitFor(cond: () => boolean, alive: () => boolean): Promise<void> {
    if (cond() || !alive()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ cond, alive, resolve }));
  }

  member(sid: Sid): Replica {
    const m = this.members[sid - 1];
    if (m === undefined) return this.fail(`no member ${sid}`);
    return m;
  }

  // ------------------------------------------------------------------ time

  /** Runs events up to `time`, or until `stop` holds between two instants. */
  async runUntil(time: number, stop?: () => boolean): Promise<void> {
    for (;;) {
      await this.between();
      if (stop?.() === true) return;
      const at = this.events.peekAt();
      if (at > time) {
        this.now = time;
        return;
      }
      this.now = at;
      while (this.events.peekAt() === at) this.events.pop()?.fn();
    }
  }

  /** Lets the real code's continuations run, wakes the waiters that may go on, steps the disks. */
  private async between(): Promise<void> {
    for (;;) {
      await settle();
      if (this.failure !== null) throw this.failure;
      const ready = this.waiters.filter((w) => w.cond() || !w.alive());
      if (ready.length === 0) break;
      this.waiters = this.waiters.filter((w) => !ready.includes(w));
      for (const w of ready) w.resolve();
    }
    for (const r of this.members) this.scheduleDiskStep(r);
  }

  /** The disk takes its queued operations one at a time; a slow one takes longer for each. */
  private scheduleDiskStep(r: Replica): void {
    if (r.diskBusy || r.fs.sched.pending === 0) return;
    r.diskBusy = true;
    const fs = r.fs;
    const delay = r.diskSlow ? 5 + this.rnd.int(20) : this.rnd.int(3);
    this.events.push(this.now + delay, () => {
      if (r.fs !== fs) return;
      r.diskBusy = false;
      fs.sched.step();
    });
  }

  /** Every tick: the members' cores and servers, the election, the clients, then `onTick`. */
  startClock(onTick: (tick: number) => void): void {
    const step = (): void => {
      for (const r of this.members) r.tick();
      this.elect();
      for (const c of this.clients) this.clientTick(c);
      if (this.admin !== null) this.adminTick(this.admin);
      onTick(this.now / TICK);
      this.events.push(this.now + TICK, step);
    };
    this.events.push(this.now + TICK, step);
  }

  // ------------------------------------------------------------------ election and roles

  /**
   * One round of the simplified election (FLE lives elsewhere). A member a committed reconfig
   * named a leader for goes there without an election. A looking member follows a live leader it
   * can reach; else the looking participants that reach it (voters or not: FLE hears everyone's
   * vote and each member counts only its voters) adopt the newest committed membership among
   * them (FLE's processReconfig) and, when they are a quorum under every one's memberships
   * (committed and last seen, as electionViewOf counts), pick the best vote of a committed voter.
   * Each looking member takes part with probability 1/2, so rounds interleave.
   */
  private elect(): void {
    for (const m of this.members) if (m.ready && m.successor !== null) this.goToSuccessor(m, m.successor);
    for (const m of this.members) {
      if (!m.looking || !this.rnd.chance(0.5)) continue;
      const leader = this.members.find((l) => l.core instanceof ZabLeader && !l.core.isDone && !this.isCut(l.sid, m.sid));
      if (leader !== undefined) {
        this.follow(m, leader);
        continue;
      }
      const heard = this.members.filter((v) => v.up && !this.isCut(v.sid, m.sid));
      const newest = newestOf(heard.map((v) => v.membership.committed));
      m.adoptMembership(newest);
      if (m.observer) continue;
      const group = this.members.filter((v) => v.looking && !this.isCut(v.sid, m.sid));
      for (const v of group) v.adoptMembership(newest);
      const participants = group.filter((v) => !v.observer);
      const sids = new Set(participants.map((v) => v.sid));
      const views = participants.map((v) => electionViewOf(v.sid, v.membership.committed, v.membership.lastSeen));
      if (!views.every((w) => w.quorum.containsQuorum(sids))) continue;
      let best: Replica | null = null;
      for (const v of participants) {
        if (roleIn(m.membership.committed, v.sid) !== 'participant') continue;
        if (best === null || compareVotes(v.vote(), best.vote()) > 0) best = v;
      }
      if (best === null || !participants.every((v) => v === best || !this.isCut(v.sid, best.sid))) continue;
      best.startLeader();
      for (const v of participants) if (v !== best) this.follow(v, best);
    }
  }

  private follow(m: Replica, leader: Replica): void {
    m.startLearner(leader.sid);
    this.connect(m, leader);
  }

  /**
   * QuorumPeer with reconfigFlag: the named leader leads at once; the others connect to it once
   * it leads, and look for a leader when it has not within initLimit (Learner.connectToLeader).
   */
  private goToSuccessor(m: Replica, successor: Sid): void {
    if (successor === m.sid) {
      if (roleIn(m.membership.committed, m.sid) === 'participant') {
        this.count('leader without election');
        m.startLeader();
      } else m.successor = null;
      return;
    }
    const leader = this.member(successor);
    if (leader.core instanceof ZabLeader && !leader.core.isDone && !this.isCut(leader.sid, m.sid)) {
      this.count('learner without election');
      m.successor = null;
      this.follow(m, leader);
    } else if (this.now - m.successorSince > this.initLimit * TICK) m.successor = null;
  }

  onServing(r: Replica, epoch: number): void {
    if (this.tracing) this.log(`${r.sid} SERVING epoch ${epoch}`);
    if (!(r.core instanceof ZabLeader)) {
      this.count('learner serving');
      return;
    }
    this.count('leader serving');
    const committed = r.membership.committed;
    if (roleIn(committed, r.sid) !== 'participant') {
      this.fail(
        `leader ${r.sid} serves epoch ${epoch}, but its membership ${hex(committed.version)} (${membersText(committed)}) has it no voter`,
      );
    }
    const other = this.leaderOfEpoch.get(epoch);
    if (other !== undefined && other !== r.sid) this.fail(`two leaders in epoch ${epoch}: ${other} and ${r.sid}`);
    this.leaderOfEpoch.set(epoch, r.sid);
    this.history.epochEstablished(epoch, r.roleStartZxid);
  }

  onProposed(_r: Replica, header: Parameters<History['proposedTxn']>[0], txn: Parameters<History['proposedTxn']>[1]): void {
    this.history.proposedTxn(header, txn);
  }

  /** Same zxid, same tree and sessions, on every member; zxids increase between resets. */
  onApplied(r: Replica, tree: DataTree, sessions: ReadonlyMap<bigint, number>, how: 'apply' | 'reset'): void {
    const zxid = tree.lastProcessedZxid;
    if (how === 'apply') {
      if (zxid <= r.lastApplied) this.fail(`member ${r.sid}: applied ${hex(zxid)} after ${hex(r.lastApplied)}`);
      r.lastApplied = zxid;
    }
    if (how === 'reset') this.count('tree reset');
    if (how === 'apply' && r.core instanceof ZabLeader) this.checkLeaderIsMember(r, zxid);
    const digest = treeDigest(tree, sessions);
    const seen = this.digestAt.get(zxid);
    if (seen === undefined) this.digestAt.set(zxid, { digest, sid: r.sid });
    else if (seen.digest !== digest) {
      this.fail(`member ${r.sid}'s tree at ${hex(zxid)} (${how}) differs from member ${seen.sid}'s:\n  ${digest}\n  ${seen.digest}`);
    }
  }

  startRefused(_r: Replica): void {
    this.count('start refused');
  }

  /** Too few voters of the newest membership can start for a quorum: nothing can be served (see Replica.refusesStart). */
  get quorumRefusesStart(): boolean {
    const voters = verifierOf(this.newestMembership()).voters;
    const refused = this.members.filter((m) => voters.includes(m.sid) && m.refusesStart).length;
    return (voters.length - refused) * 2 <= voters.length;
  }

  /** The newest membership any member committed (the ensemble's, as far as anyone knows). */
  newestMembership(): QuorumConfig {
    return newestOf([this.initialMembership, ...this.committedMemberships.values()]);
  }

  committedMembership(version: number): QuorumConfig | undefined {
    return this.committedMemberships.get(version);
  }

  /** Members that commit one version hold one membership. */
  onMembershipCommitted(r: Replica, qc: QuorumConfig): void {
    const seen = this.committedMemberships.get(qc.version);
    if (seen === undefined) this.committedMemberships.set(qc.version, qc);
    else if (membersText(seen) !== membersText(qc)) {
      this.fail(`member ${r.sid} committed ${membersText(qc)} as version ${hex(qc.version)}, another ${membersText(seen)}`);
    }
  }

  /** A reconfig scenario may cut the leader's power right after it proposes or commits a reconfig. */
  onReconfig(r: Replica, stage: 'proposed' | 'committed'): void {
    if (this.admin?.scenario !== 'crash' || this.now >= this.opts.faultTicks * TICK || !this.rnd.chance(0.5)) return;
    this.count(`leader crash after reconfig ${stage}`);
    const term = r.term;
    this.events.push(this.now + this.rnd.int(3), () => {
      if (r.term !== term) return;
      this.log(`${r.sid} LEADER POWER CUT after reconfig ${stage}`);
      this.powerCut(r);
    });
  }

  /**
   * A leader commits a txn above a committed membership only as a voter of it: a member a
   * reconfig removed does not lead after it (until one adds it back).
   */
  private checkLeaderIsMember(r: Replica, zxid: Zxid): void {
    let inForce: QuorumConfig | null = null;
    for (const qc of this.committedMemberships.values())
      if (qc.version < zxid && (inForce === null || qc.version > inForce.version)) inForce = qc;
    if (inForce !== null && roleIn(inForce, r.sid) !== 'participant') {
      this.fail(`leader ${r.sid} committed ${hex(zxid)}, but membership ${hex(inForce.version)} (${membersText(inForce)}) has it no voter`);
    }
  }

  /** After the heal: every member that runs committed the newest membership. */
  checkMemberships(): void {
    const newest = this.newestMembership();
    for (const m of this.members) {
      if (!m.up) continue;
      const mine = m.membership.committed;
      if (mine.version !== newest.version) {
        this.fail(
          `member ${m.sid} holds membership ${hex(mine.version)} (${membersText(mine)}), the ensemble committed ${hex(newest.version)} (${membersText(newest)})`,
        );
      }
    }
    this.admin?.checkAcked(newest);
  }

  /**
   * A role that ends closes its connections as a process closes its sockets: what it sent before
   * still arrives (a leader that hands over has sent its COMMITANDACTIVATEs, a server its
   * replies), then the close. A power cut breaks them: what is in flight is lost.
   */
  roleEnded(r: Replica, graceful: boolean): void {
    this.count('role ended');
    const peers = [...(this.leaderConns.get(r)?.values() ?? [])];
    this.leaderConns.delete(r);
    const lc = this.learnerConns.get(r);
    if (lc !== undefined) peers.push(lc);
    for (const c of peers) {
      if (graceful) this.events.push(Math.max(this.now, c.link.drainedAt), () => this.closePeer(c, 'role ended'));
      else this.closePeer(c, 'power cut');
    }
    for (const conn of [...this.clientConns]) {
      if (conn.replica !== r) continue;
      if (graceful) this.serverClosed(conn, 'server left its role');
      else this.breakClient(conn, 'server lost power');
    }
  }

  // ------------------------------------------------------------------ quorum network

  isCut(a: Sid, b: Sid): boolean {
    return this.partitions.isCut(a, b);
  }

  private connect(learner: Replica, leader: Replica): void {
    const learnerTerm = learner.term;
    const leaderTerm = leader.term;
    this.events.push(this.now + 1 + this.rnd.int(5), () => {
      if (learner.term !== learnerTerm || leader.term !== leaderTerm || this.isCut(learner.sid, leader.sid)) return;
      const c: PeerConn = { link: new Link(), learner, leader, learnerTerm, leaderTerm };
      let conns = this.leaderConns.get(leader);
      if (conns === undefined) this.leaderConns.set(leader, (conns = new Map<Sid, PeerConn>()));
      const old = conns.get(learner.sid);
      if (old !== undefined) this.closePeer(old, 'replaced');
      conns.set(learner.sid, c);
      this.learnerConns.set(learner, c);
      learner.connected();
    });
  }

  sendQuorum(from: Replica, to: Sid, message: QuorumMessage): void {
    const c = from.core instanceof ZabLeader ? this.leaderConns.get(from)?.get(to) : this.learnerConns.get(from);
    if (c === undefined || !c.link.open) return;
    if (this.isCut(c.learner.sid, c.leader.sid)) {
      this.closePeer(c, 'partition');
      return;
    }
    const toLeader = from === c.learner;
    const type = message.packet.type;
    if (type === PacketType.diff || type === PacketType.trunc || type === PacketType.snap) {
      this.count(type === PacketType.diff ? 'diff' : type === PacketType.trunc ? 'trunc' : 'snap');
    }
    const at = c.link.arrival(toLeader ? 0 : 1, this.now, 1 + this.rnd.int(6));
    this.events.push(at, () => {
      if (!c.link.open) return;
      const dest = toLeader ? c.leader : c.learner;
      if (dest.term !== (toLeader ? c.leaderTerm : c.learnerTerm)) return;
      if (this.tracing) this.log(`${from.sid}->${dest.sid} ${packetName(type)} ${hex(message.packet.zxid)}`);
      dest.receive(from.sid, message);
    });
  }

  dropLearner(leader: Replica, learner: Sid, reason: string): void {
    const c = this.leaderConns.get(leader)?.get(learner);
    if (c === undefined) return;
    this.leaderConns.get(leader)?.delete(learner);
    this.closePeer(c, reason);
  }

  closePeer(c: PeerConn, why: string): void {
    if (!c.link.open) return;
    c.link.open = false;
    if (this.tracing) this.log(`conn ${c.learner.sid}->${c.leader.sid} closed: ${why}`);
    this.events.push(this.now + 1 + this.rnd.int(5), () => {
      if (c.learner.term === c.learnerTerm && this.learnerConns.get(c.learner) === c) {
        this.learnerConns.delete(c.learner);
        c.learner.disconnected(c.leader.sid);
      }
      const conns = this.leaderConns.get(c.leader);
      if (c.leader.term === c.leaderTerm && conns?.get(c.learner.sid) === c) {
        conns.delete(c.learner.sid);
        c.leader.disconnected(c.learner.sid);
      }
    });
  }

  // ------------------------------------------------------------------ clients

  private clientTick(c: SimClient): void {
    const conn = c.conn;
    if (conn === null) {
      if (this.quiet || this.now < c.retryAt) return;
      this.openSession(c);
      return;
    }
    if (conn.sessionId === null) return;
    if (!this.quiet && conn.pending.length < PIPELINE_MAX && this.rnd.chance(0.5)) this.issue(c, conn, this.randomOp(c));
    else if (this.now - conn.lastSentAt > PING_IDLE_UNITS) this.sendRequest(conn, -2, { op: OpCode.ping }, null);
  }

  /** A new session at a random member; one that does not serve refuses the connection. */
  private openSession(c: SimClient): void {
    const r = this.rnd.pick(this.members);
    const server = r.server;
    if (!r.serving || server === null) {
      c.retryAt = this.now + TICK * (1 + this.rnd.int(3));
      return;
    }
    const conn = new ClientConn(++this.connIds, c, r, this);
    c.conn = conn;
    c.session = ++this.sessions;
    this.clientConns.add(conn);
    conn.outbox = server.connectionOpened(conn, readNow(this.clock));
    const w = new JuteWriter(64);
    writeConnectRequest(w, {
      protocolVersion: 0,
      lastZxidSeen: 0,
      timeOut: SESSION_TIMEOUT_MS,
      sessionId: 0n,
      passwd: Buffer.alloc(16),
      readOnly: false,
    });
    this.toServer(conn, Buffer.from(w.toBuffer()));
    if (this.tracing) this.log(`client ${c.index} opens session ${c.session} at ${r.sid}`);
  }

  /** The admin: a session with the super user's digest; one reconfig at a time during the faults. */
  private adminTick(a: Admin<SimClient>): void {
    const tick = this.now / TICK;
    a.tick(tick);
    const c = a.client;
    const conn = c.conn;
    if (conn === null) {
      if (!this.quiet && this.now >= c.retryAt) this.openSession(c);
      return;
    }
    if (conn.sessionId === null) return;
    if (!conn.authSent) {
      conn.authSent = true;
      this.sendRequest(conn, -4, { op: OpCode.auth, type: 0, scheme: 'digest', auth: Buffer.from(SUPER_AUTH) }, null);
      return;
    }
    // now and then a second reconfig right behind the first (RECONFIGINPROGRESS while it is in flight)
    const room = conn.pending.length === 0 || (conn.pending.length === 1 && this.rnd.chance(0.2));
    const asked = !this.quiet && room && tick < this.opts.faultTicks ? a.next(tick) : null;
    if (asked !== null)
      this.sendRequest(conn, conn.nextXid++, asked.request, null, (zxid, err, body) => a.answered(asked, zxid, err, body, this.now / TICK));
    else if (this.now - conn.lastSentAt > PING_IDLE_UNITS) this.sendRequest(conn, -2, { op: OpCode.ping }, null);
  }

  servingLeaderSid(): Sid | null {
    return this.servingLeader()?.sid ?? null;
  }

  isolate(sid: Sid): void {
    this.log(`ISOLATE ${sid}`);
    for (const b of this.members) if (b.sid !== sid) this.partitions.cut(sid, b.sid);
  }

  isolated(sid: Sid): boolean {
    return this.members.every((b) => b.sid === sid || this.isCut(sid, b.sid));
  }

  heal(sid: Sid): void {
    this.log(`HEAL ${sid}`);
    for (const b of this.members) this.partitions.heal(sid, b.sid);
  }

  private randomOp(c: SimClient): ClientOp {
    const path = this.rnd.pick(KEYS);
    const data = `s${c.session}.${++c.seq}`;
    const known = c.versions.get(path) ?? -1;
    const version = known >= 0 && this.rnd.chance(0.7) ? known : -1;
    const r = this.rnd.next();
    if (r < 0.2) return { kind: 'create', path, data };
    if (r < 0.45) return { kind: 'set', path, data, version };
    if (r < 0.55) return { kind: 'delete', path, version };
    if (r < 0.9) return { kind: 'read', path };
    return { kind: 'sync' };
  }

  private issue(c: SimClient, conn: ClientConn, op: ClientOp): void {
    const inv: Invocation = { client: c.session, member: conn.replica.sid, op, call: this.now, ret: Infinity, answer: null };
    this.history.invocations.push(inv);
    this.sendRequest(conn, conn.nextXid++, requestOf(op), inv);
  }

  private sendRequest(
    conn: ClientConn,
    xid: number,
    req: Request,
    inv: Invocation | null,
    onReply?: (zxid: Zxid, err: number, body: JuteReader) => void,
  ): void {
    const w = new JuteWriter(128);
    w.writeInt(xid).writeInt(req.op);
    writeRequest(w, req);
    conn.pending.push({ xid, inv, ...(onReply && { onReply }) });
    conn.lastSentAt = this.now;
    this.toServer(conn, Buffer.from(w.toBuffer()));
  }

  private toServer(conn: ClientConn, frame: Buffer): void {
    const at = conn.link.arrival(0, this.now, 1 + this.rnd.int(4));
    this.events.push(at, () => {
      const r = conn.replica;
      if (!conn.link.open || r.term !== conn.replicaTerm || r.server === null) return;
      r.server.onFrame(conn, readNow(this.clock), frame);
    });
  }

  toClient(conn: ClientConn, frame: Buffer): void {
    if (!conn.link.open) return;
    const at = conn.link.arrival(1, this.now, 1 + this.rnd.int(4));
    this.events.push(at, () => {
      if (conn.link.open) this.onClientFrame(conn, frame);
    });
  }

  /** The server closed the connection: the client learns it after what was sent before. */
  serverClosed(conn: ClientConn, reason: string): void {
    if (!conn.link.open) return;
    const at = conn.link.arrival(1, this.now, 1 + this.rnd.int(4));
    this.events.push(at, () => this.clientLost(conn, reason));
  }

  /** The connection breaks: what is in flight either way is lost. */
  breakClient(conn: ClientConn, reason: string): void {
    if (!conn.link.open) return;
    conn.link.open = false;
    const r = conn.replica;
    if (r.term === conn.replicaTerm) r.server?.connectionClosed(conn);
    this.events.push(this.now + 1 + this.rnd.int(4), () => this.clientLost(conn, reason));
  }

  /** The client's connection is gone: its unanswered requests stay so; a new session later. */
  private clientLost(conn: ClientConn, reason: string): void {
    conn.link.open = false;
    this.clientConns.delete(conn);
    const c = conn.client;
    if (c.conn !== conn) return;
    if (this.tracing) this.log(`client ${c.index} session ${c.session} lost (${reason}), ${conn.pending.length} unanswered`);
    c.conn = null;
    c.retryAt = this.now + TICK * (1 + this.rnd.int(3));
  }

  private onClientFrame(conn: ClientConn, frame: Buffer): void {
    const r = new JuteReader(frame);
    if (conn.sessionId === null) {
      const resp = readConnectResponse(r);
      if (resp.sessionId === 0n || resp.timeOut <= 0) {
        this.breakClient(conn, 'session refused');
        return;
      }
      conn.sessionId = resp.sessionId;
      if (this.tracing) this.log(`client ${conn.client.index} session ${conn.client.session} is 0x${resp.sessionId.toString(16)}`);
      return;
    }
    const xid = r.readInt();
    const zxid = r.readLong();
    const err = r.readInt();
    if (xid === -1) return; // a watch notification
    const head = conn.pending.shift();
    if (head?.xid !== xid) this.fail(`session ${conn.client.session}: reply ${xid}, but ${String(head?.xid)} was next`);
    const inv = head.inv;
    head.onReply?.(zxid, err, r);
    if (inv === null) return; // a ping's, the admin's
    inv.ret = this.now;
    inv.answer = answerOf(inv.op, r, zxid, err);
    if (isWrite(inv.op) && err !== 0 && err !== ErrorCode.NONODE && err !== ErrorCode.NODEEXISTS && err !== ErrorCode.BADVERSION) {
      this.fail(`unexpected error for a write: ${describeOp(inv)}`);
    }
    if (inv.answer.version !== undefined && 'path' in inv.op) conn.client.versions.set(inv.op.path, inv.answer.version);
    if (inv.op.kind === 'delete' && err === 0) conn.client.versions.delete(inv.op.path);
  }

  /** Requests waiting for an answer on live connections. */
  get outstanding(): number {
    let n = 0;
    for (const c of [...this.clients, ...(this.admin === null ? [] : [this.admin.client])]) n += c.conn?.pending.length ?? 0;
    return n;
  }

  // ------------------------------------------------------------------ faults

  injectFault(): void {
    const rnd = this.rnd;
    const pick = (): Replica => rnd.pick(this.members);
    const r = rnd.next();
    if (r < 0.015) {
      this.log('SHARED POWER CUT');
      for (const m of this.members) if (rnd.chance(0.6)) this.powerCut(m);
    } else if (r < 0.035) this.powerCut(pick());
    else if (r < 0.09) pick().powerOn();
    else if (r < 0.1) {
      const a = pick();
      if (rnd.chance(0.5)) {
        // isolate a member (often the leader) from all the others
        if (this.tracing) this.log(`ISOLATE ${a.sid}`);
        for (const b of this.members) if (b !== a) this.partitions.cut(a.sid, b.sid);
        return;
      }
      const b = pick();
      if (a !== b) {
        if (this.tracing) this.log(`CUT ${a.sid}-${b.sid}`);
        this.partitions.cut(a.sid, b.sid);
      }
    } else if (r < 0.15) this.partitions.healAll();
    else if (r < 0.17) {
      const m = pick();
      m.diskSlow = !m.diskSlow;
    } else if (r < 0.19) {
      const lc = this.learnerConns.get(pick());
      if (lc !== undefined) this.closePeer(lc, 'connection broke');
    } else if (r < 0.23) {
      const conns = [...this.clientConns];
      if (conns.length > 0) this.breakClient(rnd.pick(conns), 'client connection broke');
    }
  }

  private powerCut(m: Replica): void {
    if (!m.up) return;
    this.count('power cut');
    m.powerCut();
  }

  healAll(): void {
    this.log('HEAL');
    this.partitions.healAll();
    for (const m of this.members) {
      m.diskSlow = false;
      m.powerOn();
    }
  }

  servingLeader(): Replica | null {
    return this.members.find((m) => m.serving && m.core instanceof ZabLeader) ?? null;
  }

  /** The keys as the last leader's tree holds them. */
  finalNodes(leader: Replica): Map<string, { data: string; version: number } | null> {
    const out = new Map<string, { data: string; version: number } | null>();
    const tree = leader.server?.tree;
    for (const path of KEYS) {
      const node = tree?.get(path);
      out.set(path, node === undefined ? null : { data: node.dataLatin1 ?? '', version: node.version });
    }
    return out;
  }

  /** Every acknowledged write's zxid is within the last leader's history. */
  checkAckedInLeader(leader: Replica): void {
    const last = leader.server?.tree.lastProcessedZxid ?? 0;
    for (const inv of this.history.invocations) {
      if (isWrite(inv.op) && inv.answer !== null && inv.answer.zxid > last) {
        this.fail(`acknowledged write beyond the last leader's tree (${hex(last)}): ${describeOp(inv)}`);
      }
    }
  }
}

function requestOf(op: ClientOp): Request {
  switch (op.kind) {
    case 'create':
      return { op: OpCode.create, path: op.path, data: Buffer.from(op.data), acl: OPEN_ACL, flags: 0 };
    case 'set':
      return { op: OpCode.setData, path: op.path, data: Buffer.from(op.data), version: op.version };
    case 'delete':
      return { op: OpCode.delete, path: op.path, version: op.version };
    case 'read':
      return { op: OpCode.getData, path: op.path, watch: false };
    case 'sync':
      return { op: OpCode.sync, path: '/' };
  }
}

function answerOf(op: ClientOp, r: JuteReader, zxid: Zxid, err: number): Answer {
  if (err !== 0) return { err, zxid };
  switch (op.kind) {
    case 'set': {
      const stat = readStat(r);
      return { err, zxid, version: stat.version, mzxid: stat.mzxid };
    }
    case 'read': {
      const data = r.readBuffer();
      const stat = readStat(r);
      return { err, zxid, data: data?.toString('latin1') ?? '', version: stat.version, mzxid: stat.mzxid };
    }
    default:
      return { err, zxid };
  }
}

/** Every node's stored fields and data, and the session table, as one string (small trees). */
export function treeDigest(tree: DataTree, sessions: ReadonlyMap<bigint, number>): string {
  let h = 0x811c9dc5;
  const mix = (s: string): void => {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  };
  // /zookeeper/config holds the member's committed membership (checked as memberships), as
  // ZooKeeper's digest leaves the /zookeeper nodes out
  for (const path of [...tree.paths()].filter((p) => !p.startsWith('/zookeeper')).sort()) {
    const node = tree.get(path);
    if (node === undefined) continue;
    const s = node.toStatPersisted();
    mix(
      `${path}|${s.czxid}|${s.mzxid}|${s.pzxid}|${s.version}|${s.cversion}|${s.aversion}|${s.ephemeralOwner}|${node.dataLatin1 ?? '<null>'}\n`,
    );
  }
  for (const [id, timeout] of [...sessions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) mix(`s${id}:${timeout}\n`);
  return `${tree.size} nodes, ${sessions.size} sessions, ${h.toString(16)}`;
}

function newestOf(qcs: readonly QuorumConfig[]): QuorumConfig {
  return qcs.reduce((a, b) => (b.version > a.version ? b : a));
}

function packetName(type: number): string {
  return Object.entries(PacketType).find(([, v]) => v === type)?.[0] ?? String(type);
}

/**
 * One randomized run: a fault phase with client traffic, then everything heals; a write must
 * be answered within `healTicks`; the clients' last requests are answered or lost; then the
 * checks.
 */
export async function runEnsemble(opts: EnsembleOptions): Promise<EnsembleResult> {
  const sim = new Ensemble(opts);
  for (const m of sim.members) m.powerOn();
  sim.admin?.start();
  let healedAt = -1;
  let healedAfter = -1;
  sim.startClock((tick) => {
    if (tick < opts.faultTicks) {
      if (opts.faults !== false && (opts.faultChance === undefined || sim.rnd.chance(opts.faultChance))) sim.injectFault();
      return;
    }
    if (healedAt < 0) {
      healedAt = tick;
      sim.healAll();
    }
    if (healedAfter < 0) {
      const answered = sim.history.invocations.some((i) => isWrite(i.op) && i.call >= healedAt * TICK && i.answer !== null);
      if (answered) healedAfter = tick - healedAt;
    }
  });
  const limit = (opts.faultTicks + opts.healTicks) * TICK;
  await sim.runUntil(limit, () => healedAfter >= 0);
  if (healedAfter < 0 && sim.quorumRefusesStart) {
    sim.count('run without a quorum that can start');
    return { acked: 0, reads: 0, healedAfterTicks: 0, stats: sim.stats, trace: sim.trace };
  }
  if (healedAfter < 0) sim.fail(`no write was answered within ${opts.healTicks} ticks after the faults healed`);
  // settle: no new requests; those in flight are answered (or their connections lost)
  sim.quiet = true;
  const settleBy = sim.now + 3 * opts.healTicks * TICK;
  await sim.runUntil(settleBy, () => sim.outstanding === 0);
  await sim.runUntil(sim.now + 3 * sim.syncLimit * TICK);
  const leader = sim.servingLeader();
  if (leader === null) return sim.fail('no serving leader after the run settled');
  sim.checkAckedInLeader(leader);
  sim.checkMemberships();
  const failures = sim.history.check(sim.finalNodes(leader), sim.now);
  if (failures.length > 0) sim.fail(failures.slice(0, 5).join('\n'));
  const acked = sim.history.invocations.filter((i) => isWrite(i.op) && i.answer !== null).length;
  const reads = sim.history.invocations.filter((i) => i.op.kind === 'read' && i.answer !== null).length;
  return { acked, reads, healedAfterTicks: healedAfter, stats: sim.stats, trace: sim.trace };
}
