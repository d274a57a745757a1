/**
 * Logs quota warnings (a write over a quota limit) and problems (a quota whose usage cannot
 * be counted). Like ZooKeeper's RateLogger, a message is logged the first time; its repeats
 * within QUOTA_LOG_INTERVAL_MS are only counted, and the count goes out with the next one
 * logged after the interval.
 */
import { QUOTA_LOG_INTERVAL_MS, QUOTA_LOG_KEYS_MAX } from '../base/index.js';
import type { QuotaExceeded } from '../prep/index.js';
import type { QuotaProblem } from '../tree/index.js';
import type { Clock, Logger } from './types.js';

interface Seen {
  loggedAtMs: number;
  repeats: number;
}

export class QuotaLog {
  private readonly seen = new Map<string, Seen>();

  constructor(
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly enforced: boolean,
  ) {}

  exceeded(e: QuotaExceeded): void {
    const key = `${e.root}\u0000${e.what}\u0000${String(e.hard)}`;
    const repeats = this.due(key);
    if (repeats < 0) return;
    const refused = e.hard && this.enforced;
    this.log.warn(
      { quotaRoot: e.root, [e.what]: e.wouldBe.toString(), limit: e.limit.toString(), hard: e.hard, refused, repeats },
      refused ? 'quota exceeded: write refused (hard limit)' : `quota exceeded: ${e.hard ? 'hard limit not enforced' : 'soft limit'}`,
    );
  }

  problem(p: QuotaProblem): void {
    const repeats = this.due(`${p.kind}\u0000${p.root}`);
    if (repeats < 0) return;
    const msg =
      p.kind === 'missingStats' ? 'quota usage not counted: stats node missing' : 'quota usage not counted: stats node unreadable';
    this.log.error({ quotaRoot: p.root, statsPath: p.statsPath, repeats }, msg);
  }

  /** How many repeats went unlogged if this one is to be logged now, else -1. */
  private due(key: string): number {
    const now = this.clock.monoMs();
    const seen = this.seen.get(key);
    if (seen !== undefined && now - seen.loggedAtMs < QUOTA_LOG_INTERVAL_MS) {
      seen.repeats++;
      return -1;
    }
    if (seen === undefined && this.seen.size >= QUOTA_LOG_KEYS_MAX) this.seen.clear();
    const repeats = seen?.repeats ?? 0;
    this.seen.set(key, { loggedAtMs: now, repeats: 0 });
    return repeats;
  }
}
