/**
 * The watchers of one path, each with its watch mode, as (watcher, mode) pairs in one array
 * with a live count.
 *
 * Why not a Map per path: a one-shot watch is fired and re-armed on the same path over and
 * over. Emptying a Map (clear, or deleting its last entries) gives it a fresh minimal hash
 * table, which the re-arms then grow again: two allocations and a rehash per path per round.
 * Refilling the same slots of this array allocates nothing.
 *
 * Past INDEXED_FROM watchers a map from watcher to slot keeps add and remove O(1), so ten
 * thousand clients watching one node cost no more per watch than a few do.
 */
export type WatcherId = number;

/** Watchers on one path beyond which lookups go through an index instead of a scan. */
const INDEXED_FROM = 16;

export class PathWatchers {
  /** Live pairs: watcher at 2i, its mode at 2i + 1, for i < size. Slots past that are stale. */
  private readonly slots: number[];
  private count = 0;
  private index: Map<WatcherId, number> | null = null;

  constructor(watcher: WatcherId, mode: number) {
    // Sized for the common single watcher; a second one grows it once.
    this.slots = [watcher, mode];
    this.count = 1;
  }

  get size(): number {
    return this.count;
  }

  watcherAt(i: number): WatcherId {
    return this.slots[2 * i] as WatcherId;
  }

  modeAt(i: number): number {
    return this.slots[2 * i + 1] as number;
  }

  /** The (watcher, mode) pairs, in slot order. */
  pairs(): Array<[WatcherId, number]> {
    const out: Array<[WatcherId, number]> = [];
    for (let i = 0; i < this.count; i++) out.push([this.watcherAt(i), this.modeAt(i)]);
    return out;
  }

  /** The mode `watcher` holds here, 0 if none. */
  modeOf(watcher: WatcherId): number {
    const i = this.find(watcher);
    return i < 0 ? 0 : (this.slots[2 * i + 1] as number);
  }

  /** Gives `watcher` this mode (replacing any it had); returns the mode it had, 0 if none. */
  set(watcher: WatcherId, mode: number): number {
    const i = this.find(watcher);
    if (i >= 0) {
      const before = this.slots[2 * i + 1] as number;
      this.slots[2 * i + 1] = mode;
      return before;
    }
    this.put(this.count++, watcher, mode);
    if (this.index !== null) this.index.set(watcher, this.count - 1);
    else if (this.count > INDEXED_FROM) this.reindex();
    return 0;
  }

  /** Removes `watcher`; returns the mode it had, 0 if none. The last pair moves into its slot. */
  delete(watcher: WatcherId): number {
    const i = this.find(watcher);
    if (i < 0) return 0;
    const mode = this.slots[2 * i + 1] as number;
    const last = --this.count;
    this.index?.delete(watcher);
    if (i !== last) {
      const moved = this.slots[2 * last] as WatcherId;
      this.put(i, moved, this.slots[2 * last + 1] as number);
      this.index?.set(moved, i);
    }
    return mode;
  }

  /**
   * Compaction, for a caller that visits every pair in order (firing does): it writes each
   * survivor with `keepAt(kept++, ...)`, then `truncate(kept)`. Survivors keep their order.
   */
  keepAt(i: number, watcher: WatcherId, mode: number): void {
    this.put(i, watcher, mode);
  }

  truncate(kept: number): void {
    if (kept === this.count) return;
    this.count = kept;
    if (this.index !== null) this.reindex();
  }

  /** Forgets every watcher but keeps the array, for reuse on another path. */
  reset(watcher: WatcherId, mode: number): void {
    this.count = 0;
    this.index = null;
    this.put(this.count++, watcher, mode);
  }

  private put(i: number, watcher: WatcherId, mode: number): void {
    this.slots[2 * i] = watcher;
    this.slots[2 * i + 1] = mode;
  }

  private find(watcher: WatcherId): number {
    if (this.index !== null) return this.index.get(watcher) ?? -1;
    const slots = this.slots;
    for (let i = 0, n = this.count; i < n; i++) if (slots[2 * i] === watcher) return i;
    return -1;
  }

  private reindex(): void {
    if (this.count <= INDEXED_FROM) {
      this.index = null;
      return;
    }
    const index = new Map<WatcherId, number>();
    for (let i = 0; i < this.count; i++) index.set(this.slots[2 * i] as WatcherId, i);
    this.index = index;
  }
}
