/**
 * ZAB's follower and observer, as ZooKeeper 3.8's Learner, Follower and Observer run them (with
 * the later fixes to Learner.syncWithLeader), as a pure state machine.
 *
 * Discovery: FOLLOWERINFO (OBSERVERINFO) with acceptedEpoch; on LEADERINFO of a newer epoch,
 * acceptedEpoch is written and durable before ACKEPOCH (with currentEpoch and the last zxid)
 * goes out; of the same epoch, ACKEPOCH says -1 (no vote); of an older one, back to election.
 * Synchronization: DIFF, TRUNC (the log is cut and the database reset before anything else) or
 * SNAP (the driver has loaded the stream; it is saved durably), then PROPOSAL/COMMIT pairs,
 * every one appended to the log. NEWLEADER is ACKed only once every txn received is durable,
 * the cut or the snapshot too, and then currentEpoch (ZOOKEEPER-3911, 4643, 4646, 4785): a
 * learner that ACKed NEWLEADER can lose nothing in a power cut. Its ACKs of proposals come
 * after that ACK (ZOOKEEPER-4685). A COMMIT may arrive at any point after its PROPOSAL, before
 * or after NEWLEADER (ZOOKEEPER-4394). Broadcast: a PROPOSAL is appended and ACKed once
 * durable; a COMMIT (INFORM for an observer) applies the txn once it is logged here too.
 */
import { assert } from '../../base/index.js';
import { OpCode } from '../../codec/codes.js';
import {
  ActionQueue,
  epochOf,
  hex,
  makeZxid,
  PacketType,
  type EpochFile,
  type ForwardedWrite,
  type SessionTouch,
  type Sid,
  type ToLearner,
  type ZabAction,
  type ZabLimits,
  type ZabStart,
  type ZabTxn,
  type Zxid,
} from './types.js';
import { ApplyQueue } from './apply-queue.js';

export interface LearnerConfig extends ZabStart, ZabLimits {
  /** The leader election chose. */
  readonly leader: Sid;
  /** An observer: OBSERVERINFO, INFORMs, never ACKs a proposal, never counted. */
  readonly observer: boolean;
}

type Stage = 'connecting' | 'leaderInfo' | 'acceptingEpoch' | 'sync' | 'broadcast' | 'done';

export class ZabLearner {
  private readonly out = new ActionQueue();
  private stage: Stage = 'connecting';
  private tickNow = 0;
  private lastHeard = 0;
  private acceptedEpoch: number;
  private currentEpoch: number;
  private newEpoch = -1;

  /** Handed to the log / durable in it / applied to the database. */
  private lastAppended: Zxid;
  private lastLogged: Zxid;
  private lastCommitted: Zxid;
  /** Proposals appended and not yet committed, in order (a follower's pendingTxns). */
  private readonly pending: ZabTxn[] = [];
  private readonly toApply: ApplyQueue;
  /** Proposals to ACK once durable (and once NEWLEADER is ACKed). */
  private readonly toAck: Zxid[] = [];
  /** The zxid of the SNAP this learner synced by, if it did. */
  private snapZxid: Zxid | null = null;

  private syncOpSeen = false;
  private truncating: Zxid | null = null;
  private savingSnapshot: Zxid | null = null;
  private newLeaderZxid: Zxid | null = null;
  private writingCurrentEpoch = false;
  private newLeaderAcked = false;
  private readonly touches = new Map<bigint, number>();
  /** SYNCs from the leader, each with the last commit before it: answered once that is applied. */
  private readonly syncsAfter: Zxid[] = [];

  constructor(private readonly config: LearnerConfig) {
    this.acceptedEpoch = config.acceptedEpoch;
    this.currentEpoch = config.currentEpoch;
    this.lastAppended = this.lastLogged = this.lastCommitted = config.lastZxid;
    this.toApply = new ApplyQueue(config.lastZxid);
  }

  take(): ZabAction[] {
    return this.out.take();
  }

  get isServing(): boolean {
    return this.stage === 'broadcast';
  }
  get isDone(): boolean {
    return this.stage === 'done';
  }
  get lastAppliedZxid(): Zxid {
    return this.toApply.lastApplied;
  }
  get leader(): Sid {
    return this.config.leader;
  }
  /**
   * How many ticks of silence from the leader end the term now: initLimit until UPTODATE,
   * syncLimit after. A host that can see its link's silence directly (a socket read timeout, as
   * ZooKeeper's Learner) gives up at exactly this many tickTimes; `tick` alone notices a tick later.
   */
  get silenceLimitTicks(): number {
    return this.stage === 'broadcast' ? this.config.syncLimitTicks : this.config.initLimitTicks;
  }

  // ------------------------------------------------------------------ inputs

  /** The connection to the leader is open. */
  connected(): void {
    if (this.stage !== 'connecting') return;
    this.stage = 'leaderInfo';
    this.lastHeard = this.tickNow;
    const type = this.config.observer ? PacketType.observerInfo : PacketType.followerInfo;
    this.send({ type, acceptedEpoch: this.acceptedEpoch });
  }

  disconnected(): void {
    this.giveUp('connection to the leader lost');
  }

  tick(): void {
    if (this.stage === 'done') return;
    this.tickNow++;
    const limit = this.silenceLimitTicks;
    if (this.tickNow - this.lastHeard > limit) this.giveUp(`nothing from the leader for ${limit} ticks`);
  }

  /**
   * Bytes of a SNAP transfer came: the leader is there, though no packet arrives until the
   * transfer ends (ZooKeeper's read timeout counts any bytes read).
   */
  heard(): void {
    if (this.stage !== 'done' && this.stage !== 'connecting') this.lastHeard = this.tickNow;
  }

  receive(m: ToLearner): void {
    if (this.stage === 'done' || this.stage === 'connecting') return;
    this.lastHeard = this.tickNow;
    if (this.stage === 'leaderInfo') {
      if (m.type === PacketType.leaderInfo) this.onLeaderInfo(m.epoch);
      else this.giveUp(`packet ${m.type} before LEADERINFO`);
      return;
    }
    if (this.stage === 'acceptingEpoch') {
      this.giveUp(`packet ${m.type} before ACKEPOCH`);
      return;
    }
    if (this.stage === 'sync') this.onSyncPacket(m);
    else this.onBroadcastPacket(m);
  }

  logged(zxid: Zxid): void {
    if (this.stage === 'done') return;
    assert(
      zxid >= this.lastLogged && zxid <= this.lastAppended,
      () => `logged ${hex(zxid)} outside ${hex(this.lastLogged)}..${hex(this.lastAppended)}`,
    );
    this.lastLogged = zxid;
    this.progress();
  }

  truncated(zxid: Zxid): void {
    if (this.stage === 'done') return;
    assert(this.truncating === zxid, () => `truncated to ${hex(zxid)}, expected ${String(this.truncating)}`);
    this.truncating = null;
    this.progress();
  }

  snapshotSaved(zxid: Zxid): void {
    if (this.stage === 'done') return;
    assert(this.savingSnapshot === zxid, () => `snapshot ${hex(zxid)} saved, expected ${String(this.savingSnapshot)}`);
    this.savingSnapshot = null;
    this.progress();
  }

  epochWritten(file: EpochFile, epoch: number): void {
    if (this.stage === 'done') return;
    assert(epoch === this.newEpoch, () => `epoch ${epoch} written, ${this.newEpoch} expected`);
    if (file === 'acceptedEpoch') {
      assert(this.stage === 'acceptingEpoch', 'acceptedEpoch written out of turn');
      this.acceptedEpoch = epoch;
      this.sendAckEpoch(this.currentEpoch);
      return;
    }
    this.currentEpoch = epoch;
    this.newLeaderAcked = true;
    assert(this.newLeaderZxid !== null, 'currentEpoch written before NEWLEADER');
    this.send({ type: PacketType.ack, zxid: this.newLeaderZxid });
    this.progress();
  }

  /** Forwards a client write (or createSession/closeSession/sync) to the leader. */
  forward(request: ForwardedWrite): void {
    assert(this.stage === 'broadcast' || this.stage === 'done', 'forward before UPTODATE');
    if (this.stage === 'broadcast') this.send({ type: PacketType.request, request });
  }

  /** Asks the leader whether a session may re-attach here. */
  revalidate(sessionId: bigint, timeoutMs: number): void {
    if (this.stage === 'broadcast') this.send({ type: PacketType.revalidate, sessionId, timeoutMs });
  }

  /** A session had traffic here: reported in the next PING answer. */
  touch(sessionId: bigint, timeoutMs: number): void {
    this.touches.set(sessionId, timeoutMs);
  }

  // ------------------------------------------------------------------ discovery

  private onLeaderInfo(epoch: number): void {
    this.newEpoch = epoch;
    if (epoch > this.acceptedEpoch) {
      this.stage = 'acceptingEpoch';
      this.out.push({ kind: 'writeEpoch', file: 'acceptedEpoch', epoch });
    } else if (epoch === this.acceptedEpoch) {
      this.sendAckEpoch(-1);
    } else {
      this.giveUp(`leader's epoch ${epoch} is older than our accepted epoch ${this.acceptedEpoch}`);
    }
  }

  private sendAckEpoch(currentEpoch: number): void {
    this.stage = 'sync';
    this.send({ type: PacketType.ackEpoch, currentEpoch, lastZxid: this.lastLogged });
  }

  // ------------------------------------------------------------------ synchronization

  private onSyncPacket(m: ToLearner): void {
    switch (m.type) {
      case PacketType.diff:
      case PacketType.trunc:
      case PacketType.snap:
        this.onSyncOp(m.type, m.zxid);
        return;
      case PacketType.newLeader:
        if (!this.syncOpSeen || epochOf(m.zxid) !== this.newEpoch || this.newLeaderZxid !== null) {
          this.giveUp(`unexpected NEWLEADER ${hex(m.zxid)}`);
          return;
        }
        this.newLeaderZxid = m.zxid;
        // what a DIFF committed before NEWLEADER is applied, not ACKed (ZooKeeper's learner
        // applies it without logging it); every proposal after it is ACKed once logged
        this.dropCommittedAcks();
        this.progress();
        return;
      case PacketType.upToDate:
        if (!this.newLeaderAcked) {
          this.giveUp('UPTODATE before our NEWLEADER ACK');
          return;
        }
        this.stage = 'broadcast';
        this.send({ type: PacketType.ack, zxid: makeZxid(this.newEpoch, 0) });
        this.out.push({ kind: 'serving', epoch: this.newEpoch });
        return;
      case PacketType.ping:
        return; // ZooKeeper's sync loop has no case for it: dropped, not answered
      default:
        if (!this.syncOpSeen) this.giveUp(`packet ${m.type} before DIFF, TRUNC or SNAP`);
        else if (!this.inSnapshot(m)) this.onBroadcastPacket(m);
    }
  }

  /**
   * A txn the SNAP already holds. ZooKeeper's leader starts forwarding to a learner it SNAPs
   * from its tree's zxid, and names the tree's zxid again a moment later in the SNAP packet:
   * txns committed in between come after the SNAP as PROPOSAL and COMMIT (INFORM to an
   * observer) though the snapshot holds them. Its learner applies them again; here they are
   * skipped, neither logged twice nor ACKed (ZooKeeper does not ACK them either: a COMMIT
   * before NEWLEADER is applied, not logged).
   */
  private inSnapshot(m: ToLearner): boolean {
    if (this.snapZxid === null) return false;
    let zxid: Zxid;
    if (m.type === PacketType.proposal || m.type === PacketType.inform || m.type === PacketType.informAndActivate) zxid = m.txn.zxid;
    else if (m.type === PacketType.commit || m.type === PacketType.commitAndActivate) zxid = m.zxid;
    else return false;
    return zxid <= this.snapZxid && this.pending[0]?.zxid !== zxid;
  }

  private onSyncOp(type: number, zxid: Zxid): void {
    if (this.syncOpSeen) {
      this.giveUp(`a second sync op ${type}`);
      return;
    }
    this.syncOpSeen = true;
    if (type === PacketType.trunc) {
      if (zxid > this.lastLogged) {
        this.giveUp(`TRUNC to ${hex(zxid)} above our last zxid ${hex(this.lastLogged)}`);
        return;
      }
      this.truncating = zxid;
      this.resetTo(zxid);
      this.out.push({ kind: 'truncate', zxid });
    } else if (type === PacketType.snap) {
      this.snapZxid = zxid;
      this.savingSnapshot = zxid;
      this.resetTo(zxid);
      this.out.push({ kind: 'saveSnapshot', zxid });
    }
  }

  private resetTo(zxid: Zxid): void {
    this.lastAppended = this.lastLogged = this.lastCommitted = zxid;
    this.toApply.resetTo(zxid);
  }

  /** Everything that waits on durability: applies, ACKs, and the NEWLEADER ACK. */
  private progress(): void {
    if (this.stage === 'done') return;
    this.drainApply();
    if (this.newLeaderAcked) this.flushAcks();
    else this.tryAckNewLeader();
  }

  private tryAckNewLeader(): void {
    if (this.newLeaderZxid === null || this.writingCurrentEpoch) return;
    if (this.truncating !== null || this.savingSnapshot !== null || this.lastLogged !== this.lastAppended) return;
    this.writingCurrentEpoch = true;
    this.out.push({ kind: 'writeEpoch', file: 'currentEpoch', epoch: this.newEpoch });
  }

  // ------------------------------------------------------------------ broadcast

  private onBroadcastPacket(m: ToLearner): void {
    switch (m.type) {
      case PacketType.proposal:
        // an observer gets PROPOSAL/COMMIT pairs while it syncs, INFORMs after
        if (this.config.observer && this.stage === 'broadcast') this.giveUp('PROPOSAL to an observer');
        else this.onProposal(m.txn);
        return;
      case PacketType.commit:
        this.onCommit(m.zxid);
        return;
      case PacketType.commitAndActivate:
        this.onCommit(m.zxid, m.designated);
        return;
      case PacketType.inform:
        if (!this.config.observer) this.giveUp('INFORM to a follower');
        else this.onInform(m.txn);
        return;
      case PacketType.informAndActivate:
        if (!this.config.observer) this.giveUp('INFORMANDACTIVATE to a follower');
        else this.onInform(m.txn, m.designated);
        return;
      case PacketType.ping:
        this.send({ type: PacketType.ping, zxid: m.zxid, touches: this.takeTouches() });
        return;
      case PacketType.revalidate:
        this.out.push({ kind: 'revalidated', sessionId: m.sessionId, valid: m.valid });
        return;
      case PacketType.sync:
        // answered once the commits that came before it are applied here, not when it arrives
        this.syncsAfter.push(this.lastCommitted);
        this.drainApply();
        return;
      default:
        this.giveUp(`unexpected packet ${m.type} in ${this.stage}`);
    }
  }

  private append(txn: ZabTxn): boolean {
    if (txn.zxid <= this.lastAppended) {
      this.giveUp(`txn ${hex(txn.zxid)} after ${hex(this.lastAppended)}: zxids must increase`);
      return false;
    }
    this.lastAppended = txn.zxid;
    this.out.push({ kind: 'append', txn });
    return true;
  }

  private onProposal(txn: ZabTxn): void {
    if (!this.append(txn)) return;
    this.pending.push(txn);
    if (!this.config.observer) this.toAck.push(txn.zxid);
  }

  /** COMMIT, or COMMITANDACTIVATE (`designated` given) of a reconfig. */
  private onCommit(zxid: Zxid, designated?: Sid): void {
    const head = this.pending[0];
    if (head?.zxid !== zxid) {
      // a follower commits in the order it logged (FollowerZooKeeperServer.commit stops the server otherwise)
      this.giveUp(`COMMIT ${hex(zxid)} but the next pending proposal is ${head === undefined ? 'none' : hex(head.zxid)}`);
      return;
    }
    if (designated !== undefined && head.type !== OpCode.reconfig) {
      this.giveUp(`COMMITANDACTIVATE ${hex(zxid)} of a txn of type ${head.type}, not a reconfig`);
      return;
    }
    this.pending.shift();
    this.commit(head, designated);
  }

  private onInform(txn: ZabTxn, designated?: Sid): void {
    if (designated !== undefined && txn.type !== OpCode.reconfig) {
      this.giveUp(`INFORMANDACTIVATE ${hex(txn.zxid)} of a txn of type ${txn.type}, not a reconfig`);
      return;
    }
    if (this.append(txn)) this.commit(txn, designated);
  }

  private commit(txn: ZabTxn, designated?: Sid): void {
    this.lastCommitted = txn.zxid;
    this.toApply.push(txn);
    this.progress();
    if (designated !== undefined) this.out.push({ kind: 'activate', txn, designated });
  }

  private drainApply(): void {
    this.toApply.drain(this.lastLogged, this.out);
    while (this.syncsAfter.length > 0 && (this.syncsAfter[0] ?? Infinity) <= this.toApply.lastApplied) {
      this.syncsAfter.shift();
      this.out.push({ kind: 'syncDone' });
    }
  }

  /**
   * ACKs every logged proposal in order, committed meanwhile or not, as ZooKeeper's follower
   * does: its leader expects an ACK for each proposal it sent after NEWLEADER, and drops a
   * learner whose oldest unACKed proposal is older than syncLimit (LearnerHandler's
   * SyncLimitCheck), whatever else the learner sends.
   */
  private flushAcks(): void {
    while (this.toAck.length > 0) {
      const zxid = this.toAck[0];
      if (zxid === undefined || zxid > this.lastLogged) return;
      this.toAck.shift();
      this.send({ type: PacketType.ack, zxid });
    }
  }

  private dropCommittedAcks(): void {
    const uncommitted = this.toAck.filter((zxid) => zxid > this.lastCommitted);
    this.toAck.length = 0;
    this.toAck.push(...uncommitted);
  }

  private takeTouches(): SessionTouch[] {
    const out = [...this.touches].map(([sessionId, timeoutMs]) => ({ sessionId, timeoutMs }));
    this.touches.clear();
    return out;
  }

  private send(message: Parameters<ActionQueue['send']>[1]): void {
    this.out.send(this.config.leader, message);
  }

  private giveUp(reason: string): void {
    if (this.stage === 'done') return;
    this.stage = 'done';
    this.out.push({ kind: 'looking', reason });
  }
}
