/**
 * Request -> txn (ZooKeeper's PrepRequestProcessor): validates a write against the tree plus
 * the writes already prepared but not yet applied, checks ACLs, assigns the zxid, and returns
 * the txn to log and apply. Failures become error txns, which consume a zxid as in ZooKeeper.
 */
/* eslint-disable @typescript-eslint/only-throw-error -- PrepError is control flow; see its comment. */
import { assert, EPOCH_MAX, ZXID_COUNTER_SPAN, epochOfZxid, TTL_MS_MAX, javaHashCapacity, javaClosingSetOrder } from '../base/index.js';
import {
  OpCode,
  ErrorCode,
  Perms,
  isEphemeralMode,
  isSequentialMode,
  isTtlMode,
  CreateMode,
  type ACL,
  type Id,
  type Request,
  type RequestOf,
  type Txn,
  type TxnHeader,
} from '../codec/index.js';
import {
  type DataTree,
  invalidPathReason,
  parentOf,
  sequenceSuffix,
  nodeKind,
  ZOOKEEPER_PATH,
  QUOTA_PATH,
  CONFIG_PATH,
  CONTAINER_EPHEMERAL_OWNER,
  ttlOwner,
} from '../tree/index.js';
import { aclPermits, fixupAcl } from './auth.js';
import { checkQuota, type QuotaExceeded } from './quota-check.js';

/**
 * The parts of a znode prep reads: a tree node (ZNode has these fields) or a pending record.
 * Read-only here, and only within one prepare call (a ZNode view reads the live tree).
 */
interface NodeRecord {
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  readonly ephemeralOwner: bigint;
  readonly childCount: number;
  readonly acl: readonly ACL[];
  /** The data's length (a setData's quota check counts the difference). */
  readonly dataLength: number;
}

/**
 * A znode as it will be once the txn `zxid` (and every one before it) is applied, or its
 * deletion (`exists` false). The same object is the node table entry and the zxid-order entry.
 */
class PendingRecord implements NodeRecord {
  constructor(
    readonly path: string,
    readonly zxid: number,
    readonly exists: boolean,
    public version: number,
    public cversion: number,
    public aversion: number,
    readonly ephemeralOwner: bigint,
    public childCount: number,
    readonly acl: readonly ACL[],
    public dataLength: number,
  ) {}
}

/** Stands in for a path's record once its txn has applied (zxid 0: stale to every check). */
const APPLIED = new PendingRecord('', 0, false, 0, 0, 0, 0n, 0, [], 0);

export interface PrepContext {
  sessionId: bigint;
  cxid: number;
  authIds: readonly Id[];
  nowMs: number;
  /**
   * Non-zero: an ephemeral create of this session fails with this code, checked where
   * ZooKeeper checks that the session is global (after the mode and TTL checks). Local
   * sessions set it: EPHEMERALONLOCALSESSION for one this server may not upgrade, and
   * SESSIONEXPIRED on a leader for a forwarded session it does not know as global.
   */
  ephemeralRefusal?: number;
}

export interface PrepSettings {
  extendedTypesEnabled: boolean;
  skipAcl: boolean;
  /** ZooKeeper's zookeeper.enforceQuota: creates and setData over a hard quota limit fail with QUOTAEXCEEDED. */
  enforceQuota: boolean;
  /** Told of every write that goes over a quota limit, soft or hard, enforced or not (for a warning). */
  quotaExceeded?: (e: QuotaExceeded) => void;
}

const NO_ACL: readonly ACL[] = Object.freeze([]);

const SPECIAL_PATHS = new Set(['/', ZOOKEEPER_PATH, QUOTA_PATH, CONFIG_PATH]);

/**
 * A client-visible failure: becomes an ErrorTxn. Not an Error on purpose: NodeExists and
 * friends are ordinary outcomes on the write path, and capturing a stack for each is waste.
 */
class PrepError {
  constructor(readonly code: number) {}
}

/** A failure of the whole request: inside a multi, the whole multi fails with it (no per-op results). */
class RequestError extends PrepError {}

const ignoreQuotaExceeded = (): void => undefined;

export interface Prepared {
  header: TxnHeader;
  txn: Txn;
}

type WriteRequest = RequestOf<
  | typeof OpCode.create
  | typeof OpCode.create2
  | typeof OpCode.createContainer
  | typeof OpCode.createTTL
  | typeof OpCode.delete
  | typeof OpCode.deleteContainer
  | typeof OpCode.setData
  | typeof OpCode.setACL
  | typeof OpCode.check
>;

export class RequestPreparer {
  /**
   * The latest record prepared for each path. A record is stale once the tree has applied its
   * txn (zxid <= appliedZxid): the tree then answers for the path. Stale records stay and are
   * swept in bulk, except that of a path the txn deleted (see `applied`).
   */
  private readonly pending = new Map<string, PendingRecord>();
  /** Every pending record in zxid order (ones replaced in `pending` are skipped when reached). */
  private readonly pendingOrder: PendingRecord[] = [];
  private pendingHead = 0;
  private appliedZxid: number;
  private nextZxid: number;

  constructor(
    private readonly tree: DataTree,
    private readonly settings: PrepSettings,
  ) {
    this.appliedZxid = tree.lastProcessedZxid;
    this.nextZxid = tree.lastProcessedZxid + 1;
  }

  get lastPreparedZxid(): number {
    return this.nextZxid - 1;
  }

  /**
   * The tree has applied every txn up to `zxid`: their records go stale.
   *
   * Why stale records are swept in bulk rather than deleted as each txn applies: a Map whose
   * entries come and go rehashes every few dozen writes, and V8 links each discarded hash
   * table to its successor. Once one table has been promoted to the old generation, that
   * dead table keeps every later table, and the young records in it, alive through each
   * young-generation collection, so all of them were promoted in turn: under 64 clients of
   * one setData each, ~370 KB promoted and ~600 KB copied per scavenge, 5.5 ms pauses. With
   * entries overwritten in place it is ~20 KB and ~300 KB, 3 ms. A path's record is deleted at
   * once only when the txn deleted the path.
   *
   * An applied record itself is let go at once: its entry (and its slot in the queue) now holds
   * the shared APPLIED stand-in, an overwrite in place. Kept until the path's next write, the
   * last record of every written path was still live at each scavenge and copied: with 1,000
   * nodes under setData that halved what a scavenge copies (32 x 8: ~350 -> ~190 KB; 8 x 1:
   * ~250 -> ~115 KB) and cut the mean pause from 3.7 to 2.1-2.9 ms and from 3.3 to 1.9 ms.
   */
  applied(zxid: number): void {
    this.appliedZxid = zxid;
    // Walk the zxid-ordered queue from its head (ZooKeeper's outstandingChanges).
    while (this.pendingHead < this.pendingOrder.length) {
      const entry = this.pendingOrder[this.pendingHead];
      if (entry === undefined || entry.zxid > zxid) break;
      this.pendingOrder[this.pendingHead++] = APPLIED;
      // Only a path's latest record is replaced (a later write's record may have taken its
      // entry). A deleted path's record goes at once: the path is usually not written again (a
      // create/delete churn of fresh names would otherwise fill the table to each sweep).
      if (this.pending.get(entry.path) !== entry) continue;
      if (!entry.exists) this.pending.delete(entry.path);
      else this.pending.set(entry.path, APPLIED);
    }
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pendingOrder.length) {
      this.pendingOrder.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    // Amortized: a sweep runs once the table holds more than twice the pending records + 1024.
    if (this.pending.size > 2 * (this.pendingOrder.length - this.pendingHead) + 1024) {
      for (const [path, p] of this.pending) if (p.zxid <= zxid) this.pending.delete(path);
    }
  }

  /** The latest record for `path` if its txn is not yet applied. */
  private livePending(path: string): PendingRecord | undefined {
    const p = this.pending.get(path);
    return p !== undefined && p.zxid > this.appliedZxid ? p : undefined;
  }

  /**
   * A new leader's epoch begins (ZAB's NEWLEADER): zxids go on as epoch * 2^32 + counter, the
   * counter from 0, so the epoch's first txn is epoch * 2^32 + 1 as in ZooKeeper. Records
   * prepared in an earlier epoch and never applied are dropped: what was not committed is gone.
   */
  resetEpoch(epoch: number): void {
    assert(Number.isInteger(epoch) && epoch >= 0 && epoch <= EPOCH_MAX, () => `epoch ${epoch} out of range`);
    const first = epoch * ZXID_COUNTER_SPAN;
    assert(first >= this.appliedZxid, () => `epoch ${epoch} starts below the applied zxid ${this.appliedZxid}`);
    this.pending.clear();
    this.pendingOrder.length = 0;
    this.pendingHead = 0;
    this.nextZxid = first + 1;
  }

  private takeZxid(): number {
    const zxid = this.nextZxid++;
    // ZooKeeper's leader gives up its leadership (a new election) before the counter wraps.
    assert(zxid % ZXID_COUNTER_SPAN !== 0, () => `zxid counter exhausted in epoch ${epochOfZxid(zxid) - 1}`);
    return zxid;
  }

  private header(ctx: PrepContext, type: number, zxid: number): TxnHeader {
    return { clientId: ctx.sessionId, cxid: ctx.cxid, zxid, time: ctx.nowMs, type };
  }

  createSession(ctx: PrepContext, timeoutMs: number): Prepared {
    const zxid = this.takeZxid();
    return { header: this.header(ctx, OpCode.createSession, zxid), txn: { type: OpCode.createSession, timeOut: timeoutMs } };
  }

  closeSession(ctx: PrepContext): Prepared {
    const zxid = this.takeZxid();
    const current = this.tree.ephemeralsOf(ctx.sessionId);
    const removed = new Set<string>();
    const added: string[] = [];
    // Like ZooKeeper: drop ephemerals a pending txn deletes (another session may re-create
    // them), add those pending creates will make.
    // The latest record of each path, in zxid order (ZooKeeper walks outstandingChanges).
    for (let i = this.pendingHead; i < this.pendingOrder.length; i++) {
      const p = this.pendingOrder[i] as PendingRecord;
      const path = p.path;
      if (this.pending.get(path) !== p) continue;
      if (!p.exists) removed.add(path);
      else if (p.ephemeralOwner === ctx.sessionId) added.push(path);
      else if (current.includes(path)) removed.add(path);
    }
    // ZooKeeper walks a HashSet, so watchers see the deletions in Java hash order.
    const capacity = javaHashCapacity(this.tree.ephemeralsHighWaterOf(ctx.sessionId));
    const paths = javaClosingSetOrder(current, capacity, removed, added);
    for (const path of paths) this.setDeleted(path, zxid);
    return { header: this.header(ctx, OpCode.closeSession, zxid), txn: { type: OpCode.closeSession, paths2Delete: paths } };
  }

  /** An error txn for a write that could not even be decoded (consumes a zxid, as in ZooKeeper). */
  prepareError(ctx: PrepContext, err: number): Prepared {
    const zxid = this.takeZxid();
    return { header: this.header(ctx, OpCode.error, zxid), txn: { type: OpCode.error, err } };
  }

  /**
   * A reconfig, as ZooKeeper's prep runs it: the zxid is taken first (a refused reconfig is an
   * error txn too), `decide` (the leader's checks, in ZooKeeper's order) gets it as the new
   * config's version and answers an error code or the new config's text, and the ACL check on
   * /zookeeper/config (world READ only: a super user, or skipACL) comes last. The txn is a
   * SetDataTxn of that text on /zookeeper/config, version -1, under a reconfig header.
   */
  prepareReconfig(ctx: PrepContext, decide: (zxid: number) => number | Buffer): Prepared {
    const zxid = this.takeZxid();
    const decided = decide(zxid);
    let err = typeof decided === 'number' ? decided : 0;
    if (err === 0) {
      const node = this.tree.get(CONFIG_PATH);
      assert(node !== undefined, () => `${CONFIG_PATH} must exist`);
      if (!aclPermits(node.acl, Perms.WRITE, ctx.authIds, this.settings.skipAcl)) err = ErrorCode.NOAUTH;
    }
    if (err !== 0 || typeof decided === 'number') {
      return { header: this.header(ctx, OpCode.error, zxid), txn: { type: OpCode.error, err } };
    }
    return {
      header: this.header(ctx, OpCode.reconfig, zxid),
      txn: { type: OpCode.setData, path: CONFIG_PATH, data: decided, version: -1 },
    };
  }

  /** Prepares a write request, or a multi. */
  prepare(ctx: PrepContext, req: WriteRequest | RequestOf<typeof OpCode.multi>): Prepared {
    const zxid = this.takeZxid();
    if (req.op === OpCode.multi) {
      const txn = this.prepareMulti(ctx, normalizeMultiOps(req.ops), zxid);
      if (txn === null) {
        return { header: this.header(ctx, OpCode.error, zxid), txn: { type: OpCode.error, err: ErrorCode.MARSHALLINGERROR } };
      }
      return { header: this.header(ctx, OpCode.multi, zxid), txn };
    }
    try {
      const txn = this.prepareOne(ctx, req, zxid);
      return { header: this.header(ctx, req.op, zxid), txn };
    } catch (e) {
      if (!(e instanceof PrepError)) throw e;
      return { header: this.header(ctx, OpCode.error, zxid), txn: { type: OpCode.error, err: e.code } };
    }
  }

  /** The multi txn, or null when the whole multi fails to marshal (as ZooKeeper's does). */
  private prepareMulti(ctx: PrepContext, ops: readonly Request[], zxid: number): Txn | null {
    const saved = new Map<string, PendingRecord | undefined>();
    const txns: Txn[] = [];
    let failedAt = -1;
    let failure = 0;
    let unmarshallable = false;
    for (let i = 0; i < ops.length && failedAt < 0; i++) {
      const op = ops[i];
      assert(op !== undefined, 'multi op');
      if (isTtlFlagsOnPlainCreate(op)) {
        unmarshallable = true; // ZooKeeper fails the whole multi when it reaches such an op
        failedAt = i;
        break;
      }
      try {
        txns.push(this.prepareOne(ctx, op as WriteRequest, zxid, saved));
      } catch (e) {
        if (!(e instanceof PrepError)) throw e;
        failedAt = i;
        failure = e.code;
        unmarshallable = e instanceof RequestError;
      }
    }
    if (failedAt < 0) return { type: OpCode.multi, txns };
    // Roll back this multi's pending records; every op reports as ZooKeeper reports it.
    for (const [path, prev] of saved) {
      if (prev === undefined) this.pending.delete(path);
      else this.pending.set(path, prev);
    }
    if (unmarshallable) return null;
    const errors: Txn[] = ops.map((_, i) => ({
      type: OpCode.error,
      err: i < failedAt ? 0 : i === failedAt ? failure : ErrorCode.RUNTIMEINCONSISTENCY,
    }));
    return { type: OpCode.multi, txns: errors };
  }

  private record(path: string): NodeRecord | null {
    const p = this.livePending(path);
    if (p !== undefined) return p.exists ? p : null;
    return this.tree.get(path) ?? null;
  }

  private mustRecord(path: string): NodeRecord {
    const r = this.record(path);
    if (r === null) throw new PrepError(ErrorCode.NONODE);
    return r;
  }

  private setPending(p: PendingRecord, saved?: Map<string, PendingRecord | undefined>): PendingRecord {
    if (saved !== undefined && !saved.has(p.path)) saved.set(p.path, this.pending.get(p.path));
    this.pending.set(p.path, p);
    this.pendingOrder.push(p);
    return p;
  }

  /** Records that `path` will be as `rec` (a copy, for the caller to change) once `zxid` applies. */
  private setUpdated(path: string, zxid: number, rec: NodeRecord, saved?: Map<string, PendingRecord | undefined>): PendingRecord {
    const p = new PendingRecord(
      path,
      zxid,
      true,
      rec.version,
      rec.cversion,
      rec.aversion,
      rec.ephemeralOwner,
      rec.childCount,
      rec.acl,
      rec.dataLength,
    );
    return this.setPending(p, saved);
  }

  /** Records that `path` will be gone once `zxid` applies. */
  private setDeleted(path: string, zxid: number, saved?: Map<string, PendingRecord | undefined>): void {
    this.setPending(new PendingRecord(path, zxid, false, 0, 0, 0, 0n, 0, NO_ACL, 0), saved);
  }

  private checkAcl(acl: readonly ACL[], perm: number, ctx: PrepContext): void {
    if (!aclPermits(acl, perm, ctx.authIds, this.settings.skipAcl)) throw new PrepError(ErrorCode.NOAUTH);
  }

  private validatePath(path: string): void {
    if (invalidPathReason(path) !== null) throw new PrepError(ErrorCode.BADARGUMENTS);
  }

  /**
   * ZooKeeper's getParentPathAndValidate: rejects paths with no parent or a NUL, and for deletes
   * the special nodes ("/", /zookeeper, /zookeeper/quota, /zookeeper/config). A create of those
   * fails later with NodeExists, as in ZooKeeper.
   */
  private parentPathOf(path: string, rejectSpecial: boolean): string {
    if (path.lastIndexOf('/') < 0 || path.includes('\0') || (rejectSpecial && SPECIAL_PATHS.has(path))) {
      throw new PrepError(ErrorCode.BADARGUMENTS);
    }
    return parentOf(path);
  }

  private fixupAcl(acl: readonly ACL[], ctx: PrepContext): ACL[] {
    const fixed = fixupAcl(acl, ctx.authIds);
    if (fixed === null) throw new PrepError(ErrorCode.INVALIDACL);
    return fixed;
  }

  /**
   * ZooKeeper's checkQuota. Without enforcement it only reports (ZooKeeper 3.8 skips the check
   * then, but documents soft quotas as logged warnings, so a warning is what users expect).
   */
  private checkQuota(path: string, bytesDiff: number, countDiff: number): void {
    const { enforceQuota, quotaExceeded } = this.settings;
    if (!enforceQuota && quotaExceeded === undefined) return;
    const code = checkQuota(this.tree, path, bytesDiff, countDiff, quotaExceeded ?? ignoreQuotaExceeded);
    if (code === 0 || !enforceQuota) return;
    throw code === ErrorCode.QUOTAEXCEEDED ? new PrepError(code) : new RequestError(code);
  }

  private static checkVersion(current: number, expected: number): number {
    if (expected !== -1 && expected !== current) throw new PrepError(ErrorCode.BADVERSION);
    return (current + 1) | 0;
  }

  private prepareOne(ctx: PrepContext, req: WriteRequest, zxid: number, saved?: Map<string, PendingRecord | undefined>): Txn {
    switch (req.op) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        return this.prepareCreate(ctx, req, zxid, saved);
      case OpCode.delete:
      case OpCode.deleteContainer:
        return this.prepareDelete(ctx, req, zxid, saved);
      case OpCode.setData: {
        this.validatePath(req.path);
        const rec = this.mustRecord(req.path);
        this.checkAcl(rec.acl, Perms.WRITE, ctx);
        const dataLength = req.data === null ? 0 : req.data.length;
        this.checkQuota(req.path, dataLength - rec.dataLength, 0);
        const version = RequestPreparer.checkVersion(rec.version, req.version);
        const updated = this.setUpdated(req.path, zxid, rec, saved);
        updated.version = version;
        updated.dataLength = dataLength;
        return { type: OpCode.setData, path: req.path, data: req.data, version };
      }
      case OpCode.setACL: {
        this.validatePath(req.path);
        const acl = this.fixupAcl(req.acl, ctx);
        const rec = this.mustRecord(req.path);
        this.checkAcl(rec.acl, Perms.ADMIN, ctx);
        const version = RequestPreparer.checkVersion(rec.aversion, req.version);
        // As in ZooKeeper, the pending record takes the new aversion but keeps the old ACL, so
        // a pipelined request is checked against the ACL the node has until this one applies.
        this.setUpdated(req.path, zxid, rec, saved).aversion = version;
        return { type: OpCode.setACL, path: req.path, acl, version };
      }
      case OpCode.check: {
        this.validatePath(req.path);
        const rec = this.mustRecord(req.path);
        this.checkAcl(rec.acl, Perms.READ, ctx);
        // ZooKeeper logs the version the node would have after a write, as for setData.
        const version = RequestPreparer.checkVersion(rec.version, req.version);
        return { type: OpCode.check, path: req.path, version };
      }
    }
  }

  /**
   * Prepares a create. As in ZooKeeper, the flags name the mode (sequential, ephemeral, TTL)
   * while the opcode decides the node kind: createContainer always makes a container, createTTL
   * a TTL node, and create/create2 a plain node even with the container flag.
   */
  private prepareCreate(
    ctx: PrepContext,
    req: RequestOf<typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL>,
    zxid: number,
    saved?: Map<string, PendingRecord | undefined>,
  ): Txn {
    const mode = req.flags;
    const ttl = req.op === OpCode.createTTL ? req.ttl : -1;
    if (mode < 0 || mode > 6) throw new PrepError(ErrorCode.BADARGUMENTS);
    if (isTtlMode(mode) && !this.settings.extendedTypesEnabled) throw new PrepError(ErrorCode.UNIMPLEMENTED);
    if (isTtlMode(mode) ? ttl <= 0 || ttl > TTL_MS_MAX : ttl >= 0) throw new PrepError(ErrorCode.BADARGUMENTS);
    // ZooKeeper 3.8 accepts createTTL with a non-TTL mode and ttl < 0, then fails applying it; we refuse it.
    if (req.op === OpCode.createTTL && !isTtlMode(mode)) throw new PrepError(ErrorCode.BADARGUMENTS);
    const refusal = ctx.ephemeralRefusal ?? 0;
    if (refusal !== 0 && isEphemeralMode(mode)) throw new PrepError(refusal);
    const parentPath = this.parentPathOf(req.path, false);
    const acl = this.fixupAcl(req.acl, ctx);
    const parent = this.mustRecord(parentPath);
    this.checkAcl(parent.acl, Perms.CREATE, ctx);
    const path = isSequentialMode(mode) ? req.path + sequenceSuffix(parent.cversion) : req.path;
    this.validatePath(path);
    if (this.record(path) !== null) throw new PrepError(ErrorCode.NODEEXISTS);
    if (nodeKind(parent.ephemeralOwner, this.settings.extendedTypesEnabled) === 'ephemeral') {
      throw new PrepError(ErrorCode.NOCHILDRENFOREPHEMERALS);
    }
    const dataLength = req.data === null ? 0 : req.data.length;
    this.checkQuota(path, dataLength, 1);
    const parentCVersion = parent.cversion + 1;
    const ephemeral = req.op !== OpCode.createContainer && req.op !== OpCode.createTTL && isEphemeralMode(mode);
    const parentAfter = this.setUpdated(parentPath, zxid, parent, saved);
    parentAfter.cversion = parentCVersion;
    parentAfter.childCount++;
    const owner =
      req.op === OpCode.createContainer
        ? CONTAINER_EPHEMERAL_OWNER
        : req.op === OpCode.createTTL
          ? ttlOwner(ttl)
          : ephemeral
            ? ctx.sessionId
            : 0n;
    this.setPending(new PendingRecord(path, zxid, true, 0, 0, 0, owner, 0, acl, dataLength), saved);
    if (req.op === OpCode.createContainer) return { type: OpCode.createContainer, path, data: req.data, acl, parentCVersion };
    if (req.op === OpCode.createTTL) return { type: OpCode.createTTL, path, data: req.data, acl, parentCVersion, ttl };
    const type = req.op === OpCode.create ? OpCode.create : OpCode.create2;
    return { type, path, data: req.data, acl, ephemeral, parentCVersion };
  }

  private prepareDelete(
    ctx: PrepContext,
    req: RequestOf<typeof OpCode.delete | typeof OpCode.deleteContainer>,
    zxid: number,
    saved?: Map<string, PendingRecord | undefined>,
  ): Txn {
    const parentPath = this.parentPathOf(req.path, true);
    const parent = this.mustRecord(parentPath);
    if (req.op !== OpCode.deleteContainer) this.checkAcl(parent.acl, Perms.DELETE, ctx);
    const rec = this.mustRecord(req.path);
    if (req.op === OpCode.deleteContainer) {
      const kind = nodeKind(rec.ephemeralOwner, this.settings.extendedTypesEnabled);
      if (kind !== 'container' && kind !== 'ttl') throw new PrepError(ErrorCode.BADARGUMENTS);
    } else {
      RequestPreparer.checkVersion(rec.version, req.version);
    }
    if (rec.childCount > 0) throw new PrepError(ErrorCode.NOTEMPTY);
    this.setUpdated(parentPath, zxid, parent, saved).childCount--;
    this.setDeleted(req.path, zxid, saved);
    return { type: req.op, path: req.path };
  }
}

/**
 * Inside a multi ZooKeeper rebuilds each create from its flags (Op.create): flags 4 make a
 * container (answered with a Stat), TTL flags a TTL node when the record is a createTTL, and
 * everything else a plain create answered with the path alone. Flags are kept as sent, so
 * invalid ones still fail that op with BADARGUMENTS.
 */
function normalizeMultiOps(ops: readonly Request[]): Request[] {
  return ops.map((op): Request => {
    if (op.op !== OpCode.create && op.op !== OpCode.create2 && op.op !== OpCode.createContainer && op.op !== OpCode.createTTL) return op;
    const base = { path: op.path, data: op.data, acl: op.acl, flags: op.flags };
    if (op.op === OpCode.createTTL && isTtlMode(op.flags)) return { op: OpCode.createTTL, ...base, ttl: op.ttl };
    if (op.flags === CreateMode.CONTAINER) return { op: OpCode.createContainer, ...base };
    return { op: OpCode.create, ...base };
  });
}

/** A create whose flags ask for TTL but whose record is not a createTTL: ZooKeeper cannot build it. */
function isTtlFlagsOnPlainCreate(op: Request): boolean {
  return op.op === OpCode.create && isTtlMode(op.flags);
}
