/**
 * Session table with ZooKeeper's bucketed expiry (ExpiryQueue): a session's deadline is rounded
 * up to the next multiple of the tick, so one tick expires a whole bucket at once.
 */
import { assert } from '../base/index.js';

export interface Session {
  readonly sessionId: bigint;
  timeoutMs: number;
  /** Deadline bucket (ms, multiple of tickMs). */
  expiresAtMs: number;
  /** Set once expiry or close has begun: no more touches, no re-attach. */
  closing: boolean;
}

const MASK_64 = (1n << 64n) - 1n;
const CONTAINER_OWNER = -0x8000000000000000n;

export class SessionTracker {
  readonly sessions = new Map<bigint, Session>();
  private readonly buckets = new Map<number, Set<bigint>>();
  private nextSessionId: bigint;
  private nextExpiryMs: number;

  /**
   * `serverId` goes into the top byte of every id, as in ZooKeeper (standalone uses 1);
   * the rest starts from the clock so ids differ across restarts.
   */
  constructor(
    private readonly tickMs: number,
    nowMs: number,
    serverId: number,
  ) {
    assert(tickMs > 0, 'tick must be positive');
    const timeBits = ((BigInt(Math.floor(nowMs)) << 24n) & MASK_64) >> 8n;
    this.nextSessionId = BigInt.asIntN(64, timeBits | (BigInt(serverId) << 56n));
    this.nextExpiryMs = this.roundUp(nowMs);
  }

  private roundUp(ms: number): number {
    return (Math.floor(ms / this.tickMs) + 1) * this.tickMs;
  }

  /** A fresh session id (the session is added once its createSession txn is applied). */
  newSessionId(): bigint {
    let id = this.nextSessionId;
    // Never hand out the container marker as a session id (it is an ephemeralOwner value).
    if (id === CONTAINER_OWNER) id = BigInt.asIntN(64, id + 1n);
    this.nextSessionId = BigInt.asIntN(64, id + 1n);
    return id;
  }

  add(sessionId: bigint, timeoutMs: number, nowMs: number): Session {
    let s = this.sessions.get(sessionId);
    if (s === undefined) {
      s = { sessionId, timeoutMs, expiresAtMs: 0, closing: false };
      this.sessions.set(sessionId, s);
    }
    s.timeoutMs = timeoutMs;
    this.touch(sessionId, nowMs);
    return s;
  }

  /** Extends a live session's deadline. False if it is unknown or closing. */
  touch(sessionId: bigint, nowMs: number): boolean {
    const s = this.sessions.get(sessionId);
    if (s === undefined || s.closing) return false;
    const at = this.roundUp(nowMs + s.timeoutMs);
    if (at === s.expiresAtMs) return true;
    this.buckets.get(s.expiresAtMs)?.delete(sessionId);
    s.expiresAtMs = at;
    let bucket = this.buckets.get(at);
    if (bucket === undefined) this.buckets.set(at, (bucket = new Set()));
    bucket.add(sessionId);
    return true;
  }

  setClosing(sessionId: bigint): void {
    const s = this.sessions.get(sessionId);
    if (s !== undefined) s.closing = true;
  }

  remove(sessionId: bigint): void {
    const s = this.sessions.get(sessionId);
    if (s === undefined) return;
    this.buckets.get(s.expiresAtMs)?.delete(sessionId);
    this.sessions.delete(sessionId);
  }

  /** Sessions whose deadline has passed by `nowMs`; they are marked closing. */
  expire(nowMs: number): bigint[] {
    const out: bigint[] = [];
    while (this.nextExpiryMs <= nowMs) {
      const bucket = this.buckets.get(this.nextExpiryMs);
      if (bucket !== undefined) {
        this.buckets.delete(this.nextExpiryMs);
        for (const id of bucket) {
          const s = this.sessions.get(id);
          if (s !== undefined && !s.closing) {
            s.closing = true;
            out.push(id);
          }
        }
      }
      this.nextExpiryMs += this.tickMs;
    }
    return out;
  }
}
