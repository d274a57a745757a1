/**
 * Sessions local to one ensemble member (ZooKeeper's LocalSessionTracker, `localSessionsEnabled`):
 * created, touched, re-attached, closed and expired here alone, with no txn and no word to the
 * leader, so a session that only reads and writes persistent nodes costs the quorum nothing.
 * The member's clients see an ordinary session; another member does not know it (a client
 * that re-attaches there finds it expired). Upgrading hands the session, with its id and
 * timeout, to the global side: the caller then makes its createSession txn.
 */
import { SessionTracker } from './tracker.js';

export class LocalSessions {
  private readonly tracker: SessionTracker;

  /** Ids carry `serverId` in their top byte, as the member's global ones would. */
  constructor(tickMs: number, nowMs: number, serverId: number) {
    this.tracker = new SessionTracker(tickMs, nowMs, serverId);
  }

  get count(): number {
    return this.tracker.sessions.size;
  }

  /** The local sessions' ids. */
  ids(): IterableIterator<bigint> {
    return this.tracker.sessions.keys();
  }

  /** A new local session, tracked from `nowMs`. */
  create(timeoutMs: number, nowMs: number): bigint {
    const sessionId = this.tracker.newSessionId();
    this.tracker.add(sessionId, timeoutMs, nowMs);
    return sessionId;
  }

  has(sessionId: bigint): boolean {
    return this.tracker.sessions.has(sessionId);
  }

  /** False if the session is not local here, or is closing. */
  touch(sessionId: bigint, nowMs: number): boolean {
    return this.tracker.touch(sessionId, nowMs);
  }

  /** A client re-attaches here: valid while the session lives, and it takes the timeout negotiated now. */
  revalidate(sessionId: bigint, timeoutMs: number, nowMs: number): boolean {
    const valid = this.tracker.touch(sessionId, nowMs);
    if (valid) this.tracker.add(sessionId, timeoutMs, nowMs);
    return valid;
  }

  setClosing(sessionId: bigint): void {
    this.tracker.setClosing(sessionId);
  }

  remove(sessionId: bigint): void {
    this.tracker.remove(sessionId);
  }

  /** Sessions whose deadline passed by `nowMs`, removed (nothing else holds a local session). */
  expire(nowMs: number): bigint[] {
    const expired = this.tracker.expire(nowMs);
    for (const sessionId of expired) this.tracker.remove(sessionId);
    return expired;
  }

  /**
   * The session leaves the local side to become global: its timeout, or -1 if it is not a
   * live local session here (already upgraded, closing, or never local).
   */
  upgrade(sessionId: bigint): number {
    const s = this.tracker.sessions.get(sessionId);
    if (s === undefined || s.closing) return -1;
    this.tracker.remove(sessionId);
    return s.timeoutMs;
  }
}
