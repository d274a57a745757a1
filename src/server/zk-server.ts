/**
 * The server's decisions: handshake, request dispatch, the write path (prep -> durable ->
 * apply -> watch events -> reply, `advance`), reads in session order, session expiry and the
 * container/TTL reaper. No sockets, timers or clock reads on the client path: the driver (the
 * net layer, a timer, a simulator) delivers each input with its time (`Now`), and takes what
 * the server has to send from each connection's `Outbox`.
 */
import {
  assert,
  CONNECTION_PENDING_REQUESTS_MAX,
  ReleasingMap,
  javaReaperOrder,
  sessionPassword,
  SESSION_PASSWORD_BYTES,
  ZXID_COUNTER_SPAN,
  type ReaperCandidate,
} from '../base/index.js';
import {
  CodecError,
  ErrorCode,
  EventType,
  JuteReader,
  JuteWriter,
  OpCode,
  Perms,
  WatcherType,
  Xid,
  readConnectRequest,
  readRequest,
  isClientOpcode,
  isEphemeralMode,
  writeAclList,
  writeConnectResponse,
  writeOpResults,
  writeStat,
  type OpResult,
  type Id,
  type Request,
  type RequestOf,
  type Txn,
  type TxnHeader,
} from '../codec/index.js';
import { DataTree, nodeKind, ttlOf, type ApplyResult, type TreeChange } from '../tree/index.js';
import {
  LocalSessionAuthority,
  LocalSessions,
  SessionTracker,
  sessionTableApply,
  type Revalidation,
  type SessionAuthority,
} from '../session/index.js';
import { WatchManager, type WatchEvent } from '../watch/index.js';
import {
  RequestPreparer,
  aclPermits,
  digestId,
  redactDigests,
  PERM_READ_OR_ADMIN,
  SUPER_ID,
  type PrepContext,
  type Prepared,
  type Sha1Base64,
} from '../prep/index.js';
import { finishErrorReplyWithBody, finishReply, startReply, writeNotification } from './reply-frames.js';
import { QuotaLog } from './quota-log.js';
import { LocalTxn, ConnectionState, QueuedRead, Then, WriteStage, type LocalTxnOwner, type QueuedReply } from './connection-state.js';
import { readNow, type ClientConnection, type Clock, type Logger, type Now, type Outbox } from './types.js';
import type { OnDurable } from '../storage/index.js';

export interface ServerSettings {
  tickTimeMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  extendedTypesEnabled: boolean;
  skipAcl: boolean;
  /** zookeeper.enforceQuota: hard quota limits refuse writes. */
  enforceQuota: boolean;
  superDigest: string | undefined;
  containerMaxPerMinute: number;
  containerMaxNeverUsedIntervalMs: number;
  containerCheckIntervalMs: number;
  /** ZooKeeper's standalone server uses 1 as the session-id server byte. */
  sessionServerId: number;
  /**
   * `globalOutstandingLimit`: past this many requests in process across the server, a
   * connection with requests of its own in process is not read from (see shouldThrottle).
   */
  globalOutstandingLimit: number;
  /**
   * `localSessionsEnabled` (an ensemble member's): a new session is local to this server, with
   * no createSession txn, until something needs it global (default false).
   */
  localSessionsEnabled?: boolean;
  /** `localSessionsUpgradingEnabled`: a local session's first ephemeral create upgrades it instead of failing. */
  localSessionsUpgradingEnabled?: boolean;
}

/**
 * Where the txns this server prepares go. `done` is told when the txn may be applied, in
 * append order: standalone, once it is durable (the in-memory sink at once, the txn log after
 * fsync); on a leader, once a quorum has logged it (ZAB's COMMIT).
 */
export interface TxnSink {
  append(prepared: Prepared, done: OnDurable): void;
  /** Told after each txn is applied (the durable store takes snapshots at such points). */
  applied?(zxid: number): void;
}

/**
 * A learner's route for writes: its clients' writes (session creation and close included) go
 * to the leader as REQUESTs, and come back as committed txns (`ZkServer.applyCommitted`).
 */
export interface WriteForwarder {
  forward(sessionId: bigint, cxid: number, request: ForwardedRequest, authIds: readonly Id[]): void;
}

/** A forwarded request: a client write, or the session's own createSession / closeSession. */
export type ForwardedRequest =
  | WriteRequest
  | { readonly op: typeof OpCode.createSession; readonly timeoutMs: number }
  | { readonly op: typeof OpCode.closeSession }
  /** The leader answers a sync (SYNC) once every proposal before it is committed; no txn. */
  | { readonly op: typeof OpCode.sync; readonly path: string }
  | ReconfigRequest;

export type ReconfigRequest = RequestOf<typeof OpCode.reconfig>;

/**
 * The ensemble's side of a reconfig (on the leader): ZooKeeper's checks after the zxid is
 * taken (reconfig enabled, none in flight, fromConfig, the new membership, a synced quorum of it),
 * answered with an error code or the new config's text, whose version is `zxid`.
 */
export interface ReconfigPolicy {
  decide(req: ReconfigRequest, zxid: number): number | Buffer;
}

type WriteRequest = Parameters<RequestPreparer['prepare']>[1];

/** How this server fits in its ensemble; a standalone server uses the defaults. */
export interface ServerRole {
  /** Session ids, expiry and revalidation; default: this server's own (LocalSessionAuthority). */
  authority?: (table: ReadonlyMap<bigint, number>, sessionIds: SessionTracker) => SessionAuthority;
  /** Set on a learner: writes go to the leader instead of being prepared here. */
  forwarder?: WriteForwarder;
  /**
   * A member without a quorum serving read-only clients (`readonlymode.enabled`, ZooKeeper's
   * ReadOnlyZooKeeperServer): only clients that asked for read-only, sessions of this member
   * alone (no txn), reads from its tree, and NOTREADONLY for anything that would need a quorum.
   */
  readOnly?: boolean;
  /** Set on an ensemble's leader: reconfig requests are decided there (else RECONFIGDISABLED). */
  reconfig?: ReconfigPolicy;
}

export const inMemorySink: TxnSink = {
  append: (_p, done) => done.durable(),
};

/** The auth ids of a txn the server makes itself (session expiry, container deletion). */
const NO_IDS: PrepContext['authIds'] = Object.freeze([]);

/** The client requests that make a txn (besides createSession and closeSession). */
export const WRITE_OPS: ReadonlySet<number> = new Set<number>([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.setData,
  OpCode.setACL,
  OpCode.check,
  OpCode.multi,
]);

/** What a read-only server refuses with NOTREADONLY, as ZooKeeper's ReadOnlyRequestProcessor. */
const READ_ONLY_REFUSED_OPS: ReadonlySet<number> = new Set<number>([...WRITE_OPS, OpCode.sync, OpCode.reconfig, OpCode.deleteContainer]);

export class ZkServer {
  readonly tree: DataTree;
  /**
   * Live sessions and their timeouts, as createSession and closeSession txns leave them
   * (ZooKeeper's sessionsWithTimeouts): what snapshots record, on every role.
   */
  readonly sessionTable: Map<bigint, number>;
  /** Session ids, deadlines and re-attach answers: held here standalone or on a leader. */
  readonly authority: SessionAuthority;
  /** This member's local sessions (`localSessionsEnabled`), consulted before the authority; null when off. */
  readonly localSessions: LocalSessions | null;
  readonly watches = new WatchManager();
  readonly prep: RequestPreparer;
  readonly connections = new ReleasingMap<number, ConnectionState>();
  private readonly bySession = new ReleasingMap<bigint, ConnectionState>();
  readonly startedMs: number;
  /** Server-wide counters for srvr/mntr. */
  readonly counters = {
    packetsReceived: 0,
    packetsSent: 0,
    minLatencyMs: Number.MAX_SAFE_INTEGER,
    maxLatencyMs: 0,
    totalLatencyMs: 0,
    latencyCount: 0,
  };
  outstandingRequests = 0;
  /** Requests of connections received and not yet answered (ZooKeeper's requestsInProcess). */
  requestsInProcess = 0;
  /** Frames for a connection that is closing are encoded here and dropped. */
  private readonly discard = new JuteWriter(1024);
  /** Prep's context, refilled for each txn (prep keeps nothing of it). */
  private readonly prepCtx: PrepContext = { sessionId: 0n, cxid: 0, authIds: [], nowMs: 0, ephemeralRefusal: 0 };
  /** The changes of the txn being applied, refilled for each (nothing keeps the array). */
  private readonly changes: TreeChange[] = [];
  /** Where local txns come back: applied, then answered. */
  private readonly locals: LocalTxnOwner = {
    durable: (entry) => this.advance(entry, this.clock.monoMs()),
    answer: (entry, monoMs) => this.answerApplied(entry, monoMs),
    answerRead: (read, monoMs) => this.answerRead(read.state, read.xid, read.req, read.startMs, monoMs),
  };
  /** The time of an input that arrives without one, read into this one object. */
  private readonly inputNow: Now = { wallMs: 0, monoMs: 0 };
  /** A learner's writes sent to the leader, per session in cxid order, until they come back. */
  private readonly forwarded = new Map<bigint, LocalTxn[]>();
  private readonly forwarder: WriteForwarder | null;
  readonly readOnly: boolean;
  private readonly reconfigPolicy: ReconfigPolicy | null;
  /** A learner's syncs sent to the leader, oldest first, until `syncDone`. */
  private readonly forwardedSyncs: QueuedRead[] = [];
  /** Syncs waiting for the txns this server prepared before them to be applied, oldest first. */
  private readonly heldSyncs: { read: QueuedRead; after: number }[] = [];
  /** The last txn this server handed to its sink (each is applied in turn). */
  private lastSubmittedZxid: number;

  constructor(
    readonly settings: ServerSettings,
    /**
     * Read only where an input comes without its time: construction, and the txn sources'
     * calls (the sink's `durable()`, `applyCommitted`, `submitForwarded`, `syncDone`), whose
     * interfaces (storage, the ZAB drivers) carry none. Client inputs and timers bring a `Now`.
     */
    private readonly clock: Clock,
    private readonly sha1: Sha1Base64,
    private readonly log: Logger,
    private readonly sink: TxnSink = inMemorySink,
    tree?: DataTree,
    restoredSessions?: ReadonlyMap<bigint, number>,
    role: ServerRole = {},
  ) {
    this.tree = tree ?? new DataTree(settings.extendedTypesEnabled);
    this.sessionTable = new Map(restoredSessions);
    const now = readNow(clock);
    const sessionIds = new SessionTracker(settings.tickTimeMs, now.monoMs, settings.sessionServerId);
    this.authority = role.authority?.(this.sessionTable, sessionIds) ?? new LocalSessionAuthority(sessionIds);
    this.forwarder = role.forwarder ?? null;
    this.localSessions =
      settings.localSessionsEnabled === true ? new LocalSessions(settings.tickTimeMs, now.monoMs, settings.sessionServerId) : null;
    this.readOnly = role.readOnly ?? false;
    this.reconfigPolicy = role.reconfig ?? null;
    // Recovered sessions get their full timeout from now, as in ZooKeeper.
    for (const [id, timeoutMs] of this.sessionTable) this.authority.committed(id, timeoutMs, now.monoMs);
    const quotaLog = new QuotaLog(log, clock, settings.enforceQuota);
    this.tree.onQuotaProblem = (p) => quotaLog.problem(p);
    this.prep = new RequestPreparer(this.tree, {
      extendedTypesEnabled: settings.extendedTypesEnabled,
      skipAcl: settings.skipAcl,
      enforceQuota: settings.enforceQuota,
      quotaExceeded: (e) => quotaLog.exceeded(e),
    });
    this.startedMs = now.wallMs;
    this.lastSubmittedZxid = this.tree.lastProcessedZxid;
  }

  /** Live sessions and their timeouts, as a snapshot records them (a copy). */
  sessionTimeouts(): Map<bigint, number> {
    return new Map(this.sessionTable);
  }

  get lastZxid(): number {
    return this.tree.lastProcessedZxid;
  }

  /**
   * A leader's epoch is established: as ZooKeeper's leader does when it starts serving, the
   * last zxid becomes the epoch's zxid 0 (what `srvr`, replies and the connect check report)
   * until the epoch's first txn. Every txn logged before is already applied here.
   */
  startLeaderEpoch(epoch: number): void {
    const first = epoch * ZXID_COUNTER_SPAN;
    assert(first > this.tree.lastProcessedZxid, () => `epoch ${epoch} starts at or below ${hex(this.tree.lastProcessedZxid)}`);
    this.tree.lastProcessedZxid = first;
  }

  // ------------------------------------------------------------------ connection lifecycle

  /** A new connection: its driver takes what to send from the Outbox returned. */
  connectionOpened(conn: ClientConnection, now: Now): Outbox {
    const state = new ConnectionState(conn, now.wallMs);
    this.connections.set(conn.id, state);
    return state.outbox;
  }

  connectionClosed(conn: ClientConnection): void {
    const state = this.connections.get(conn.id);
    if (state === undefined) return;
    this.connections.delete(conn.id);
    state.closing = true;
    this.watches.removeConnection(conn.id);
    if (state.sessionId !== null && this.bySession.get(state.sessionId) === state) this.bySession.delete(state.sessionId);
  }

  /** Closing is an output: the driver sends what the outbox holds, then closes. */
  private closeConnection(state: ConnectionState, reason: string): void {
    if (state.closing) return;
    state.closing = true;
    state.outbox.close(reason);
  }

  /**
   * One complete frame from a connection, received at `now`: its body is `buf` from `start` to
   * `end` (the bytes are only read while onFrame runs). Throws CodecError for bytes that do not
   * decode (the driver closes the connection).
   */
  onFrame(conn: ClientConnection, now: Now, buf: Buffer, start = 0, end = buf.length): void {
    const state = this.connections.get(conn.id);
    if (state === undefined || state.closing) return;
    state.stats.packetsReceived++;
    this.counters.packetsReceived++;
    if (!state.handshakeStarted) {
      state.handshakeStarted = true;
      this.onConnectRequest(state, new JuteReader(buf, start, end), now);
      return;
    }
    if (state.sessionId === null) {
      // Requests while the session is still being created are not allowed by the protocol.
      throw new CodecError('request before the session was established');
    }
    const r = new JuteReader(buf, start, end);
    const xid = r.readInt();
    const type = r.readInt();
    if (type !== OpCode.deleteContainer && !isClientOpcode(type)) {
      this.onUnknownOpcode(state, xid, type);
      return;
    }
    this.touchSession(state.sessionId, now.monoMs);
    if (this.readOnly && READ_ONLY_REFUSED_OPS.has(type)) {
      // Refused by its type alone, before its body is read, as ZooKeeper's first processor does.
      this.refuseInReadOnly(state, xid);
      return;
    }
    if (type === OpCode.deleteContainer) {
      this.onClientDeleteContainer(state, xid, now);
      return;
    }
    const bodyAt = r.offset;
    let req: Request;
    try {
      req = readRequest(type, r);
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      // ZooKeeper reads a multiRead's ops as it reads a multi's; one holding writes only is a
      // valid record that fails once answered, after its (empty) result list was started.
      const emptyResults = type === OpCode.multiRead && decodesAsWriteMulti(new JuteReader(buf, bodyAt, end));
      this.onUndecodableRequest(state, xid, type, e, emptyResults, now);
      return;
    }
    this.dispatch(state, xid, req, now);
  }

  /**
   * deleteContainer is the reaper's own request, but ZooKeeper takes it from clients too. It
   * reads the path from the whole frame, request header included, whose zero bytes make any
   * such path invalid: the answer is always BADARGUMENTS, after an error txn.
   */
  private onClientDeleteContainer(state: ConnectionState, xid: number, now: Now): void {
    this.submitError(state, xid, ErrorCode.BADARGUMENTS, now);
  }

  /** As ZooKeeper: answer UNIMPLEMENTED, then drop the connection (the session lives on). */
  private onUnknownOpcode(state: ConnectionState, xid: number, type: number): void {
    this.log.warn({ type, session: hex(state.sessionId ?? 0n) }, 'unknown request type; closing connection');
    this.enqueueReply(state, xid, () => {
      this.reply(state, xid, -1, ErrorCode.UNIMPLEMENTED);
      this.closeConnection(state, 'unknown request type');
    });
  }

  /**
   * A body that does not decode: ZooKeeper answers MARSHALLINGERROR and keeps the connection;
   * a write still consumes a zxid (an error txn), as its prep stage logs one.
   */
  private onUndecodableRequest(state: ConnectionState, xid: number, type: number, e: CodecError, emptyResults: boolean, now: Now): void {
    this.log.warn({ type, session: hex(state.sessionId ?? 0n), reason: e.message }, 'undecodable request body');
    if (WRITE_OPS.has(type)) {
      this.submitError(state, xid, ErrorCode.MARSHALLINGERROR, now);
      return;
    }
    this.enqueueReply(state, xid, () => {
      if (!emptyResults) {
        this.reply(state, xid, this.lastZxid, ErrorCode.MARSHALLINGERROR);
        return;
      }
      const w = this.frameWriter(state);
      startReply(w, xid, this.lastZxid);
      writeOpResults(w, []);
      finishErrorReplyWithBody(w, ErrorCode.MARSHALLINGERROR);
      this.frameWritten(state, w);
    });
  }

  // ------------------------------------------------------------------ handshake

  private onConnectRequest(state: ConnectionState, r: JuteReader, now: Now): void {
    const req = readConnectRequest(r);
    state.oldClient = req.readOnly === undefined;
    if (this.readOnly && req.readOnly !== true) {
      this.log.info({ client: state.conn.remoteAddress }, 'refusing session request for not-read-only client');
      this.closeConnection(state, 'not a read-only client');
      return;
    }
    if (req.lastZxidSeen > this.lastZxid) {
      this.log.info(
        { client: state.conn.remoteAddress, clientZxid: hex(req.lastZxidSeen), ourZxid: hex(this.lastZxid) },
        'refusing session request: client has seen a newer zxid; it must try another server',
      );
      this.closeConnection(state, 'client zxid ahead of server');
      return;
    }
    const timeoutMs = Math.min(Math.max(req.timeOut, this.settings.minSessionTimeoutMs), this.settings.maxSessionTimeoutMs);
    if (req.sessionId === 0n) {
      this.createSession(state, timeoutMs, now);
      return;
    }
    if (this.readOnly && this.sessionTable.has(req.sessionId)) {
      // Only a quorum may renew a global session (ZOOKEEPER-3863): the client must find one.
      this.log.info(
        { session: hex(req.sessionId), client: state.conn.remoteAddress },
        'refusing global session reconnection in read-only mode',
      );
      this.closeConnection(state, 'global session in read-only mode');
      return;
    }
    // Re-attach: whatever the outcome, the session's current connection is closed first.
    const previous = this.bySession.get(req.sessionId);
    if (previous !== undefined && previous !== state) this.closeConnection(previous, 'session re-attached from another connection');
    if (req.passwd.length !== SESSION_PASSWORD_BYTES || !req.passwd.equals(sessionPassword(req.sessionId))) {
      this.finishReattach(state, req.sessionId, timeoutMs, false);
      return;
    }
    if (this.localSessions?.has(req.sessionId) === true) {
      this.finishReattach(state, req.sessionId, timeoutMs, this.localSessions.revalidate(req.sessionId, timeoutMs, now.monoMs));
      return;
    }
    const answer: Revalidation = { revalidated: (id, valid) => this.finishReattach(state, id, timeoutMs, valid) };
    this.authority.revalidate(req.sessionId, timeoutMs, now.monoMs, answer);
  }

  /** A request of the session arrived: its local deadline, or the authority's, moves on. */
  private touchSession(sessionId: bigint, monoMs: number): void {
    if (this.localSessions?.touch(sessionId, monoMs) !== true) this.authority.touch(sessionId, monoMs);
  }

  /** The session authority has answered a re-attach (at once, or after asking the leader). */
  private finishReattach(state: ConnectionState, sessionId: bigint, timeoutMs: number, valid: boolean): void {
    if (state.closing) return;
    if (!valid) {
      this.log.info({ session: hex(sessionId), client: state.conn.remoteAddress }, 'invalid session re-attach: expired or bad password');
      this.sendConnectResponse(state, 0, 0n, Buffer.alloc(SESSION_PASSWORD_BYTES));
      this.closeConnection(state, 'session expired');
      return;
    }
    this.bindSession(state, sessionId, timeoutMs);
    this.sendConnectResponse(state, timeoutMs, sessionId, sessionPassword(sessionId));
  }

  private bindSession(state: ConnectionState, sessionId: bigint, timeoutMs: number): void {
    state.sessionId = sessionId;
    state.sessionTimeoutMs = timeoutMs;
    this.bySession.set(sessionId, state);
  }

  private createSession(state: ConnectionState, timeoutMs: number, now: Now): void {
    if (this.localSessions !== null) {
      // A local session: no txn, so it is answered at once (ZooKeeper's pipeline passes it through).
      const localId = this.localSessions.create(timeoutMs, now.monoMs);
      this.bindSession(state, localId, timeoutMs);
      this.sendConnectResponse(state, timeoutMs, localId, sessionPassword(localId));
      return;
    }
    const sessionId = this.authority.newSessionId();
    state.sessionId = sessionId;
    if (this.readOnly) {
      this.authority.created(sessionId, timeoutMs, now.monoMs);
      this.bindSession(state, sessionId, timeoutMs);
      this.sendConnectResponse(state, timeoutMs, sessionId, sessionPassword(sessionId));
      return;
    }
    if (this.forwarder !== null) {
      this.forward(state, sessionId, 0, { op: OpCode.createSession, timeoutMs }, Then.connect, 0, timeoutMs);
      return;
    }
    const prepared = this.prep.createSession(this.ctx(state, sessionId, 0, now.wallMs), timeoutMs);
    this.authority.created(sessionId, timeoutMs, now.monoMs);
    this.logAndApply(prepared, state, Then.connect, 0, -1, 0, timeoutMs);
  }

  private sendConnectResponse(state: ConnectionState, timeoutMs: number, sessionId: bigint, passwd: Buffer): void {
    if (state.closing) return;
    const w = this.frameWriter(state).beginFrame();
    writeConnectResponse(w, {
      protocolVersion: 0,
      timeOut: timeoutMs,
      sessionId,
      passwd,
      readOnly: state.oldClient ? undefined : this.readOnly,
    });
    w.endFrame();
    this.frameWritten(state, w);
  }

  // ------------------------------------------------------------------ replies and ordering

  /** Where a frame for `state` is encoded: the end of its outbox, unless it is closing. */
  private frameWriter(state: ConnectionState): JuteWriter {
    return state.closing ? this.discard.reset() : state.outbox.frames;
  }

  /** The frame just encoded into `w` (from frameWriter) is complete: it goes out with the outbox. */
  private frameWritten(state: ConnectionState, w: JuteWriter): void {
    if (w === this.discard) return;
    if (state.closing) {
      w.dropFrame();
      return;
    }
    state.stats.packetsSent++;
    this.counters.packetsSent++;
    state.outbox.frameDone();
  }

  /** A reply without a body, or a write's reply with the body its op gives `entry` (if err is 0). */
  private reply(state: ConnectionState, xid: number, zxid: number, err: number, op = -1, entry: LocalTxn | null = null): void {
    const w = this.frameWriter(state);
    startReply(w, xid, zxid);
    if (err === 0 && entry !== null) this.writeWriteBody(w, op, entry);
    finishReply(w, err);
    state.stats.lastZxid = zxid;
    this.frameWritten(state, w);
  }

  /** Writes the body of a write's successful reply, from its apply result. */
  private writeWriteBody(w: JuteWriter, op: number, entry: LocalTxn): void {
    const res = entry.result;
    if (res === null) return;
    switch (op) {
      case OpCode.create:
        w.writeString(res.path ?? '');
        return;
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        w.writeString(res.path ?? '');
        this.writeResultStat(w, entry);
        return;
      case OpCode.setData:
      case OpCode.setACL:
      case OpCode.check:
        this.writeResultStat(w, entry);
        return;
      case OpCode.multi:
        writeOpResults(w, res.multiResults ?? []);
        return;
      case OpCode.reconfig:
        // GetDataResponse: /zookeeper/config as the reconfig (and this member's activation) left it
        if (res.node !== undefined) this.tree.writeData(w, res.node);
        this.writeResultStat(w, entry);
        return;
      default:
    }
  }

  /** The Stat of the node a write left: taken at apply time if the reply waited, else read now. */
  private writeResultStat(w: JuteWriter, entry: LocalTxn): void {
    if (entry.stat !== null) writeStat(w, entry.stat);
    else if (entry.result?.node !== undefined) this.tree.writeStat(w, entry.result.node);
  }

  /** Queue an answer behind this connection's earlier writes; run it now if none are pending. */
  private enqueueReply(state: ConnectionState, _xid: number, run: () => void): void {
    if (state.queue.length === 0) {
      run();
      return;
    }
    this.enqueue(state, { ready: true, run });
  }

  private enqueue(state: ConnectionState, item: QueuedReply): void {
    state.queue.push(item);
    this.requestsInProcess++;
  }

  /** Answers the connection's queued requests that are ready, in order, up to the first that is not. */
  private drain(state: ConnectionState, monoMs: number): void {
    while (state.queue.length > 0) {
      const head = state.queue[0];
      if (head === undefined || !head.ready) return;
      state.queue.shift();
      this.requestsInProcess--;
      head.run(monoMs);
    }
  }

  /** Requests of this connection still waiting for their answer. */
  pendingRequests(connId: number): number {
    return this.connections.get(connId)?.queue.length ?? 0;
  }

  /**
   * Whether to stop reading a connection's requests for now: it has too many of its own
   * waiting, or (ZooKeeper's globalOutstandingLimit, as 3.8's shouldThrottle) the server has
   * more than the limit in process and this connection has some of them. The net layer asks
   * before each frame, and again when it takes the connection's output (an answer left the
   * queue).
   */
  shouldThrottle(connId: number): boolean {
    const pending = this.pendingRequests(connId);
    if (pending >= CONNECTION_PENDING_REQUESTS_MAX) return true;
    return this.requestsInProcess > this.settings.globalOutstandingLimit && pending > 0;
  }

  private recordLatency(state: ConnectionState, startMs: number, op: number, xid: number, now: number): void {
    const ms = now - startMs;
    state.stats.recordLatency(ms);
    state.stats.lastOpCode = op;
    state.stats.lastCxid = xid;
    // monotonic, as ZooKeeper's (Time.currentElapsedTime)
    state.stats.lastResponseTimeMs = now;
    const c = this.counters;
    c.totalLatencyMs += ms;
    c.latencyCount++;
    if (ms < c.minLatencyMs) c.minLatencyMs = ms;
    if (ms > c.maxLatencyMs) c.maxLatencyMs = ms;
  }

  /** Prep's context for one txn: the one object, refilled (prep reads it only while preparing). */
  private ctx(state: ConnectionState | null, sessionId: bigint, cxid: number, wallMs: number): PrepContext {
    const c = this.prepCtx;
    c.sessionId = sessionId;
    c.cxid = cxid;
    c.authIds = state?.authIds ?? NO_IDS;
    c.nowMs = wallMs;
    c.ephemeralRefusal = 0;
    return c;
  }

  /**
   * A txn this server prepared (a client's write, or the server's own: expiry, the reaper)
   * starts its path; a connection's answer waits in its queue behind the requests it received
   * earlier.
   */
  private logAndApply(prepared: Prepared, state: ConnectionState | null, then: Then, xid = 0, op = -1, startMs = 0, timeoutMs = 0): void {
    const entry = new LocalTxn(this.locals, prepared, state, then, xid, op, startMs, timeoutMs);
    if (entry.queued && state !== null) this.enqueue(state, entry);
    this.outstandingRequests++;
    this.lastSubmittedZxid = prepared.header.zxid;
    // (stage 1 uses no time: the sink's durable() is an input of its own)
    this.advance(entry, startMs);
  }

  /**
   * A write this server answers for, top to bottom. Each stage that must wait returns; the
   * input that ends the wait calls this again with its time: the sink's `durable()` for (1),
   * the leader's commit (`applyCommitted`) for a learner's forwarded write, which enters at
   * (2), and the connection's queue reaching the entry (`drain`) for (3).
   */
  private advance(entry: LocalTxn, monoMs: number): void {
    switch (entry.stage) {
      case WriteStage.prepared: {
        // (1) durable: the txn log (standalone, group commit) or ZAB (leader: once a quorum
        // logged it, in zxid order) says when it may be applied. May call back at once.
        entry.stage = WriteStage.waiting;
        const prepared = entry.prepared;
        assert(prepared !== null, 'a local txn without its txn');
        this.sink.append(prepared, entry);
        return;
      }
      case WriteStage.waiting: {
        // (2) apply: the tree, sessions, watch events; the entry keeps the result
        const { header, txn } = entry;
        assert(header !== null && txn !== null, 'applied before its txn was known');
        entry.stage = WriteStage.applied;
        this.applyTxn(header, txn, entry, monoMs);
        // (3) answer: now, or when the connection's earlier requests are answered
        if (entry.queued && entry.state !== null) this.drain(entry.state, monoMs);
        else this.answerApplied(entry, monoMs);
        return;
      }
      case WriteStage.applied:
      case WriteStage.answered:
        assert(false, 'a txn is applied once');
    }
  }

  /** A learner's write goes to the leader; its txn comes back through applyCommitted. */
  private forward(
    state: ConnectionState,
    sessionId: bigint,
    xid: number,
    req: ForwardedRequest,
    then: Then,
    startMs: number,
    timeoutMs = 0,
  ): LocalTxn {
    assert(this.forwarder !== null, 'only a learner forwards writes');
    const entry = new LocalTxn(this.locals, null, state, then, xid, req.op, startMs, timeoutMs);
    if (entry.queued) this.enqueue(state, entry);
    this.outstandingRequests++;
    let waiting = this.forwarded.get(sessionId);
    if (waiting === undefined) this.forwarded.set(sessionId, (waiting = []));
    waiting.push(entry);
    this.forwarder.forward(sessionId, xid, req, state.authIds);
    return entry;
  }

  /**
   * A txn committed by the ensemble (a learner's COMMIT, or a txn of a DIFF or INFORM):
   * applied as any other. It answers this server's client if it is that client's forwarded
   * request: the session's oldest forwarded write, with the same cxid (as ZooKeeper's
   * CommitProcessor matches a commit to its session's queue).
   */
  applyCommitted(header: TxnHeader, txn: Txn): ApplyResult {
    const monoMs = this.clock.monoMs();
    const local = this.takeForwarded(header.clientId, header.cxid);
    if (local === null) return this.applyTxn(header, txn, null, monoMs);
    local.header = header;
    local.txn = txn;
    this.advance(local, monoMs);
    assert(local.result !== null, 'a forwarded write applied without its result');
    return local.result;
  }

  private takeForwarded(sessionId: bigint, cxid: number): LocalTxn | null {
    const waiting = this.forwarded.get(sessionId);
    const head = waiting?.[0];
    if (waiting === undefined || head?.xid !== cxid) return null;
    waiting.shift();
    if (waiting.length === 0) this.forwarded.delete(sessionId);
    return head;
  }

  /**
   * The one apply step, whatever the txn's source (this server's prep, a leader's COMMIT, a
   * learner's sync): the tree, the session table and its authority, prep's pending overlay,
   * the watch events, the sink's snapshot point; the result goes to `local`, the request the
   * txn came from, if this server has it (answered by `advance`). Zxids must increase (the
   * tree asserts it).
   */
  private applyTxn(header: TxnHeader, txn: Txn, local: LocalTxn | null, monoMs: number): ApplyResult {
    const changes = this.changes;
    changes.length = 0;
    const res = this.tree.applyTxn(header, txn, changes);
    this.prep.applied(header.zxid);
    if (txn.type === OpCode.createSession || txn.type === OpCode.closeSession) this.applySessionTxn(header.clientId, txn, monoMs);
    this.deliver(this.watches.eventsFor(changes));
    this.sink.applied?.(header.zxid);
    if (local !== null) this.keepResult(local, header, res);
    else if (txn.type === OpCode.closeSession) this.closedElsewhere(header.clientId);
    if (this.heldSyncs.length > 0) this.releaseSyncs(header.zxid, monoMs);
    return res;
  }

  /** Syncs whose preceding txns are all applied now: answered in their connections' order. */
  private releaseSyncs(zxid: number, monoMs: number): void {
    for (let s = this.heldSyncs[0]; s !== undefined && s.after <= zxid; s = this.heldSyncs[0]) {
      this.heldSyncs.shift();
      s.read.ready = true;
      this.drain(s.read.state, monoMs);
    }
  }

  /**
   * A session closed by a txn this server has no request for (the leader expired it, or its
   * client closed it through another server): its connection here, if any, is closed, as
   * ZooKeeper's FinalRequestProcessor does for a closeSession without a connection.
   */
  private closedElsewhere(sessionId: bigint): void {
    const state = this.bySession.get(sessionId);
    if (state === undefined) return;
    this.bySession.delete(sessionId);
    this.closeConnection(state, 'session expired');
  }

  /** The session table follows the txn (as recovery's replay does); the authority is told. */
  private applySessionTxn(sessionId: bigint, txn: Txn, monoMs: number): void {
    sessionTableApply(this.sessionTable, sessionId, txn);
    if (txn.type === OpCode.createSession) this.authority.committed(sessionId, txn.timeOut, monoMs);
    else this.authority.removed(sessionId);
  }

  /** The local request's txn is applied: its answer is ready, with what it needs of the tree now. */
  private keepResult(entry: LocalTxn, header: TxnHeader, res: ApplyResult): void {
    this.outstandingRequests--;
    entry.result = res;
    entry.zxid = header.zxid;
    entry.sessionId = header.clientId;
    entry.ready = true;
    // A reply reads its Stat from the node, which the next txn may change: one that cannot
    // be sent now (never seen: a connection's earlier requests are answered by this time)
    // keeps the Stat as it is.
    if (entry.queued && entry.state?.queue[0] !== entry && res.node !== undefined) entry.stat = this.tree.statOf(res.node);
  }

  private answerApplied(entry: LocalTxn, monoMs: number): void {
    entry.stage = WriteStage.answered;
    const state = entry.state;
    const res = entry.result;
    if (state === null || res === null) return;
    const zxid = entry.zxid;
    const sessionId = entry.sessionId;
    switch (entry.then) {
      case Then.reply:
        this.recordLatency(state, entry.startMs, entry.op, entry.xid, monoMs);
        this.reply(state, entry.xid, zxid, entry.refusal === 0 ? res.err : entry.refusal, entry.op, entry);
        return;
      case Then.replyError:
        this.reply(state, entry.xid, zxid, res.err);
        return;
      case Then.connect:
        this.bindSession(state, sessionId, entry.timeoutMs);
        this.sendConnectResponse(state, entry.timeoutMs, sessionId, sessionPassword(sessionId));
        return;
      case Then.closeSession:
        this.reply(state, entry.xid, zxid, 0);
        this.bySession.delete(sessionId);
        this.closeConnection(state, 'client closed its session');
        return;
      case Then.expire:
        this.bySession.delete(sessionId);
        this.closeConnection(state, 'session expired');
        return;
      case Then.none:
        return;
    }
  }

  /** Sends each event to its watcher if that connection may READ the guarding ACL (CVE-2024-23944). */
  private deliver(events: readonly WatchEvent[]): void {
    for (const e of events) {
      const target = this.connections.get(e.watcher);
      if (target === undefined) continue;
      if (!aclPermits(e.acl, Perms.READ, target.authIds, this.settings.skipAcl)) continue;
      this.sendEvent(target, e.type, e.path);
    }
  }

  /** ZooKeeper 3.8 sends notifications with zxid -1 (3.9 sends the txn's). */
  private sendEvent(state: ConnectionState, type: number, path: string): void {
    const w = this.frameWriter(state);
    writeNotification(w, type, path);
    this.frameWritten(state, w);
  }

  // ------------------------------------------------------------------ dispatch

  /*
   * The closures of the request path live in small methods of their own (answerPing,
   * answerSetWatches, onUnknownOpcode): a function that creates a closure in any branch
   * allocates the closure's context on every call, so dispatch and onFrame create none. Writes
   * and queued reads are objects (LocalTxn, QueuedRead), with no closure at all.
   */
  private dispatch(state: ConnectionState, xid: number, req: Request, now: Now): void {
    if (WRITE_OPS.has(req.op)) {
      this.submitWrite(state, xid, req as WriteRequest, now);
      return;
    }
    switch (req.op) {
      case OpCode.closeSession:
        this.closeSessionRequest(state, xid, state.sessionId ?? 0n, now);
        return;
      case OpCode.reconfig:
        this.submitReconfig(state, xid, req, now);
        return;
      case OpCode.auth:
        // ZooKeeper answers auth as soon as it reads it, ahead of requests still in its pipeline.
        this.auth(state, req);
        return;
      case OpCode.ping:
        this.answerPing(state, xid);
        return;
      case OpCode.setWatches:
      case OpCode.setWatches2:
        this.answerSetWatches(state, xid, req);
        return;
      case OpCode.sync:
        this.submitSync(state, xid, req as RequestOf<typeof OpCode.sync>, now.monoMs);
        return;
      default:
        if (state.queue.length === 0) this.answerRead(state, xid, req, now.monoMs, now.monoMs);
        else this.enqueue(state, new QueuedRead(this.locals, state, xid, req, now.monoMs));
    }
  }

  /**
   * A client's write, top to bottom: prepared here into a txn (standalone, leader) or
   * forwarded to the leader (learner); then durable, applied and answered (`advance`).
   */
  private submitWrite(state: ConnectionState, xid: number, req: WriteRequest, now: Now): void {
    const sessionId = state.sessionId ?? 0n;
    const refusal =
      this.localSessions?.has(sessionId) === true && needsGlobalSession(req) ? this.upgradeOrRefuse(state, sessionId, now) : 0;
    if (this.forwarder !== null) {
      // The leader refuses a session it does not know as expired; this server knows better
      // and answers its own refusal (the multi excepted), as ZooKeeper's learner does.
      this.forward(state, sessionId, xid, req, Then.reply, now.monoMs).refusal = req.op === OpCode.multi ? 0 : refusal;
      return;
    }
    const ctx = this.ctx(state, sessionId, xid, now.wallMs);
    ctx.ephemeralRefusal = refusal;
    const prepared = this.prep.prepare(ctx, req);
    this.logAndApply(prepared, state, Then.reply, xid, req.op, now.monoMs);
  }

  /**
   * A local session's request needs a global session (ZooKeeper's checkUpgradeSession). With
   * upgrading on, the session becomes global: its createSession txn (cxid 0) goes ahead of the
   * request, and 0 is returned; otherwise the request's ephemeral create is to fail with
   * EPHEMERALONLOCALSESSION.
   */
  private upgradeOrRefuse(state: ConnectionState, sessionId: bigint, now: Now): number {
    if (this.settings.localSessionsUpgradingEnabled !== true) return ErrorCode.EPHEMERALONLOCALSESSION;
    const timeoutMs = this.localSessions?.upgrade(sessionId) ?? -1;
    if (timeoutMs < 0) return 0;
    this.log.info({ session: hex(sessionId) }, 'upgrading local session to global');
    this.authority.created(sessionId, timeoutMs, now.monoMs);
    if (this.forwarder !== null) {
      this.forward(state, sessionId, 0, { op: OpCode.createSession, timeoutMs }, Then.none, now.monoMs, timeoutMs);
      return 0;
    }
    this.logAndApply(this.prep.createSession(this.ctx(state, sessionId, 0, now.wallMs), timeoutMs), null, Then.none);
    return 0;
  }

  /**
   * A write refused before prep could read it: an error txn, which consumes a zxid as in
   * ZooKeeper. A learner can make no txn and has no request to forward: it answers the error
   * at once.
   */
  /**
   * A learner forwards a reconfig (its leader decides, as in ZooKeeper); a leader prepares it with
   * its ensemble's policy; a server without one (standalone) refuses it as a default ZooKeeper
   * does, with an error txn (RECONFIGDISABLED).
   */
  private submitReconfig(state: ConnectionState, xid: number, req: ReconfigRequest, now: Now): void {
    if (this.forwarder !== null) {
      this.forward(state, state.sessionId ?? 0n, xid, req, Then.reply, now.monoMs);
      return;
    }
    const ctx = this.ctx(state, state.sessionId ?? 0n, xid, now.wallMs);
    this.logAndApply(this.prepareReconfig(ctx, req), state, Then.reply, xid, req.op, now.monoMs);
  }

  private prepareReconfig(ctx: PrepContext, req: ReconfigRequest): Prepared {
    const policy = this.reconfigPolicy;
    return this.prep.prepareReconfig(ctx, (zxid) => (policy === null ? ErrorCode.RECONFIGDISABLED : policy.decide(req, zxid)));
  }

  private submitError(state: ConnectionState, xid: number, err: number, now: Now): void {
    if (this.forwarder !== null) {
      this.enqueueReply(state, xid, () => this.reply(state, xid, this.lastZxid, err));
      return;
    }
    const prepared = this.prep.prepareError(this.ctx(state, state.sessionId ?? 0n, xid, now.wallMs), err);
    this.logAndApply(prepared, state, Then.replyError, xid);
  }

  /**
   * A leader takes a learner's forwarded REQUEST: prepared with the auth ids it carries, then
   * logged and applied as its own; the learner answers its client once the txn is committed.
   */
  submitForwarded(sessionId: bigint, cxid: number, req: ForwardedRequest, authIds: readonly Id[]): void {
    assert(this.forwarder === null, 'a learner does not prepare txns');
    const now = readNow(this.clock, this.inputNow);
    const ctx = this.ctx(null, sessionId, cxid, now.wallMs);
    ctx.authIds = authIds;
    // A learner's local session never reaches here; an ephemeral of a session the leader does
    // not know as global is refused as expired (ZooKeeper's checkGlobalSession).
    if (this.settings.localSessionsEnabled === true && !this.authority.isLive(sessionId)) ctx.ephemeralRefusal = ErrorCode.SESSIONEXPIRED;
    let prepared: Prepared;
    if (req.op === OpCode.createSession) {
      prepared = this.prep.createSession(ctx, req.timeoutMs);
      this.authority.created(sessionId, req.timeoutMs, now.monoMs);
    } else if (req.op === OpCode.closeSession) {
      this.authority.setClosing(sessionId);
      prepared = this.prep.closeSession(ctx);
    } else if (req.op === OpCode.reconfig) {
      prepared = this.prepareReconfig(ctx, req);
    } else {
      assert(req.op !== OpCode.sync, "a forwarded sync is the ZAB leader's (syncFor), not prep's");
      prepared = this.prep.prepare(ctx, req);
    }
    this.logAndApply(prepared, null, Then.none);
  }

  /**
   * sync: answered once this server has applied every write that came before it anywhere in
   * the ensemble. A learner sends it to the leader and answers it at `syncDone`; a leader (or
   * a standalone server) holds it behind the txns it has prepared, as ZooKeeper's leader holds
   * a sync behind its outstanding proposals. A leader may commit a txn (a quorum of followers
   * logged it) before its own log lets it apply it, so its tree can lag writes already
   * acknowledged through a follower: answering at once would break sync's promise.
   */
  private submitSync(state: ConnectionState, xid: number, req: RequestOf<typeof OpCode.sync>, startMs: number): void {
    const forwarder = this.forwarder;
    if (forwarder === null && this.lastZxid >= this.lastSubmittedZxid) {
      if (state.queue.length === 0) this.answerRead(state, xid, req, startMs, startMs);
      else this.enqueue(state, new QueuedRead(this.locals, state, xid, req, startMs));
      return;
    }
    const read = new QueuedRead(this.locals, state, xid, req, startMs);
    read.ready = false;
    this.enqueue(state, read);
    if (forwarder === null) {
      this.heldSyncs.push({ read, after: this.lastSubmittedZxid });
      return;
    }
    this.forwardedSyncs.push(read);
    forwarder.forward(state.sessionId ?? 0n, xid, { op: OpCode.sync, path: req.path }, state.authIds);
  }

  /** Learner: the leader has answered the oldest sync sent, and the commits before it are applied. */
  syncDone(): void {
    const read = this.forwardedSyncs.shift();
    if (read === undefined) return;
    read.ready = true;
    this.drain(read.state, this.clock.monoMs());
  }

  private answerPing(state: ConnectionState, xid: number): void {
    this.enqueueReply(state, xid, () => this.reply(state, xid, this.lastZxid, 0));
  }

  private answerSetWatches(
    state: ConnectionState,
    xid: number,
    req: RequestOf<typeof OpCode.setWatches | typeof OpCode.setWatches2>,
  ): void {
    this.enqueueReply(state, xid, () => {
      this.setWatches(state, req);
      // Echo the request's xid: clients send -8, but the 3.8 Java client numbers setWatches2 normally.
      this.reply(state, xid, this.lastZxid, 0);
    });
  }

  /** A read's reply, its body encoded straight after the header (dropped again on an error). */
  private answerRead(state: ConnectionState, xid: number, req: Request, startMs: number, monoMs: number): void {
    const w = this.frameWriter(state);
    const zxid = this.lastZxid;
    startReply(w, xid, zxid);
    finishReply(w, this.read(state, req, w));
    this.recordLatency(state, startMs, req.op, xid, monoMs);
    state.stats.lastZxid = zxid;
    this.frameWritten(state, w);
  }

  private closeSessionRequest(state: ConnectionState, xid: number, sessionId: bigint, now: Now): void {
    if (this.localSessions?.has(sessionId) === true) {
      this.closeLocalSession(state, xid, sessionId);
      return;
    }
    this.authority.setClosing(sessionId);
    if (this.readOnly) {
      this.enqueueReply(state, xid, () => this.closeReadOnlySession(state, xid, sessionId));
      return;
    }
    if (this.forwarder !== null) {
      this.forward(state, sessionId, xid, { op: OpCode.closeSession }, Then.closeSession, 0);
      return;
    }
    const prepared = this.prep.closeSession(this.ctx(state, sessionId, xid, now.wallMs));
    this.logAndApply(prepared, state, Then.closeSession, xid);
  }

  /** A local session closes with no txn, answered in turn behind the connection's earlier requests. */
  private closeLocalSession(state: ConnectionState, xid: number, sessionId: bigint): void {
    this.localSessions?.setClosing(sessionId);
    this.enqueueReply(state, xid, () => {
      this.localSessions?.remove(sessionId);
      this.reply(state, xid, this.lastZxid, 0);
      this.bySession.delete(sessionId);
      this.closeConnection(state, 'client closed its session');
    });
  }

  /** A read-only session ends with no txn: it was never logged. */
  private closeReadOnlySession(state: ConnectionState, xid: number, sessionId: bigint): void {
    this.reply(state, xid, this.lastZxid, 0);
    this.authority.removed(sessionId);
    this.bySession.delete(sessionId);
    this.closeConnection(state, 'client closed its session');
  }

  private refuseInReadOnly(state: ConnectionState, xid: number): void {
    this.enqueueReply(state, xid, () => this.reply(state, xid, this.lastZxid, ErrorCode.NOTREADONLY));
  }

  private auth(state: ConnectionState, req: RequestOf<typeof OpCode.auth>): void {
    if (req.scheme === 'digest') {
      const userPassword = req.auth.toString('utf8');
      const id = digestId(userPassword, this.sha1);
      if (this.settings.superDigest !== undefined && id === this.settings.superDigest) state.authIds.push(SUPER_ID);
      if (!state.authIds.some((a) => a.scheme === 'digest' && a.id === id)) state.authIds.push({ scheme: 'digest', id });
      this.reply(state, Xid.auth, 0, 0);
      return;
    }
    if (req.scheme === 'ip') {
      // The ip provider authenticates the connection's own address (already held).
      this.reply(state, Xid.auth, 0, 0);
      return;
    }
    this.log.warn({ scheme: req.scheme, session: hex(state.sessionId ?? 0n) }, 'authentication failed: no provider for scheme');
    this.reply(state, Xid.auth, 0, ErrorCode.AUTHFAILED);
    this.closeConnection(state, 'authentication failed');
  }

  // ------------------------------------------------------------------ reads

  /** Answers a read: writes the reply body into `w` and returns 0, or returns the error code. */
  private read(state: ConnectionState, req: Request, w: JuteWriter): number {
    const authIds = state.authIds;
    const skip = this.settings.skipAcl;
    switch (req.op) {
      case OpCode.exists: {
        if (req.path.includes('\0')) return ErrorCode.BADARGUMENTS;
        if (req.watch) this.watches.addDataWatch(req.path, state.conn.id);
        const node = this.tree.get(req.path);
        if (node === undefined) return ErrorCode.NONODE;
        this.tree.writeStat(w, node);
        return 0;
      }
      case OpCode.getData: {
        const node = this.tree.get(req.path);
        if (node === undefined) return ErrorCode.NONODE;
        if (!aclPermits(node.acl, Perms.READ, authIds, skip)) return ErrorCode.NOAUTH;
        if (req.watch) this.watches.addDataWatch(req.path, state.conn.id);
        this.tree.writeData(w, node);
        this.tree.writeStat(w, node);
        return 0;
      }
      case OpCode.getChildren:
      case OpCode.getChildren2: {
        const node = this.tree.get(req.path);
        if (node === undefined) return ErrorCode.NONODE;
        if (!aclPermits(node.acl, Perms.READ, authIds, skip)) return ErrorCode.NOAUTH;
        if (req.watch) this.watches.addChildWatch(req.path, state.conn.id);
        this.tree.writeChildren(w, node);
        if (req.op === OpCode.getChildren2) this.tree.writeStat(w, node);
        return 0;
      }
      case OpCode.getACL: {
        const node = this.tree.get(req.path);
        if (node === undefined) return ErrorCode.NONODE;
        if (!aclPermits(node.acl, PERM_READ_OR_ADMIN, authIds, skip)) return ErrorCode.NOAUTH;
        const acl = aclPermits(node.acl, Perms.ADMIN, authIds, skip) ? node.acl : redactDigests(node.acl);
        writeAclList(w, acl);
        this.tree.writeStat(w, node);
        return 0;
      }
      case OpCode.sync: {
        w.writeString(req.path);
        return 0;
      }
      case OpCode.getAllChildrenNumber: {
        const node = this.tree.get(req.path);
        if (node === undefined) return ErrorCode.NONODE;
        if (!aclPermits(node.acl, Perms.READ, authIds, skip)) return ErrorCode.NOAUTH;
        w.writeInt(this.tree.countDescendants(req.path));
        return 0;
      }
      case OpCode.getEphemerals: {
        const prefix = req.prefixPath;
        const all = this.tree.ephemeralsOf(state.sessionId ?? 0n);
        const list = prefix === '' || prefix === '/' ? [...all] : all.filter((p) => p.startsWith(prefix));
        w.writeStrings(list);
        return 0;
      }
      case OpCode.addWatch:
        // An unknown mode fails to decode in ZooKeeper, which answers MARSHALLINGERROR.
        if (req.mode !== 0 && req.mode !== 1) return ErrorCode.MARSHALLINGERROR;
        this.watches.addPersistentWatch(req.path, state.conn.id, req.mode === 1);
        // ZooKeeper answers addWatch with an ErrorResponse(0) body, which its Java client reads.
        w.writeInt(0);
        return 0;
      case OpCode.checkWatches:
      case OpCode.removeWatches:
        return this.watchQuery(state, req.path, req.type, req.op === OpCode.removeWatches);
      case OpCode.whoAmI: {
        const infos = state.authIds.map((id) => ({
          authScheme: id.scheme,
          user: id.scheme === 'digest' ? (id.id.split(':')[0] ?? '') : id.id,
        }));
        w.writeVector(infos, (ww, i) => ww.writeString(i.authScheme).writeString(i.user));
        return 0;
      }
      case OpCode.multiRead: {
        const results = req.ops.map((op) => this.readOp(state, op));
        writeOpResults(w, results);
        return 0;
      }
      default:
        return ErrorCode.UNIMPLEMENTED;
    }
  }

  private readOp(state: ConnectionState, op: Request): OpResult {
    if (op.op !== OpCode.getData && op.op !== OpCode.getChildren) return { type: OpCode.error, err: ErrorCode.UNIMPLEMENTED };
    const node = this.tree.get(op.path);
    if (node === undefined) return { type: OpCode.error, err: ErrorCode.NONODE };
    if (!aclPermits(node.acl, Perms.READ, state.authIds, this.settings.skipAcl)) return { type: OpCode.error, err: ErrorCode.NOAUTH };
    // ZooKeeper rebuilds multiRead ops without their watch flag, so they never set watches.
    if (op.op === OpCode.getData) return { type: OpCode.getData, data: node.data(), stat: this.tree.statOf(node) };
    return { type: OpCode.getChildren, children: node.childNames() };
  }

  /**
   * removeWatches / checkWatches. removeWatches removes this connection's watch on the path;
   * checkWatches answers as ZooKeeper 3.8 does: whether anyone watches the path.
   */
  private watchQuery(state: ConnectionState, path: string, type: number, remove: boolean): number {
    if (type !== WatcherType.Children && type !== WatcherType.Data && type !== WatcherType.Any) return ErrorCode.MARSHALLINGERROR;
    const id = state.conn.id;
    const inData = type === WatcherType.Data || type === WatcherType.Any;
    const inChild = type === WatcherType.Children || type === WatcherType.Any;
    let found = false;
    if (remove) {
      if (inChild && this.watches.child.remove(path, id)) found = true;
      if (inData && this.watches.data.remove(path, id)) found = true;
    } else {
      if ((inChild && this.watches.child.containsFails(path)) || (inData && this.watches.data.containsFails(path)))
        return ErrorCode.MARSHALLINGERROR;
      found = (inChild && this.watches.child.watched(path)) || (inData && this.watches.data.watched(path));
    }
    return found ? 0 : ErrorCode.NOWATCHER;
  }

  /** setWatches(2): re-arm a reconnecting client's watches, firing what it missed. */
  private setWatches(state: ConnectionState, req: RequestOf<typeof OpCode.setWatches | typeof OpCode.setWatches2>): void {
    const id = state.conn.id;
    const rel = req.relativeZxid;
    for (const path of req.dataWatches) {
      const node = this.tree.get(path);
      if (node === undefined) this.sendEvent(state, EventType.NodeDeleted, path);
      else if (node.mzxid > rel) this.sendEvent(state, EventType.NodeDataChanged, path);
      else this.watches.addDataWatch(path, id);
    }
    for (const path of req.existWatches) {
      if (this.tree.get(path) !== undefined) this.sendEvent(state, EventType.NodeCreated, path);
      else this.watches.addDataWatch(path, id);
    }
    for (const path of req.childWatches) {
      const node = this.tree.get(path);
      if (node === undefined) this.sendEvent(state, EventType.NodeDeleted, path);
      else if (node.pzxid > rel) this.sendEvent(state, EventType.NodeChildrenChanged, path);
      else this.watches.addChildWatch(path, id);
    }
    for (const path of req.persistentWatches) this.watches.addPersistentWatch(path, id, false);
    for (const path of req.persistentRecursiveWatches) this.watches.addPersistentWatch(path, id, true);
  }

  // ------------------------------------------------------------------ timers (driven from outside)

  /** Expires sessions whose deadline passed by `now`: ephemerals deleted, watches fired, connection closed. */
  tick(now: Now): void {
    for (const sessionId of this.localSessions?.expire(now.monoMs) ?? []) {
      // No txn: nothing outside this member knows the session.
      this.log.info({ session: hex(sessionId) }, 'local session expired');
      this.closedElsewhere(sessionId);
    }
    for (const sessionId of this.authority.expire(now.monoMs)) {
      this.log.info({ session: hex(sessionId) }, 'session expired');
      this.expireSession(sessionId, now);
    }
  }

  expireSession(sessionId: bigint, now: Now): void {
    this.authority.setClosing(sessionId);
    if (this.readOnly) {
      this.expireReadOnlySession(sessionId);
      return;
    }
    const prepared = this.prep.closeSession(this.ctx(null, sessionId, 0, now.wallMs));
    // the connection the session has now (it may have none): closed once the txn applies
    this.logAndApply(prepared, this.bySession.get(sessionId) ?? null, Then.expire);
  }

  private expireReadOnlySession(sessionId: bigint): void {
    this.authority.removed(sessionId);
    const state = this.bySession.get(sessionId);
    if (state === undefined) return;
    this.bySession.delete(sessionId);
    this.closeConnection(state, 'session expired');
  }

  /** ZooKeeper's ContainerManager pass: delete empty used containers and expired TTL nodes. */
  checkContainers(now: Now): number {
    // Only the leader (or a standalone server) reaps, as in ZooKeeper.
    if (this.forwarder !== null || this.readOnly) return 0;
    const wallMs = now.wallMs;
    const perRun = Math.max(1, Math.ceil((this.settings.containerMaxPerMinute * this.settings.containerCheckIntervalMs) / 60000));
    const candidates: ReaperCandidate[] = [];
    let insertedAt = 0;
    for (const path of this.tree.containers) {
      const node = this.tree.get(path);
      insertedAt++;
      if (node === undefined || node.childCount > 0) continue;
      const neverUsedLimit = this.settings.containerMaxNeverUsedIntervalMs;
      if (node.cversion > 0 || (neverUsedLimit > 0 && wallMs - node.mtime > neverUsedLimit)) candidates.push({ path, kind: 0, insertedAt });
    }
    insertedAt = 0;
    for (const path of this.tree.ttls) {
      const node = this.tree.get(path);
      insertedAt++;
      if (node === undefined || node.childCount > 0) continue;
      if (nodeKind(node.ephemeralOwner, this.settings.extendedTypesEnabled) !== 'ttl') continue;
      const ttl = ttlOf(node.ephemeralOwner);
      if (ttl !== 0 && wallMs - node.mtime > ttl) candidates.push({ path, kind: 1, insertedAt });
    }
    // In ZooKeeper's order (hash-set order), which decides which deletion gets which zxid and
    // the order watchers hear of them.
    const ordered =
      candidates.length < 2
        ? candidates.map((c) => c.path)
        : javaReaperOrder(candidates, [
            { size: this.tree.containers.size, highWater: this.tree.containersHighWater },
            { size: this.tree.ttls.size, highWater: this.tree.ttlsHighWater },
          ]);
    let submitted = 0;
    for (const path of ordered.slice(0, perRun)) {
      const prepared = this.prep.prepare(this.ctx(null, 0n, 0, wallMs), { op: OpCode.deleteContainer, path });
      this.logAndApply(prepared, null, Then.none);
      submitted++;
    }
    return submitted;
  }

  /** Close every connection (shutdown). */
  closeAll(reason: string): void {
    for (const state of [...this.connections.values()]) this.closeConnection(state, reason);
  }
}

export function hex(v: number | bigint): string {
  return `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;
}

/** A create or create2 of an ephemeral node, alone or in a multi: what upgrades a local session, as in ZooKeeper. */
function needsGlobalSession(req: WriteRequest | RequestOf<typeof OpCode.multi>): boolean {
  if (req.op === OpCode.multi) return req.ops.some((op) => needsGlobalSession(op as WriteRequest));
  return (req.op === OpCode.create || req.op === OpCode.create2) && isEphemeralMode(req.flags);
}

/** Whether the bytes are a valid multi of writes only (see onFrame). */
function decodesAsWriteMulti(r: JuteReader): boolean {
  try {
    readRequest(OpCode.multi, r);
    return true;
  } catch (e) {
    if (e instanceof CodecError) return false;
    throw e;
  }
}
