/**
 * The client port: accepts TCP connections, splits frames, answers four-letter words, applies
 * per-IP connection limits and output backpressure, and hands frames to the server core.
 * Any malformed input closes that one connection and is logged; other clients are unaffected.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { CONNECTION_OUTPUT_BYTES_MAX, ReleasingMap } from '../base/index.js';
import { CodecError, FrameDecoder, FrameLengthError, JuteWriter } from '../codec/index.js';
import type { ClientConnection, Logger } from '../server/types.js';

/** What the listener hands connections and frames to: a ZkServer, or an ensemble member's current one. */
export interface ClientCore {
  connectionOpened(conn: ClientConnection): void;
  connectionClosed(conn: ClientConnection): void;
  onFrame(conn: ClientConnection, buf: Buffer, start?: number, end?: number): void;
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
}

/** Bounds of a connection's output buffer size; a bigger frame gets a buffer of its own size. */
const OUTPUT_BUFFER_BYTES_MIN = 1024;
const OUTPUT_BUFFER_BYTES_MAX = 64 * 1024;

/**
 * Connections with replies written since the last flush. One flush per event-loop iteration,
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
  for (let i = 0; i < n; i++) {
    const conn = dirty[i] as SocketConnection;
    conn.flushScheduled = false;
    conn.flush();
  }
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

  constructor(
    readonly id: number,
    readonly socket: Socket,
  ) {
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.remotePort = socket.remotePort ?? 0;
  }

  /**
   * Outgoing bytes: the server encodes frames here, and they leave in one socket write per
   * event-loop iteration, after every I/O callback of that iteration has run (see
   * flushDirtyConnections). Bytes handed to the socket are not touched again until the socket
   * is done with them (see flush); when the buffer is full the unsent bytes move to a new one.
   */
  readonly output = new JuteWriter(OUTPUT_BUFFER_BYTES_MIN);
  /** True while this connection waits in `dirty` for the iteration's flush. */
  flushScheduled = false;

  frameWritten(): void {
    if (this.closed) {
      this.output.dropFrame();
      return;
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      scheduleFlush(this);
    }
  }

  flush(): void {
    const out = this.output;
    const n = out.unsentBytes;
    if (n === 0) return;
    // The next buffer is sized by this flush, so an idle connection holds little and a busy one rarely refills.
    out.growBytes = Math.min(OUTPUT_BUFFER_BYTES_MAX, Math.max(OUTPUT_BUFFER_BYTES_MIN, n * 4));
    const bytes = out.handOff();
    if (this.socket.destroyed) return;
    this.socket.write(bytes);
    // Nothing left in the socket's queue: the write went to the kernel whole and at once, and
    // nothing holds these bytes any more. The buffer is then reused from its start; without
    // this, each connection allocated a new buffer (a native allocation, freed by a later GC)
    // every few flushes, about one byte of buffer per byte sent. A write that had to wait keeps
    // its bytes: they stay where they are and the buffer fills up as before. (Node reports a
    // failed write on a later tick, so nothing can have written frames meanwhile; checked
    // anyway, as reuseHandedOff would throw.)
    if (this.socket.writableLength === 0 && out.unsentBytes === 0) out.reuseHandedOff();
  }

  /** True while the peer has more unread replies queued than we are willing to hold. */
  overloaded(): boolean {
    if (this.socket.writableLength + this.output.unsentBytes <= CONNECTION_OUTPUT_BYTES_MAX) return false;
    // Hand the bytes to the socket now: the caller waits for 'drain', which only a socket write
    // that found the socket's buffer full will bring.
    this.flush();
    return this.socket.writableLength > CONNECTION_OUTPUT_BYTES_MAX;
  }

  drained: (() => void) | undefined = undefined;

  close(_reason: string): void {
    if (this.closed) return;
    this.flush();
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

  isClosed(): boolean {
    return this.closed;
  }
}

export class ClientListener {
  private readonly server: Server;
  private nextId = 1;
  private readonly perIp = new Map<string, number>();
  /** Open sockets by connection id (see ReleasingMap: closed ones must not linger). */
  private readonly sockets = new ReleasingMap<number, Socket>();

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
    this.core.connectionOpened(conn);
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
    conn.drained = (): void => {
      if (waitingFor === 'queue') resume();
    };

    // Handles every complete frame buffered so far, unless the client must be held back.
    const pump = (): void => {
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
          this.core.onFrame(conn, decoder.frameBuffer, decoder.frameStart, decoder.frameEnd);
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
