/**
 * The replicated state: znodes with their stored Stat, children, ACLs, and indexes of
 * ephemerals by session, containers and TTL nodes. Every change goes through `applyTxn`.
 */
import { assert } from '../base/index.js';
import { OpCode, ErrorCode, Perms, type ACL, type Stat, type Txn, type TxnHeader, type OpResult, type JuteWriter } from '../codec/index.js';
import { baseName, parentOf, ZOOKEEPER_PATH, QUOTA_PATH, CONFIG_PATH } from './path.js';
import { NO_CHILDREN, NodeStore, ZNode, latin1Of } from './znode.js';

export { NO_CHILDREN, NodeStore, ZNode, latin1Of } from './znode.js';
import { CONTAINER_EPHEMERAL_OWNER, clientEphemeralOwner, nodeKind, ttlOwner } from './ephemeral-type.js';
import {
  QUOTA_LIMITS_NODE,
  QUOTA_STATS_NODE,
  QuotaRoots,
  addLong,
  dataOfText,
  formatStatsTrack,
  onlyCounts,
  quotaRootOfParent,
  quotaStatsPath,
  statsValue,
  type QuotaRoot,
} from './quota.js';

export const OPEN_ACL_UNSAFE: readonly ACL[] = Object.freeze([{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }]);
export const READ_ACL_UNSAFE: readonly ACL[] = Object.freeze([{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }]);
/** A data change has no parent ACL to guard it (shared, never mutated). */
const NO_ACL: readonly ACL[] = Object.freeze([]);

/**
 * A change a txn made, for watches. Child-list changes of the parent are implied. The ACLs
 * travel along because ZooKeeper (3.8.4+, and Debian's patched 3.8.0, CVE-2024-23944) only
 * delivers an event to a watcher that may READ the node (the parent, for child changes).
 */
export interface TreeChange {
  kind: 'created' | 'deleted' | 'dataChanged';
  path: string;
  acl: readonly ACL[];
  /** For created / deleted: the parent's ACL, which guards NodeChildrenChanged. */
  parentAcl: readonly ACL[];
}

export interface ApplyResult {
  err: number;
  path?: string;
  /**
   * The node a create, setData, setACL or check left, whose Stat the reply carries: read it
   * (statOf, writeStat) before the next txn applies, which may change it. A write's reply is
   * sent in the same turn as its apply, so it builds no Stat object.
   */
  node?: ZNode;
  multiResults?: OpResult[];
}

/** A key that identifies an ACL list by content, for interning. */
function aclKey(acl: readonly ACL[]): string {
  let key = '';
  for (const a of acl) key += `${a.perms}\u0000${a.id.scheme}\u0000${a.id.id}\u0001`;
  return key;
}

/** Whether two ACL lists hold the same entries in the same order. */
function sameAcl(a: readonly ACL[], b: readonly ACL[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined) return false;
    if (x.perms !== y.perms || x.id.scheme !== y.id.scheme || x.id.id !== y.id.id) return false;
  }
  return true;
}

/**
 * A quota's usage could not be counted: its stats node is missing, or holds text ZooKeeper
 * cannot parse (ZooKeeper logs the first; the second stops its server).
 */
export interface QuotaProblem {
  kind: 'missingStats' | 'unreadableStats';
  root: string;
  statsPath: string;
}

const ignoreQuotaProblem = (): void => undefined;

export class DataTree {
  /** The node table: path -> the node's slot in `store`. */
  private readonly slots = new Map<string, number>();
  /** This tree's node records (see ZNode). */
  private readonly store = new NodeStore();
  readonly ephemerals = new Map<bigint, Set<string>>();
  /** Most ephemerals each session has held at once: sizes ZooKeeper's per-session HashSet. */
  private readonly ephemeralsHighWater = new Map<bigint, number>();
  readonly containers = new Set<string>();
  readonly ttls = new Set<string>();
  /** Most entries `containers` / `ttls` have held at once: sizes ZooKeeper's maps of them. */
  containersHighWater = 0;
  ttlsHighWater = 0;
  lastProcessedZxid = 0;
  /** Total bytes of znode data and paths, as `mntr` approximates it. */
  approximateDataSize = 0;
  /**
   * One frozen copy of each distinct ACL list, shared by every node that has it (as
   * ZooKeeper's ACL cache): most trees use a handful of lists over millions of nodes.
   */
  private readonly aclLists = new Map<string, readonly ACL[]>();
  /** The list internAcl returned last (cleared with aclLists). */
  private lastAcl: readonly ACL[] | null = null;
  /** Paths with a zookeeper_limits node, whose writes the quota stats count. */
  private readonly quotaRoots = new QuotaRoots();
  /** Told when a quota's usage cannot be counted (the server logs it). */
  onQuotaProblem: (problem: QuotaProblem) => void = ignoreQuotaProblem;
  /**
   * Told when a setACL replaces a node's list, with the list it had: each snapshot being written
   * may need it (its ACL table was written when it began and may lack the new list). Several
   * snapshots may be written at once (a snapshot file and SNAP transfers to learners).
   */
  readonly aclReplacedListeners = new Set<(path: string, previous: readonly ACL[]) => void>();

  constructor(readonly extendedTypesEnabled = false) {
    const root = this.newNode('', OPEN_ACL_UNSAFE, 0, 0, 0, 0, 0, 0, 0, 0n, 0);
    this.slots.set('/', root.slot);
    this.addSystemNode(ZOOKEEPER_PATH, OPEN_ACL_UNSAFE);
    this.addSystemNode(QUOTA_PATH, OPEN_ACL_UNSAFE);
    const config = this.addSystemNode(CONFIG_PATH, READ_ACL_UNSAFE);
    // ZooKeeper sets this ACL with version -1 when it builds the tree, and stores that as aversion.
    config.aversion = -1;
  }

  /** The shared copy of this ACL list. */
  internAcl(acl: readonly ACL[]): readonly ACL[] {
    // Most creates carry the same one-entry list as the last one: skip building its key.
    const last = this.lastAcl;
    if (last !== null && sameAcl(acl, last)) return last;
    const interned = this.internByKey(acl);
    this.lastAcl = interned;
    return interned;
  }

  private internByKey(acl: readonly ACL[]): readonly ACL[] {
    const key = aclKey(acl);
    const known = this.aclLists.get(key);
    if (known !== undefined) return known;
    const copy = Object.freeze(acl.map((a) => Object.freeze({ perms: a.perms, id: Object.freeze({ scheme: a.id.scheme, id: a.id.id }) })));
    this.aclLists.set(key, copy);
    return copy;
  }

  /**
   * Every ACL list a node of this tree may hold, besides OPEN_ACL_UNSAFE: the system nodes'
   * and every list interned since the tree was built or restored (some may be used no more).
   */
  *knownAcls(): IterableIterator<readonly ACL[]> {
    yield READ_ACL_UNSAFE;
    yield* this.aclLists.values();
  }

  /** A node of this tree (not yet in it: see restoreNode). */
  newNode(
    data: string | null,
    acl: readonly ACL[],
    czxid: number,
    mzxid: number,
    ctime: number,
    mtime: number,
    version: number,
    cversion: number,
    aversion: number,
    ephemeralOwner: bigint,
    pzxid: number,
  ): ZNode {
    return ZNode.init(this.store, data, acl, czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner, pzxid);
  }

  /** Adds `path` (the string that keys the node table, so it is stored once) to its parent. */
  private static addChild(parent: ZNode, path: string): void {
    if (parent.childPaths === NO_CHILDREN) parent.childPaths = new Set([path]);
    else (parent.childPaths as Set<string>).add(path);
  }

  private static removeChild(parent: ZNode, path: string): void {
    if (parent.childPaths.size === 1 && parent.childPaths.has(path)) parent.childPaths = NO_CHILDREN;
    else (parent.childPaths as Set<string>).delete(path);
  }

  private addSystemNode(path: string, acl: readonly ACL[]): ZNode {
    const node = this.newNode('', acl, 0, 0, 0, 0, 0, 0, 0, 0n, 0);
    this.slots.set(path, node.slot);
    DataTree.addChild(this.mustGet(parentOf(path)), path);
    this.approximateDataSize += path.length;
    return node;
  }

  /** The znode at `path` ("" is the root too, as in ZooKeeper's node table). */
  get(path: string): ZNode | undefined {
    return this.view(path === '' ? '/' : path);
  }

  /** A view of the node at `path` (exactly as keyed). */
  private view(path: string): ZNode | undefined {
    const slot = this.slots.get(path);
    return slot === undefined ? undefined : new ZNode(this.store, slot);
  }

  private mustGet(path: string): ZNode {
    const node = this.view(path);
    assert(node !== undefined, () => `znode ${path} must exist`);
    return node;
  }

  get size(): number {
    return this.slots.size;
  }

  /** Every path in the tree, in the node table's order. */
  paths(): IterableIterator<string> {
    return this.slots.keys();
  }

  /** Every node with its path, in the node table's order. */
  *entries(): IterableIterator<[string, ZNode]> {
    for (const [path, slot] of this.slots) yield [path, new ZNode(this.store, slot)];
  }

  /** The Stat a client sees for `node`. */
  statOf(node: ZNode): Stat {
    return {
      czxid: node.czxid,
      mzxid: node.mzxid,
      ctime: node.ctime,
      mtime: node.mtime,
      version: node.version,
      cversion: node.cversion * 2 - node.childCount,
      aversion: node.aversion,
      ephemeralOwner: clientEphemeralOwner(node.ephemeralOwner, this.extendedTypesEnabled),
      dataLength: node.dataLength,
      numChildren: node.childCount,
      pzxid: node.pzxid,
    };
  }

  /** Writes the Stat a client sees for `node` (as statOf, without building it). */
  writeStat(w: JuteWriter, node: ZNode): void {
    node.writeClientStat(w, clientEphemeralOwner(node.ephemeralOwner, this.extendedTypesEnabled));
  }

  /** Writes the node's data as a jute buffer. */
  writeData(w: JuteWriter, node: ZNode): void {
    w.writeLatin1Buffer(node.dataLatin1);
  }

  /** Writes the names of the node's children as a jute vector of strings. */
  writeChildren(w: JuteWriter, node: ZNode): void {
    w.writeInt(node.childCount);
    for (const p of node.childPaths) w.writeString(baseName(p));
  }

  /** Sets the server's ACL of /zookeeper/config data (e.g. the ensemble description). */
  setConfigData(data: Buffer, stamp?: { readonly zxid: number; readonly mtimeMs: number }): void {
    const node = this.mustGet(CONFIG_PATH);
    node.dataLatin1 = latin1Of(data);
    // ZKDatabase.initConfigInZKDatabase: a setData with version -1 at the config's version as zxid.
    if (stamp === undefined) return;
    node.version = -1;
    node.mzxid = stamp.zxid;
    node.mtime = stamp.mtimeMs;
  }

  /** Applies one txn. Idempotent failures (replay of already-applied txns) come back as err. */
  applyTxn(header: TxnHeader, txn: Txn, changes: TreeChange[]): ApplyResult {
    if (header.zxid > this.lastProcessedZxid) this.lastProcessedZxid = header.zxid;
    return this.applyOne(header, txn, changes);
  }

  private applyOne(header: TxnHeader, txn: Txn, changes: TreeChange[]): ApplyResult {
    switch (txn.type) {
      case OpCode.create:
      case OpCode.create2:
        return this.create(header, txn.path, txn.data, txn.acl, txn.ephemeral ? header.clientId : 0n, txn.parentCVersion, changes);
      case OpCode.createContainer:
        return this.create(header, txn.path, txn.data, txn.acl, CONTAINER_EPHEMERAL_OWNER, txn.parentCVersion, changes);
      case OpCode.createTTL:
        return this.create(header, txn.path, txn.data, txn.acl, ttlOwner(txn.ttl), txn.parentCVersion, changes);
      case OpCode.delete:
      case OpCode.deleteContainer:
        return this.deleteNode(txn.path, header.zxid, changes);
      case OpCode.setData:
        return this.setData(header, txn.path, txn.data, txn.version, changes);
      case OpCode.setACL:
        return this.setAcl(txn.path, txn.acl, txn.version);
      case OpCode.check: {
        const node = this.view(txn.path);
        return node === undefined ? { err: ErrorCode.NONODE } : { err: 0, path: txn.path, node };
      }
      case OpCode.createSession:
        return { err: 0 };
      case OpCode.closeSession:
        this.killSession(header.clientId, header.zxid, txn.paths2Delete, changes);
        return { err: 0 };
      case OpCode.error:
        return { err: txn.err };
      case OpCode.multi:
        return this.multi(header, txn.txns, changes);
    }
  }

  private multi(header: TxnHeader, txns: readonly Txn[], changes: TreeChange[]): ApplyResult {
    // ZooKeeper logs a failed multi with its earlier ops as real txns followed by error txns;
    // any error entry means the whole multi failed and nothing of it is applied.
    const failedAt = txns.findIndex((t) => t.type === OpCode.error);
    if (failedAt >= 0) {
      const multiResults: OpResult[] = txns.map((t, i) => ({
        type: OpCode.error,
        err: t.type === OpCode.error ? t.err : i < failedAt ? 0 : ErrorCode.RUNTIMEINCONSISTENCY,
      }));
      return { err: 0, multiResults };
    }
    const multiResults: OpResult[] = [];
    for (const sub of txns) {
      const res = this.applyOne(header, sub, changes);
      multiResults.push(this.resultOf(sub, res));
    }
    return { err: 0, multiResults };
  }

  /**
   * The per-op result ZooKeeper reports for a sub-txn of a multi. Its Stat is taken now: a
   * later op of the multi may change the node.
   */
  private resultOf(txn: Txn, res: ApplyResult): OpResult {
    if (res.err !== 0 || txn.type === OpCode.error) return { type: OpCode.error, err: res.err };
    switch (txn.type) {
      case OpCode.create:
        return { type: OpCode.create, path: res.path ?? '' };
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        assert(res.node !== undefined, 'create returns its node');
        return { type: OpCode.create2, path: res.path ?? '', stat: this.statOf(res.node) };
      case OpCode.delete:
      case OpCode.deleteContainer:
        return { type: OpCode.delete };
      case OpCode.setData:
        assert(res.node !== undefined, 'setData returns its node');
        return { type: OpCode.setData, stat: this.statOf(res.node) };
      case OpCode.check:
        return { type: OpCode.check };
      default:
        return { type: OpCode.error, err: ErrorCode.RUNTIMEINCONSISTENCY };
    }
  }

  private create(
    header: TxnHeader,
    path: string,
    data: Buffer | null,
    acl: readonly ACL[],
    owner: bigint,
    parentCVersion: number,
    changes: TreeChange[],
  ): ApplyResult {
    const parentPath = parentOf(path);
    const parent = this.view(parentPath);
    if (parent === undefined) return { err: ErrorCode.NONODE };
    if (parent.childPaths.has(path)) {
      // Replaying a fuzzy snapshot's log can meet a node the snapshot already holds while the
      // parent was serialized before it: the parent's counters still move forward, so the
      // recovered state equals the live one (for every kind of create).
      if (parentCVersion > parent.cversion) {
        parent.cversion = parentCVersion;
        parent.pzxid = header.zxid;
      }
      return { err: ErrorCode.NODEEXISTS };
    }
    // A txn carries the parent's counter after this create; replay may see it already applied.
    if (parentCVersion === -1) parentCVersion = parent.cversion + 1;
    if (parentCVersion > parent.cversion) {
      parent.cversion = parentCVersion;
      parent.pzxid = header.zxid;
    }
    const zxid = header.zxid;
    const node = this.newNode(latin1Of(data), this.internAcl(acl), zxid, zxid, header.time, header.time, 0, 0, 0, owner, zxid);
    DataTree.addChild(parent, path);
    this.slots.set(path, node.slot);
    this.approximateDataSize += path.length + node.dataLength;
    this.indexOwner(path, owner, true);
    changes.push({ kind: 'created', path, acl, parentAcl: parent.acl });
    if (this.quotaRoots.size !== 0 || parentPath.startsWith(QUOTA_PATH)) this.createdForQuota(parentPath, path, node.dataLength);
    return { err: 0, path, node };
  }

  private indexOwner(path: string, owner: bigint, add: boolean): void {
    const kind = nodeKind(owner, this.extendedTypesEnabled);
    if (kind === 'container') {
      if (add) this.containers.add(path);
      else this.containers.delete(path);
      this.containersHighWater = Math.max(this.containersHighWater, this.containers.size);
    } else if (kind === 'ttl') {
      if (add) this.ttls.add(path);
      else this.ttls.delete(path);
      this.ttlsHighWater = Math.max(this.ttlsHighWater, this.ttls.size);
    } else if (kind === 'ephemeral') {
      let set = this.ephemerals.get(owner);
      if (add) {
        if (set === undefined) this.ephemerals.set(owner, (set = new Set()));
        set.add(path);
        if (set.size > (this.ephemeralsHighWater.get(owner) ?? 0)) this.ephemeralsHighWater.set(owner, set.size);
      } else if (set !== undefined) {
        set.delete(path);
        if (set.size === 0) this.ephemerals.delete(owner);
      }
    }
  }

  private deleteNode(path: string, zxid: number, changes: TreeChange[]): ApplyResult {
    const node = this.view(path);
    if (node === undefined || path === '/') {
      // Replaying a fuzzy snapshot's log can meet a child deleted after its parent was
      // serialized but before the child was: the parent's pzxid still records the delete.
      const parent = path === '/' ? undefined : this.view(parentOf(path));
      if (parent !== undefined && zxid > parent.pzxid) parent.pzxid = zxid;
      return { err: ErrorCode.NONODE };
    }
    const parent = this.mustGet(parentOf(path));
    this.slots.delete(path);
    DataTree.removeChild(parent, path);
    if (zxid > parent.pzxid) parent.pzxid = zxid;
    this.approximateDataSize -= path.length + node.dataLength;
    this.indexOwner(path, node.ephemeralOwner, false);
    changes.push({ kind: 'deleted', path, acl: node.acl, parentAcl: parent.acl });
    if (this.quotaRoots.size !== 0) this.quotaNodeDeleted(path, node.dataLength);
    this.store.free(node.slot);
    return { err: 0 };
  }

  private setData(header: TxnHeader, path: string, data: Buffer | null, version: number, changes: TreeChange[]): ApplyResult {
    const node = this.view(path);
    if (node === undefined) return { err: ErrorCode.NONODE };
    const bytesDiff = (data === null ? 0 : data.length) - node.dataLength;
    this.approximateDataSize += bytesDiff;
    node.dataLatin1 = latin1Of(data);
    node.version = version;
    node.mzxid = header.zxid;
    node.mtime = header.time;
    changes.push({ kind: 'dataChanged', path, acl: node.acl, parentAcl: NO_ACL });
    if (this.quotaRoots.size !== 0) this.countInQuota(path, bytesDiff, 0);
    return { err: 0, path, node };
  }

  private setAcl(path: string, acl: readonly ACL[], version: number): ApplyResult {
    const node = this.view(path);
    if (node === undefined) return { err: ErrorCode.NONODE };
    const previous = node.acl;
    node.acl = this.internAcl(acl);
    node.aversion = version;
    for (const listener of this.aclReplacedListeners) listener(path, previous);
    return { err: 0, path, node };
  }

  private killSession(sessionId: bigint, zxid: number, paths: readonly string[] | null, changes: TreeChange[]): void {
    const owned = paths ?? [...(this.ephemerals.get(sessionId) ?? [])];
    for (const path of owned) this.deleteNode(path, zxid, changes);
    this.ephemeralsHighWater.delete(sessionId);
  }

  /** The most ephemerals `sessionId` has held at once (0 if none). */
  ephemeralsHighWaterOf(sessionId: bigint): number {
    return this.ephemeralsHighWater.get(sessionId) ?? 0;
  }

  /** Empties the tree before a snapshot is loaded into it (the snapshot holds every node). */
  clearForRestore(): void {
    for (const slot of this.slots.values()) this.store.free(slot);
    this.slots.clear();
    this.ephemerals.clear();
    this.ephemeralsHighWater.clear();
    this.containers.clear();
    this.ttls.clear();
    this.containersHighWater = 0;
    this.ttlsHighWater = 0;
    this.aclLists.clear();
    this.lastAcl = null;
    this.approximateDataSize = 0;
    this.quotaRoots.clear();
  }

  /**
   * Adds a node read from a snapshot, parents first. False if its parent is missing.
   * Children sets and the ephemeral / container / TTL indexes are rebuilt from the nodes.
   */
  restoreNode(path: string, node: ZNode): boolean {
    if (path !== '/') {
      const parent = this.view(parentOf(path));
      if (parent === undefined) return false;
      DataTree.addChild(parent, path);
      this.indexOwner(path, node.ephemeralOwner, true);
    }
    this.slots.set(path, node.slot);
    this.approximateDataSize += path.length + node.dataLength;
    return true;
  }

  // ------------------------------------------------------------------ quotas (ZooKeeper's DataTree)

  /** The deepest quota root at or above `path`, or null (ZooKeeper's getMaxPrefixWithQuota). */
  quotaRootOf(path: string): QuotaRoot | null {
    return this.quotaRoots.size === 0 ? null : this.quotaRoots.deepestFor(path);
  }

  /**
   * A zookeeper_limits node makes its parent's path a quota root; a zookeeper_stats node is
   * recounted. Then the create is counted with `bytes`, the txn's data length (a stats node's
   * own data has just been replaced by its recount).
   */
  private createdForQuota(parentPath: string, path: string, bytes: number): void {
    if (parentPath.startsWith(QUOTA_PATH)) {
      const name = baseName(path);
      if (name === QUOTA_LIMITS_NODE) this.quotaRoots.add(quotaRootOfParent(parentPath));
      if (name === QUOTA_STATS_NODE) this.recountQuota(quotaRootOfParent(parentPath));
    }
    if (this.quotaRoots.size !== 0) this.countInQuota(path, bytes, 1);
  }

  private quotaNodeDeleted(path: string, bytes: number): void {
    // ZooKeeper tests the parent against /zookeeper here, not /zookeeper/quota; a parent no
    // longer than /zookeeper/quota makes its server fail, and changes no root here.
    const parentPath = path.slice(0, path.lastIndexOf('/'));
    if (baseName(path) === QUOTA_LIMITS_NODE && parentPath.startsWith(ZOOKEEPER_PATH) && parentPath.length > QUOTA_PATH.length) {
      this.quotaRoots.delete(quotaRootOfParent(parentPath));
    }
    this.countInQuota(path, -bytes, -1);
  }

  /**
   * Adds a write's change to the stats of the deepest quota root over `path` (only that one:
   * an enclosing root does not count it). The stats node's data changes in place: its Stat
   * (version, mzxid) stays as it was, as in ZooKeeper.
   */
  private countInQuota(path: string, bytesDiff: number, countDiff: number): void {
    const quota = this.quotaRoots.deepestFor(path);
    if (quota === null) return;
    const node = this.view(quota.statsPath);
    if (node === undefined) {
      this.onQuotaProblem({ kind: 'missingStats', root: quota.path, statsPath: quota.statsPath });
      return;
    }
    const stats = quota.stats(node.dataLatin1);
    if (stats === null) {
      this.onQuotaProblem({ kind: 'unreadableStats', root: quota.path, statsPath: quota.statsPath });
      return;
    }
    stats.set('count', addLong(statsValue(stats, 'count'), BigInt(countDiff)));
    stats.set('bytes', addLong(statsValue(stats, 'bytes'), BigInt(bytesDiff)));
    const text = formatStatsTrack(stats);
    const data = onlyCounts(stats) ? text : dataOfText(text);
    node.dataLatin1 = data;
    quota.statsWritten(data, stats);
  }

  /** Sets a root's stats to the count and bytes of its subtree as it is now (ZooKeeper's updateQuotaForPath). */
  private recountQuota(root: string): void {
    let count = 0;
    let bytes = 0;
    const stack: string[] = [root];
    for (let p = stack.pop(); p !== undefined; p = stack.pop()) {
      const n = this.get(p);
      if (n === undefined) continue;
      count++;
      bytes += n.dataLength;
      for (const c of n.childPaths) stack.push(c);
    }
    const statsPath = quotaStatsPath(root);
    const node = this.view(statsPath);
    if (node === undefined) {
      this.onQuotaProblem({ kind: 'missingStats', root, statsPath });
      return;
    }
    node.dataLatin1 = `count=${count},bytes=${bytes}`;
  }

  /**
   * After a snapshot is loaded: every zookeeper_limits leaf under /zookeeper/quota makes a
   * quota root again and its stats are recounted from the tree, as ZooKeeper does when it
   * loads a snapshot (so stats that had drifted, e.g. under nested quotas, come back counted).
   */
  restoreQuotas(): void {
    this.quotaRoots.clear();
    const stack: string[] = [QUOTA_PATH];
    const limitsSuffix = `/${QUOTA_LIMITS_NODE}`;
    for (let p = stack.pop(); p !== undefined; p = stack.pop()) {
      const node = this.view(p);
      if (node === undefined) continue;
      for (const c of node.childPaths) stack.push(c);
      if (node.childCount !== 0 || !p.endsWith(limitsSuffix)) continue;
      const root = p.slice(QUOTA_PATH.length, p.indexOf(limitsSuffix));
      this.recountQuota(root);
      this.quotaRoots.add(root);
    }
  }

  /** This session's ephemeral paths (ZooKeeper's getEphemerals). */
  ephemeralsOf(sessionId: bigint): readonly string[] {
    return [...(this.ephemerals.get(sessionId) ?? [])];
  }

  /** Number of descendants of `path` (not counting itself). */
  countDescendants(path: string): number {
    if (path === '/') return this.slots.size - 1;
    const node = this.view(path);
    if (node === undefined) return 0;
    let total = 0;
    const stack: string[] = [path];
    for (let p = stack.pop(); p !== undefined; p = stack.pop()) {
      const n = this.view(p);
      if (n === undefined) continue;
      total += n.childCount;
      for (const c of n.childPaths) stack.push(c);
    }
    return total;
  }
}
