/**
 * What the ZAB cores (leader.ts, learner.ts) take and give. Messages use the quorum port's
 * packet type numbers (codec/quorum.ts `PacketType`) as their tags, so a driver maps each one to
 * a QuorumPacket and back without a table of its own (packets.ts).
 */
import { assert, type Zxid } from '../../base/index.js';
import { PacketType, type SessionTouch } from '../../codec/quorum.js';

export { PacketType, type SessionTouch };
export type { Zxid };

/** A member's server id (`myid`). */
export type Sid = number;

/** Zxids are epoch * 2^32 + counter, exact as numbers while the epoch is below 2^21. */
export const ZXID_COUNTER_SPAN = 2 ** 32;
/** The last counter a leader may hand out: ZooKeeper gives up leadership rather than roll over. */
export const ZXID_COUNTER_MAX = ZXID_COUNTER_SPAN - 1;
/** The largest epoch whose zxids stay exact (storage/epochs.ts refuses larger ones on disk too). */
export const ZAB_EPOCH_MAX = 2 ** 21 - 1;

export function makeZxid(epoch: number, counter: number): Zxid {
  assert(Number.isInteger(epoch) && epoch >= 0 && epoch <= ZAB_EPOCH_MAX, () => `epoch ${epoch} out of range`);
  assert(Number.isInteger(counter) && counter >= 0 && counter <= ZXID_COUNTER_MAX, () => `zxid counter ${counter} out of range`);
  return epoch * ZXID_COUNTER_SPAN + counter;
}
export function epochOf(zxid: Zxid): number {
  return Math.floor(zxid / ZXID_COUNTER_SPAN);
}
export function counterOf(zxid: Zxid): number {
  return zxid % ZXID_COUNTER_SPAN;
}
export function hex(zxid: Zxid): string {
  return '0x' + zxid.toString(16);
}

/**
 * A txn as the cores see it: opaque bytes (a PROPOSAL's data: TxnHeader, txn, digest, exactly as
 * they go into the log) with the header fields the protocol reads. The host prepares it (leader)
 * or decodes the fields from the bytes (learner: TxnHeader from the PROPOSAL data).
 */
export interface ZabTxn {
  readonly zxid: Zxid;
  readonly sessionId: bigint;
  readonly cxid: number;
  /** The txn's OpCode (TxnHeader.type). */
  readonly type: number;
  readonly bytes: Uint8Array;
}

/** A client write or session request a learner forwards to the leader (REQUEST), untouched by the cores. */
export interface ForwardedWrite {
  readonly sessionId: bigint;
  readonly cxid: number;
  readonly requestType: number;
  readonly body: Uint8Array;
  readonly authinfo: readonly { scheme: string; id: string }[] | null;
}

/** What a leader sends to a learner. */
export type ToLearner =
  | { readonly type: typeof PacketType.leaderInfo; readonly epoch: number }
  | { readonly type: typeof PacketType.diff | typeof PacketType.trunc | typeof PacketType.commit; readonly zxid: Zxid }
  /**
   * The marker of a snapshot transfer: the driver sends the SNAP packet, then streams its
   * database as it is after every `apply` before this action (a fuzzy snapshot that also shows
   * later txns is fine: the txns that follow are replayed over it), then the packets after it.
   */
  | { readonly type: typeof PacketType.snap; readonly zxid: Zxid }
  | { readonly type: typeof PacketType.proposal | typeof PacketType.inform; readonly txn: ZabTxn }
  | { readonly type: typeof PacketType.newLeader; readonly zxid: Zxid }
  | { readonly type: typeof PacketType.upToDate }
  | { readonly type: typeof PacketType.ping; readonly zxid: Zxid }
  | { readonly type: typeof PacketType.revalidate; readonly sessionId: bigint; readonly valid: boolean }
  | { readonly type: typeof PacketType.sync }
  /** COMMIT of a reconfig txn, naming the leader of the new config (`designated`). */
  | { readonly type: typeof PacketType.commitAndActivate; readonly zxid: Zxid; readonly designated: Sid }
  /** INFORM of a reconfig txn to an observer, naming the leader of the new config. */
  | { readonly type: typeof PacketType.informAndActivate; readonly txn: ZabTxn; readonly designated: Sid };

/**
 * A quorum config as the leader counts with it: the members whose ACKs may make a quorum and
 * the rule (majority, or groups and weights), and its version: the zxid of the reconfig txn that
 * made it, 0 for a config no reconfig made.
 */
export interface ZabQuorum {
  readonly version: Zxid;
  readonly voters: ReadonlySet<Sid>;
  containsQuorum(sids: ReadonlySet<Sid>): boolean;
}

/** What a learner sends to its leader. */
export type ToLeader =
  | { readonly type: typeof PacketType.followerInfo | typeof PacketType.observerInfo; readonly acceptedEpoch: number }
  /** currentEpoch -1: the learner had already accepted the epoch, so this is no vote for it. */
  | { readonly type: typeof PacketType.ackEpoch; readonly currentEpoch: number; readonly lastZxid: Zxid }
  | { readonly type: typeof PacketType.ack; readonly zxid: Zxid }
  | { readonly type: typeof PacketType.ping; readonly zxid: Zxid; readonly touches: readonly SessionTouch[] }
  | { readonly type: typeof PacketType.request; readonly request: ForwardedWrite }
  | { readonly type: typeof PacketType.revalidate; readonly sessionId: bigint; readonly timeoutMs: number };

export type EpochFile = 'acceptedEpoch' | 'currentEpoch';

/**
 * What a core asks of its host, in the order the host must carry it out. Actions that need an
 * answer say which input carries it; the core goes on taking other inputs meanwhile.
 */
export type ZabAction =
  /** Send on the connection to `to` (learner -> leader: `to` is the leader). TCP order per peer. */
  | { readonly kind: 'send'; readonly to: Sid; readonly message: ToLearner | ToLeader }
  /** Close the connection to a learner the leader gives up on (it will come back through election). */
  | { readonly kind: 'disconnect'; readonly peer: Sid; readonly reason: string }
  /** Append to the txn log (zxids strictly increase); answer `logged(zxid)` once durable through it. */
  | { readonly kind: 'append'; readonly txn: ZabTxn }
  /**
   * TRUNC: drop every logged txn above `zxid` and reset the database to the log (ZooKeeper
   * reloads snapshot + log); answer `truncated(zxid)` once the cut is durable.
   */
  | { readonly kind: 'truncate'; readonly zxid: Zxid }
  /**
   * After a SNAP the database is the leader's at `zxid`: make it durable (a snapshot file) and
   * let the log start above it (a log read at or below `zxid` must report that the log does not
   * reach back, as its older txns may be of another branch); answer `snapshotSaved(zxid)`.
   */
  | { readonly kind: 'saveSnapshot'; readonly zxid: Zxid }
  /** Write an epoch file (tmp, fsync, rename); answer `epochWritten(file, epoch)` once durable. */
  | { readonly kind: 'writeEpoch'; readonly file: EpochFile; readonly epoch: number }
  /**
   * Leader: read the committed txns above `after` through `until` from the txn log (all durable);
   * answer `logRead(peer, result)`.
   */
  | { readonly kind: 'readLog'; readonly peer: Sid; readonly after: Zxid; readonly until: Zxid }
  /** Apply a committed txn to the database (in zxid order, each exactly once, always logged first). */
  | { readonly kind: 'apply'; readonly txn: ZabTxn }
  /** Leader: a learner forwarded a client request: prepare it and `propose` its txn (or answer it). */
  | { readonly kind: 'request'; readonly from: Sid; readonly request: ForwardedWrite }
  /** Leader: a learner asks whether a session may re-attach there: answer `revalidated`. */
  | { readonly kind: 'revalidate'; readonly from: Sid; readonly sessionId: bigint; readonly timeoutMs: number }
  /** Leader: the sessions a learner has seen traffic for, for the session authority. */
  | { readonly kind: 'touches'; readonly from: Sid; readonly touches: readonly SessionTouch[] }
  /** Learner: the leader's verdict on a REVALIDATE. */
  | { readonly kind: 'revalidated'; readonly sessionId: bigint; readonly valid: boolean }
  /** Learner: the oldest `sync` forwarded has passed the leader (every commit before it is applied). */
  | { readonly kind: 'syncDone' }
  /**
   * A reconfig txn is committed (it may not be applied yet): the config it holds is the
   * ensemble's now, and `designated` leads it (the leader itself, or the member it hands over
   * to). The host makes the config its own (files, election) and moves to the role the config
   * gives it; a leader that is not `designated` commits nothing after it.
   */
  | { readonly kind: 'activate'; readonly txn: ZabTxn; readonly designated: Sid }
  /**
   * Leader: a quorum has synced; serve and `propose`. Learner: UPTODATE arrived; serve. A leader
   * that started with a newer last seen config (`lastSeen`) has made it the one in force, and
   * `designated` leads it: when that is another member, this leader commits nothing and hands
   * over as after a reconfig's commit.
   */
  | { readonly kind: 'serving'; readonly epoch: number; readonly designated?: Sid }
  /** Back to election: the core is finished and ignores further inputs. */
  | { readonly kind: 'looking'; readonly reason: string };

/** A host's answer to `readLog`. */
export interface LogReadResult {
  /**
   * The last logged txn at or before `after`; 0 if the log holds the whole history from its
   * start and nothing at or before `after`; null if the log does not reach back to `after`
   * (purged, or it restarted above a snapshot), which makes the leader send a SNAP. A host may
   * also answer null when the txns would cost more than a snapshot (`snapshotSizeFactor`).
   */
  readonly preceding: Zxid | null;
  /** The txns above `after` through `until`, in order. */
  readonly txns: readonly ZabTxn[];
}

/** Timing shared by both roles, in ticks (`tickTime`), as zoo.cfg gives them. */
export interface ZabLimits {
  readonly initLimitTicks: number;
  readonly syncLimitTicks: number;
}

/** The member's durable state when it leaves election (the host has replayed its whole log). */
export interface ZabStart {
  readonly sid: Sid;
  /** The last zxid in the log and in the database (ZooKeeper fast-forwards the tree to the log). */
  readonly lastZxid: Zxid;
  readonly acceptedEpoch: number;
  readonly currentEpoch: number;
}

/** Collects a core's actions until the host takes them. */
export class ActionQueue {
  private items: ZabAction[] = [];
  push(a: ZabAction): void {
    this.items.push(a);
  }
  send(to: Sid, message: ToLearner | ToLeader): void {
    this.items.push({ kind: 'send', to, message });
  }
  take(): ZabAction[] {
    const out = this.items;
    this.items = [];
    return out;
  }
}
