/**
 * A seeded simulation of FastLeaderElection members (the pure core) over a simulated network with
 * QuorumCnxManager's rules: one connection per pair (the larger sid's), connect-back, a send queue
 * of one per peer, the last message re-sent on a new link. Each direction of a connection is FIFO
 * with its own delays, so messages reorder across links but not within one. Faults: connections
 * reset (what they carried is lost), partitions (links across the cut break; connection attempts
 * across it time out after cnxTimeout), crashes and restarts with a higher zxid or epoch, late
 * joiners, observers.
 *
 * The roles after an election are a stand-in for ZAB, enough to drive the election: a leader that
 * gathers a quorum of followers within initLimit starts a new epoch (every member of that quorum
 * takes it, and updateElectionVote); it then commits writes (zxids) to the followers it can reach
 * while they form a quorum. A follower that cannot reach a LEADING leader, or a leader without a
 * quorum, goes back to LOOKING after initLimit (before the epoch) or syncLimit (after).
 */
import { SeededRandom } from '../../src/base/index.js';
import type { Notification } from '../../src/codec/index.js';
import { majorityOf } from '../../src/config/index.js';
import {
  decideAccept,
  formatVote,
  FastLeaderElection,
  openerKeeps,
  SendQueues,
  ServerState,
  type Decision,
  type ElectionReady,
  type LocalState,
  type Proposal,
} from '../../src/quorum/index.js';

export const CNX_TIMEOUT_MS = 5000;
export const TICK_MS = 2000;
export const INIT_LIMIT_MS = 5 * TICK_MS;
const SYNC_LIMIT_MS = 2 * TICK_MS;
const ROLE_CHECK_MS = 1000;
const WRITE_EVERY_MS = 700;

export interface SimOptions {
  readonly seed: number;
  readonly participants: number;
  readonly observers: number;
  /** One-way delay of a message or a connection attempt: 1..maxDelayMs. */
  readonly maxDelayMs: number;
  /** Log every delivered notification (for replaying one seed). */
  readonly trace?: boolean;
}

export interface DecisionRecord {
  readonly sid: number;
  readonly atMs: number;
  readonly incarnation: number;
  readonly decision: Decision;
}

interface Connection {
  readonly id: number;
  readonly a: number;
  readonly b: number;
  open: boolean;
  /** The time the last message on each direction arrives, keyed by sender: FIFO per direction. */
  readonly lastArrival: Map<number, number>;
}

interface Member {
  readonly sid: number;
  readonly observer: boolean;
  alive: boolean;
  incarnation: number;
  local: LocalState;
  core: FastLeaderElection;
  queues: SendQueues<Notification>;
  links: Map<number, Connection>;
  connecting: Set<number>;
  tickAt: number | null;
  /** Role bookkeeping: when the role began and when it last had what it needs. */
  roleSince: number;
  lastOkMs: number;
  /**
   * A leader's established term (`sid#incarnation@epoch`), or the term a learner synced with:
   * the learner's quorum-port link, which breaks when that leader stops leading or restarts.
   */
  term: string | null;
}

interface Event {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

export class ElectionSim {
  readonly log: string[] = [];
  readonly decisions: DecisionRecord[] = [];
  /** Per member and election round, the weakest credentials it voted with in that round. */
  readonly votedWith = new Map<number, Map<number, Proposal>>();
  /** Every (zxid, epoch) a member held when it started looking: a decided vote must be one of them. */
  readonly heldCredentials = new Map<number, Set<string>>();
  readonly members = new Map<number, Member>();
  readonly rng: SeededRandom;
  now = 0;
  private seq = 0;
  private connectionIds = 0;
  private readonly events: Event[] = [];
  private readonly cut = new Set<string>();
  private readonly voters: number[];
  private readonly allSids: number[];
  private readonly quorum;

  constructor(readonly options: SimOptions) {
    this.rng = new SeededRandom(options.seed);
    this.voters = Array.from({ length: options.participants }, (_, i) => i + 1);
    this.allSids = [...this.voters, ...Array.from({ length: options.observers }, (_, i) => options.participants + i + 1)];
    this.quorum = majorityOf(this.voters);
  }

  // ------------------------------------------------------------ scheduling

  at(time: number, run: () => void): void {
    const event = { at: Math.max(time, this.now), seq: this.seq++, run };
    // a binary insertion keeps the queue ordered by (time, seq)
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const e = this.events[mid]!;
      if (e.at < event.at || (e.at === event.at && e.seq < event.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.events.splice(lo, 0, event);
  }

  runUntil(endMs: number): void {
    while (this.events.length > 0 && this.events[0]!.at <= endMs) {
      const e = this.events.shift()!;
      this.now = e.at;
      e.run();
    }
    this.now = endMs;
  }

  private delay(): number {
    return 1 + this.rng.int(this.options.maxDelayMs);
  }

  private note(text: string): void {
    this.log.push(`${this.now} ${text}`);
  }

  // ------------------------------------------------------------ members

  /** Starts (or restarts, with a fresh process) member `sid` with what it has on disk. */
  startMember(sid: number, local: LocalState): void {
    const existing = this.members.get(sid);
    const observer = !this.voters.includes(sid);
    const core = new FastLeaderElection({
      myid: sid,
      learnerType: observer ? 'observer' : 'participant',
      quorum: this.quorum,
      configText: 'version=0',
    });
    const m: Member = {
      sid,
      observer,
      alive: true,
      incarnation: (existing?.incarnation ?? 0) + 1,
      local,
      core,
      queues: new SendQueues(),
      links: new Map(),
      connecting: new Set(),
      tickAt: null,
      roleSince: 0,
      lastOkMs: 0,
      term: null,
    };
    this.members.set(sid, m);
    this.note(`start ${sid}#${m.incarnation} zxid=${local.lastLoggedZxid.toString(16)} epoch=${local.currentEpoch}`);
    this.recordCredentials(m);
    this.apply(m, core.start(local, this.now));
    this.scheduleRoleCheck(m);
  }

  crash(sid: number): void {
    const m = this.members.get(sid);
    if (m === undefined || !m.alive) return;
    this.note(`crash ${sid}`);
    m.alive = false;
    for (const c of [...m.links.values()]) this.close(c);
  }

  /** Restarts a crashed member with a zxid or epoch at least what it had. */
  restart(sid: number, local: LocalState): void {
    const m = this.members.get(sid);
    if (m === undefined || m.alive) return;
    this.startMember(sid, local);
  }

  private recordCredentials(m: Member): void {
    let held = this.heldCredentials.get(m.sid);
    if (held === undefined) this.heldCredentials.set(m.sid, (held = new Set()));
    held.add(`${m.local.lastLoggedZxid}/${m.local.currentEpoch}`);
  }

  private apply(m: Member, ready: ElectionReady): void {
    for (const { to, notification } of ready.send) this.toSend(m, to, notification);
    if (ready.connectAll) for (const sid of m.queues.sids()) this.connectOne(m, sid);
    if (ready.decision !== null) this.onDecision(m, ready.decision);
    this.armTick(m);
  }

  private armTick(m: Member): void {
    const deadline = m.core.nextDeadlineMs;
    if (deadline === null || m.tickAt === deadline) return;
    m.tickAt = deadline;
    const incarnation = m.incarnation;
    this.at(deadline, () => {
      if (!m.alive || m.incarnation !== incarnation || m.tickAt !== deadline) return;
      m.tickAt = null;
      this.apply(m, m.core.tick(this.now, m.queues.haveDelivered()));
    });
  }

  private onDecision(m: Member, decision: Decision): void {
    this.decisions.push({ sid: m.sid, atMs: this.now, incarnation: m.incarnation, decision });
    this.note(
      `${m.sid} decides ${stateName(decision.state)} leader=${decision.vote.leader} round=${decision.vote.electionEpoch} (${decision.path}, ${decision.supporters.join(',')})`,
    );
    m.roleSince = this.now;
    m.lastOkMs = this.now;
    m.term = null;
  }

  // ------------------------------------------------------------ QuorumCnxManager over the network

  private toSend(m: Member, to: number, n: Notification): void {
    if (n.state === ServerState.looking) this.recordVote(m, n);
    m.queues.enqueue(to, n);
    const link = m.links.get(to);
    if (link === undefined) this.connectOne(m, to);
    else this.drain(m, to, link);
  }

  private recordVote(m: Member, n: Notification): void {
    if (n.electionEpoch !== m.core.electionEpoch || m.core.state !== ServerState.looking) return;
    let rounds = this.votedWith.get(m.sid);
    if (rounds === undefined) this.votedWith.set(m.sid, (rounds = new Map<number, Proposal>()));
    const own = m.observer ? null : { leader: m.sid, zxid: m.local.lastLoggedZxid, peerEpoch: m.local.currentEpoch };
    const before = rounds.get(n.electionEpoch);
    if (own !== null && (before === undefined || compare(own, before) < 0)) rounds.set(n.electionEpoch, own);
  }

  private connectOne(m: Member, sid: number): void {
    if (m.links.has(sid) || m.connecting.has(sid) || !this.allSids.includes(sid)) return;
    m.connecting.add(sid);
    const incarnation = m.incarnation;
    // a member that is down refuses at once; across a partition the attempt waits out cnxTimeout
    const took = this.isCut(m.sid, sid) ? CNX_TIMEOUT_MS : this.delay();
    this.at(this.now + took, () => {
      if (!m.alive || m.incarnation !== incarnation) return;
      m.connecting.delete(sid);
      const target = this.members.get(sid);
      if (target === undefined || !target.alive || this.isCut(m.sid, sid)) return;
      this.establish(m, target);
    });
  }

  /** m opened a connection to target and sent its initial message; both apply 3.8's rules. */
  private establish(m: Member, target: Member): void {
    const c: Connection = { id: ++this.connectionIds, a: m.sid, b: target.sid, open: true, lastArrival: new Map() };
    const keptByOpener = openerKeeps(m.sid, target.sid);
    const decision = decideAccept(
      { mySid: target.sid, knownSids: new Set(this.allSids), acceptUnknownSids: true },
      { protocolVersion: -65536n, sid: BigInt(m.sid), addresses: [{ host: 'sim', port: m.sid }] },
    );
    if (keptByOpener !== (decision.action === 'keep')) throw new Error(`opener and acceptor disagree on ${m.sid}->${target.sid}`);
    if (decision.action === 'connect-back') {
      this.connectOne(target, m.sid);
      return;
    }
    if (decision.action === 'refuse') throw new Error(`refused ${m.sid}: ${decision.reason}`);
    this.attach(m, target.sid, c);
    this.attach(target, m.sid, c);
  }

  private attach(m: Member, peer: number, c: Connection): void {
    const old = m.links.get(peer);
    if (old !== undefined) this.close(old);
    m.links.set(peer, c);
    m.queues.ensure(peer);
    const again = m.queues.onLinkUp(peer);
    if (again !== undefined) this.transmit(m, peer, c, again);
    this.drain(m, peer, c);
  }

  private drain(m: Member, peer: number, c: Connection): void {
    for (let n = m.queues.take(peer); n !== undefined; n = m.queues.take(peer)) this.transmit(m, peer, c, n);
  }

  private transmit(m: Member, peer: number, c: Connection, n: Notification): void {
    const arrive = Math.max(this.now + this.delay(), c.lastArrival.get(m.sid) ?? 0);
    c.lastArrival.set(m.sid, arrive);
    this.at(arrive, () => {
      const target = this.members.get(peer);
      if (!c.open || target === undefined || !target.alive || target.links.get(m.sid) !== c) return;
      if (this.options.trace === true)
        this.note(`${m.sid}->${peer} ${stateName(n.state)} ${formatVote({ ...n, leader: Number(n.leader) })} round ${n.electionEpoch}`);
      this.apply(target, target.core.onNotification(m.sid, n, this.now));
    });
  }

  close(c: Connection): void {
    if (!c.open) return;
    c.open = false;
    for (const [end, other] of [
      [c.a, c.b],
      [c.b, c.a],
    ] as const) {
      const m = this.members.get(end);
      if (m !== undefined && m.links.get(other) === c) m.links.delete(other);
    }
  }

  resetRandomConnection(): void {
    const open = [...this.members.values()].flatMap((m) => [...m.links.values()]).filter((c) => c.open);
    if (open.length === 0) return;
    const c = this.rng.pick(open);
    this.note(`reset ${c.a}-${c.b}`);
    this.close(c);
  }

  partition(side: readonly number[]): void {
    const inSide = new Set(side);
    for (const a of this.allSids) for (const b of this.allSids) if (a < b && inSide.has(a) !== inSide.has(b)) this.cut.add(`${a}-${b}`);
    this.note(`partition [${side.join(',')}]`);
    for (const m of this.members.values()) for (const [peer, c] of m.links) if (this.isCut(m.sid, peer)) this.close(c);
  }

  heal(): void {
    this.cut.clear();
    this.note('heal');
  }

  isCut(a: number, b: number): boolean {
    return this.cut.has(a < b ? `${a}-${b}` : `${b}-${a}`);
  }

  // ------------------------------------------------------------ the roles (a stand-in for ZAB)

  private scheduleRoleCheck(m: Member): void {
    const incarnation = m.incarnation;
    this.at(this.now + ROLE_CHECK_MS, () => {
      if (!m.alive || m.incarnation !== incarnation) return;
      this.checkRole(m);
      this.scheduleRoleCheck(m);
    });
  }

  private checkRole(m: Member): void {
    const state = m.core.state;
    if (state === ServerState.looking) return;
    if (state === ServerState.leading) this.checkLeader(m);
    else this.checkLearner(m);
    if (m.core.state === ServerState.looking) return;
    const limit = m.term !== null ? SYNC_LIMIT_MS : INIT_LIMIT_MS;
    if (this.now - m.lastOkMs > limit) this.backToLooking(m, 'role lost');
  }

  private backToLooking(m: Member, why: string): void {
    this.note(`${m.sid} back to LOOKING (${why})`);
    m.term = null;
    this.recordCredentials(m);
    this.apply(m, m.core.lookAgain(m.local, this.now));
  }

  /** Learners that name `leader`, can reach it and are not synced with another of its terms. */
  private followersOf(leader: Member): Member[] {
    return [...this.members.values()].filter(
      (f) =>
        f !== leader &&
        f.alive &&
        !this.isCut(f.sid, leader.sid) &&
        f.core.state !== ServerState.looking &&
        f.core.state !== ServerState.leading &&
        f.core.vote?.leader === leader.sid &&
        (f.term === null || f.term === leader.term),
    );
  }

  private checkLeader(leader: Member): void {
    const followers = this.followersOf(leader);
    if (!this.quorum.containsQuorum([leader.sid, ...followers.filter((f) => !f.observer).map((f) => f.sid)])) return;
    leader.lastOkMs = this.now;
    if (leader.term === null) this.establishEpoch(leader, followers);
    for (const f of followers) {
      if (f.term === null) this.sync(leader, f);
      f.lastOkMs = this.now;
    }
    if (this.now - leader.roleSince >= WRITE_EVERY_MS && this.rng.chance(0.5)) this.commitWrite(leader, followers);
  }

  /** The leader's new epoch, taken by the quorum it gathered (NEWEPOCH / ACKEPOCH, then the sync). */
  private establishEpoch(leader: Member, followers: Member[]): void {
    const epoch = Math.max(...[leader, ...followers].map((x) => x.local.currentEpoch)) + 1;
    leader.local = { ...leader.local, currentEpoch: epoch };
    leader.term = `${leader.sid}#${leader.incarnation}@${epoch}`;
    leader.core.updateElectionVote(epoch);
    this.note(`${leader.sid} established epoch ${epoch} with ${followers.map((f) => f.sid).join(',')}`);
  }

  /** A learner syncs with an established leader: its log becomes the leader's. */
  private sync(leader: Member, f: Member): void {
    f.local = { ...leader.local };
    f.term = leader.term;
    f.lastOkMs = this.now;
    f.core.updateElectionVote(leader.local.currentEpoch);
  }

  private commitWrite(leader: Member, followers: Member[]): void {
    const synced = followers.filter((f) => f.term === leader.term);
    if (!this.quorum.containsQuorum([leader.sid, ...synced.filter((f) => !f.observer).map((f) => f.sid)])) return;
    const first = leader.local.currentEpoch * 2 ** 32 + 1;
    const zxid = Math.max(leader.local.lastLoggedZxid + 1, first);
    for (const x of [leader, ...synced]) x.local = { ...x.local, lastLoggedZxid: zxid };
  }

  /**
   * A synced learner stays while its leader is reachable and still in the same term; the link
   * breaks at once when the leader crashes or stops leading, and after syncLimit across a
   * partition. An unsynced one has initLimit from its decision.
   */
  private checkLearner(m: Member): void {
    if (m.term === null) return;
    const leader = this.members.get(m.core.vote?.leader ?? -1);
    if (leader === undefined || !leader.alive || leader.term !== m.term) {
      this.backToLooking(m, 'leader gone');
      return;
    }
    if (!this.isCut(m.sid, leader.sid)) m.lastOkMs = this.now;
  }

  // ------------------------------------------------------------ views for the checkers

  aliveMembers(): Member[] {
    return [...this.members.values()].filter((m) => m.alive);
  }

  get voterSids(): readonly number[] {
    return this.voters;
  }
}

export function stateName(state: ServerState): string {
  return ['LOOKING', 'FOLLOWING', 'LEADING', 'OBSERVING'][state] ?? String(state);
}

/** (peerEpoch, zxid, sid) order: negative when a < b. */
export function compare(a: Proposal, b: Proposal): number {
  if (a.peerEpoch !== b.peerEpoch) return a.peerEpoch - b.peerEpoch;
  if (a.zxid !== b.zxid) return a.zxid - b.zxid;
  return a.leader - b.leader;
}
