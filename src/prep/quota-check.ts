/**
 * ZooKeeper's quota check before a create or setData (ZooKeeperServer.checkQuota): the write
 * is measured against the limits of the deepest quota root over its path, using the stats as
 * the tree holds them now (so writes queued behind it, and the other ops of a multi, are not
 * counted yet, exactly as in ZooKeeper).
 */
import { ErrorCode } from '../codec/index.js';
import { addLong, statsValue, type DataTree, type QuotaRoot, type StatsTrack } from '../tree/index.js';

/** A write that goes over a quota limit. */
export interface QuotaExceeded {
  /** The quota root, e.g. `/app`. */
  root: string;
  what: 'count' | 'bytes';
  /** The count or bytes the write would make. */
  wouldBe: bigint;
  limit: bigint;
  /** A hard limit (refused when enforced); otherwise a soft one (only reported). */
  hard: boolean;
}

/**
 * The limits' or stats' text could not be parsed: ZooKeeper's check throws there, which fails
 * the whole request (a whole multi too) with MARSHALLINGERROR.
 */
export const QUOTA_UNREADABLE = ErrorCode.MARSHALLINGERROR;

/** The parsed data of one of the quota's nodes; undefined if the node is missing. */
function read(tree: DataTree, quota: QuotaRoot, kind: 'limits' | 'stats'): StatsTrack | null | undefined {
  const node = tree.get(kind === 'limits' ? quota.limitsPath : quota.statsPath);
  if (node === undefined) return undefined;
  return kind === 'limits' ? quota.limits(node.dataLatin1) : quota.stats(node.dataLatin1);
}

/**
 * 0 if the write may go ahead, QUOTAEXCEEDED if it goes over a hard limit, QUOTA_UNREADABLE
 * if the quota's nodes hold text ZooKeeper cannot parse. Every limit it goes over is told to
 * `report` first. Soft limits never refuse; a hard limit, when set, replaces the soft one of
 * its kind.
 */
export function checkQuota(tree: DataTree, path: string, bytesDiff: number, countDiff: number, report: (e: QuotaExceeded) => void): number {
  const quota = tree.quotaRootOf(path);
  if (quota === null) return 0;
  const root = quota.path;
  const limits = read(tree, quota, 'limits');
  if (limits === undefined) return 0; // ZooKeeper logs the missing node and lets the write go
  if (limits === null) return QUOTA_UNREADABLE;
  const checkCount = countDiff !== 0 && (statsValue(limits, 'count') > -1n || statsValue(limits, 'countHardLimit') > -1n);
  const checkBytes = bytesDiff !== 0 && (statsValue(limits, 'bytes') > -1n || statsValue(limits, 'byteHardLimit') > -1n);
  if (!checkCount && !checkBytes) return 0;
  const stats = read(tree, quota, 'stats');
  if (stats === undefined) return 0;
  if (stats === null) return QUOTA_UNREADABLE;
  if (checkCount && exceeds(root, 'count', addLong(statsValue(stats, 'count'), BigInt(countDiff)), limits, 'countHardLimit', report)) {
    return ErrorCode.QUOTAEXCEEDED;
  }
  if (checkBytes && exceeds(root, 'bytes', addLong(statsValue(stats, 'bytes'), BigInt(bytesDiff)), limits, 'byteHardLimit', report)) {
    return ErrorCode.QUOTAEXCEEDED;
  }
  return 0;
}

/** Reports `wouldBe` if it is over the limit; true if that limit is a hard one. */
function exceeds(
  root: string,
  what: 'count' | 'bytes',
  wouldBe: bigint,
  limits: StatsTrack,
  hardKey: string,
  report: (e: QuotaExceeded) => void,
): boolean {
  const hard = statsValue(limits, hardKey) > -1n;
  const limit = hard ? statsValue(limits, hardKey) : statsValue(limits, what);
  if (wouldBe <= limit) return false;
  report({ root, what, wouldBe, limit, hard });
  return hard;
}
