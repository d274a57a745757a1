/**
 * Watches held by connections (ZooKeeper's WatchManager pair: data/exist watches and child
 * watches). A watcher is a connection number. Each (table, path, watcher) carries one mode,
 * the last one set, as in ZooKeeper 3.8 (3.9 keeps a set of modes).
 */
import { EventType, type ACL } from '../codec/index.js';
import { parentOf, type TreeChange } from '../tree/index.js';

export const WatchMode = { standard: 1, persistent: 2, recursive: 4 } as const;

export type WatcherId = number;

export interface WatchEvent {
  watcher: WatcherId;
  type: number;
  path: string;
  /** The ACL guarding this event: the watcher must be allowed to READ it to hear it. */
  acl: readonly ACL[];
}

/** How many emptied per-path maps a table keeps for reuse (a re-armed one-shot watch needs one). */
const SPARE_PATH_MAPS = 256;

class WatchTable {
  readonly byPath = new Map<string, Map<WatcherId, number>>();
  /**
   * The paths each connection watches. As in ZooKeeper's watch2Paths, a connection's entry stays
   * (possibly empty) when its watches fire, so a client that re-arms does not rebuild it; it
   * goes when the connection closes or removes its last watch.
   */
  readonly byWatcher = new Map<WatcherId, Set<string>>();
  recursiveCount = 0;
  private readonly spareMaps: Array<Map<WatcherId, number>> = [];

  add(path: string, watcher: WatcherId, mode: number): void {
    let m = this.byPath.get(path);
    if (m === undefined) this.byPath.set(path, (m = this.spareMaps.pop() ?? new Map<WatcherId, number>()));
    // ZooKeeper 3.8 keeps one mode per (watcher, path): the last one set wins.
    const before = m.get(watcher) ?? 0;
    if (before === WatchMode.recursive) this.recursiveCount--;
    if (mode === WatchMode.recursive) this.recursiveCount++;
    m.set(watcher, mode);
    let paths = this.byWatcher.get(watcher);
    if (paths === undefined) this.byWatcher.set(watcher, (paths = new Set()));
    paths.add(path);
  }

  /** Removes every mode of `watcher` at `path`. True if there was one. */
  remove(path: string, watcher: WatcherId): boolean {
    if (!this.unwatchPath(path, watcher)) return false;
    const paths = this.byWatcher.get(watcher);
    paths?.delete(path);
    if (paths?.size === 0) this.byWatcher.delete(watcher);
    return true;
  }

  has(path: string, watcher: WatcherId): boolean {
    return this.byPath.get(path)?.has(watcher) ?? false;
  }

  /**
   * ZooKeeper 3.8's containsWatcher, which checkWatches answers: true when any connection
   * watches `path` itself (its own comment says "at the leaf node, all watcher types match").
   */
  watched(path: string): boolean {
    return this.byPath.has(path);
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
    const paths = this.byWatcher.get(watcher);
    if (paths === undefined) return;
    this.byWatcher.delete(watcher);
    for (const path of paths) this.unwatchPath(path, watcher);
  }

  /** Removes `watcher` from `path`'s map (not from its own path set). True if it was there. */
  private unwatchPath(path: string, watcher: WatcherId): boolean {
    const m = this.byPath.get(path);
    const mode = m?.get(watcher);
    if (m === undefined || mode === undefined) return false;
    if ((mode & WatchMode.recursive) !== 0) this.recursiveCount--;
    m.delete(watcher);
    if (m.size === 0) this.dropPath(path, m);
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
    if (exact !== undefined) {
      // One-shot watches fire and go; when all of them were one-shot the path's map goes whole.
      let consumed = 0;
      const byWatcher = this.byWatcher;
      exact.forEach((mode, watcher) => {
        const recursiveHears = (mode & WatchMode.recursive) !== 0 && type !== EventType.NodeChildrenChanged;
        if (((mode & (WatchMode.standard | WatchMode.persistent)) !== 0 || recursiveHears) && (heard === null || !heard.has(watcher))) {
          events.push({ watcher, type, path, acl });
        }
        if ((mode & WatchMode.standard) === 0) return;
        const rest = mode & ~WatchMode.standard;
        if (rest !== 0) {
          exact.set(watcher, rest);
          return;
        }
        consumed++;
        byWatcher.get(watcher)?.delete(path);
      });
      if (consumed === exact.size) this.dropPath(path, exact);
      else if (consumed > 0) for (const [watcher, mode] of exact) if (mode === WatchMode.standard) exact.delete(watcher);
    }
    if (this.recursiveCount === 0 || type === EventType.NodeChildrenChanged || path === '/') return;
    // Recursive watches on ancestors: each watcher hears the change once, however many match.
    let seen: Set<WatcherId> | null = null;
    for (let p = parentOf(path); ; p = parentOf(p)) {
      const m = this.byPath.get(p);
      if (m !== undefined) {
        for (const [watcher, mode] of m) {
          if ((mode & WatchMode.recursive) === 0 || (heard !== null && heard.has(watcher))) continue;
          seen ??= watchersSince(events, first);
          if (seen.has(watcher)) continue;
          seen.add(watcher);
          events.push({ watcher, type, path, acl });
        }
      }
      if (p === '/') break;
    }
  }

  /** Nobody watches `path` any more: its emptied map is kept for the next path armed. */
  private dropPath(path: string, m: Map<WatcherId, number>): void {
    this.byPath.delete(path);
    m.clear();
    if (this.spareMaps.length < SPARE_PATH_MAPS) this.spareMaps.push(m);
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
