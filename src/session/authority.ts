/**
 * Who decides about sessions. In ZooKeeper only the leader (or a standalone server) tracks
 * deadlines, expires sessions and says whether a re-attaching session is still valid; a
 * follower records which sessions its clients touched and reports them in its next PING, and
 * asks the leader (REVALIDATE) about a re-attach. Both sides see the same session table,
 * which createSession and closeSession txns drive as they apply (see `sessionTableApply`).
 */
import { OpCode, type Txn } from '../codec/index.js';
import type { SessionTracker } from './tracker.js';

/** The answer to a re-attach; given at once by the authority, or later by a learner. */
export interface Revalidation {
  revalidated(sessionId: bigint, valid: boolean): void;
}

export interface SessionAuthority {
  /** A new session id for a connecting client (its createSession txn follows). */
  newSessionId(): bigint;
  /**
   * The server is about to log (or forward) a createSession txn for `sessionId`: an authority
   * tracks its deadline from now, as ZooKeeper's leader does at prep time; a learner reports
   * its touches from now on (a local session being upgraded is in use meanwhile).
   */
  created(sessionId: bigint, timeoutMs: number, nowMs: number): void;
  /** A request of the session arrived. False if the session is unknown or closing here. */
  touch(sessionId: bigint, nowMs: number): boolean;
  /** Whether the session is known as a global one and not closing (ZooKeeper's checkGlobalSession). */
  isLive(sessionId: bigint): boolean;
  /**
   * A client re-attaches with `timeoutMs` negotiated. The answer may come at once (authority)
   * or after a round trip to the leader (learner).
   */
  revalidate(sessionId: bigint, timeoutMs: number, nowMs: number, answer: Revalidation): void;
  /** Expiry or close has begun: no more touches, no re-attach. */
  setClosing(sessionId: bigint): void;
  /** Sessions whose deadline passed by `nowMs`, marked closing (a learner expires none). */
  expire(nowMs: number): readonly bigint[];
  /** A createSession txn applied (from any source). */
  committed(sessionId: bigint, timeoutMs: number, nowMs: number): void;
  /** A closeSession txn applied. */
  removed(sessionId: bigint): void;
}

/** The leader's or standalone server's authority: ZooKeeper's bucketed expiry (SessionTracker). */
export class LocalSessionAuthority implements SessionAuthority {
  constructor(readonly tracker: SessionTracker) {}

  newSessionId(): bigint {
    return this.tracker.newSessionId();
  }

  created(sessionId: bigint, timeoutMs: number, nowMs: number): void {
    this.tracker.add(sessionId, timeoutMs, nowMs);
  }

  touch(sessionId: bigint, nowMs: number): boolean {
    return this.tracker.touch(sessionId, nowMs);
  }

  isLive(sessionId: bigint): boolean {
    const s = this.tracker.sessions.get(sessionId);
    return s !== undefined && !s.closing;
  }

  revalidate(sessionId: bigint, timeoutMs: number, nowMs: number, answer: Revalidation): void {
    const valid = this.tracker.touch(sessionId, nowMs);
    // The newly negotiated timeout governs the session from now on, as in ZooKeeper.
    if (valid) this.tracker.add(sessionId, timeoutMs, nowMs);
    answer.revalidated(sessionId, valid);
  }

  setClosing(sessionId: bigint): void {
    this.tracker.setClosing(sessionId);
  }

  expire(nowMs: number): readonly bigint[] {
    return this.tracker.expire(nowMs);
  }

  /** A session this authority did not create (a learner's, or one replayed) is tracked from now. */
  committed(sessionId: bigint, timeoutMs: number, nowMs: number): void {
    if (!this.tracker.sessions.has(sessionId)) this.tracker.add(sessionId, timeoutMs, nowMs);
  }

  removed(sessionId: bigint): void {
    this.tracker.remove(sessionId);
  }
}

/**
 * A read-only member's sessions (ZooKeeper's ReadOnlyZooKeeperServer with local sessions): each
 * lives on this member alone, with no createSession or closeSession txn (there is no quorum to
 * log one), and this member expires it. The sessions of the session table (global ones) are not
 * tracked: only a quorum may expire them, and a read-only member refuses their re-attach.
 */
export class ReadOnlySessions extends LocalSessionAuthority {
  override committed(): void {
    // Global sessions stay with the quorum.
  }
}

/** What a learner asks of its leader about sessions (REVALIDATE on the quorum port). */
export interface SessionLeaderLink {
  revalidate(sessionId: bigint, timeoutMs: number): void;
}

/**
 * A follower's or observer's side of global sessions (ZooKeeper's LearnerSessionTracker; its
 * local sessions are `LocalSessions`, which the server consults first):
 * ids come from its own server byte, touches are recorded for the next PING, re-attaches wait
 * for the leader's answer, and nothing expires here (the leader's closeSession txn does it).
 */
export class LearnerSessions implements SessionAuthority {
  /** Sessions touched since the last PING, with their timeouts. */
  private touched = new Map<bigint, number>();
  /** Re-attaches waiting for the leader's answer. */
  private readonly revalidating = new Map<bigint, Revalidation[]>();
  private readonly closing = new Set<bigint>();
  /** Sessions whose createSession went to the leader and has not come back, with their timeouts. */
  private readonly creating = new Map<bigint, number>();

  constructor(
    /** Session ids: a tracker with this server's id in its top byte (only its id source is used). */
    private readonly ids: Pick<SessionTracker, 'newSessionId'>,
    /** The session table the applied txns drive: a session is known here once committed. */
    private readonly table: ReadonlyMap<bigint, number>,
    private readonly leader: SessionLeaderLink,
  ) {}

  newSessionId(): bigint {
    return this.ids.newSessionId();
  }

  /** The leader tracks the session once it prepares the createSession; its touches are reported from now. */
  created(sessionId: bigint, timeoutMs: number): void {
    this.creating.set(sessionId, timeoutMs);
  }

  touch(sessionId: bigint): boolean {
    const timeoutMs = this.table.get(sessionId) ?? this.creating.get(sessionId);
    if (timeoutMs === undefined || this.closing.has(sessionId)) return false;
    this.touched.set(sessionId, timeoutMs);
    return true;
  }

  isLive(sessionId: bigint): boolean {
    return this.table.has(sessionId) && !this.closing.has(sessionId);
  }

  revalidate(sessionId: bigint, timeoutMs: number, _nowMs: number, answer: Revalidation): void {
    const waiting = this.revalidating.get(sessionId);
    if (waiting !== undefined) {
      waiting.push(answer);
      return;
    }
    this.revalidating.set(sessionId, [answer]);
    this.leader.revalidate(sessionId, timeoutMs);
  }

  /** The leader answered a REVALIDATE. */
  onRevalidateAnswer(sessionId: bigint, valid: boolean): void {
    const waiting = this.revalidating.get(sessionId);
    if (waiting === undefined) return;
    this.revalidating.delete(sessionId);
    for (const w of waiting) w.revalidated(sessionId, valid);
  }

  /** The touches to report in a PING; the record starts over. */
  takeTouches(): Map<bigint, number> {
    const out = this.touched;
    this.touched = new Map();
    return out;
  }

  setClosing(sessionId: bigint): void {
    this.closing.add(sessionId);
  }

  expire(): readonly bigint[] {
    return [];
  }

  /** Known through the session table from now. */
  committed(sessionId: bigint): void {
    this.creating.delete(sessionId);
  }

  removed(sessionId: bigint): void {
    this.creating.delete(sessionId);
    this.closing.delete(sessionId);
    this.touched.delete(sessionId);
  }
}

/**
 * The session table's part of applying a txn: createSession adds the session with its timeout,
 * closeSession removes it. The one place the table changes, for every role and for recovery.
 */
export function sessionTableApply(table: Map<bigint, number>, sessionId: bigint, txn: Txn): void {
  if (txn.type === OpCode.createSession) table.set(sessionId, txn.timeOut);
  else if (txn.type === OpCode.closeSession) table.delete(sessionId);
}
