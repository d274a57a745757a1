/**
 * Splits a client byte stream into frames: a 4-byte big-endian length, then that many bytes.
 * The very first 4 bytes of a connection may instead be a four-letter word ("ruok", "stat", ...).
 */

/** A frame whose length is negative or over jute.maxbuffer: ZooKeeper closes such a connection. */
export class FrameLengthError extends Error {
  override readonly name = 'FrameLengthError';
  constructor(
    readonly length: number,
    readonly limit: number,
  ) {
    super(`frame length ${length} outside [0, ${limit}]`);
  }
}

export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private offset = 0;

  constructor(private readonly maxFrameBytes: number) {}

  push(chunk: Buffer): void {
    if (this.offset >= this.pending.length) {
      this.pending = chunk;
    } else {
      this.pending = Buffer.concat([this.pending.subarray(this.offset), chunk]);
    }
    this.offset = 0;
  }

  /** Bytes received but not yet returned as frames. */
  get buffered(): number {
    return this.pending.length - this.offset;
  }

  /** The first 4 bytes as ASCII if at least 4 are buffered (for four-letter-word detection). */
  peekWord(): string | null {
    if (this.buffered < 4) return null;
    return this.pending.toString('latin1', this.offset, this.offset + 4);
  }

  /** The next complete frame body, or null if more bytes are needed. Throws FrameLengthError. */
  next(): Buffer | null {
    if (this.buffered < 4) return null;
    const len = this.pending.readInt32BE(this.offset);
    if (len < 0 || len > this.maxFrameBytes) throw new FrameLengthError(len, this.maxFrameBytes);
    if (this.buffered < 4 + len) return null;
    const start = this.offset + 4;
    this.offset = start + len;
    return this.pending.subarray(start, start + len);
  }
}
