/**
 * A Map for tables whose entries come and go all the time (connections, sessions) and whose
 * values hold a lot (a connection's socket and stream state). Each value sits in a small box,
 * and a deleted entry's box is emptied before the entry goes.
 *
 * Why: a Map whose entries come and go rehashes every few dozen changes, and V8 links each
 * discarded hash table to its successor. Once one table has reached the old generation, that
 * dead table keeps every later one alive through young-generation collections, and with them
 * every value they held. Under connect/close churn that kept each closed connection's socket
 * alive until it was promoted. Through a box, a dead table keeps only empty boxes.
 */
interface Box<V> {
  value: V | undefined;
}

export class ReleasingMap<K, V> {
  private readonly boxes = new Map<K, Box<V>>();

  get size(): number {
    return this.boxes.size;
  }

  get(key: K): V | undefined {
    return this.boxes.get(key)?.value;
  }

  has(key: K): boolean {
    return this.boxes.has(key);
  }

  set(key: K, value: V): this {
    const box = this.boxes.get(key);
    if (box !== undefined) box.value = value;
    else this.boxes.set(key, { value });
    return this;
  }

  delete(key: K): boolean {
    const box = this.boxes.get(key);
    if (box === undefined) return false;
    box.value = undefined;
    return this.boxes.delete(key);
  }

  *values(): IterableIterator<V> {
    for (const box of this.boxes.values()) if (box.value !== undefined) yield box.value;
  }

  *entries(): IterableIterator<[K, V]> {
    for (const [key, box] of this.boxes) if (box.value !== undefined) yield [key, box.value];
  }
}
