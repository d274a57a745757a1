/**
 * The iteration orders of the Java maps ZooKeeper fills while it reads zoo.cfg. Its quorum config
 * text lists servers, groups and weights in the order of HashMap<Long, ...> tables filled in the
 * order java.util.Properties (a ConcurrentHashMap of the file's keys) yields them, so matching
 * ZooKeeper's text byte for byte means replaying both tables. (Bins of 8 or more colliding keys,
 * which Java turns into trees, are not modelled; no real config comes near that.)
 */

/** A bucket of keys, and what decides which bucket of a table a key falls in. */
type Table<K> = K[][];

function emptyTable<K>(size: number): Table<K> {
  return Array.from({ length: size }, () => []);
}

/** Long.hashCode, then HashMap.hash's spreading of the high half into the low one. */
function longHash(id: number): number {
  const h = ((id % 2 ** 32) ^ Math.floor(id / 2 ** 32)) | 0;
  return h ^ (h >>> 16);
}

/** String.hashCode over the UTF-16 code units, then ConcurrentHashMap.spread. */
function stringHash(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(31, h) + key.charCodeAt(i)) | 0;
  return (h ^ (h >>> 16)) & 0x7fffffff;
}

/**
 * The order a HashMap<Long, V> iterates keys put in this order: by bucket (spread hash modulo the
 * table size), insertion order within one. The table starts at 16 buckets and doubles past 3/4
 * full, or when a bucket of a table below 64 reaches 9 keys; a split keeps each bucket's order.
 */
export function javaHashMapOrder(keys: Iterable<number>): number[] {
  let table = emptyTable<number>(16);
  let size = 0;
  const bucketOf = (key: number, t: Table<number>): number[] => t[longHash(key) & (t.length - 1)] ?? [];
  const grow = (): void => {
    const next = emptyTable<number>(table.length * 2);
    for (const key of table.flat()) bucketOf(key, next).push(key);
    table = next;
  };
  for (const key of keys) {
    const bucket = bucketOf(key, table);
    if (bucket.includes(key)) continue;
    bucket.push(key);
    if (bucket.length > 8 && table.length < 64) grow();
    if (++size > table.length * 0.75) grow();
  }
  return table.flat();
}

/**
 * ConcurrentHashMap.transfer's split of one bin into the doubled table: the bin's last run of
 * keys bound for the same half keeps its order; the keys before it are pushed onto the front of
 * their half one by one, which reverses them.
 */
function splitBin(bin: readonly string[], oldSize: number): [string[], string[]] {
  const high = (key: string): boolean => (stringHash(key) & oldSize) !== 0;
  let lastRun = bin.length - 1;
  while (lastRun > 0 && high(bin[lastRun - 1] ?? '') === high(bin[lastRun] ?? '')) lastRun--;
  const run = bin.slice(lastRun);
  const low: string[] = run.length > 0 && !high(run[0] ?? '') ? run : [];
  const upper: string[] = run.length > 0 && high(run[0] ?? '') ? run : [];
  for (const key of bin.slice(0, lastRun)) (high(key) ? upper : low).unshift(key);
  return [low, upper];
}

/**
 * The order java.util.Properties iterates the keys `load` put in this order (the first time each
 * was seen): a ConcurrentHashMap of 16 bins that doubles once it holds 3/4 of its size.
 */
export function javaPropertiesOrder(keys: Iterable<string>): string[] {
  let table = emptyTable<string>(16);
  let size = 0;
  for (const key of keys) {
    const bin = table[stringHash(key) & (table.length - 1)] ?? [];
    if (bin.includes(key)) continue;
    bin.push(key);
    if (++size < table.length - (table.length >>> 2)) continue;
    const next = emptyTable<string>(table.length * 2);
    table.forEach((b, i) => {
      [next[i], next[i + table.length]] = splitBin(b, table.length);
    });
    table = next;
  }
  return table.flat();
}
