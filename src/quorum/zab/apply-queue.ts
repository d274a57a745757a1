import { assert } from '../../base/index.js';
import { hex, type ActionQueue, type ZabTxn, type Zxid } from './types.js';

/**
 * Committed txns waiting for the local log to be durable through them: a txn is applied only
 * once logged here, so the database never holds what a power cut would take from the log.
 * Leader and learner both apply through one of these, in strictly increasing zxid order.
 */
export class ApplyQueue {
  private readonly waiting: ZabTxn[] = [];
  private applied: Zxid;

  constructor(lastApplied: Zxid) {
    this.applied = lastApplied;
  }

  get lastApplied(): Zxid {
    return this.applied;
  }

  push(txn: ZabTxn): void {
    this.waiting.push(txn);
  }

  /** The database was reset to `zxid` (a TRUNC or a SNAP): applies continue above it. */
  resetTo(zxid: Zxid): void {
    this.applied = zxid;
  }

  /** Emits an `apply` for every waiting txn the log holds durably (through `lastLogged`). */
  drain(lastLogged: Zxid, out: ActionQueue): void {
    while (this.waiting.length > 0) {
      const txn = this.waiting[0];
      if (txn === undefined || txn.zxid > lastLogged) return;
      this.waiting.shift();
      assert(txn.zxid > this.applied, () => `apply ${hex(txn.zxid)} after ${hex(this.applied)}`);
      this.applied = txn.zxid;
      out.push({ kind: 'apply', txn });
    }
  }
}
