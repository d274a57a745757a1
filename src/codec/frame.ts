import { int32At } from './jute.js';

/**
 * Splits a byte stream into frames: a 4-byte big-endian length, then that many bytes. On the
 * client port the very first 4 bytes of a connection may instead be a four-letter word ("ruok",
 * "stat", ...); on the election port the frames follow the connection's initial message
 * (election.ts), and an empty frame is refused.
 */

/** A frame whose length is out of range (over jute.maxbuffer, negative): ZooKeeper closes such a connection. */
export class FrameLengthError extends Error {
  override readonly name = 'FrameLengthError';
  constructor(
    readonly length: number,
    readonly limit: number,
    readonly min = 0,
  ) {
    super(`frame length ${length} outside [${min}, ${limit}]`);
  }
}

export class FrameDecoder {
  /** The chunk frames are read from, and the read position in it. */
  private head: Buffer = Buffer.alloc(0);
  private offset = 0;
  /** Chunks received after `head`: joined only once a frame spanning them is complete. */
  private rest: Buffer[] = [];
  private restBytes = 0;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly minFrameBytes = 0,
  ) {}

  push(chunk: Buffer): void {
    if (this.offset >= this.head.length && this.rest.length === 0) {
      this.head = chunk;
      this.offset = 0;
      return;
    }
    this.rest.push(chunk);
    this.restBytes += chunk.length;
  }

  /** Bytes received but not yet returned as frames. */
  get buffered(): number {
    return this.head.length - this.offset + this.restBytes;
  }

  /** Makes `head` hold everything buffered (one copy, however many chunks a big frame took). */
  private join(): void {
    this.head = Buffer.concat([this.head.subarray(this.offset), ...this.rest]);
    this.offset = 0;
    this.rest = [];
    this.restBytes = 0;
  }

  /** Makes at least `n` buffered bytes contiguous in `head`. */
  private contiguous(n: number): void {
    if (this.head.length - this.offset < n) this.join();
  }

  /** The first 4 bytes as ASCII if at least 4 are buffered (for four-letter-word detection). */
  peekWord(): string | null {
    if (this.buffered < 4) return null;
    this.contiguous(4);
    return this.head.toString('latin1', this.offset, this.offset + 4);
  }

  /**
   * Finds the next complete frame body without copying it or making a Buffer for it: true if
   * there is one, and then it is `frameBuffer` from `frameStart` to `frameEnd`, valid until the
   * next push. False if more bytes are needed. Throws FrameLengthError.
   */
  nextFrame(): boolean {
    if (this.buffered < 4) return false;
    this.contiguous(4);
    const len = int32At(this.head, this.offset);
    if (len < this.minFrameBytes || len > this.maxFrameBytes) throw new FrameLengthError(len, this.maxFrameBytes, this.minFrameBytes);
    if (this.buffered < 4 + len) return false;
    this.contiguous(4 + len);
    this.frameStart = this.offset + 4;
    this.frameEnd = this.frameStart + len;
    this.offset = this.frameEnd;
    return true;
  }

  /** Where nextFrame found the frame. */
  get frameBuffer(): Buffer {
    return this.head;
  }
  frameStart = 0;
  frameEnd = 0;

  /** The next complete frame body, or null if more bytes are needed. Throws FrameLengthError. */
  next(): Buffer | null {
    return this.nextFrame() ? this.head.subarray(this.frameStart, this.frameEnd) : null;
  }
}
