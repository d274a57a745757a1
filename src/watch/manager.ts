/**
 * Watches held by connections (ZooKeeper's WatchManager pair: data/exist watches and child
 * watches). A watcher is a connection number. Each (table, path, watcher) carries one mode,
 * the last one set, as in ZooKeeper 3.8 (3.9 keeps a set of modes).
 */
import { EventType, type ACL } from '../codec/index.js';
import { parentOf, type TreeChange } from '../tree/index.js';
import { PathWatchers, type WatcherId } from './path-watchers.js';

export type { WatcherId };

export const WatchMode = { standard: 1, persistent: 2, recursive: 4 } as const;

export interface WatchEvent {
  watcher: WatcherId;
  type: number;
  path: string;
  /** The ACL guarding this event: the watcher must be allowed to READ it to hear it. */
  acl: readonly ACL[];
}

/** How many emptied per-path watcher lists a table keeps for reuse (a re-armed one-shot watch needs one). */
const SPARE_PATH_LISTS = 256;

/** Emptied path lists a table may keep in place, at least, before they are swept out. */
const EMPTY_PATHS_SLACK = 1024;

/** Stale paths a connection's set may hold beyond twice its live ones before they are swept. */
const STALE_PATHS_SLACK = 64;

/**
 * The paths one connection watches in a table (ZooKeeper's watch2Paths entry). Firing a one-shot
 * watch only counts it down in `live` and leaves its path in `paths`, so the client's re-arm
 * finds it there, where an insert and a delete per notification (and the set's rehashes) were
 * most of the cost of a fire plus re-arm. `paths` is therefore a superset; stale paths are swept out once they
 * outnumber the live ones (and all at once when none is live).
 */
class WatchedPaths {
  readonly paths = new Set<string>();
  live = 0;
}

class WatchTable {
  readonly byPath = new Map<string, PathWatchers>();
  /**
   * What each connection watches. As in ZooKeeper's watch2Paths, a connection's entry stays
   * (possibly empty) when its watches fire, so a client that re-arms does not rebuild it; it
   * goes when the connection closes or removes its last watch.
   */
  readonly byWatcher = new Map<WatcherId, WatchedPaths>();
  recursiveCount = 0;
  /** Entries of `byPath` whose list is empty (see dropPath). */
  private emptyPaths = 0;
  private readonly spareLists: PathWatchers[] = [];

  add(path: string, watcher: WatcherId, mode: number): void {
    const m = this.byPath.get(path);
    // ZooKeeper 3.8 keeps one mode per (watcher, path): the last one set wins.
    let before = 0;
    if (m !== undefined) {
      if (m.size === 0) this.emptyPaths--;
      before = m.set(watcher, mode);
    } else {
      const spare = this.spareLists.pop();
      if (spare === undefined) this.byPath.set(path, new PathWatchers(watcher, mode));
      else {
        spare.reset(watcher, mode);
        this.byPath.set(path, spare);
      }
    }
    if (before === WatchMode.recursive) this.recursiveCount--;
    if (mode === WatchMode.recursive) this.recursiveCount++;
    if (before !== 0) return; // the connection's entry lists this path already
    let mine = this.byWatcher.get(watcher);
    if (mine === undefined) this.byWatcher.set(watcher, (mine = new WatchedPaths()));
    mine.live++;
    mine.paths.add(path);
    if (mine.paths.size > 2 * mine.live + STALE_PATHS_SLACK) this.sweep(watcher, mine);
  }

  /** Removes every mode of `watcher` at `path`. True if there was one. */
  remove(path: string, watcher: WatcherId): boolean {
    if (!this.unwatchPath(path, watcher)) return false;
    const mine = this.byWatcher.get(watcher);
    if (mine !== undefined) {
      mine.paths.delete(path);
      if (--mine.live === 0) this.byWatcher.delete(watcher);
      else this.trim(watcher, mine);
    }
    return true;
  }

  /** The paths `watcher` watches in this table. */
  pathsOf(watcher: WatcherId): string[] {
    const out: string[] = [];
    for (const path of this.byWatcher.get(watcher)?.paths ?? []) if (this.has(path, watcher)) out.push(path);
    return out;
  }

  has(path: string, watcher: WatcherId): boolean {
    return (this.byPath.get(path)?.modeOf(watcher) ?? 0) !== 0;
  }

  /**
   * ZooKeeper 3.8's containsWatcher, which checkWatches answers: true when any connection
   * watches `path` itself (its own comment says "at the leaf node, all watcher types match").
   */
  watched(path: string): boolean {
    return (this.byPath.get(path)?.size ?? 0) > 0;
  }

  /** The watched paths with their watchers (an emptied list kept for re-arming is skipped). */
  *watchedPaths(): IterableIterator<[string, PathWatchers]> {
    for (const entry of this.byPath) if (entry[1].size > 0) yield entry;
  }

  /**
   * Whether 3.8's containsWatcher throws (the client gets MARSHALLINGERROR): its path walker
   * computes each parent eagerly, which fails for a segment with no "/" — at once for a path
   * without one, and further up when recursive watches make it walk past an unwatched leaf.
   */
  containsFails(path: string): boolean {
    if (path === '') return false;
    if (!path.includes('/')) return true;
    return !path.startsWith('/') && !this.watched(path) && this.recursiveCount > 0;
  }

  removeWatcher(watcher: WatcherId): void {
    const mine = this.byWatcher.get(watcher);
    if (mine === undefined) return;
    this.byWatcher.delete(watcher);
    for (const path of mine.paths) this.unwatchPath(path, watcher);
  }

  /** Removes `watcher` from `path`'s list (not from its own path set). True if it was there. */
  private unwatchPath(path: string, watcher: WatcherId): boolean {
    const m = this.byPath.get(path);
    if (m === undefined) return false;
    const mode = m.delete(watcher);
    if (mode === 0) return false;
    if ((mode & WatchMode.recursive) !== 0) this.recursiveCount--;
    if (m.size === 0) this.dropPath();
    return true;
  }

  /**
   * ZooKeeper's triggerWatch: appends to `events` one event for each watcher that hears `type`
   * at `path`, except those in `heard` (they heard this change already); one-shot watches are
   * consumed. Events go straight into the list, with nothing built per watcher on the way.
   */
  fire(path: string, type: number, acl: readonly ACL[], events: WatchEvent[], heard: ReadonlySet<WatcherId> | null): void {
    const first = events.length;
    const exact = this.byPath.get(path);
    if (exact !== undefined && exact.size > 0) {
      // One-shot watches fire and go (the survivors are compacted in place); a path left with
      // no watcher keeps its emptied list (see dropPath).
      const n = exact.size;
      let kept = 0;
      for (let i = 0; i < n; i++) {
        const watcher = exact.watcherAt(i);
        const mode = exact.modeAt(i);
        const recursiveHears = (mode & WatchMode.recursive) !== 0 && type !== EventType.NodeChildrenChanged;
        if (((mode & (WatchMode.standard | WatchMode.persistent)) !== 0 || recursiveHears) && (heard === null || !heard.has(watcher))) {
          events.push({ watcher, type, path, acl });
        }
        const rest = mode & ~WatchMode.standard;
        if (rest !== 0) exact.keepAt(kept++, watcher, rest);
        else this.firedOne(watcher);
      }
      exact.truncate(kept);
      if (kept === 0) this.dropPath();
    }
    if (this.recursiveCount === 0 || type === EventType.NodeChildrenChanged || path === '/') return;
    // Recursive watches on ancestors: each watcher hears the change once, however many match.
    let seen: Set<WatcherId> | null = null;
    for (let p = parentOf(path); ; p = parentOf(p)) {
      const m = this.byPath.get(p);
      if (m !== undefined) {
        for (let i = 0; i < m.size; i++) {
          const watcher = m.watcherAt(i);
          if ((m.modeAt(i) & WatchMode.recursive) === 0 || (heard !== null && heard.has(watcher))) continue;
          seen ??= watchersSince(events, first);
          if (seen.has(watcher)) continue;
          seen.add(watcher);
          events.push({ watcher, type, path, acl });
        }
      }
      if (p === '/') break;
    }
  }

  /** One of `watcher`'s one-shot watches fired: its path stays listed, no longer live. */
  private firedOne(watcher: WatcherId): void {
    const mine = this.byWatcher.get(watcher);
    if (mine === undefined) return;
    mine.live--;
    this.trim(watcher, mine);
  }

  /** Keeps the stale paths of an entry within bounds after its live count fell. */
  private trim(watcher: WatcherId, mine: WatchedPaths): void {
    if (mine.live === 0) mine.paths.clear();
    else if (mine.paths.size > 4 * mine.live + 2 * STALE_PATHS_SLACK) this.sweep(watcher, mine);
  }

  /** Drops the paths `watcher` no longer watches from its entry. */
  private sweep(watcher: WatcherId, mine: WatchedPaths): void {
    for (const path of mine.paths) if (!this.has(path, watcher)) mine.paths.delete(path);
  }

  /**
   * Nobody watches a path any more. Its emptied list stays in `byPath`, for the re-arm that
   * usually follows, and the emptied lists are swept out in bulk once they are over half of
   * the table (and more than EMPTY_PATHS_SLACK).
   *
   * Why not delete at once: a Map whose entries come and go rehashes every few dozen changes,
   * and V8 links each discarded hash table to its successor. Once one table has reached the
   * old generation, that dead table keeps every later one, and the young path strings in
   * them, alive through each young-generation collection, so they are all promoted.
   */
  private dropPath(): void {
    this.emptyPaths++;
    if (this.emptyPaths > EMPTY_PATHS_SLACK && this.emptyPaths * 2 > this.byPath.size) this.sweepEmptyPaths();
  }

  private sweepEmptyPaths(): void {
    for (const [path, m] of this.byPath) {
      if (m.size > 0) continue;
      this.byPath.delete(path);
      if (this.spareLists.length < SPARE_PATH_LISTS) this.spareLists.push(m);
    }
    this.emptyPaths = 0;
  }
}

export class WatchManager {
  readonly data = new WatchTable();
  readonly child = new WatchTable();

  addDataWatch(path: string, watcher: WatcherId): void {
    this.data.add(path, watcher, WatchMode.standard);
  }

  addChildWatch(path: string, watcher: WatcherId): void {
    this.child.add(path, watcher, WatchMode.standard);
  }

  /** addWatch: persistent watches live in both tables, as in ZooKeeper. */
  addPersistentWatch(path: string, watcher: WatcherId, recursive: boolean): void {
    const mode = recursive ? WatchMode.recursive : WatchMode.persistent;
    this.data.add(path, watcher, mode);
    this.child.add(path, watcher, mode);
  }

  removeConnection(watcher: WatcherId): void {
    this.data.removeWatcher(watcher);
    this.child.removeWatcher(watcher);
  }

  /** The events a list of tree changes fires, in ZooKeeper's order. */
  eventsFor(changes: readonly TreeChange[]): WatchEvent[] {
    const events: WatchEvent[] = [];
    for (const change of changes) {
      const path = change.path;
      if (change.kind === 'created') {
        this.data.fire(path, EventType.NodeCreated, change.acl, events, null);
        this.parentChanged(events, path, change.parentAcl);
      } else if (change.kind === 'deleted') {
        const first = events.length;
        this.data.fire(path, EventType.NodeDeleted, change.acl, events, null);
        // a watcher in both tables hears the deletion once
        const heard = events.length > first ? watchersSince(events, first) : null;
        this.child.fire(path, EventType.NodeDeleted, change.acl, events, heard);
        this.parentChanged(events, path, change.parentAcl);
      } else {
        this.data.fire(path, EventType.NodeDataChanged, change.acl, events, null);
      }
    }
    return events;
  }

  /** A child of `path`'s parent came or went: its child watchers hear NodeChildrenChanged. */
  private parentChanged(events: WatchEvent[], path: string, parentAcl: readonly ACL[]): void {
    this.child.fire(parentOf(path), EventType.NodeChildrenChanged, parentAcl, events, null);
  }

  /** Total watches (path, watcher pairs) across both tables. */
  get watchCount(): number {
    let n = 0;
    for (const m of this.data.byPath.values()) n += m.size;
    for (const m of this.child.byPath.values()) n += m.size;
    return n;
  }
}

/** The watchers of `events[first..]`. */
function watchersSince(events: readonly WatchEvent[], first: number): Set<WatcherId> {
  const out = new Set<WatcherId>();
  for (let i = first; i < events.length; i++) out.add((events[i] as WatchEvent).watcher);
  return out;
}
