/**
 * How ZooKeeper's leader notices a follower that stopped ACKing (LearnerHandler's SyncLimitCheck,
 * here in ticks): from the learner's NEWLEADER ACK on, the oldest PROPOSAL sent and not yet ACKed
 * must be ACKed within syncLimit ticks, or the leader drops the learner ("transaction timeout"),
 * whatever else (PINGs) the learner sends.
 *
 * It follows ZooKeeper's bookkeeping exactly, quirks included, because a mixed ensemble's
 * learners are judged by it: it remembers two proposals, the one it waits for and the newest
 * sent since; an ACK of the first moves the wait to the second, an ACK of the second alone
 * forgets the second, any other ACK changes nothing. A learner that skips an ACK is dropped.
 */
import type { Zxid } from './types.js';

interface Sent {
  readonly zxid: Zxid;
  readonly tick: number;
}

export class AckCheck {
  private started = false;
  private waiting: Sent | null = null;
  private newest: Sent | null = null;

  /** The learner ACKed NEWLEADER: proposals sent from now on are timed. */
  start(): void {
    this.started = true;
  }

  proposed(zxid: Zxid, tick: number): void {
    if (!this.started) return;
    if (this.waiting === null) this.waiting = { zxid, tick };
    else this.newest = { zxid, tick };
  }

  acked(zxid: Zxid): void {
    if (this.waiting?.zxid === zxid) {
      this.waiting = this.newest;
      this.newest = null;
    } else if (this.newest?.zxid === zxid) {
      this.newest = null;
    }
  }

  /** Whether the proposal it waits for has gone unACKed for `limitTicks` or more. */
  overdue(tick: number, limitTicks: number): boolean {
    return this.waiting !== null && tick - this.waiting.tick >= limitTicks;
  }
}
