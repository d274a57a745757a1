import { ChunkBuffer } from './chunk-buffer.js';
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

export class FrameDecoder extends ChunkBuffer {
  constructor(
    private readonly maxFrameBytes: number,
    private readonly minFrameBytes = 0,
  ) {
    super();
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
