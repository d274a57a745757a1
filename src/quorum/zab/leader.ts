/**
 * ZAB's leader, as ZooKeeper 3.8's Leader and LearnerHandler run it, as a pure state machine:
 * inputs are method calls, outputs are the ordered actions `take()` returns (types.ts).
 *
 * Discovery: the epoch is one more than the largest acceptedEpoch among a quorum of voters
 * (the leader's own included) that sent FOLLOWERINFO; acceptedEpoch is durable before any
 * LEADERINFO goes out. A quorum of ACKEPOCH (the leader's own included) ends discovery; then
 * currentEpoch is written, and only once it is durable does the leader count itself for NEWLEADER.
 * Synchronization: each learner gets DIFF, TRUNC or SNAP (sync.ts), the committed txns it
 * lacks as PROPOSAL/COMMIT pairs, the outstanding proposals (voters only), then NEWLEADER; a
 * quorum of NEWLEADER ACKs establishes the leader, which then sends UPTODATE (at once to each
 * learner that syncs later). Broadcast: PROPOSAL to synced voters, COMMIT once a quorum
 * (the leader counts itself once its log is durable through the txn) has ACKed it and every
 * earlier one, INFORM to observers.
 */
import { assert } from '../../base/index.js';
import { OpCode } from '../../codec/codes.js';
import { planFromHistory, planFromLog, type SyncPlan } from './sync.js';
import {
  ActionQueue,
  counterOf,
  epochOf,
  hex,
  makeZxid,
  PacketType,
  ZAB_EPOCH_MAX,
  ZXID_COUNTER_MAX,
  type EpochFile,
  type LogReadResult,
  type Sid,
  type ToLeader,
  type ZabAction,
  type ZabLimits,
  type ZabQuorum,
  type ZabStart,
  type ZabTxn,
  type Zxid,
} from './types.js';
import { ApplyQueue } from './apply-queue.js';

/** `zookeeper.commitLogCount`: how many committed txns the leader keeps for DIFFs. */
export const COMMIT_WINDOW_DEFAULT = 500;

export interface LeaderConfig extends ZabStart, ZabLimits {
  /** The voting members, this one included. Anyone else who connects is an observer. */
  readonly voters: readonly Sid[];
  /**
   * Whether these sids make a quorum (QuorumVerifier.containsQuorum: weights and groups of a
   * hierarchical quorum); more than half of the voters when not given.
   */
  readonly containsQuorum?: (sids: ReadonlySet<Sid>) => boolean;
  /** The version of that config: the zxid of the reconfig that made it (0: none did). */
  readonly configVersion?: Zxid;
  /**
   * The last seen config when it is newer than the committed one: a reconfig this leader's log
   * holds whose commit no one saw. NEWLEADER needs a quorum of it too, and it is the config in
   * force once the leader is established (Leader.lead and startZkServer); `leaderStays` as for
   * `propose`.
   */
  readonly lastSeen?: { readonly quorum: ZabQuorum; readonly leaderStays: boolean };
  /** The newest logged txns, oldest first, ending at `lastZxid` (what storage's CommittedLog holds). */
  readonly committedTail?: readonly ZabTxn[];
  readonly commitWindow?: number;
  /** ZooKeeper's `zookeeper.testingonly.initialZxid`: the counter the new epoch starts from (tests only). */
  readonly initialCounter?: number;
}

type Stage =
  | 'info' // FOLLOWERINFO in, waiting for the epoch to be durable
  | 'leaderInfo' // LEADERINFO out, waiting for ACKEPOCH
  | 'awaitQuorum' // ACKEPOCH in, waiting for a quorum of them
  | 'reading' // waiting for the host's log read
  | 'newLeaderAck' // sync queued with NEWLEADER, waiting for its ACK
  | 'awaitEstablished' // NEWLEADER ACKed, waiting for a quorum to do so
  | 'broadcast'; // UPTODATE sent

interface LearnerHandler {
  readonly sid: Sid;
  readonly observer: boolean;
  stage: Stage;
  peerLastZxid: Zxid;
  /** The tick after which a silent learner is dropped. */
  deadline: number;
}

/** A proposal not yet committed. */
interface Outstanding {
  readonly txn: ZabTxn;
  /** The voters (and other followers) that ACKed it. */
  readonly acks: Set<Sid>;
  /**
   * The configs whose quorums must ACK it: the committed one, and while a reconfig is in
   * flight (from its proposal to its commit) the one it proposes, as ZooKeeper's Proposal does.
   */
  readonly quorums: readonly ZabQuorum[];
  /** Set on a reconfig's proposal: whether this leader leads the config it proposes. */
  readonly reconfig?: { readonly leaderStays: boolean };
}

interface Committed {
  readonly txn: ZabTxn;
  /** The committed txn before it, if known. */
  readonly prev: Zxid | null;
}

type Phase = 'discovery' | 'sync' | 'broadcast' | 'done';

export class ZabLeader {
  private readonly out = new ActionQueue();
  private readonly voters: ReadonlySet<Sid>;
  private readonly handlers = new Map<Sid, LearnerHandler>();
  private phase: Phase = 'discovery';
  private tickNow = 0;
  private phaseDeadline: number;

  private epoch: number | null = null;
  private maxAcceptedEpoch: number;
  private acceptedEpochDurable = false;
  private readonly connecting = new Set<Sid>();
  private readonly electing = new Set<Sid>();
  private electionFinished = false;
  private currentEpochDurable = false;
  private readonly newLeaderAcks = new Set<Sid>();

  private lastProposed: Zxid;
  private lastCommitted: Zxid;
  private lastLogged: Zxid;
  /** Proposed, not yet committed, in zxid order. */
  private readonly outstanding = new Map<Zxid, Outstanding>();
  /** The config in force (QuorumPeer's quorum verifier), and the one a reconfig in flight proposes. */
  private committedQuorum: ZabQuorum;
  private proposedQuorum: ZabQuorum | null;
  /** False once a reconfig hands leadership to another member: nothing after it commits here. */
  private allowedToCommit = true;
  /** The committed window (ZooKeeper's committedLog); never drops a txn not yet applied. */
  private readonly window: Committed[] = [];
  private readonly windowSize: number;
  private readonly toApply: ApplyQueue;
  private readonly pendingSyncs: { sid: Sid; after: Zxid }[] = [];

  constructor(private readonly config: LeaderConfig) {
    this.voters = new Set(config.voters);
    assert(this.voters.has(config.sid), () => `leader ${config.sid} is not a voter`);
    this.committedQuorum = { version: config.configVersion ?? 0, voters: this.voters, containsQuorum: (sids) => this.isQuorum(sids) };
    this.proposedQuorum = config.lastSeen?.quorum ?? null;
    this.lastProposed = this.lastCommitted = this.lastLogged = config.lastZxid;
    this.toApply = new ApplyQueue(config.lastZxid);
    this.windowSize = Math.max(config.commitWindow ?? COMMIT_WINDOW_DEFAULT, 1);
    let prev: Zxid | null = null;
    for (const txn of config.committedTail ?? []) {
      assert(prev === null || txn.zxid > prev, 'committed tail out of order');
      this.window.push({ txn, prev });
      prev = txn.zxid;
    }
    assert(prev === null || prev === config.lastZxid, () => `committed tail ends at ${hex(prev ?? 0)}, not at ${hex(config.lastZxid)}`);
    this.phaseDeadline = config.initLimitTicks;
    this.maxAcceptedEpoch = config.acceptedEpoch;
    this.connecting.add(config.sid);
    this.decideEpoch();
  }

  /** The actions produced since the last call, in the order the host must carry them out. */
  take(): ZabAction[] {
    return this.out.take();
  }

  get isServing(): boolean {
    return this.phase === 'broadcast';
  }
  get isDone(): boolean {
    return this.phase === 'done';
  }
  /** The new epoch, once a quorum has told its accepted epochs. */
  get newEpoch(): number | null {
    return this.epoch;
  }
  get lastProposedZxid(): Zxid {
    return this.lastProposed;
  }
  get lastCommittedZxid(): Zxid {
    return this.lastCommitted;
  }
  /** Proposals not yet committed (what a host's throttle, `globalOutstandingLimit`, looks at). */
  get outstandingCount(): number {
    return this.outstanding.size;
  }

  /**
   * The zxid the next proposal must carry. Null when the epoch's counter is spent: the leader
   * then gives up (a `looking` action), as ZooKeeper does rather than roll the counter over.
   */
  nextZxid(): Zxid | null {
    if (this.phase === 'done') return null;
    assert(this.phase === 'broadcast' && this.epoch !== null, 'nextZxid before the leader serves');
    const counter = counterOf(this.lastProposed) + 1;
    if (counter < ZXID_COUNTER_MAX) return makeZxid(this.epoch, counter);
    this.giveUp('zxid counter would roll over: a new epoch is needed');
    return null;
  }

  // ------------------------------------------------------------------ inputs

  receive(from: Sid, m: ToLeader): void {
    if (this.phase === 'done') return;
    if (m.type === PacketType.followerInfo || m.type === PacketType.observerInfo) {
      // OBSERVERINFO makes an observer; FOLLOWERINFO a follower, also one that is not a voter (a
      // member about to be added, or removed): its ACKs count only in configs it votes in
      this.onLearnerInfo(from, m.type === PacketType.observerInfo, m.acceptedEpoch);
      return;
    }
    const h = this.handlers.get(from);
    if (h === undefined) return; // a packet from a connection already dropped
    if (h.stage === 'broadcast') h.deadline = this.tickNow + this.config.syncLimitTicks;
    switch (m.type) {
      case PacketType.ackEpoch:
        this.onAckEpoch(h, m.currentEpoch, m.lastZxid);
        return;
      case PacketType.ack:
        this.onAck(h, m.zxid);
        return;
      case PacketType.ping:
        if (m.touches.length > 0) this.out.push({ kind: 'touches', from, touches: m.touches });
        return;
      case PacketType.request:
        if (this.inBroadcast(h)) this.out.push({ kind: 'request', from, request: m.request });
        return;
      case PacketType.revalidate:
        if (this.inBroadcast(h)) this.out.push({ kind: 'revalidate', from, sessionId: m.sessionId, timeoutMs: m.timeoutMs });
        return;
    }
  }

  /** The connection to `peer` broke (or the host closed it). */
  disconnected(peer: Sid): void {
    this.dropHandler(peer);
  }

  tick(): void {
    if (this.phase === 'done') return;
    this.tickNow++;
    if (this.phase !== 'broadcast' && this.tickNow > this.phaseDeadline) {
      this.giveUp(`no quorum within initLimit during ${this.phase}`);
      return;
    }
    for (const h of [...this.handlers.values()]) {
      if (this.tickNow > h.deadline) {
        this.out.push({ kind: 'disconnect', peer: h.sid, reason: 'learner silent' });
        this.dropHandler(h.sid);
      }
    }
    if (this.phase !== 'broadcast') return;
    const synced = new Set([this.config.sid]);
    for (const h of this.handlers.values()) if (!h.observer) synced.add(h.sid);
    // a quorum of the config in force, and of the one a reconfig in flight proposes
    if (!this.committedQuorum.containsQuorum(synced) || this.proposedQuorum?.containsQuorum(synced) === false) {
      this.giveUp(`not sufficient followers synced, only ${[...synced].join(',')}`);
      return;
    }
    this.ping();
  }

  /**
   * PINGs the learners past sync, as `tick` does; a host calls it halfway between ticks too, as
   * ZooKeeper's leader pings twice a tick: a learner then hears from a live leader at least
   * every half tick, well inside a read timeout of syncLimit tickTimes even with syncLimit 1.
   */
  ping(): void {
    if (this.phase !== 'broadcast') return;
    for (const h of this.handlers.values()) {
      if (h.stage === 'newLeaderAck' || h.stage === 'awaitEstablished' || h.stage === 'broadcast') {
        this.out.send(h.sid, { type: PacketType.ping, zxid: this.lastProposed });
      }
    }
  }

  /** The host's log is durable through `zxid`. */
  logged(zxid: Zxid): void {
    if (this.phase === 'done') return;
    assert(
      zxid >= this.lastLogged && zxid <= this.lastProposed,
      () => `logged ${hex(zxid)} outside ${hex(this.lastLogged)}..${hex(this.lastProposed)}`,
    );
    this.lastLogged = zxid;
    this.tryCommit();
    this.drainApply();
  }

  epochWritten(file: EpochFile, epoch: number): void {
    if (this.phase === 'done') return;
    assert(epoch === this.epoch, () => `epoch ${epoch} written, ${this.epoch} expected`);
    if (file === 'acceptedEpoch') {
      this.acceptedEpochDurable = true;
      for (const h of this.handlers.values()) if (h.stage === 'info') this.sendLeaderInfo(h);
      this.electing.add(this.config.sid);
      this.checkElection();
    } else {
      this.currentEpochDurable = true;
      this.newLeaderAcks.add(this.config.sid);
      this.checkEstablished();
    }
  }

  /** The answer to a `readLog` for `peer`. */
  logRead(peer: Sid, result: LogReadResult): void {
    const h = this.handlers.get(peer);
    if (this.phase === 'done' || h?.stage !== 'reading') return;
    this.queueSync(h, planFromLog(h.peerLastZxid, result, this.window, this.lastCommitted));
  }

  /**
   * Proposes a txn the host prepared with `nextZxid()`. A reconfig's txn comes with the config
   * it proposes (its version is the txn's zxid) and whether this leader stays leader of it (a
   * voter there, on the same quorum address): from now until it commits, every proposal needs a
   * quorum of both configs.
   */
  propose(txn: ZabTxn, reconfig?: { readonly quorum: ZabQuorum; readonly leaderStays: boolean }): void {
    assert(this.phase === 'broadcast' && this.epoch !== null, 'propose before the leader serves');
    assert(
      txn.zxid === this.lastProposed + 1 && epochOf(txn.zxid) === this.epoch && counterOf(txn.zxid) < ZXID_COUNTER_MAX,
      () => `proposal ${hex(txn.zxid)} after ${hex(this.lastProposed)}`,
    );
    assert(
      (reconfig !== undefined) === (txn.type === OpCode.reconfig),
      () => `txn ${hex(txn.zxid)} of type ${txn.type}: a reconfig comes with its config`,
    );
    if (reconfig !== undefined) {
      // prep answers RECONFIGINPROGRESS while one is in flight
      assert(this.proposedQuorum === null, () => `reconfig ${hex(txn.zxid)} while another is in flight`);
      assert(
        reconfig.quorum.version === txn.zxid,
        () => `config version ${hex(reconfig.quorum.version)} is not its txn's zxid ${hex(txn.zxid)}`,
      );
      this.proposedQuorum = reconfig.quorum;
    }
    const quorums = this.proposedQuorum === null ? [this.committedQuorum] : [this.committedQuorum, this.proposedQuorum];
    this.outstanding.set(txn.zxid, { txn, acks: new Set(), quorums, ...(reconfig && { reconfig: { leaderStays: reconfig.leaderStays } }) });
    this.lastProposed = txn.zxid;
    this.out.push({ kind: 'append', txn });
    for (const h of this.handlers.values()) {
      if (!h.observer && this.isForwarding(h)) this.out.send(h.sid, { type: PacketType.proposal, txn });
    }
  }

  /** Answers a learner's REVALIDATE (the session authority's verdict). */
  revalidated(peer: Sid, sessionId: bigint, valid: boolean): void {
    if (this.phase !== 'done' && this.handlers.has(peer)) this.out.send(peer, { type: PacketType.revalidate, sessionId, valid });
  }

  /**
   * Leader.isQuorumSynced, what prep asks before it proposes a reconfig (NEWCONFIGNOQUORUM
   * otherwise): whether this leader, if it votes there, and the followers synced with it that
   * vote there make a quorum of `quorum`. Observers never count.
   */
  isQuorumSynced(quorum: ZabQuorum): boolean {
    const synced = new Set<Sid>();
    if (quorum.voters.has(this.config.sid)) synced.add(this.config.sid);
    for (const h of this.handlers.values()) if (!h.observer && h.stage === 'broadcast' && quorum.voters.has(h.sid)) synced.add(h.sid);
    return quorum.containsQuorum(synced);
  }

  /** A reconfig is proposed and not yet committed (prep's RECONFIGINPROGRESS). */
  get reconfigInFlight(): boolean {
    return this.proposedQuorum !== null;
  }

  /** A learner's forwarded `sync` passed prep: answer SYNC once everything proposed so far has committed. */
  syncFor(peer: Sid): void {
    this.pendingSyncs.push({ sid: peer, after: this.lastProposed });
    this.releaseSyncs();
  }

  // ------------------------------------------------------------------ discovery

  private onLearnerInfo(sid: Sid, observer: boolean, acceptedEpoch: number): void {
    this.dropHandler(sid);
    const h: LearnerHandler = {
      sid,
      observer,
      stage: 'info',
      peerLastZxid: -1,
      deadline: this.tickNow + this.config.initLimitTicks + this.config.syncLimitTicks,
    };
    this.handlers.set(sid, h);
    if (this.epoch === null) {
      this.maxAcceptedEpoch = Math.max(this.maxAcceptedEpoch, acceptedEpoch);
      if (!observer) this.connecting.add(sid);
      this.decideEpoch();
    } else if (this.acceptedEpochDurable) {
      this.sendLeaderInfo(h);
    }
  }

  private decideEpoch(): void {
    if (this.epoch !== null || !this.isQuorum(this.connecting)) return;
    const epoch = this.maxAcceptedEpoch + 1;
    if (epoch > ZAB_EPOCH_MAX) {
      this.giveUp(`epoch ${epoch} would not fit a zxid`);
      return;
    }
    this.epoch = epoch;
    this.lastProposed = makeZxid(epoch, this.config.initialCounter ?? 0);
    this.phaseDeadline = this.tickNow + this.config.initLimitTicks;
    this.out.push({ kind: 'writeEpoch', file: 'acceptedEpoch', epoch });
  }

  private sendLeaderInfo(h: LearnerHandler): void {
    assert(this.epoch !== null, 'LEADERINFO before the epoch');
    h.stage = 'leaderInfo';
    this.out.send(h.sid, { type: PacketType.leaderInfo, epoch: this.epoch });
  }

  private onAckEpoch(h: LearnerHandler, currentEpoch: number, lastZxid: Zxid): void {
    if (h.stage !== 'leaderInfo') {
      this.protocolError(h, 'ACKEPOCH out of turn');
      return;
    }
    h.peerLastZxid = lastZxid;
    if (!this.electionFinished && currentEpoch !== -1) {
      const ahead =
        currentEpoch > this.config.currentEpoch || (currentEpoch === this.config.currentEpoch && lastZxid > this.config.lastZxid);
      if (ahead) {
        this.protocolError(h, `follower is ahead of the leader (epoch ${currentEpoch}, ${hex(lastZxid)})`);
        return;
      }
      if (!h.observer) this.electing.add(h.sid);
    }
    h.stage = 'awaitQuorum';
    if (this.electionFinished) this.startSync(h);
    else this.checkElection();
  }

  private checkElection(): void {
    if (this.electionFinished || !this.electing.has(this.config.sid) || !this.isQuorum(this.electing)) return;
    assert(this.epoch !== null, 'election finished without an epoch');
    this.electionFinished = true;
    this.phase = 'sync';
    this.phaseDeadline = this.tickNow + this.config.initLimitTicks;
    this.out.push({ kind: 'writeEpoch', file: 'currentEpoch', epoch: this.epoch });
    for (const h of this.handlers.values()) if (h.stage === 'awaitQuorum') this.startSync(h);
  }

  // ------------------------------------------------------------------ synchronization

  private startSync(h: LearnerHandler): void {
    const peer = h.peerLastZxid;
    const min = this.window[0]?.txn.zxid;
    if (peer >= this.lastCommitted || (min !== undefined && min <= peer)) {
      this.queueSync(h, planFromHistory(peer, this.window, this.lastCommitted));
      return;
    }
    h.stage = 'reading';
    this.out.push({ kind: 'readLog', peer: h.sid, after: peer, until: Math.min(this.lastCommitted, this.lastLogged) });
  }

  /** Queues the sync packets of `plan`, the txns in flight, and NEWLEADER. */
  private queueSync(h: LearnerHandler, plan: SyncPlan): void {
    assert(this.epoch !== null, 'sync before the epoch');
    const send = (m: Parameters<ActionQueue['send']>[1]): void => this.out.send(h.sid, m);
    let through: Zxid;
    if (plan.kind === 'snap') {
      send({ type: PacketType.snap, zxid: this.toApply.lastApplied });
      through = this.toApply.lastApplied;
    } else {
      send(plan.kind === 'diff' ? { type: PacketType.diff, zxid: this.lastCommitted } : { type: PacketType.trunc, zxid: plan.truncZxid });
      for (const txn of plan.txns) {
        send({ type: PacketType.proposal, txn });
        send({ type: PacketType.commit, zxid: txn.zxid });
      }
      through = plan.through;
    }
    for (const c of this.window) {
      if (c.txn.zxid <= through) continue;
      send({ type: PacketType.proposal, txn: c.txn });
      send({ type: PacketType.commit, zxid: c.txn.zxid });
    }
    if (!h.observer) for (const p of this.outstanding.values()) send({ type: PacketType.proposal, txn: p.txn });
    send({ type: PacketType.newLeader, zxid: makeZxid(this.epoch, 0) });
    h.stage = 'newLeaderAck';
  }

  private onAck(h: LearnerHandler, zxid: Zxid): void {
    assert(this.epoch !== null, 'ACK before the epoch');
    if (h.stage === 'newLeaderAck') {
      // ZOOKEEPER-4685: a learner ACKs NEWLEADER before anything else
      if (zxid !== makeZxid(this.epoch, 0)) {
        this.protocolError(h, `first ACK is ${hex(zxid)}, not NEWLEADER's`);
        return;
      }
      h.deadline = this.tickNow + this.config.syncLimitTicks;
      if (this.phase === 'broadcast') {
        this.sendUpToDate(h);
        return;
      }
      h.stage = 'awaitEstablished';
      if (!h.observer) this.newLeaderAcks.add(h.sid);
      this.checkEstablished();
      return;
    }
    if (!this.inBroadcast(h)) {
      this.protocolError(h, `ACK ${hex(zxid)} during ${h.stage}`);
      return;
    }
    if (h.observer || counterOf(zxid) === 0 || zxid <= this.lastCommitted) return;
    const p = this.outstanding.get(zxid);
    if (p === undefined) return;
    p.acks.add(h.sid);
    this.tryCommit();
  }

  private checkEstablished(): void {
    if (this.phase !== 'sync' || !this.currentEpochDurable || !this.isQuorum(this.newLeaderAcks)) return;
    // a quorum of the last seen config too, when a reconfig's commit was not seen
    if (this.proposedQuorum?.containsQuorum(this.newLeaderAcks) === false) return;
    assert(this.epoch !== null, 'established without an epoch');
    this.phase = 'broadcast';
    this.out.push({ kind: 'serving', epoch: this.epoch, designated: this.establishLastSeen() });
    for (const h of this.handlers.values()) if (h.stage === 'awaitEstablished') this.sendUpToDate(h);
  }

  private sendUpToDate(h: LearnerHandler): void {
    h.stage = 'broadcast';
    this.out.send(h.sid, { type: PacketType.upToDate });
  }

  // ------------------------------------------------------------------ broadcast

  private tryCommit(): void {
    for (const [zxid, p] of this.outstanding) {
      if (!this.allowedToCommit) return;
      // the leader's own ACK is its log: counted here, at the head, not by walking every
      // outstanding proposal each time the log syncs (a lagging follower makes that list long)
      if (zxid <= this.lastLogged) p.acks.add(this.config.sid);
      if (!p.quorums.every((q) => q.containsQuorum(p.acks))) return;
      this.outstanding.delete(zxid);
      this.commit(p);
    }
  }

  private commit(p: Outstanding): void {
    const txn = p.txn;
    assert(txn.zxid > this.lastCommitted, () => `commit ${hex(txn.zxid)} after ${hex(this.lastCommitted)}`);
    this.window.push({ txn, prev: this.lastCommitted });
    this.lastCommitted = txn.zxid;
    this.toApply.push(txn);
    const designated = p.reconfig === undefined ? null : this.activate(p, p.reconfig.leaderStays);
    for (const h of this.handlers.values()) {
      if (!this.isForwarding(h)) continue;
      if (designated !== null) {
        if (h.observer) this.out.send(h.sid, { type: PacketType.informAndActivate, txn, designated });
        else this.out.send(h.sid, { type: PacketType.commitAndActivate, zxid: txn.zxid, designated });
      } else if (h.observer) this.out.send(h.sid, { type: PacketType.inform, txn });
      else this.out.send(h.sid, { type: PacketType.commit, zxid: txn.zxid });
    }
    // applied first, so a client of this leader has its answer before a hand-over ends the role
    this.drainApply();
    if (designated !== null) this.out.push({ kind: 'activate', txn, designated });
    this.releaseSyncs();
  }

  /**
   * A reconfig commits: its config is the one in force. Returns who leads it: this leader, or
   * (Leader.getDesignatedLeader) a voter of the new config that ACKed the reconfig and as many
   * of the proposals after it as possible, so that it holds the most of what is in flight;
   * this leader then commits nothing more.
   */
  private activate(p: Outstanding, leaderStays: boolean): Sid {
    const next = p.quorums.at(-1);
    assert(next !== undefined && next === this.proposedQuorum, 'a reconfig commits with the config it proposed');
    this.committedQuorum = next;
    this.proposedQuorum = null;
    if (leaderStays) return this.config.sid;
    let candidates = [...p.acks].filter((sid) => sid !== this.config.sid && next.voters.has(sid));
    assert(candidates.length > 0, () => `reconfig ${hex(p.txn.zxid)} committed with no other voter of its config`);
    for (const later of this.outstanding.values()) {
      if (candidates.length === 1) break;
      const both = candidates.filter((sid) => later.acks.has(sid));
      if (both.length === 0) break;
      candidates = both;
    }
    this.allowedToCommit = false;
    return Math.min(...candidates);
  }

  /**
   * Leader.startZkServer: the last seen config, which a quorum of it has now synced, is the one
   * in force. Returns who leads it: this leader, or (as after a reconfig's commit) a voter of it
   * that ACKed NEWLEADER; this leader then commits nothing.
   */
  private establishLastSeen(): Sid {
    const next = this.proposedQuorum;
    const lastSeen = this.config.lastSeen;
    if (next === null || lastSeen === undefined) return this.config.sid;
    this.committedQuorum = next;
    this.proposedQuorum = null;
    if (lastSeen.leaderStays) return this.config.sid;
    const candidates = [...this.newLeaderAcks].filter((sid) => sid !== this.config.sid && next.voters.has(sid));
    assert(candidates.length > 0, () => `established with no other voter of config ${hex(next.version)}`);
    this.allowedToCommit = false;
    return Math.min(...candidates);
  }

  private drainApply(): void {
    this.toApply.drain(this.lastLogged, this.out);
    const lastApplied = this.toApply.lastApplied;
    while (this.window.length > this.windowSize + 1 && (this.window[0]?.txn.zxid ?? Infinity) <= lastApplied) this.window.shift();
  }

  private releaseSyncs(): void {
    while (this.pendingSyncs.length > 0) {
      const s = this.pendingSyncs[0];
      if (s === undefined || s.after > this.lastCommitted) return;
      this.pendingSyncs.shift();
      if (this.handlers.has(s.sid)) this.out.send(s.sid, { type: PacketType.sync });
    }
  }

  // ------------------------------------------------------------------ helpers

  private isQuorum(sids: ReadonlySet<Sid>): boolean {
    if (this.config.containsQuorum !== undefined) return this.config.containsQuorum(sids);
    let n = 0;
    for (const s of sids) if (this.voters.has(s)) n++;
    return n * 2 > this.voters.size;
  }

  /** Whether the learner gets proposals and commits as they happen (its sync is queued). */
  private isForwarding(h: LearnerHandler): boolean {
    return h.stage === 'newLeaderAck' || h.stage === 'awaitEstablished' || h.stage === 'broadcast';
  }

  private inBroadcast(h: LearnerHandler): boolean {
    return h.stage === 'awaitEstablished' || h.stage === 'broadcast';
  }

  private dropHandler(sid: Sid): void {
    if (!this.handlers.delete(sid)) return;
    // its ACKs may be of txns it no longer holds once it syncs again (a TRUNC)
    for (const p of this.outstanding.values()) p.acks.delete(sid);
  }

  private protocolError(h: LearnerHandler, reason: string): void {
    this.out.push({ kind: 'disconnect', peer: h.sid, reason });
    this.dropHandler(h.sid);
  }

  private giveUp(reason: string): void {
    this.phase = 'done';
    for (const sid of this.handlers.keys()) this.out.push({ kind: 'disconnect', peer: sid, reason });
    this.handlers.clear();
    this.out.push({ kind: 'looking', reason });
  }
}
