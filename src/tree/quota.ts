/**
 * ZooKeeper's quota bookkeeping, server side. A quota on `/app` is two znodes a client writes
 * (zkCli's setquota): `/zookeeper/quota/app/zookeeper_limits` (the limits) and
 * `/zookeeper/quota/app/zookeeper_stats` (the usage, which the server keeps up to date). Both
 * hold StatsTrack text, e.g. `count=4,bytes=120=;byteHardLimit=-1;countHardLimit=10`.
 *
 * ZooKeeper parses that text with its own rules (separators `,` or `;`, a `=` per pair, Java's
 * Long.parseLong) and fails outright on text it cannot parse; `parseStatsTrack` follows those
 * rules and answers null where ZooKeeper's parser throws, so callers can decide what the
 * failure means for them.
 */
import { QUOTA_PATH } from './path.js';

export const QUOTA_LIMITS_NODE = 'zookeeper_limits';
export const QUOTA_STATS_NODE = 'zookeeper_stats';

/** `/zookeeper/quota<root>/zookeeper_limits`. */
export function quotaLimitsPath(root: string): string {
  return `${QUOTA_PATH}${root}/${QUOTA_LIMITS_NODE}`;
}

/** `/zookeeper/quota<root>/zookeeper_stats`. */
export function quotaStatsPath(root: string): string {
  return `${QUOTA_PATH}${root}/${QUOTA_STATS_NODE}`;
}

/**
 * The quota root a node under /zookeeper/quota belongs to: what follows `/zookeeper/quota` in
 * its parent's path, by plain string position as ZooKeeper takes it (so `/zookeeper/quotaX`
 * yields `X`).
 */
export function quotaRootOfParent(parentPath: string): string {
  return parentPath.slice(QUOTA_PATH.length);
}

/** Counts and limits by key; a missing key reads as -1, as in ZooKeeper. */
export type StatsTrack = Map<string, bigint>;

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

export function statsValue(stats: StatsTrack, key: string): bigint {
  return stats.get(key) ?? -1n;
}

/** Adds with Java's long overflow (the stored counts are Java longs). */
export function addLong(a: bigint, b: bigint): bigint {
  return BigInt.asIntN(64, a + b);
}

/**
 * Java's String.split with no limit: the pieces between matches, a leading empty piece when
 * the text starts with a separator, trailing empty pieces dropped.
 */
function javaSplit(text: string, separator: RegExp): string[] {
  const pieces = text.split(separator);
  while (pieces.length > 0 && pieces[pieces.length - 1] === '') pieces.pop();
  return pieces;
}

const DECIMAL_DIGIT = /^\p{Nd}$/u;

/**
 * The value of a decimal digit as Java's Character.digit(c, 10) sees it, or -1. Java counts any
 * Unicode decimal digit of the BMP; those come in runs of ten from zero, so the value is the
 * distance from the start of the run, modulo ten.
 */
function javaDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const isDigit = (code: number): boolean =>
    code >= 0x80 && (code < 0xd800 || code > 0xdfff) && DECIMAL_DIGIT.test(String.fromCharCode(code));
  if (!isDigit(c)) return -1;
  let start = c;
  while (isDigit(start - 1)) start--;
  return (c - start) % 10;
}

const ASCII_LONG = /^[+-]?[0-9]+$/;
const NON_ASCII = /[^\x00-\x7f]/;

/** Java's Long.parseLong(text), or null where it throws NumberFormatException. */
export function javaParseLong(text: string): bigint | null {
  if (ASCII_LONG.test(text)) return inLongRange(BigInt(text));
  return NON_ASCII.test(text) ? parseUnicodeLong(text) : null;
}

function inLongRange(value: bigint): bigint | null {
  return value < LONG_MIN || value > LONG_MAX ? null : value;
}

/** Long.parseLong digit by digit, for text with digits other than 0-9. */
function parseUnicodeLong(text: string): bigint | null {
  let i = 0;
  let negative = false;
  const first = text.charCodeAt(0);
  if (first === 0x2d || first === 0x2b) {
    negative = first === 0x2d;
    i = 1;
  }
  if (i >= text.length) return null;
  let value = 0n;
  for (; i < text.length; i++) {
    const d = javaDigit(text.charCodeAt(i));
    if (d < 0) return null;
    value = value * 10n + BigInt(d);
  }
  return inLongRange(negative ? -value : value);
}

/**
 * StatsTrack text -> values, or null where ZooKeeper's StatsTrack constructor throws (a pair
 * without `=` or a value Long.parseLong refuses). An empty value reads as -1; a key given
 * twice keeps its last value.
 */
export function parseStatsTrack(text: string): StatsTrack | null {
  const stats: StatsTrack = new Map();
  if (text.length === 0) return stats;
  for (const pair of javaSplit(text, /[,;]+/)) {
    const kv = javaSplit(pair, /=/);
    const key = kv[0];
    const raw = kv[1];
    if (key === undefined || raw === undefined) return null;
    const value = raw === '' ? -1n : javaParseLong(raw);
    if (value === null) return null;
    stats.set(key, value);
  }
  return stats;
}

/**
 * Values -> StatsTrack text as ZooKeeper writes it: count and bytes first (for 3.4 parsers),
 * then, after an extra `=` that old parsers skip, the other keys sorted, `;`-separated.
 */
export function formatStatsTrack(stats: StatsTrack): string {
  const text = `count=${statsValue(stats, 'count')},bytes=${statsValue(stats, 'bytes')}`;
  if (onlyCounts(stats)) return text;
  const others = [...stats.keys()].filter((k) => k !== 'count' && k !== 'bytes').sort();
  let extra = '=';
  for (const key of others) extra += `;${key}=${statsValue(stats, key)}`;
  return text + extra;
}

/** No keys but count and bytes (the text is then ASCII). */
export function onlyCounts(stats: StatsTrack): boolean {
  return stats.size === (stats.has('count') ? 1 : 0) + (stats.has('bytes') ? 1 : 0);
}

// A node's data is kept as latin1 (one char per byte); StatsTrack text is UTF-8.

/** A node's data (latin1) as the text ZooKeeper decodes from it; null data stays null. */
export function textOfData(latin1: string | null): string | null {
  if (latin1 === null || !NON_ASCII.test(latin1)) return latin1;
  return Buffer.from(latin1, 'latin1').toString('utf8');
}

/** Text as node data (its UTF-8 bytes, as latin1). */
export function dataOfText(text: string): string {
  return NON_ASCII.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}

/** Java's String.trim().isEmpty(): only chars up to U+0020. */
function isBlank(component: string): boolean {
  for (let i = 0; i < component.length; i++) if (component.charCodeAt(i) > 0x20) return false;
  return true;
}

/** The path's components as ZooKeeper's PathTrie takes them: blank ones are skipped. */
function components(path: string): string[] {
  return path.split('/').filter((c) => !isBlank(c));
}

/**
 * One quota root: its path as ZooKeeper reports it, the paths of its two nodes, and the last
 * data read from each, parsed. Writes under a quota read the stats (and, when checked, the
 * limits) every time, and the text seldom changes but through the tree's own updates, so the
 * parse is kept while the node holds the same string.
 */
export class QuotaRoot {
  readonly statsPath: string;
  readonly limitsPath: string;
  private statsData: string | null | undefined = undefined;
  private statsParsed: StatsTrack | null = null;
  private limitsData: string | null | undefined = undefined;
  private limitsParsed: StatsTrack | null = null;

  constructor(readonly path: string) {
    this.statsPath = quotaStatsPath(path);
    this.limitsPath = quotaLimitsPath(path);
  }

  /** The stats node's data, parsed (null where ZooKeeper's parser throws, or for null data). */
  stats(data: string | null): StatsTrack | null {
    if (data !== this.statsData) {
      this.statsData = data;
      this.statsParsed = parseData(data);
    }
    return this.statsParsed;
  }

  /** The limits node's data, parsed as `stats` does. */
  limits(data: string | null): StatsTrack | null {
    if (data !== this.limitsData) {
      this.limitsData = data;
      this.limitsParsed = parseData(data);
    }
    return this.limitsParsed;
  }

  /** The tree stored `data`, the text of `stats`, in the stats node. */
  statsWritten(data: string, stats: StatsTrack): void {
    this.statsData = data;
    this.statsParsed = stats;
  }
}

function parseData(data: string | null): StatsTrack | null {
  const text = textOfData(data);
  return text === null ? null : parseStatsTrack(text);
}

interface TrieNode {
  readonly children: Map<string, TrieNode>;
  /** The quota root that ends here, if any. */
  quota: QuotaRoot | null;
}

/**
 * The quota roots (ZooKeeper's PathTrie of quota paths): finds the deepest root that is a
 * prefix of a path on component boundaries. Roots are kept by their components, so a root is
 * reported as `/` + its non-blank components joined, as ZooKeeper reports it.
 */
export class QuotaRoots {
  private readonly top: TrieNode = { children: new Map(), quota: null };
  private count = 0;
  /** The last lookup and its answer: a write's prep and its apply look up the same path. */
  private lastPath: string | null = null;
  private lastFound: QuotaRoot | null = null;

  /** Number of roots. */
  get size(): number {
    return this.count;
  }

  /** A root with no component (ZooKeeper's trie would mark its own top) matches nothing: not kept. */
  add(root: string): void {
    const parts = components(root);
    if (parts.length === 0) return;
    let node = this.top;
    for (const part of parts) {
      let child = node.children.get(part);
      if (child === undefined) node.children.set(part, (child = { children: new Map(), quota: null }));
      node = child;
    }
    if (node.quota !== null) return;
    node.quota = new QuotaRoot(`/${parts.join('/')}`);
    this.count++;
    this.lastPath = null;
  }

  delete(root: string): void {
    const parts = components(root);
    if (parts.length === 0) return;
    let parent = this.top;
    let node: TrieNode | undefined = this.top;
    for (const part of parts) {
      parent = node;
      node = node.children.get(part);
      if (node === undefined) return;
    }
    if (node.quota !== null) this.count--;
    node.quota = null;
    this.lastPath = null;
    if (node.children.size === 0) parent.children.delete(parts[parts.length - 1] ?? '');
  }

  clear(): void {
    this.top.children.clear();
    this.count = 0;
    this.lastPath = null;
  }

  /** The deepest root at or above `path`, or null. */
  deepestFor(path: string): QuotaRoot | null {
    if (path === this.lastPath) return this.lastFound;
    let node = this.top;
    let found: QuotaRoot | null = null;
    let start = 1;
    while (start <= path.length) {
      let end = path.indexOf('/', start);
      if (end < 0) end = path.length;
      const part = path.slice(start, end);
      start = end + 1;
      if (isBlank(part)) continue;
      const child = node.children.get(part);
      if (child === undefined) break;
      node = child;
      if (node.quota !== null) found = node.quota;
    }
    this.lastPath = path;
    this.lastFound = found;
    return found;
  }
}
