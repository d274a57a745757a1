/**
 * FastLeaderElection as ZooKeeper 3.8.0 decides it, as a pure state machine.
 *
 * 3.8 splits the work between threads: a receiver (WorkerReceiver) that answers members it does
 * not count and members that lag or are out of election, and the election loop (lookForLeader)
 * that takes what the receiver queued. Here both run in the caller's turn: `onNotification` does
 * the receiver's part and then the loop's, `tick` does the loop's timeouts. Time comes in as
 * `nowMs`; what to send and what was decided come back as an `ElectionReady`.
 *
 * Notifications to this member itself (3.8 sends its own vote through its connection manager,
 * which hands it straight back) are handled inside, before a call returns: that is how a member
 * counts its own vote.
 */
import { assert } from '../../base/index.js';
import { NOTIFICATION_VERSION, type Notification } from '../../codec/index.js';
import type { QuorumVerifier } from '../../config/index.js';
import { configVersionOf } from './config-text.js';
import {
  formatVote,
  makeVote,
  NO_ELECTION_EPOCH,
  NO_VOTE_LONG,
  ServerState,
  supportersOf,
  totalOrderPredicate,
  type Proposal,
  type Vote,
} from './vote.js';

/** FastLeaderElection.finalizeWait: quiet time after a quorum agrees, before deciding. */
export const FINALIZE_WAIT_MS = 200;
/** zookeeper.fastleader.minNotificationInterval (default finalizeWait). */
export const MIN_NOTIFICATION_INTERVAL_MS = FINALIZE_WAIT_MS;
/** zookeeper.fastleader.maxNotificationInterval. */
export const MAX_NOTIFICATION_INTERVAL_MS = 60_000;

const LONG_MIN = -(2n ** 63n);

/**
 * What the election counts with, which a reconfiguration changes while the member runs: this
 * member's learner type, the voters (of the committed membership and of a newer one seen, as
 * QuorumPeer.getCurrentAndNextConfigVoters) and what a quorum of them is, and the committed
 * membership's text and version every notification carries.
 */
export interface ElectionView {
  readonly learnerType: 'participant' | 'observer';
  /** The voters and what a quorum of them is. */
  readonly quorum: Pick<QuorumVerifier, 'voters' | 'containsQuorum' | 'weightOf'>;
  /** Whether this member votes in the committed membership (getInitId proposes itself only then). */
  readonly committedVoter?: boolean;
  /** This member's quorum config text (quorumConfigText), sent in every notification. */
  readonly configText: string;
  readonly configVersion?: number;
}

export interface ElectionSettings extends ElectionView {
  readonly myid: number;
  readonly minNotificationIntervalMs?: number;
  readonly maxNotificationIntervalMs?: number;
}

/** What this member has on disk when it starts looking. */
export interface LocalState {
  readonly lastLoggedZxid: number;
  readonly currentEpoch: number;
}

export type DecidedState = typeof ServerState.following | typeof ServerState.leading | typeof ServerState.observing;

export interface Decision {
  readonly state: DecidedState;
  /** The vote 3.8 makes current: the leader, its zxid and epoch, and the round decided in. */
  readonly vote: Vote;
  /** The sids whose votes made the quorum. */
  readonly supporters: readonly number[];
  /**
   * 'election': a quorum of this round's LOOKING votes agreed and finalizeWait passed quietly;
   * 'round': a quorum of this round decided already (their FOLLOWING/LEADING replies, which carry
   * the leader's vote with the epoch it has taken since); 'established': a quorum follows the
   * leader, whatever round it was elected in.
   */
  readonly path: 'election' | 'round' | 'established';
}

export interface OutgoingNotification {
  readonly to: number;
  readonly notification: Notification;
}

export type ElectionEvent =
  | { readonly kind: 'ignored'; readonly from: number; readonly reason: string }
  | { readonly kind: 'timeout'; readonly nextTimeoutMs: number; readonly resent: boolean }
  /** A notification carried a newer committed membership while this member looks (`text`: as sent). */
  | { readonly kind: 'newer-config'; readonly from: number; readonly version: number; readonly text: string }
  | { readonly kind: 'bad-config'; readonly from: number }
  | { readonly kind: 'new-round'; readonly electionEpoch: number; readonly vote: string };

export interface ElectionReady {
  readonly send: OutgoingNotification[];
  /** The loop timed out with nothing delivered: QuorumCnxManager.connectAll. */
  connectAll: boolean;
  decision: Decision | null;
  readonly events: ElectionEvent[];
}

/** A received notification with its leader as a sid number. */
interface Received extends Proposal {
  readonly state: ServerState;
  readonly electionEpoch: number;
  readonly version: number;
}

function emptyReady(): ElectionReady {
  return { send: [], connectAll: false, decision: null, events: [] };
}

/** A long sid from the wire as a number: Long.MIN_VALUE (a non-voter's vote) stays exact. */
export function sidOf(long: bigint): number {
  return long === LONG_MIN ? NO_VOTE_LONG : Number(long);
}

export class FastLeaderElection {
  readonly myid: number;
  private view: ElectionView;
  private voters: ReadonlySet<number>;
  private readonly minIntervalMs: number;
  private readonly maxIntervalMs: number;

  private peerState: ServerState = ServerState.looking;
  private logicalclock = 0;
  /** proposedLeader, proposedZxid, proposedEpoch (3.8 starts them at -1, -1, 0). */
  private proposal: Proposal = { leader: -1, zxid: -1, peerEpoch: 0 };
  /** QuorumPeer.currentVote: who this member thinks leads; what it answers with when not looking. */
  private currentVote: Vote | null = null;
  private local: LocalState = { lastLoggedZxid: -1, currentEpoch: 0 };
  /** Inside lookForLeader. */
  private looking = false;
  private recvset = new Map<number, Vote>();
  private outofelection = new Map<number, Vote>();
  private notTimeoutMs: number;
  private pollDeadlineMs = 0;
  /** Set while a quorum agrees and the loop waits finalizeWait for a better vote. */
  private finalizeDeadlineMs: number | null = null;
  private finalizeSupporters: readonly number[] = [];
  private readonly toSelf: Notification[] = [];
  private ready: ElectionReady = emptyReady();

  constructor(settings: ElectionSettings) {
    this.view = settings;
    this.myid = settings.myid;
    this.voters = new Set(settings.quorum.voters);
    this.minIntervalMs = settings.minNotificationIntervalMs ?? MIN_NOTIFICATION_INTERVAL_MS;
    this.maxIntervalMs = settings.maxNotificationIntervalMs ?? MAX_NOTIFICATION_INTERVAL_MS;
    this.notTimeoutMs = this.minIntervalMs;
  }

  get state(): ServerState {
    return this.peerState;
  }

  get electionEpoch(): number {
    return this.logicalclock;
  }

  get vote(): Vote | null {
    return this.currentVote;
  }

  get proposedVote(): Proposal {
    return this.proposal;
  }

  /** When `tick` next has something to do, or null while not looking. */
  get nextDeadlineMs(): number | null {
    if (!this.looking) return null;
    return this.finalizeDeadlineMs ?? this.pollDeadlineMs;
  }

  /** QuorumPeer.startLeaderElection then lookForLeader: the first election of this process. */
  start(local: LocalState, nowMs: number): ElectionReady {
    assert(this.currentVote === null, 'the election is started once');
    this.currentVote = makeVote({ leader: this.myid, zxid: local.lastLoggedZxid, peerEpoch: local.currentEpoch }, NO_ELECTION_EPOCH);
    return this.lookAgain(local, nowMs);
  }

  /** The role (leader, follower, observer) ended: back to LOOKING, a new round. */
  lookAgain(local: LocalState, nowMs: number): ElectionReady {
    assert(this.currentVote !== null, 'start comes first');
    assert(!this.looking, 'already looking');
    this.peerState = ServerState.looking;
    this.local = local;
    this.looking = true;
    this.recvset = new Map();
    this.outofelection = new Map();
    this.finalizeDeadlineMs = null;
    this.notTimeoutMs = this.minIntervalMs;
    this.logicalclock += 1;
    this.proposal = this.initialProposal();
    this.ready.events.push({ kind: 'new-round', electionEpoch: this.logicalclock, vote: formatVote(this.proposal) });
    this.sendNotifications();
    this.pollDeadlineMs = nowMs + this.notTimeoutMs;
    return this.finish(nowMs);
  }

  /**
   * The membership changed (a reconfig was seen or committed): the voters, the quorum, this
   * member's learner type and the text notifications carry are the new ones from now on.
   */
  reconfigure(view: ElectionView, nowMs: number): ElectionReady {
    this.view = view;
    this.voters = new Set(view.quorum.voters);
    if (this.looking) {
      // 3.8 shuts this election down and starts another with the new membership: a new round
      this.looking = false;
      return this.lookAgain(this.local, nowMs);
    }
    return this.finish(nowMs);
  }

  /**
   * QuorumPeer.updateVote after a reconfig named the leader of the new membership: this member
   * goes to it without an election (ZooKeeper's reconfigFlag), and answers members that look
   * with it. The vote is ZooKeeper's Vote(leader, zxid): no election epoch, no peer epoch until
   * the role takes one (updateElectionVote).
   */
  adoptLeader(leader: number, zxid: number, state: DecidedState): void {
    assert(!this.looking, 'a leader is adopted between elections');
    this.currentVote = makeVote({ leader, zxid, peerEpoch: NO_ELECTION_EPOCH }, NO_ELECTION_EPOCH);
    this.peerState = state;
  }

  /** QuorumPeer.updateElectionVote: a leader or learner learned the new epoch after deciding. */
  updateElectionVote(peerEpoch: number): void {
    if (this.currentVote !== null) this.currentVote = { ...this.currentVote, peerEpoch };
  }

  /** A notification from member `from` (its sid as the connection announced it). */
  onNotification(from: number, n: Notification, nowMs: number): ElectionReady {
    this.receive(from, n, nowMs);
    return this.finish(nowMs);
  }

  /**
   * Timeouts of the election loop. `haveDelivered` is QuorumCnxManager.haveDelivered (some send
   * queue is empty): then the loop sends its vote again, else it asks for connectAll.
   */
  tick(nowMs: number, haveDelivered: boolean): ElectionReady {
    if (!this.looking) return this.finish(nowMs);
    if (this.finalizeDeadlineMs !== null) {
      if (nowMs >= this.finalizeDeadlineMs) {
        const endVote = makeVote(this.proposal, this.logicalclock);
        this.decide(endVote, this.finalizeSupporters, 'election');
      }
    } else if (nowMs >= this.pollDeadlineMs) {
      if (haveDelivered) this.sendNotifications();
      else this.ready.connectAll = true;
      this.notTimeoutMs = Math.min(this.notTimeoutMs * 2, this.maxIntervalMs);
      this.pollDeadlineMs = nowMs + this.notTimeoutMs;
      this.ready.events.push({ kind: 'timeout', nextTimeoutMs: this.notTimeoutMs, resent: haveDelivered });
    }
    return this.finish(nowMs);
  }

  // ------------------------------------------------------------ the receiver (WorkerReceiver)

  private receive(from: number, n: Notification, nowMs: number): void {
    this.checkConfig(from, n);
    if (!this.voters.has(from)) {
      // a non-voter (an observer) is answered at once with whom this member thinks leads
      this.answer(from, this.current(), this.logicalclock);
      return;
    }
    const received: Received = { ...n, leader: sidOf(n.leader) };
    if (this.peerState === ServerState.looking) {
      if (received.state === ServerState.looking && received.electionEpoch < this.logicalclock) {
        // a member of an older round learns this round and this member's vote
        this.answer(from, this.proposal, this.logicalclock);
      }
      if (this.looking) this.loop(from, received, nowMs);
    } else if (received.state === ServerState.looking) {
      // out of election: tell a looking member whom we follow, so a late joiner learns the leader
      const current = this.current();
      this.answer(from, current, current.electionEpoch);
    }
  }

  /**
   * A newer committed membership in a notification. 3.8 adopts it while it looks (a member that
   * joins learns the ensemble so) and restarts its election; the host decides (`reconfigure`).
   */
  private checkConfig(from: number, n: Notification): void {
    if (n.config === null) return;
    const version = configVersionOf(n.config);
    if (version === null) this.ready.events.push({ kind: 'bad-config', from });
    else if (version > (this.view.configVersion ?? 0) && this.peerState === ServerState.looking) {
      this.ready.events.push({ kind: 'newer-config', from, version, text: n.config });
    }
  }

  /** Answers with this member's state; `vote` may be a Vote whose own state must not leak in. */
  private answer(to: number, vote: Proposal, electionEpoch: number): void {
    this.send(to, { leader: vote.leader, zxid: vote.zxid, peerEpoch: vote.peerEpoch, state: this.peerState, electionEpoch });
  }

  private current(): Vote {
    assert(this.currentVote !== null, 'started');
    return this.currentVote;
  }

  // ------------------------------------------------------------ the election loop (lookForLeader)

  private loop(from: number, n: Received, nowMs: number): void {
    if (this.finalizeDeadlineMs !== null) {
      // finalizing: only a better vote reopens the round; any other is consumed and dropped
      if (!this.beats(n, this.proposal)) {
        this.finalizeDeadlineMs = nowMs + FINALIZE_WAIT_MS;
        return;
      }
      this.finalizeDeadlineMs = null;
    }
    this.pollDeadlineMs = nowMs + this.notTimeoutMs;
    if (!this.voters.has(n.leader)) {
      this.ready.events.push({ kind: 'ignored', from, reason: `vote for ${n.leader}, not a voter` });
      return;
    }
    switch (n.state) {
      case ServerState.looking:
        this.onLooking(from, n, nowMs);
        return;
      case ServerState.observing:
        return;
      case ServerState.following:
      case ServerState.leading:
        // a majority quorum needs no oracle, so LEADING is handled as FOLLOWING
        this.onOutOfElection(from, n);
        return;
    }
  }

  private onLooking(from: number, n: Received, nowMs: number): void {
    if (this.initialProposal().zxid === -1 || n.zxid === -1) {
      this.ready.events.push({ kind: 'ignored', from, reason: 'zxid -1' });
      return;
    }
    if (n.electionEpoch > this.logicalclock) {
      this.logicalclock = n.electionEpoch;
      this.recvset.clear();
      const own = this.initialProposal();
      this.proposal = this.beats(n, own) ? proposalOf(n) : own;
      this.ready.events.push({ kind: 'new-round', electionEpoch: this.logicalclock, vote: formatVote(this.proposal) });
      this.sendNotifications();
    } else if (n.electionEpoch < this.logicalclock) {
      return;
    } else if (this.beats(n, this.proposal)) {
      this.proposal = proposalOf(n);
      this.sendNotifications();
    }
    this.recvset.set(from, makeVote(n, n.electionEpoch));
    const supporters = supportersOf(this.recvset, makeVote(this.proposal, this.logicalclock));
    if (this.view.quorum.containsQuorum(supporters)) {
      this.finalizeDeadlineMs = nowMs + FINALIZE_WAIT_MS;
      this.finalizeSupporters = supporters;
    }
  }

  /** receivedFollowingNotification: join a leader that a quorum follows (or elected this round). */
  private onOutOfElection(from: number, n: Received): void {
    const asSent = makeVote(n, n.electionEpoch, n.state, n.version);
    if (n.electionEpoch === this.logicalclock) {
      // recorded without its version: 3.8 keeps this round's FOLLOWING/LEADING votes as version 0
      this.recvset.set(from, makeVote(n, n.electionEpoch, n.state));
      const supporters = supportersOf(this.recvset, asSent);
      if (this.view.quorum.containsQuorum(supporters) && this.checkLeader(this.recvset, n.leader, n.electionEpoch)) {
        this.decide(makeVote(n, n.electionEpoch), supporters, 'round');
        return;
      }
    }
    // every FOLLOWING/LEADING vote, of this round or an earlier one (ZOOKEEPER-1732)
    this.outofelection.set(from, asSent);
    const supporters = supportersOf(this.outofelection, asSent);
    if (this.view.quorum.containsQuorum(supporters) && this.checkLeader(this.outofelection, n.leader, n.electionEpoch)) {
      this.logicalclock = n.electionEpoch;
      this.decide(makeVote(n, n.electionEpoch), supporters, 'established');
    }
  }

  /** A leader other than this member must itself have said it is LEADING. */
  private checkLeader(votes: ReadonlyMap<number, Vote>, leader: number, electionEpoch: number): boolean {
    if (leader !== this.myid) return votes.get(leader)?.state === ServerState.leading;
    return this.logicalclock === electionEpoch;
  }

  private decide(endVote: Vote, supporters: readonly number[], path: Decision['path']): void {
    let state: DecidedState = ServerState.leading;
    if (endVote.leader !== this.myid) {
      state = this.view.learnerType === 'participant' ? ServerState.following : ServerState.observing;
    }
    this.peerState = state;
    this.currentVote = endVote;
    this.looking = false;
    this.finalizeDeadlineMs = null;
    this.ready.decision = { state, vote: endVote, supporters: [...supporters].sort((a, b) => a - b), path };
  }

  /** totalOrderPredicate with the candidate's weight: one of weight 0 is never taken up. */
  private beats(next: Proposal, current: Proposal): boolean {
    return totalOrderPredicate(next, current, this.view.quorum.weightOf(next.leader));
  }

  /**
   * getInitId, getInitLastLoggedZxid, getPeerEpoch: a non-voter proposes no one. A voter of
   * weight 0 still proposes itself first, as in ZooKeeper; no one else ever adopts that vote.
   */
  private initialProposal(): Proposal {
    const participant = this.view.learnerType === 'participant';
    return {
      leader: (this.view.committedVoter ?? this.voters.has(this.myid)) ? this.myid : NO_VOTE_LONG,
      zxid: participant ? this.local.lastLoggedZxid : NO_VOTE_LONG,
      peerEpoch: participant ? this.local.currentEpoch : NO_VOTE_LONG,
    };
  }

  /** Our vote, LOOKING, to every voter (this member too, when it votes). */
  private sendNotifications(): void {
    for (const sid of this.voters) {
      this.send(sid, { state: ServerState.looking, ...this.proposal, electionEpoch: this.logicalclock });
    }
  }

  private send(to: number, v: Proposal & { state: ServerState; electionEpoch: number }): void {
    const notification: Notification = {
      state: v.state,
      leader: v.leader === NO_VOTE_LONG ? LONG_MIN : BigInt(v.leader),
      zxid: v.zxid,
      electionEpoch: v.electionEpoch,
      peerEpoch: v.peerEpoch,
      version: NOTIFICATION_VERSION,
      config: this.view.configText,
    };
    if (to === this.myid) this.toSelf.push(notification);
    else this.ready.send.push({ to, notification });
  }

  /** Delivers what this member sent itself, then hands the caller what is to be done. */
  private finish(nowMs: number): ElectionReady {
    for (let n = this.toSelf.shift(); n !== undefined; n = this.toSelf.shift()) this.receive(this.myid, n, nowMs);
    const ready = this.ready;
    this.ready = emptyReady();
    return ready;
  }
}

function proposalOf(p: Proposal): Proposal {
  return { leader: p.leader, zxid: p.zxid, peerEpoch: p.peerEpoch };
}
