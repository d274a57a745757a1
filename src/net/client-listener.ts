/**
 * The client port, the front end's driver over TCP: accepts connections, splits frames, answers
 * four-letter words, applies per-IP connection limits and output backpressure, hands each frame
 * to the server core with the time it arrived, and carries out the core's outputs (each
 * connection's Outbox: frames to write, a close). Any malformed input closes that one
 * connection and is logged; other clients are unaffected.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { CONNECTION_OUTPUT_BYTES_MAX, ReleasingMap } from '../base/index.js';
import { CodecError, FrameDecoder, FrameLengthError } from '../codec/index.js';
import { readNow, type ClientConnection, type Clock, type Logger, type Now, type Outbox } from '../server/types.js';

/** What the listener hands connections and frames to: a ZkServer, or an ensemble member's current one. */
export interface ClientCore {
  /** A new connection; what the core has to send it appears in the Outbox returned. */
  connectionOpened(conn: ClientConnection, now: Now): Outbox;
  connectionClosed(conn: ClientConnection): void;
  onFrame(conn: ClientConnection, now: Now, buf: Buffer, start?: number, end?: number): void;
  shouldThrottle(connId: number): boolean;
}

export interface ListenerSettings {
  host: string;
  port: number;
  maxClientCnxns: number;
  maxCnxns: number;
  juteMaxBuffer: number;
  fourLetterWords: ReadonlySet<string>;
  fourLetterWhitelist: ReadonlySet<string>;
  /** Answers a four-letter word (whitelisted) with its text. */
  runFourLetterWord: (word: string) => string;
  /** Read once per batch of bytes received: the time the core is given with their frames. */
  clock: Clock;
}

/**
 * Connections with output since the last flush. One flush per event-loop iteration,
 * in the check phase, sends each its bytes in one write, after every I/O callback of the
 * iteration ran; the check phase follows the poll phase directly, so this adds no wait.
 * Replies then leave together, and the peers answer in bursts: server CPU per `get` fell by
 * 3-20 % against a nextTick flush per connection, with the same number of writes per op.
 */
const dirty: SocketConnection[] = [];
let flushPending = false;

function scheduleFlush(conn: SocketConnection): void {
  dirty.push(conn);
  if (!flushPending) {
    flushPending = true;
    setImmediate(flushDirtyConnections);
  }
}

function flushDirtyConnections(): void {
  flushPending = false;
  // A socket write can run callbacks that write more frames: those join the next round.
  const n = dirty.length;
  for (let i = 0; i < n; i++) (dirty[i] as SocketConnection).flush();
  // (no splice: it would allocate an array of the removed entries every iteration)
  if (dirty.length === n) dirty.length = 0;
  else {
    dirty.copyWithin(0, n);
    dirty.length -= n;
  }
}

class SocketConnection implements ClientConnection {
  readonly remoteAddress: string;
  readonly remotePort: number;
  private closed = false;
  /**
   * The core's output for this connection: frames encoded in place, which leave in one socket
   * write per event-loop iteration, after every I/O callback of that iteration has run (see
   * flushDirtyConnections). Set once the core has taken the connection.
   */
  outbox: Outbox | null = null;
  /** Told after each flush of the core's output: an answer left the queue (resume reading?). */
  outputTaken: (() => void) | undefined = undefined;

  constructor(
    readonly id: number,
    readonly socket: Socket,
  ) {
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.remotePort = socket.remotePort ?? 0;
  }

  outputReady(): void {
    scheduleFlush(this);
  }

  /** Carries out the core's output: writes its frames, then closes if it says so. */
  flush(): void {
    const outbox = this.outbox;
    if (outbox === null || this.closed) return;
    this.writeOutput(outbox);
    if (outbox.closeReason !== null) this.close(outbox.closeReason);
    else this.outputTaken?.();
  }

  private writeOutput(outbox: Outbox): void {
    const bytes = outbox.take();
    if (bytes.length > 0 && !this.socket.destroyed) {
      this.socket.write(bytes);
      // Nothing left in the socket's queue: the write went to the kernel whole and at once, and
      // nothing holds these bytes any more. The buffer is then reused from its start; without
      // this, each connection allocated a new buffer (a native allocation, freed by a later GC)
      // every few flushes, about one byte of buffer per byte sent. A write that had to wait
      // keeps its bytes: they stay where they are and the buffer fills up as before.
      if (this.socket.writableLength === 0) outbox.reuse();
    }
  }

  /** True while the peer has more unread replies queued than we are willing to hold. */
  overloaded(): boolean {
    const unsent = this.outbox?.frames.unsentBytes ?? 0;
    if (this.socket.writableLength + unsent <= CONNECTION_OUTPUT_BYTES_MAX) return false;
    // Hand the bytes to the socket now: the caller waits for 'drain', which only a socket write
    // that found the socket's buffer full will bring.
    this.flush();
    return this.socket.writableLength > CONNECTION_OUTPUT_BYTES_MAX;
  }

  close(_reason: string): void {
    if (this.closed) return;
    if (this.outbox !== null) this.writeOutput(this.outbox);
    this.closed = true;
    this.socket.end();
    // Don't wait forever for a peer that never reads the last bytes.
    this.destroyTimer = setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  /**
   * The socket closed: its destroy timer goes too. A pending timer would keep the socket and
   * all its stream state reachable for that second, long enough to be promoted to the old
   * generation: under session churn that grew the old space by tens of MB a second and brought
   * mark-compact pauses of 15-35 ms.
   */
  socketClosed(): void {
    if (this.destroyTimer !== null) clearTimeout(this.destroyTimer);
    this.destroyTimer = null;
  }

  private destroyTimer: NodeJS.Timeout | null = null;

  /** Closed, or the core has said to close it (no more input goes to the core). */
  isClosed(): boolean {
    return this.closed || this.outbox?.closeReason != null;
  }
}

export class ClientListener {
  private readonly server: Server;
  private nextId = 1;
  private readonly perIp = new Map<string, number>();
  /** Open sockets by connection id (see ReleasingMap: closed ones must not linger). */
  private readonly sockets = new ReleasingMap<number, Socket>();
  /** The time of the input being handed to the core (one object, refilled per batch of bytes). */
  private readonly now: Now = { wallMs: 0, monoMs: 0 };

  constructor(
    private readonly core: ClientCore,
    private readonly settings: ListenerSettings,
    private readonly log: Logger,
  ) {
    this.server = createServer({ noDelay: true }, (socket) => this.onSocket(socket));
    this.server.on('error', (err) => this.log.error({ err }, 'client listener error'));
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host: this.settings.host, port: this.settings.port, backlog: 511 }, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets.values()) s.destroy();
    });
  }

  private onSocket(socket: Socket): void {
    const ip = socket.remoteAddress ?? 'unknown';
    const count = this.perIp.get(ip) ?? 0;
    const { maxClientCnxns, maxCnxns } = this.settings;
    if ((maxClientCnxns > 0 && count >= maxClientCnxns) || (maxCnxns > 0 && this.sockets.size >= maxCnxns)) {
      this.log.warn({ client: ip, max: maxClientCnxns }, `too many connections from ${ip} - max is ${maxClientCnxns}`);
      socket.destroy();
      return;
    }
    this.perIp.set(ip, count + 1);
    const conn = new SocketConnection(this.nextId++, socket);
    this.sockets.set(conn.id, socket);
    conn.outbox = this.core.connectionOpened(conn, readNow(this.settings.clock, this.now));
    const decoder = new FrameDecoder(this.settings.juteMaxBuffer);
    let sawFrame = false;
    // Set while we stop reading this client: its replies are piling up unread ('socket'), or
    // too many requests (its own, or the server's while it has some) wait for their answers
    // ('queue'; globalOutstandingLimit).
    let waitingFor: 'socket' | 'queue' | null = null;
    const resume = (): void => {
      waitingFor = null;
      socket.resume();
      pump();
    };
    conn.outputTaken = (): void => {
      if (waitingFor === 'queue') resume();
    };

    // Handles every complete frame buffered so far, unless the client must be held back.
    const pump = (): void => {
      readNow(this.settings.clock, this.now);
      try {
        if (!sawFrame) {
          const word = decoder.peekWord();
          if (word !== null && this.settings.fourLetterWords.has(word)) {
            this.answerFourLetterWord(conn, word);
            return;
          }
        }
        while (!conn.isClosed()) {
          if (conn.overloaded()) {
            waitingFor = 'socket';
            socket.pause();
            socket.once('drain', resume);
            return;
          }
          if (this.core.shouldThrottle(conn.id)) {
            waitingFor = 'queue';
            socket.pause();
            return;
          }
          if (!decoder.nextFrame()) return;
          sawFrame = true;
          this.core.onFrame(conn, this.now, decoder.frameBuffer, decoder.frameStart, decoder.frameEnd);
        }
      } catch (e) {
        this.onBadInput(conn, e);
      }
    };

    socket.on('data', (chunk: Buffer) => {
      if (conn.isClosed()) return;
      decoder.push(chunk);
      if (waitingFor === null) pump();
    });
    socket.on('error', (err) => this.log.debug({ err: err.message, client: ip }, 'client socket error'));
    socket.on('close', () => {
      conn.socketClosed();
      this.sockets.delete(conn.id);
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, left);
      this.core.connectionClosed(conn);
    });
  }

  private answerFourLetterWord(conn: SocketConnection, word: string): void {
    const text = this.settings.fourLetterWhitelist.has(word)
      ? this.settings.runFourLetterWord(word)
      : `${word} is not executed because it is not in the whitelist.\n`;
    conn.socket.write(text);
    conn.close('four-letter word answered');
  }

  private onBadInput(conn: SocketConnection, e: unknown): void {
    if (e instanceof FrameLengthError || e instanceof CodecError) {
      this.log.warn({ client: `${conn.remoteAddress}:${conn.remotePort}`, reason: e.message }, 'closing connection: bad request');
      conn.close(e.message);
      return;
    }
    throw e;
  }
}
