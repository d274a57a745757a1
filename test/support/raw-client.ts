/**
 * A small, exact ZooKeeper client for tests: one TCP connection, the codec from src/codec, and
 * nothing clever. It never retries, never reconnects and never re-registers watches; replies
 * carry ZooKeeper error codes as data. Every reply and every watch event is appended to `log`
 * in arrival order, so a test can tell whether an event came before or after a reply.
 *
 * ZooKeeper answers each session strictly in order, so replies are matched to the oldest
 * pending request; a reply whose xid does not match is a protocol error that fails every
 * pending request and drops the connection. The one exception is auth (xid -4): ZooKeeper
 * answers it as soon as it reads it, ahead of requests still in its pipeline.
 */
import * as net from 'node:net';
import { EventEmitter } from 'node:events';
import {
  type ACL,
  type ClientInfo,
  type ConnectResponse,
  type OpResult,
  type ReplyHeader,
  type Request,
  type Stat,
  type WatcherEvent,
  FrameDecoder,
  JuteReader,
  JuteWriter,
  OpCode,
  Xid,
  opName,
  readAclList,
  readConnectResponse,
  readOpResults,
  readReplyHeader,
  readStat,
  readWatcherEvent,
  writeConnectRequest,
  writeRequest,
} from '../../src/codec/index.js';

export interface ConnectOptions {
  host: string;
  port: number;
  /** Session timeout asked for, in ms. */
  timeoutMs: number;
  /** Re-attach to this session (with `passwd`); 0n or absent asks for a new session. */
  sessionId?: bigint;
  passwd?: Buffer;
  lastZxidSeen?: number;
  /** The trailing readOnly byte; undefined sends none, like clients older than 3.4. */
  readOnly?: boolean | undefined;
  protocolVersion?: number;
  /** How long to wait for the TCP connection and the ConnectResponse (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Default wait for each reply (default 10000 ms). */
  requestTimeoutMs?: number;
  /** When set, send a ping whenever nothing was sent for this long (replies logged with auto). */
  keepAliveMs?: number;
  /** Largest frame accepted from the server (default 64 MiB). */
  maxFrameBytes?: number;
}

export interface RawReply {
  header: ReplyHeader;
  /** The reply body after the header (empty when the server sent none). */
  body: Buffer;
  /** Index of this reply in `log`. */
  logIndex: number;
}

export type LogEntry =
  | { kind: 'reply'; xid: number; op: number; header: ReplyHeader; bodyBytes: number; auto: boolean }
  | { kind: 'event'; header: ReplyHeader; event: WatcherEvent }
  | { kind: 'closed'; byServer: boolean; reason: string };

export interface CloseInfo {
  /** True when the server ended the connection, false when we did (destroy, protocol error). */
  byServer: boolean;
  reason: string;
}

/** A failure of the connection or of the protocol, as opposed to a ZooKeeper error code. */
export class RawClientError extends Error {
  override readonly name = 'RawClientError';
}

interface Pending {
  xid: number;
  op: number;
  auto: boolean;
  timedOut: boolean;
  timer: NodeJS.Timeout | undefined;
  resolve: (r: RawReply) => void;
  reject: (e: Error) => void;
}

/** A decoded reply body; `trailing` counts bytes left over after the expected record. */
export type ReplyBody = (
  | { kind: 'none' }
  | { kind: 'path'; path: string }
  | { kind: 'pathStat'; path: string; stat: Stat }
  | { kind: 'stat'; stat: Stat }
  | { kind: 'data'; data: Buffer | null; stat: Stat }
  | { kind: 'children'; children: string[] }
  | { kind: 'children2'; children: string[]; stat: Stat }
  | { kind: 'acl'; acl: ACL[]; stat: Stat }
  | { kind: 'multi'; results: OpResult[] }
  | { kind: 'ephemerals'; paths: string[] }
  | { kind: 'count'; count: number }
  | { kind: 'clients'; clients: ClientInfo[] }
) & { trailing: number };

/**
 * Decodes the body of a successful (err 0) reply to a request of opcode `op`, per
 * zookeeper.jute. Throws CodecError when the bytes are too short for the record.
 */
export function decodeReplyBody(op: number, body: Buffer): ReplyBody {
  const r = new JuteReader(body);
  const done = <T extends object>(v: T): T & { trailing: number } => ({ ...v, trailing: r.remaining });
  switch (op) {
    case OpCode.create:
    case OpCode.sync:
      return done({ kind: 'path', path: r.readText() });
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
      return done({ kind: 'pathStat', path: r.readText(), stat: readStat(r) });
    case OpCode.exists:
    case OpCode.setData:
    case OpCode.setACL:
      return done({ kind: 'stat', stat: readStat(r) });
    case OpCode.getData:
      return done({ kind: 'data', data: r.readBuffer(), stat: readStat(r) });
    case OpCode.getChildren:
      return done({ kind: 'children', children: r.readStrings() });
    case OpCode.getChildren2:
      return done({ kind: 'children2', children: r.readStrings(), stat: readStat(r) });
    case OpCode.getACL:
      return done({ kind: 'acl', acl: readAclList(r) ?? [], stat: readStat(r) });
    case OpCode.multi:
    case OpCode.multiRead:
      return done({ kind: 'multi', results: readOpResults(r) });
    case OpCode.getEphemerals:
      return done({ kind: 'ephemerals', paths: r.readStrings() });
    case OpCode.getAllChildrenNumber:
      return done({ kind: 'count', count: r.readInt() });
    case OpCode.whoAmI:
      return done({
        kind: 'clients',
        clients: r.readVector((v) => ({ authScheme: v.readText(), user: v.readText() })) ?? [],
      });
    default:
      return done({ kind: 'none' });
  }
}

// Typed results: `err` is the ZooKeeper error code; the optional fields are set when err is 0.
export interface ReplyBase {
  err: number;
  zxid: number;
  xid: number;
  /** Bytes of body received (0 for error replies from a conforming server). */
  bodyBytes: number;
}
export type CreateResult = ReplyBase & { path?: string; stat?: Stat };
export type StatResult = ReplyBase & { stat?: Stat };
export type DataResult = ReplyBase & { data?: Buffer | null; stat?: Stat };
export type ChildrenResult = ReplyBase & { children?: string[]; stat?: Stat };
export type AclResult = ReplyBase & { acl?: ACL[]; stat?: Stat };
export type PathResult = ReplyBase & { path?: string };
export type MultiResult = ReplyBase & { results?: OpResult[] };
export type EphemeralsResult = ReplyBase & { paths?: string[] };
export type CountResult = ReplyBase & { count?: number };
export type WhoAmIResult = ReplyBase & { clients?: ClientInfo[] };
export type CloseResult = ReplyBase & { serverClosed: boolean };

export interface CreateOptions {
  acl?: ACL[];
  flags?: number;
  /** createTTL's ttl; with it the request is sent as createTTL unless `op` says otherwise. */
  ttl?: number;
  op?: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL;
}

export const OPEN_ACL_UNSAFE: ACL[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10000;

export class RawClient extends EventEmitter {
  readonly log: LogEntry[] = [];
  readonly closed: Promise<CloseInfo>;
  /** Largest non-negative zxid seen in a reply header (what a real client sends on reconnect). */
  lastZxid = 0;

  private readonly decoder: FrameDecoder;
  private readonly pending: Pending[] = [];
  private nextXid = 1;
  private handshake: { resolve: (c: ConnectResponse) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  private response: ConnectResponse | undefined;
  private closeInfo: CloseInfo | undefined;
  private resolveClosed!: (c: CloseInfo) => void;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private lastSendAt = Date.now();

  private constructor(
    private readonly socket: net.Socket,
    readonly options: ConnectOptions,
  ) {
    super();
    this.decoder = new FrameDecoder(options.maxFrameBytes ?? 64 * 1024 * 1024);
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.onClose(true, `socket error: ${e.message}`));
    socket.on('close', () => this.onClose(true, 'server closed the connection'));
  }

  /** Opens a connection, sends a ConnectRequest and resolves after the ConnectResponse. */
  static async connect(options: ConnectOptions): Promise<RawClient> {
    const socket = net.connect({ host: options.host, port: options.port });
    const client = new RawClient(socket, options);
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const response = new Promise<ConnectResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new RawClientError(`no ConnectResponse from ${options.host}:${options.port} within ${timeoutMs} ms`));
        client.destroy();
      }, timeoutMs);
      client.handshake = { resolve, reject, timer };
    });
    socket.once('connect', () => {
      const w = new JuteWriter(64);
      const at = w.reserveInt();
      writeConnectRequest(w, {
        protocolVersion: options.protocolVersion ?? 0,
        lastZxidSeen: options.lastZxidSeen ?? 0,
        timeOut: options.timeoutMs,
        sessionId: options.sessionId ?? 0n,
        passwd: options.passwd ?? Buffer.alloc(16),
        readOnly: options.readOnly,
      });
      w.patchInt(at, w.length - 4);
      client.write(w.toBuffer());
    });
    client.response = await response;
    if (options.keepAliveMs !== undefined) client.startKeepAlive(options.keepAliveMs);
    return client;
  }

  get connectResponse(): ConnectResponse {
    if (this.response === undefined) throw new RawClientError('not connected');
    return this.response;
  }
  get sessionId(): bigint {
    return this.connectResponse.sessionId;
  }
  get passwd(): Buffer {
    return this.connectResponse.passwd;
  }
  get negotiatedTimeout(): number {
    return this.connectResponse.timeOut;
  }
  /** ZooKeeper answers a connect to an expired or unknown session with timeout 0 (then closes). */
  get expired(): boolean {
    return this.connectResponse.timeOut <= 0;
  }
  get isClosed(): boolean {
    return this.closeInfo !== undefined;
  }
  /** Requests sent and not yet answered (including timed-out ones whose reply may still come). */
  get pendingCount(): number {
    return this.pending.length;
  }

  /**
   * Sends `req` and resolves with its reply header and raw body. The xid defaults to the next
   * positive one, or the fixed one ZooKeeper clients use for ping (-2) and auth (-4).
   */
  request(req: Request, xid?: number, timeoutMs?: number): Promise<RawReply> {
    return this.send(req, xid, timeoutMs, false);
  }

  private send(req: Request, xid: number | undefined, timeoutMs: number | undefined, auto: boolean): Promise<RawReply> {
    if (this.response === undefined) return Promise.reject(new RawClientError('not connected'));
    const useXid = xid ?? (req.op === OpCode.ping ? Xid.ping : req.op === OpCode.auth ? Xid.auth : this.nextXid++);
    const w = new JuteWriter(128);
    const at = w.reserveInt();
    w.writeInt(useXid).writeInt(req.op);
    writeRequest(w, req);
    w.patchInt(at, w.length - 4);
    return this.sendFrame(w.toBuffer(), useXid, req.op, timeoutMs, auto);
  }

  private sendFrame(frame: Buffer, xid: number, op: number, timeoutMs: number | undefined, auto: boolean): Promise<RawReply> {
    if (this.closeInfo !== undefined) {
      return Promise.reject(new RawClientError(`connection closed (${this.closeInfo.reason}); cannot send ${opName(op)}`));
    }
    const wait = timeoutMs ?? this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    return new Promise<RawReply>((resolve, reject) => {
      const p: Pending = { xid, op, auto, timedOut: false, timer: undefined, resolve, reject };
      p.timer = setTimeout(() => {
        // Keep it queued: its reply may still come, and order matching must stay aligned.
        p.timedOut = true;
        reject(new RawClientError(`no reply to ${opName(op)} (xid ${xid}) within ${wait} ms`));
      }, wait);
      this.pending.push(p);
      this.write(frame);
    });
  }

  /**
   * Sends a request frame of any opcode with `body` as its bytes (unknown or internal opcodes,
   * hand-made bodies) and resolves with its reply, matched like any other.
   */
  requestRaw(op: number, body: Uint8Array, timeoutMs?: number): Promise<RawReply> {
    if (this.response === undefined) return Promise.reject(new RawClientError('not connected'));
    const w = new JuteWriter(16 + body.length);
    const at = w.reserveInt();
    const xid = this.nextXid++;
    w.writeInt(xid).writeInt(op);
    const head = w.toBuffer();
    const frame = Buffer.concat([head, body]);
    frame.writeInt32BE(frame.length - 4, at);
    return this.sendFrame(frame, xid, op, timeoutMs, false);
  }

  /** Stops the keep-alive pings (the session then expires unless something else is sent). */
  stopKeepAlive(): void {
    if (this.keepAliveTimer !== undefined) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
  }

  /** Writes bytes as they are (for malformed-input tests). */
  sendRaw(bytes: Uint8Array): void {
    this.write(bytes);
  }

  /** Drops the connection without closing the session. Pending requests are rejected. */
  destroy(): void {
    this.onClose(false, 'destroyed by the client');
  }

  /** Resolves with the first event at or after log index `since` that matches `pred`. */
  waitForEvent(pred: (e: WatcherEvent) => boolean = () => true, since = 0, timeoutMs = 5000): Promise<WatcherEvent> {
    for (let i = since; i < this.log.length; i++) {
      const entry = this.log[i];
      if (entry?.kind === 'event' && pred(entry.event)) return Promise.resolve(entry.event);
    }
    return new Promise((resolve, reject) => {
      const onEvent = (e: WatcherEvent): void => {
        if (!pred(e)) return;
        cleanup();
        resolve(e);
      };
      const onClose = (): void => {
        cleanup();
        reject(new RawClientError('connection closed while waiting for an event'));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new RawClientError(`no matching watch event within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('close', onClose);
      };
      this.on('event', onEvent);
      this.once('close', onClose);
    });
  }

  /** The watch events logged at indexes [from, to). */
  eventsBetween(from: number, to = this.log.length): WatcherEvent[] {
    const out: WatcherEvent[] = [];
    for (let i = from; i < to; i++) {
      const entry = this.log[i];
      if (entry?.kind === 'event') out.push(entry.event);
    }
    return out;
  }

  // ------------------------------------------------------------ typed helpers

  async create(path: string, data: Buffer | null = Buffer.alloc(0), options: CreateOptions = {}): Promise<CreateResult> {
    const op = options.op ?? (options.ttl !== undefined ? OpCode.createTTL : OpCode.create);
    const acl = options.acl ?? OPEN_ACL_UNSAFE;
    const flags = options.flags ?? 0;
    const req: Request = op === OpCode.createTTL ? { op, path, data, acl, flags, ttl: options.ttl ?? -1 } : { op, path, data, acl, flags };
    return this.typed(req, (b) => (b.kind === 'path' ? { path: b.path } : b.kind === 'pathStat' ? { path: b.path, stat: b.stat } : {}));
  }

  create2(path: string, data: Buffer | null = Buffer.alloc(0), options: Omit<CreateOptions, 'op'> = {}): Promise<CreateResult> {
    return this.create(path, data, { ...options, op: OpCode.create2 });
  }

  createContainer(path: string, data: Buffer | null = Buffer.alloc(0), acl: ACL[] = OPEN_ACL_UNSAFE): Promise<CreateResult> {
    return this.create(path, data, { acl, flags: 4, op: OpCode.createContainer });
  }

  createTTL(path: string, data: Buffer | null, ttl: number, options: { acl?: ACL[]; flags?: number } = {}): Promise<CreateResult> {
    return this.create(path, data, { acl: options.acl ?? OPEN_ACL_UNSAFE, flags: options.flags ?? 5, ttl, op: OpCode.createTTL });
  }

  delete(path: string, version = -1): Promise<ReplyBase> {
    return this.typed({ op: OpCode.delete, path, version }, () => ({}));
  }

  exists(path: string, watch = false): Promise<StatResult> {
    return this.typed({ op: OpCode.exists, path, watch }, (b) => (b.kind === 'stat' ? { stat: b.stat } : {}));
  }

  getData(path: string, watch = false): Promise<DataResult> {
    return this.typed({ op: OpCode.getData, path, watch }, (b) => (b.kind === 'data' ? { data: b.data, stat: b.stat } : {}));
  }

  setData(path: string, data: Buffer | null, version = -1): Promise<StatResult> {
    return this.typed({ op: OpCode.setData, path, data, version }, (b) => (b.kind === 'stat' ? { stat: b.stat } : {}));
  }

  getChildren(path: string, watch = false): Promise<ChildrenResult> {
    return this.typed({ op: OpCode.getChildren, path, watch }, (b) => (b.kind === 'children' ? { children: b.children } : {}));
  }

  getChildren2(path: string, watch = false): Promise<ChildrenResult> {
    return this.typed({ op: OpCode.getChildren2, path, watch }, (b) =>
      b.kind === 'children2' ? { children: b.children, stat: b.stat } : {},
    );
  }

  getACL(path: string): Promise<AclResult> {
    return this.typed({ op: OpCode.getACL, path }, (b) => (b.kind === 'acl' ? { acl: b.acl, stat: b.stat } : {}));
  }

  setACL(path: string, acl: ACL[], version = -1): Promise<StatResult> {
    return this.typed({ op: OpCode.setACL, path, acl, version }, (b) => (b.kind === 'stat' ? { stat: b.stat } : {}));
  }

  sync(path: string): Promise<PathResult> {
    return this.typed({ op: OpCode.sync, path }, (b) => (b.kind === 'path' ? { path: b.path } : {}));
  }

  /** `ops` are write requests (create*, delete, setData, check). */
  multi(ops: Request[]): Promise<MultiResult> {
    return this.typed({ op: OpCode.multi, ops }, (b) => (b.kind === 'multi' ? { results: b.results } : {}));
  }

  /** `ops` are getData / getChildren requests. */
  multiRead(ops: Request[]): Promise<MultiResult> {
    return this.typed({ op: OpCode.multiRead, ops }, (b) => (b.kind === 'multi' ? { results: b.results } : {}));
  }

  addWatch(path: string, mode: number): Promise<ReplyBase> {
    return this.typed({ op: OpCode.addWatch, path, mode }, () => ({}));
  }

  removeWatches(path: string, type: number): Promise<ReplyBase> {
    return this.typed({ op: OpCode.removeWatches, path, type }, () => ({}));
  }

  checkWatches(path: string, type: number): Promise<ReplyBase> {
    return this.typed({ op: OpCode.checkWatches, path, type }, () => ({}));
  }

  getEphemerals(prefixPath: string): Promise<EphemeralsResult> {
    return this.typed({ op: OpCode.getEphemerals, prefixPath }, (b) => (b.kind === 'ephemerals' ? { paths: b.paths } : {}));
  }

  getAllChildrenNumber(path: string): Promise<CountResult> {
    return this.typed({ op: OpCode.getAllChildrenNumber, path }, (b) => (b.kind === 'count' ? { count: b.count } : {}));
  }

  whoAmI(): Promise<WhoAmIResult> {
    return this.typed({ op: OpCode.whoAmI }, (b) => (b.kind === 'clients' ? { clients: b.clients } : {}));
  }

  /** setWatches (opcode 101) with xid -8, as ClientCnxn sends it on reconnect. */
  setWatches(relativeZxid: number, dataWatches: string[], existWatches: string[], childWatches: string[]): Promise<ReplyBase> {
    const req: Request = {
      op: OpCode.setWatches,
      relativeZxid,
      dataWatches,
      existWatches,
      childWatches,
      persistentWatches: [],
      persistentRecursiveWatches: [],
    };
    return this.typed(req, () => ({}), Xid.setWatches);
  }

  setWatches2(
    relativeZxid: number,
    watches: { data?: string[]; exist?: string[]; child?: string[]; persistent?: string[]; persistentRecursive?: string[] },
  ): Promise<ReplyBase> {
    const req: Request = {
      op: OpCode.setWatches2,
      relativeZxid,
      dataWatches: watches.data ?? [],
      existWatches: watches.exist ?? [],
      childWatches: watches.child ?? [],
      persistentWatches: watches.persistent ?? [],
      persistentRecursiveWatches: watches.persistentRecursive ?? [],
    };
    return this.typed(req, () => ({}), Xid.setWatches);
  }

  /** Auth (xid -4). A failure (AUTHFAILED) is followed by the server closing the connection. */
  addAuth(scheme: string, auth: Buffer | string): Promise<ReplyBase> {
    const bytes = typeof auth === 'string' ? Buffer.from(auth, 'utf8') : auth;
    return this.typed({ op: OpCode.auth, type: 0, scheme, auth: bytes }, () => ({}));
  }

  ping(): Promise<ReplyBase> {
    return this.typed({ op: OpCode.ping }, () => ({}));
  }

  /** closeSession, then waits (up to waitCloseMs) for the server to drop the connection. */
  async close(waitCloseMs = 3000): Promise<CloseResult> {
    const res = await this.typed({ op: OpCode.closeSession }, () => ({}));
    let timer: NodeJS.Timeout | undefined;
    const serverClosed = await Promise.race([
      this.closed.then((c) => c.byServer),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), waitCloseMs);
      }),
    ]);
    clearTimeout(timer);
    this.destroy();
    return { ...res, serverClosed };
  }

  private async typed<T extends object>(req: Request, pick: (b: ReplyBody) => T, xid?: number): Promise<ReplyBase & Partial<T>> {
    const reply = await this.request(req, xid);
    const base: ReplyBase = { err: reply.header.err, zxid: reply.header.zxid, xid: reply.header.xid, bodyBytes: reply.body.length };
    if (reply.header.err !== 0) return base as ReplyBase & Partial<T>;
    return { ...base, ...pick(decodeReplyBody(req.op, reply.body)) };
  }

  // ------------------------------------------------------------ plumbing

  private write(bytes: Uint8Array): void {
    if (this.closeInfo !== undefined) return;
    this.lastSendAt = Date.now();
    this.socket.write(bytes);
  }

  private startKeepAlive(everyMs: number): void {
    this.keepAliveTimer = setInterval(
      () => {
        if (this.closeInfo !== undefined || this.pending.length > 0) return;
        if (Date.now() - this.lastSendAt < everyMs) return;
        this.send({ op: OpCode.ping }, Xid.ping, undefined, true).catch(() => undefined);
      },
      Math.max(10, Math.floor(everyMs / 2)),
    );
    this.keepAliveTimer.unref();
  }

  private onData(chunk: Buffer): void {
    if (this.closeInfo !== undefined) return;
    this.decoder.push(chunk);
    try {
      for (let frame = this.decoder.next(); frame !== null; frame = this.decoder.next()) {
        this.onFrame(frame);
        if (this.isClosed) return; // onFrame may have failed the connection
      }
    } catch (e) {
      this.fail(`undecodable reply: ${(e as Error).message}`);
    }
  }

  private onFrame(frame: Buffer): void {
    if (this.handshake !== undefined) {
      const hs = this.handshake;
      this.handshake = undefined;
      clearTimeout(hs.timer);
      let response: ConnectResponse;
      try {
        response = readConnectResponse(new JuteReader(frame));
      } catch (e) {
        // A frame that is no ConnectResponse (ZooKeeper 3.8.0's read-only server answers a
        // global createSession with a bare NOTREADONLY reply header) fails the connect.
        hs.reject(new RawClientError(`undecodable ConnectResponse (${frame.length} bytes): ${(e as Error).message}`));
        this.fail('undecodable ConnectResponse');
        return;
      }
      hs.resolve(response);
      return;
    }
    const r = new JuteReader(frame);
    const header = readReplyHeader(r);
    if (header.xid === Xid.notification) {
      const event = readWatcherEvent(r);
      this.log.push({ kind: 'event', header, event });
      this.emit('event', event, header);
      return;
    }
    const idx = header.xid === Xid.auth ? this.pending.findIndex((p) => p.xid === Xid.auth) : 0;
    const p = idx >= 0 ? this.pending[idx] : undefined;
    if (p === undefined) {
      this.fail(`reply xid ${header.xid} (err ${header.err}) with no request pending`);
      return;
    }
    if (p.xid !== header.xid) {
      this.fail(
        `reply xid ${header.xid} does not match the oldest pending request: xid ${p.xid} (${opName(p.op)}); replies must come in order`,
      );
      return;
    }
    this.pending.splice(idx, 1);
    clearTimeout(p.timer);
    if (header.zxid > this.lastZxid) this.lastZxid = header.zxid;
    const body = frame.subarray(r.offset);
    this.log.push({ kind: 'reply', xid: header.xid, op: p.op, header, bodyBytes: body.length, auto: p.auto });
    if (!p.timedOut) p.resolve({ header, body: Buffer.from(body), logIndex: this.log.length - 1 });
  }

  private fail(reason: string): void {
    this.emit('protocolError', new RawClientError(reason));
    this.onClose(false, `protocol error: ${reason}`);
  }

  private onClose(byServer: boolean, reason: string): void {
    if (this.closeInfo !== undefined) return;
    const info: CloseInfo = { byServer, reason };
    this.closeInfo = info;
    if (this.keepAliveTimer !== undefined) clearInterval(this.keepAliveTimer);
    this.socket.destroy();
    this.log.push({ kind: 'closed', byServer, reason });
    if (this.handshake !== undefined) {
      clearTimeout(this.handshake.timer);
      this.handshake.reject(new RawClientError(`connection closed before the ConnectResponse (${reason})`));
      this.handshake = undefined;
    }
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      if (!p.timedOut) p.reject(new RawClientError(`connection closed before the reply to ${opName(p.op)} (xid ${p.xid}): ${reason}`));
    }
    this.resolveClosed(info);
    this.emit('close', info);
  }
}
