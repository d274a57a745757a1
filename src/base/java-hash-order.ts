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

/**
 * `items` (in insertion order) as a HashSet with a table of `capacity` buckets iterates them:
 * by bucket, and within a bucket by insertion.
 */
export function javaHashSetOrder(items: readonly string[], capacity: number): string[] {
  const bucket = (s: string): number => {
    const h = javaStringHash(s);
    return (h ^ (h >>> 16)) & (capacity - 1);
  };
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
