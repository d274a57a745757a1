/**
 * One ZooKeeper session over its own TCP connection, built for load generation: requests are
 * pre-encoded frames whose xid is patched in as they are copied into an output buffer, every
 * frame queued in one turn of the event loop goes out in one socket write, and replies are
 * matched to the oldest pending request (ZooKeeper answers a session strictly in order).
 * Watch notifications (xid -1) and ping replies (xid -2) are taken out of band, as the
 * official client does.
 */
import * as net from 'node:net';
import {
  type Request,
  type WatcherEvent,
  FrameDecoder,
  JuteReader,
  JuteWriter,
  OpCode,
  Xid,
  readConnectResponse,
  readReplyHeader,
  readWatcherEvent,
  writeConnectRequest,
  writeRequest,
} from '../../src/codec/index.js';

/** The hrtime origin of nowNs() in this thread. */
export const BASE_HR = process.hrtime.bigint();

/** Monotonic nanoseconds since this module loaded, as a number (exact for ~104 days). */
export function nowNs(): number {
  return Number(process.hrtime.bigint() - BASE_HR);
}

/** A request frame (length, xid placeholder, opcode, body), encoded once and sent many times. */
export interface Encoded {
  readonly op: number;
  readonly frame: Buffer;
}

export function encode(req: Request): Encoded {
  const w = new JuteWriter(64);
  const at = w.reserveInt();
  w.writeInt(0).writeInt(req.op);
  writeRequest(w, req);
  w.patchInt(at, w.length - 4);
  return { op: req.op, frame: Buffer.from(w.toBuffer()) };
}

/**
 * Called with a reply: ZooKeeper's error code, a reader positioned at the reply body,
 * the latency in ns (from the moment the request was queued) and the arrival time.
 */
export type ReplyHandler = (err: number, body: JuteReader, latencyNs: number, now: number) => void;

export interface SessionOptions {
  host: string;
  port: number;
  /** Session timeout to ask for, ms. */
  timeoutMs: number;
  connectTimeoutMs: number;
  /** Largest frame accepted from the server. */
  maxFrameBytes?: number;
}

/** The connection failed or the protocol was violated. */
export class SessionError extends Error {
  override readonly name = 'SessionError';
}

const PING_FRAME = encode({ op: OpCode.ping }).frame;
PING_FRAME.writeInt32BE(Xid.ping, 4);

export class Session {
  sessionId = 0n;
  negotiatedTimeoutMs = 0;
  /** nowNs() of the last frame queued, for keep-alive pings. */
  lastSendNs = 0;
  /** Called for every watch notification, with its arrival time. */
  onEvent: ((ev: WatcherEvent, now: number) => void) | undefined;
  /** Called once if the connection fails or closes while not being closed by us. */
  onFailure: ((e: Error) => void) | undefined;

  private readonly socket: net.Socket;
  private readonly decoder: FrameDecoder;
  private out = Buffer.allocUnsafe(16384);
  private outPos = 0;
  private flushQueued = false;
  private nextXid = 1;
  // pending requests, a ring of parallel arrays
  private qXid: number[] = [];
  private qSent: number[] = [];
  private qHandler: ReplyHandler[] = [];
  private qHead = 0;
  private handshake: ((e: Error | undefined) => void) | undefined;
  private closing = false;
  private failed: Error | undefined;
  private readonly closedPromise: Promise<void>;

  private constructor(private readonly opts: SessionOptions) {
    this.decoder = new FrameDecoder(opts.maxFrameBytes ?? 64 * 1024 * 1024);
    this.socket = net.connect({ host: opts.host, port: opts.port, noDelay: true });
    this.closedPromise = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (e) => this.fail(new SessionError(`${opts.host}:${opts.port}: ${e.message}`)));
    this.socket.on('close', () => {
      if (!this.closing) this.fail(new SessionError(`${opts.host}:${opts.port}: connection closed by the server`));
    });
  }

  /** Opens a TCP connection and a new session; resolves once the ConnectResponse arrived. */
  static async open(opts: SessionOptions): Promise<Session> {
    const s = new Session(opts);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        s.destroy();
        reject(new SessionError(`${opts.host}:${opts.port}: no ConnectResponse within ${opts.connectTimeoutMs} ms`));
      }, opts.connectTimeoutMs);
      s.handshake = (e) => {
        clearTimeout(timer);
        s.handshake = undefined;
        if (e) reject(e);
        else resolve();
      };
      const w = new JuteWriter(64);
      const at = w.reserveInt();
      writeConnectRequest(w, {
        protocolVersion: 0,
        lastZxidSeen: 0,
        timeOut: opts.timeoutMs,
        sessionId: 0n,
        passwd: Buffer.alloc(16),
        readOnly: false,
      });
      w.patchInt(at, w.length - 4);
      s.socket.write(Buffer.from(w.toBuffer()));
    });
    return s;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.qXid.length - this.qHead;
  }

  get error(): Error | undefined {
    return this.failed;
  }

  /** Queues a request; it is written at the end of the current turn of the event loop. */
  send(req: Encoded, handler: ReplyHandler, now = nowNs()): void {
    if (this.failed) return;
    const xid = this.nextXid++;
    if (this.nextXid > 0x7fffffff) this.nextXid = 1;
    this.append(req.frame, xid);
    this.qXid.push(xid);
    this.qSent.push(now);
    this.qHandler.push(handler);
    this.lastSendNs = now;
  }

  /** Sends a ping (answered out of band); keeps an idle session alive. */
  ping(now = nowNs()): void {
    if (this.failed || this.closing) return;
    this.append(PING_FRAME, Xid.ping);
    this.lastSendNs = now;
  }

  /** Sends closeSession and waits for its reply and the end of the connection. */
  async close(timeoutMs = 10000): Promise<number> {
    if (this.failed) throw this.failed;
    const err = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SessionError('closeSession: no reply')), timeoutMs);
      this.send(CLOSE_SESSION, (code) => {
        clearTimeout(timer);
        this.closing = true;
        resolve(code);
      });
      this.onFailure = (e) => {
        clearTimeout(timer);
        reject(e);
      };
    });
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
    await this.closedPromise;
    clearTimeout(timer);
    return err;
  }

  /** Drops the connection without closing the session. */
  destroy(): void {
    this.closing = true;
    this.socket.destroy();
  }

  private append(frame: Buffer, xid: number): void {
    const need = this.outPos + frame.length;
    if (need > this.out.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.out.length * 2));
      this.out.copy(bigger, 0, 0, this.outPos);
      this.out = bigger;
    }
    frame.copy(this.out, this.outPos);
    this.out.writeInt32BE(xid, this.outPos + 4);
    this.outPos = need;
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    if (this.outPos === 0 || this.failed) return;
    const chunk = Buffer.allocUnsafe(this.outPos);
    this.out.copy(chunk, 0, 0, this.outPos);
    this.outPos = 0;
    this.socket.write(chunk);
  };

  private onData(chunk: Buffer): void {
    const now = nowNs();
    this.decoder.push(chunk);
    try {
      for (let frame = this.decoder.next(); frame !== null; frame = this.decoder.next()) {
        const r = new JuteReader(frame);
        if (this.handshake) {
          const resp = readConnectResponse(r);
          if (resp.timeOut <= 0) {
            this.handshake(new SessionError('the server refused the session (timeout 0)'));
            this.destroy();
            return;
          }
          this.sessionId = resp.sessionId;
          this.negotiatedTimeoutMs = resp.timeOut;
          this.lastSendNs = now;
          this.handshake(undefined);
          continue;
        }
        const h = readReplyHeader(r);
        if (h.xid === Xid.notification) {
          const ev = readWatcherEvent(r);
          if (this.onEvent) this.onEvent(ev, now);
          continue;
        }
        if (h.xid === Xid.ping) continue;
        const i = this.qHead;
        if (i >= this.qXid.length) throw new SessionError(`reply with xid ${h.xid} but no request pending`);
        const xid = this.qXid[i]!;
        if (xid !== h.xid) throw new SessionError(`reply xid ${h.xid} does not match the oldest pending request ${xid}`);
        const sent = this.qSent[i]!;
        const handler = this.qHandler[i]!;
        this.qHead = i + 1;
        if (this.qHead === this.qXid.length) {
          this.qXid.length = 0;
          this.qSent.length = 0;
          this.qHandler.length = 0;
          this.qHead = 0;
        } else if (this.qHead >= 1024) {
          this.qXid.splice(0, this.qHead);
          this.qSent.splice(0, this.qHead);
          this.qHandler.splice(0, this.qHead);
          this.qHead = 0;
        }
        handler(h.err, r, now - sent, now);
      }
    } catch (e) {
      this.fail(e instanceof Error ? e : new SessionError(String(e)));
      this.socket.destroy();
    }
  }

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    if (this.handshake) {
      this.handshake(e);
      return;
    }
    if (this.onFailure) this.onFailure(e);
  }
}

const CLOSE_SESSION = encode({ op: OpCode.closeSession });
