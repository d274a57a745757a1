/**
 * The iteration order of a java.util.HashSet<String>. ZooKeeper deletes a closing session's
 * ephemerals in that order, so watchers see the NodeDeleted events in it; reproducing it lets
 * clients observe exactly what Apache ZooKeeper would show them.
 */

/** java.lang.String.hashCode over UTF-16 code units. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** HashMap's table size once it has held `maxSize` entries (default capacity 16, load 0.75). */
export function javaHashCapacity(maxSize: number): number {
  let capacity = 16;
  while (maxSize > capacity * 0.75) capacity *= 2;
  return capacity;
}

/** The bucket of `s` in a HashMap or ConcurrentHashMap table of `capacity` (a power of two). */
export function javaHashIndex(s: string, capacity: number): number {
  const h = javaStringHash(s);
  return (h ^ (h >>> 16)) & (capacity - 1);
}

/**
 * `items` (in insertion order) as a HashSet with a table of `capacity` buckets iterates them:
 * by bucket, and within a bucket by insertion.
 */
export function javaHashSetOrder(items: readonly string[], capacity: number): string[] {
  const bucket = (s: string): number => javaHashIndex(s, capacity);
  return items
    .map((item, index) => ({ item, index, b: bucket(item) }))
    .sort((x, y) => x.b - y.b || x.index - y.index)
    .map((e) => e.item);
}

/** HashMap.tableSizeFor: the smallest power of two >= n (at least 1). */
function tableSizeFor(n: number): number {
  let cap = 1;
  while (cap < n) cap *= 2;
  return cap;
}

/**
 * Models the HashSet ZooKeeper builds when a session closes: a clone of the session's set
 * (HashMap.clone re-inserts the entries into a table sized for the current count), minus
 * pending deletes, plus pending creates. Returns the final iteration order.
 */
export function javaClosingSetOrder(
  current: readonly string[],
  currentCapacity: number,
  removed: ReadonlySet<string>,
  added: readonly string[],
): string[] {
  let items = javaHashSetOrder(current, currentCapacity);
  let capacity = items.length === 0 ? 16 : tableSizeFor(Math.floor(items.length / 0.75 + 1));
  items = javaHashSetOrder(items, capacity);
  items = items.filter((p) => !removed.has(p));
  for (const p of added) {
    if (items.includes(p)) continue;
    items.push(p);
    if (items.length > capacity * 0.75) capacity *= 2;
    items = javaHashSetOrder(items, capacity);
  }
  return items;
}

/**
 * A ConcurrentHashMap's table size once it has held `highWater` entries: it doubles when its
 * count reaches three quarters of the table, and never shrinks.
 */
export function javaConcurrentHashMapCapacity(highWater: number): number {
  let n = 16;
  while (highWater >= n - (n >>> 2)) n *= 2;
  return n;
}

/** The table size of `new HashSet<>(collection)` for a collection of `size` entries. */
export function javaHashSetCopyCapacity(size: number): number {
  // (int) (size / .75f) + 1, in float arithmetic as Java does it
  return tableSizeFor(Math.max(Math.trunc(Math.fround(Math.fround(size) / 0.75)) + 1, 16));
}

/** One candidate of a reaper pass: a container (kind 0) or a TTL node (kind 1). */
export interface ReaperCandidate {
  path: string;
  kind: 0 | 1;
  /** Its place in the insertion order of its set (the tree's containers or TTL nodes). */
  insertedAt: number;
}

/** A set of the tree the reaper reads: its current size and the most entries it ever held. */
export interface ReaperSetSize {
  size: number;
  highWater: number;
}

/**
 * The order in which ZooKeeper 3.8's ContainerManager deletes one pass's candidates. Its tree
 * keeps containers and TTL nodes in two ConcurrentHashMap-backed sets; a pass copies each into
 * a HashSet, walks the containers' copy and then the TTL nodes', and collects the candidates in
 * one more HashSet, whose iteration order is the deletion order. So: by bucket of that last
 * set; ties in the order they were added, which is containers first, each set by bucket of its
 * copy, then by bin of the map, then by insertion into the map. (A map bin whose entries a
 * resize split is not modelled; nor, after a restart, the order a snapshot refilled the maps.)
 */
export function javaReaperOrder(candidates: readonly ReaperCandidate[], sets: readonly [ReaperSetSize, ReaperSetSize]): string[] {
  const resultCapacity = javaHashCapacity(candidates.length);
  const copyCapacity = sets.map((s) => javaHashSetCopyCapacity(s.size));
  const mapCapacity = sets.map((s) => javaConcurrentHashMapCapacity(s.highWater));
  const key = (c: ReaperCandidate): number[] => [
    javaHashIndex(c.path, resultCapacity),
    c.kind,
    javaHashIndex(c.path, copyCapacity[c.kind] ?? 16),
    javaHashIndex(c.path, mapCapacity[c.kind] ?? 16),
    c.insertedAt,
  ];
  const keyed = candidates.map((c) => ({ path: c.path, key: key(c) }));
  keyed.sort((x, y) => {
    for (let i = 0; i < x.key.length; i++) {
      const d = (x.key[i] ?? 0) - (y.key[i] ?? 0);
      if (d !== 0) return d;
    }
    return 0;
  });
  return keyed.map((k) => k.path);
}
