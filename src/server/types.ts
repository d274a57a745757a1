/** What the server core needs from its environment: connections, clock, hashing, logging. */
import type { JuteWriter } from '../codec/index.js';

/** One client connection as the core sees it; the net layer implements it over a socket. */
export interface ClientConnection {
  /** Unique per server run; also the connection's watcher id. */
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /**
   * The connection's outgoing bytes: the server appends each frame in place (beginFrame ...
   * endFrame), then calls frameWritten. Encoding there saves a copy and a Buffer per reply.
   */
  readonly output: JuteWriter;
  /** The frame just appended to `output` is complete: queue it for sending. */
  frameWritten(): void;
  /** Flush what is queued, then close. */
  close(reason: string): void;
  /** Told when every queued request of this connection has been answered (resume reading). */
  drained?: (() => void) | undefined;
}

export interface Clock {
  /** Wall-clock milliseconds (txn times, TTL ages). */
  wallMs(): number;
  /** Monotonic milliseconds (session expiry). */
  monoMs(): number;
}

export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export const silentLogger: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};
