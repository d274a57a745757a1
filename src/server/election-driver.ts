/**
 * Runs the pure FastLeaderElection core over the election links with a real clock: the one place
 * where the election's timers live. The server asks `lookForLeader` when it starts and whenever
 * its role ends; between elections the core keeps answering members that look (that is how a
 * late joiner learns the leader), so the driver stays up for the life of the member.
 */
import { assert } from '../base/index.js';
import { CodecError, JuteWriter, readNotification, writeNotification, type ElectionAddress, type Notification } from '../codec/index.js';
import type { EnsembleConfig, EnsembleMember, QuorumVerifier } from '../config/index.js';
import { ElectionLinks } from '../net/election-links.js';
import {
  FastLeaderElection,
  formatVote,
  type Decision,
  type DecidedState,
  type ElectionEvent,
  type ElectionView,
  type ElectionReady,
  type LocalState,
  type Vote,
} from '../quorum/index.js';
import type { Logger } from './types.js';

export interface ElectionDriverOptions {
  readonly myid: number;
  readonly learnerType: 'participant' | 'observer';
  /** Every member, this one included (its election address is where it listens). */
  readonly members: readonly EnsembleMember[];
  readonly quorum: Pick<QuorumVerifier, 'voters' | 'containsQuorum' | 'weightOf'>;
  /** The quorum config text every notification carries (EnsembleConfig.configText), and its version. */
  readonly configText: string;
  readonly configVersion?: number;
  readonly cnxTimeoutMs: number;
  /** QuorumCnxManager's socket timeout: tickTime * syncLimit. */
  readonly initialMessageTimeoutMs: number;
  readonly listenOnAllIPs?: boolean;
  readonly acceptUnknownSids?: boolean;
  readonly minNotificationIntervalMs?: number;
  readonly maxNotificationIntervalMs?: number;
  readonly log: Logger;
  /** Monotonic milliseconds. */
  readonly nowMs: () => number;
  /** A notification carried a newer committed membership while this member looks (FLE adopts it). */
  readonly onNewerConfig?: (text: string, version: number) => void;
}

export class ElectionDriver {
  private readonly options: ElectionDriverOptions;
  private readonly core: FastLeaderElection;
  private readonly links: ElectionLinks;
  /** The other members' election addresses: those of the membership, and any a reconfig adds. */
  private readonly peers = new Map<number, ElectionAddress>();
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private waiting: ((decision: Decision) => void) | null = null;
  private started = false;
  private closed = false;

  constructor(options: ElectionDriverOptions) {
    this.options = options;
    this.log = options.log;
    const self = options.members.find((m) => m.id === options.myid);
    assert(self !== undefined, () => `member ${options.myid} is in the member list`);
    this.core = new FastLeaderElection({
      myid: options.myid,
      learnerType: options.learnerType,
      quorum: options.quorum,
      configText: options.configText,
      configVersion: options.configVersion ?? 0,
      ...(options.minNotificationIntervalMs === undefined ? {} : { minNotificationIntervalMs: options.minNotificationIntervalMs }),
      ...(options.maxNotificationIntervalMs === undefined ? {} : { maxNotificationIntervalMs: options.maxNotificationIntervalMs }),
    });
    for (const m of options.members) if (m.id !== options.myid) this.peers.set(m.id, { host: m.host, port: m.electionPort });
    this.links = new ElectionLinks({
      mySid: options.myid,
      peers: this.peers,
      listen: { host: self.host, port: self.electionPort },
      listenOnAllIPs: options.listenOnAllIPs ?? false,
      acceptUnknownSids: options.acceptUnknownSids ?? false,
      cnxTimeoutMs: options.cnxTimeoutMs,
      initialMessageTimeoutMs: options.initialMessageTimeoutMs,
      log: options.log,
      onMessage: (sid, message) => this.onMessage(sid, message),
    });
  }

  /** The driver for a member of `ensemble`, as its zoo.cfg describes it. */
  static forEnsemble(
    ensemble: EnsembleConfig,
    log: Logger,
    nowMs: () => number,
    onNewerConfig?: (text: string, version: number) => void,
  ): ElectionDriver {
    return new ElectionDriver({
      myid: ensemble.myid,
      learnerType: ensemble.role,
      members: ensemble.members,
      quorum: ensemble.quorum,
      configText: ensemble.configText,
      configVersion: ensemble.committedConfig.version,
      cnxTimeoutMs: ensemble.cnxTimeoutMs,
      initialMessageTimeoutMs: ensemble.tickTimeMs * ensemble.syncLimit,
      listenOnAllIPs: ensemble.quorumListenOnAllIPs,
      // 3.8 takes election connections from servers it does not know; with reconfiguration a
      // member that joins is one (without it, refused: no such member can be legitimate)
      acceptUnknownSids: ensemble.reconfigEnabled,
      log,
      nowMs,
      ...(onNewerConfig === undefined ? {} : { onNewerConfig }),
    });
  }

  /** Binds the election port. */
  async listen(): Promise<ElectionAddress> {
    return this.links.start();
  }

  /**
   * Starts a round (the first one, or a new one after the role ended) with what the member has on
   * disk, and resolves with the decision: LEADING, FOLLOWING or OBSERVING, and the vote.
   */
  lookForLeader(local: LocalState): Promise<Decision> {
    assert(!this.closed, 'the election driver is closed');
    assert(this.waiting === null, 'one election at a time');
    const decided = new Promise<Decision>((resolve) => {
      this.waiting = resolve;
    });
    const now = this.options.nowMs();
    this.apply(this.started ? this.core.lookAgain(local, now) : this.core.start(local, now));
    this.started = true;
    return decided;
  }

  /** A leader or learner took the new epoch: answers to lookers carry it from now on. */
  updateElectionVote(peerEpoch: number): void {
    this.core.updateElectionVote(peerEpoch);
  }

  /**
   * The membership changed: the election counts with `view` from now on, and reaches the members
   * it lists at their addresses (QuorumCnxManager connects to members a reconfig adds). A
   * member's own election address stays the one bound at start.
   */
  reconfigure(view: ElectionView, members: readonly Pick<EnsembleMember, 'id' | 'host' | 'electionPort'>[]): void {
    for (const m of members) if (m.id !== this.options.myid) this.peers.set(m.id, { host: m.host, port: m.electionPort });
    this.apply(this.core.reconfigure(view, this.options.nowMs()));
  }

  /** A reconfig named the leader: this member goes to it without an election (see FastLeaderElection.adoptLeader). */
  adoptLeader(leader: number, zxid: number, state: DecidedState): void {
    this.core.adoptLeader(leader, zxid, state);
  }

  /** The current vote (who this member thinks leads), null before the first election. */
  get vote(): Vote | null {
    return this.core.vote;
  }

  get linkedSids(): number[] {
    return this.links.linkedSids();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.links.close();
  }

  private onMessage(sid: number, message: Buffer): void {
    let n: Notification;
    try {
      n = readNotification(message);
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      // 3.8 skips a malformed notification and keeps the connection
      this.log.warn({ sid, bytes: message.length, reason: err.message }, 'election: malformed notification skipped');
      return;
    }
    if (!this.started) return;
    this.apply(this.core.onNotification(sid, n, this.options.nowMs()));
  }

  private apply(ready: ElectionReady): void {
    if (this.closed) return;
    for (const { to, notification } of ready.send) this.links.toSend(to, encodeNotification(notification));
    if (ready.connectAll) this.links.connectAll();
    for (const event of ready.events) this.logEvent(event);
    if (ready.decision !== null) this.onDecision(ready.decision);
    this.armTimer();
    // a newer membership heard while still looking: the member adopts it (and reconfigures this)
    const newer = ready.decision === null ? ready.events.findLast((e) => e.kind === 'newer-config') : undefined;
    if (newer?.kind === 'newer-config') this.options.onNewerConfig?.(newer.text, newer.version);
  }

  private onDecision(decision: Decision): void {
    const { state, vote, supporters, path } = decision;
    this.log.info({ state, vote: formatVote(vote), round: vote.electionEpoch, supporters, path }, 'election: decided');
    const resolve = this.waiting;
    this.waiting = null;
    resolve?.(decision);
  }

  private logEvent(event: ElectionEvent): void {
    if (event.kind === 'timeout')
      this.log.info({ nextTimeoutMs: event.nextTimeoutMs, resent: event.resent }, 'election: notification time out');
    else if (event.kind === 'new-round') this.log.info({ round: event.electionEpoch, vote: event.vote }, 'election: new round');
    else this.log.debug({ ...event }, `election: ${event.kind}`);
  }

  private armTimer(): void {
    clearTimeout(this.timer);
    const deadline = this.core.nextDeadlineMs;
    if (deadline === null) return;
    this.timer = setTimeout(
      () => this.apply(this.core.tick(this.options.nowMs(), this.links.haveDelivered())),
      Math.max(0, deadline - this.options.nowMs()),
    );
  }
}

function encodeNotification(n: Notification): Buffer {
  const w = new JuteWriter(128);
  writeNotification(w, n);
  return Buffer.from(w.view().subarray(0, w.length));
}
