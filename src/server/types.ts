/** What the server core needs from its environment: connections, clock, hashing, logging. */

/** One client connection as the core sees it; the net layer implements it over a socket. */
export interface ClientConnection {
  /** Unique per server run; also the connection's watcher id. */
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /**
   * Queue a complete frame (length prefix included) for sending. The bytes are taken (copied or
   * written) before send returns: the caller reuses the buffer for the next frame.
   */
  send(frame: Buffer): void;
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
