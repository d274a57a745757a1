/** What the server core needs from its environment, and the shape of its connection outputs. */
import { JuteWriter } from '../codec/index.js';

/**
 * One client connection as the front end knows it: who it is, and how to wake its driver. The
 * driver (the net layer over a socket, or a simulator) owns the transport; the front end never
 * writes to it.
 */
export interface ClientConnection {
  /** Unique per server run; also the connection's watcher id. */
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /**
   * The connection's Outbox has new frames or a close: take them, now or later in this turn.
   * Called at most once between two takes (Outbox.take).
   */
  outputReady(): void;
}

/** Outbox buffer bounds; a bigger frame gets a buffer of its own size. */
const OUTBOX_BYTES_MIN = 1024;
const OUTBOX_BYTES_MAX = 64 * 1024;

/**
 * What the front end has for one connection's driver to carry out: the frames encoded since the
 * driver last took them, and whether to close the connection after them. Frames are encoded in
 * place at the end of `frames` (no copy, no Buffer per reply); the driver hands the bytes off
 * (`frames.handOff()`) and writes them. A closing outbox takes no more frames.
 */
export class Outbox {
  readonly frames = new JuteWriter(OUTBOX_BYTES_MIN);
  /** Set once: the driver sends what `frames` holds, then closes the connection. */
  closeReason: string | null = null;
  /** True between the first output after a take and the next take (one wake-up per take). */
  private pending = false;

  constructor(readonly conn: ClientConnection) {}

  /** The frame just appended to `frames` is complete. */
  frameDone(): void {
    if (this.closeReason !== null) {
      this.frames.dropFrame();
      return;
    }
    this.wake();
  }

  /** Close the connection once what is queued has gone out. */
  close(reason: string): void {
    if (this.closeReason !== null) return;
    this.closeReason = reason;
    this.wake();
  }

  /**
   * The driver takes the frames: the bytes encoded since the last take (a view the writer does
   * not touch again until `reuse`), empty if none. The next output wakes the driver again.
   */
  take(): Uint8Array {
    this.pending = false;
    const f = this.frames;
    if (f.unsentBytes === 0) return EMPTY;
    // The next buffer is sized by this take: an idle connection holds little, a busy one rarely refills.
    f.growBytes = Math.min(OUTBOX_BYTES_MAX, Math.max(OUTBOX_BYTES_MIN, f.unsentBytes * 4));
    return f.handOff();
  }

  /** The bytes taken are no longer referenced (written whole): reuse the buffer from its start. */
  reuse(): void {
    if (this.frames.unsentBytes === 0) this.frames.reuseHandedOff();
  }

  private wake(): void {
    if (this.pending) return;
    this.pending = true;
    this.conn.outputReady();
  }
}

const EMPTY = new Uint8Array(0);

/**
 * The time of an input, read once by the driver that delivers it (the net layer per batch of
 * bytes, a timer, a simulator) and passed in; the front end reads no clock of its own. Drivers may
 * reuse one object: the front end copies the numbers and keeps no reference.
 */
export interface Now {
  /** Wall-clock milliseconds (txn times, TTL ages, `cons` est). */
  wallMs: number;
  /** Monotonic milliseconds (session deadlines, latencies). */
  monoMs: number;
}

export interface Clock {
  /** Wall-clock milliseconds (txn times, TTL ages). */
  wallMs(): number;
  /** Monotonic milliseconds (session expiry). */
  monoMs(): number;
}

/** Reads `clock` into `into` (a driver's reused Now) and returns it. */
export function readNow(clock: Clock, into: Now = { wallMs: 0, monoMs: 0 }): Now {
  into.wallMs = clock.wallMs();
  into.monoMs = clock.monoMs();
  return into;
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
