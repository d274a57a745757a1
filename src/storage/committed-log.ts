/**
 * The recently committed txns in memory (ZooKeeper's ZKDatabase.committedLog), so a leader can
 * DIFF a follower that is only a little behind without reading the log files.
 *
 * As in ZooKeeper 3.8: `zookeeper.commitLogCount` (default 500, and never less) bounds it, but
 * the oldest entry leaves only when one more arrives while it holds more than that count, so
 * it holds commitLogCount + 1 once full; minZxid and maxZxid are 0 while it is empty. It fills
 * from the txns replayed at start-up (`fill`), then from each commit (`add`). A standalone
 * server keeps none (ZooKeeper's does, for nothing: no follower ever asks).
 */
import { assert } from '../base/index.js';
import type { TxnLogReader } from './log-reader.js';
import type { TxnLogEntry } from './txn-log.js';

/** `zookeeper.commitLogCount`: ZooKeeper's default, and the least it accepts. */
export const COMMIT_LOG_COUNT_DEFAULT = 500;

export class CommittedLog {
  /** A ring of `capacity` slots: the oldest entry at `head`. */
  private readonly ring: Array<TxnLogEntry | undefined>;
  private head = 0;
  private count = 0;
  /** ZooKeeper's minCommittedLog / maxCommittedLog. */
  minZxid = 0;
  maxZxid = 0;

  /** `commitLogCount` below ZooKeeper's floor (500) is raised to it, as ZooKeeper does. */
  constructor(commitLogCount = COMMIT_LOG_COUNT_DEFAULT) {
    this.ring = new Array<TxnLogEntry | undefined>(Math.max(commitLogCount, COMMIT_LOG_COUNT_DEFAULT) + 1);
  }

  get size(): number {
    return this.count;
  }

  private at(i: number): TxnLogEntry | undefined {
    return this.ring[(this.head + i) % this.ring.length];
  }

  /** A committed txn; zxids must strictly increase. */
  add(entry: TxnLogEntry): void {
    const zxid = entry.header.zxid;
    if (this.count > 0 && !(zxid > this.maxZxid)) {
      assert(false, () => `committed log: zxid ${zxid.toString(16)} after ${this.maxZxid.toString(16)}: zxids must strictly increase`);
    }
    if (this.count === this.ring.length) {
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.ring.length;
      this.count--;
      this.minZxid = this.at(0)?.header.zxid ?? zxid;
    }
    if (this.count === 0) this.minZxid = zxid;
    this.ring[(this.head + this.count) % this.ring.length] = entry;
    this.count++;
    this.maxZxid = zxid;
  }

  /** The entries with zxid above `zxid`, oldest first. */
  after(zxid: number): TxnLogEntry[] {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.at(mid)?.header.zxid ?? Infinity) > zxid) hi = mid;
      else lo = mid + 1;
    }
    const out: TxnLogEntry[] = [];
    for (let i = lo; i < this.count; i++) {
      const e = this.at(i);
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  /** Every entry, oldest first. */
  entries(): TxnLogEntry[] {
    return this.after(-Infinity);
  }

  /** Drops the entries above `zxid` (after a TRUNC: they were never committed). */
  truncateAbove(zxid: number): void {
    while (this.count > 0 && (this.at(this.count - 1)?.header.zxid ?? -Infinity) > zxid) {
      this.ring[(this.head + this.count - 1) % this.ring.length] = undefined;
      this.count--;
    }
    if (this.count === 0) this.clear();
    else this.maxZxid = this.at(this.count - 1)?.header.zxid ?? 0;
  }

  clear(): void {
    this.ring.fill(undefined);
    this.head = 0;
    this.count = 0;
    this.minZxid = 0;
    this.maxZxid = 0;
  }

  /**
   * Adds the txns `reader` gives (ZooKeeper fills its committedLog with the txns it replays at
   * start-up: open the reader after the snapshot's zxid), skipping any at or below the last
   * one, as recovery's replay does. Closes the reader.
   */
  async fill(reader: TxnLogReader): Promise<void> {
    try {
      for (let slice = await reader.next(); slice.length > 0; slice = await reader.next()) {
        for (const t of slice) if (this.count === 0 || t.header.zxid > this.maxZxid) this.add(t);
      }
    } finally {
      await reader.close();
    }
  }
}
