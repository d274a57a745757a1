/**
 * Jute, ZooKeeper's record serialization: big-endian ints and longs, booleans as one byte,
 * strings and buffers as an int length (-1 for null) followed by the bytes, vectors as an int
 * count followed by the elements.
 */

/** Thrown when bytes do not decode as the expected record: the owner closes that connection. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
}

const TWO_32 = 4294967296;
const ZERO = 0n;
/** Strings up to this length are tried as ASCII in JS before the native UTF-8 encoder. */
const ASCII_LOOP_MAX_CHARS = 64;

/*
 * Ints are read from the bytes and written through a DataView rather than with Buffer's
 * readInt32BE/writeInt32BE: on Node 20 those cost 25-30 ns a call (argument validation that
 * the JIT does not remove) against 5-8 ns here, and a reply or request makes 20-30 of them.
 */

/** The big-endian int32 at `at` (bounds already checked by the caller). */
export function int32At(b: Uint8Array, at: number): number {
  return ((b[at] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number);
}

export class JuteReader {
  private pos: number;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new CodecError(`record truncated: need ${n} bytes at offset ${this.pos}, have ${this.end - this.pos}`);
    }
  }

  readInt(): number {
    this.need(4);
    const v = int32At(this.buf, this.pos);
    this.pos += 4;
    return v;
  }

  /** A long as a number: exact for zxids, times and TTLs (all below 2^53). */
  readLong(): number {
    this.need(8);
    const hi = int32At(this.buf, this.pos);
    const lo = int32At(this.buf, this.pos + 4) >>> 0;
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  /**
   * A long that must be exact as a number (|v| < 2^53): zxids, epochs and versions from a peer.
   * readLong would round a larger value silently; here it is malformed input.
   */
  readSafeLong(): number {
    const at = this.pos;
    const v = this.readLong();
    if (!Number.isSafeInteger(v)) throw new CodecError(`long at offset ${at} is outside the exact number range`);
    return v;
  }

  /** The next int, without consuming it (a length to check before reading what it counts). */
  peekInt(): number {
    this.need(4);
    return int32At(this.buf, this.pos);
  }

  /** A long as a bigint: for session ids and ephemeralOwner, which use all 64 bits. */
  readBigLong(): bigint {
    this.need(8);
    // Most are 0 (no ephemeral owner): answer the shared 0n rather than make a bigint.
    if (int32At(this.buf, this.pos) === 0 && int32At(this.buf, this.pos + 4) === 0) {
      this.pos += 8;
      return ZERO;
    }
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  readBool(): boolean {
    this.need(1);
    return this.buf[this.pos++] !== 0;
  }

  /** A buffer, copied out so it does not keep the whole frame alive. Null when length is -1. */
  readBuffer(): Buffer | null {
    const len = this.readInt();
    if (len === -1) return null;
    if (len < 0) throw new CodecError(`negative buffer length ${len}`);
    this.need(len);
    const out = Buffer.allocUnsafe(len);
    this.buf.copy(out, 0, this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  /**
   * A buffer without copying: a view into the bytes being read, for records that live only
   * while they are processed (requests, txns). Null when length is -1.
   */
  readBufferView(): Buffer | null {
    const len = this.readInt();
    if (len === -1) return null;
    if (len < 0) throw new CodecError(`negative buffer length ${len}`);
    this.need(len);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  /** A buffer as a latin1 string (one char per byte), the form the data tree keeps. */
  readLatin1Buffer(): string | null {
    const len = this.readInt();
    if (len === -1) return null;
    if (len < 0) throw new CodecError(`negative buffer length ${len}`);
    this.need(len);
    const s = this.buf.toString('latin1', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  readString(): string | null {
    const len = this.readInt();
    if (len === -1) return null;
    if (len < 0) throw new CodecError(`negative string length ${len}`);
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  /** A string where jute's null reads as "" (ZooKeeper treats a null path like an empty one). */
  readText(): string {
    return this.readString() ?? '';
  }

  readVector<T>(readItem: (r: JuteReader) => T): T[] | null {
    const n = this.readInt();
    if (n === -1) return null;
    if (n < 0) throw new CodecError(`negative vector length ${n}`);
    // Each element takes at least one byte: a bigger count is garbage, not a huge allocation.
    if (n > this.remaining) throw new CodecError(`vector length ${n} exceeds the ${this.remaining} bytes left`);
    const out: T[] = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = readItem(this);
    return out;
  }

  readStrings(): string[] {
    return this.readVector((r) => r.readText()) ?? [];
  }
}

/**
 * Writes jute records into a growing buffer. Besides building one record at a time (reset,
 * write, toBuffer), it can serve as a connection's output queue: frames are appended one after
 * another (beginFrame / endFrame) and the bytes written so far are handed to the socket with
 * handOff. Handed-off bytes are not written again unless their taker says it is done with them
 * (reuseHandedOff): when the buffer fills, the bytes not yet handed off move to a new buffer and
 * the old one stays with the socket until it is sent.
 */
/** A jute long from a number (exact up to 2^53, as zxids and times are), at `at` in `dv`. */
export function putLong(dv: DataView, at: number, v: number): void {
  const hi = Math.floor(v / TWO_32);
  dv.setInt32(at, hi | 0);
  dv.setUint32(at + 4, v - hi * TWO_32);
}

/** A jute long from a bigint, at `at` in `dv`. */
export function putBigLong(dv: DataView, at: number, v: bigint): void {
  if (v === ZERO) {
    // the common case (no ephemeral owner) without bigint arithmetic
    dv.setInt32(at, 0);
    dv.setInt32(at + 4, 0);
  } else {
    // setBigUint64 stores v modulo 2^64: the same bits as the signed long, with no new bigint
    dv.setBigUint64(at, v);
  }
}

export class JuteWriter {
  private buf: Buffer;
  /** Ints and longs are written through this view of `buf` (replaced with it). */
  private dv: DataView;
  private pos = 0;
  /** Bytes before this offset were handed off (handOff); growth leaves them behind. */
  private handedOff = 0;
  /** Offset of the frame being written (beginFrame), moved along when growth drops bytes. */
  private frameAt = 0;
  /** Least size of the buffer growth allocates next (0: twice what it keeps, or more to fit). */
  growBytes = 0;

  constructor(initialBytes = 256) {
    this.buf = Buffer.allocUnsafe(initialBytes);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    const from = this.handedOff;
    const kept = this.pos - from;
    // At least twice what is kept: a burst of writes between two handOffs then copies each
    // byte O(1) times on average, however small growBytes is.
    let size = Math.max(this.growBytes, 2 * kept, 16);
    while (size < kept + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, from, this.pos);
    this.buf = next;
    this.dv = new DataView(next.buffer, next.byteOffset, next.length);
    this.pos -= from;
    this.frameAt -= from;
    this.handedOff = 0;
  }

  /** Starts a length-prefixed frame at the current offset: its length is filled in by endFrame. */
  beginFrame(): this {
    this.ensure(4);
    this.frameAt = this.pos;
    this.pos += 4;
    return this;
  }

  /** Offset of the frame begun last (its length prefix). */
  get frameStart(): number {
    return this.frameAt;
  }

  /** Completes the frame begun last: its length prefix counts the bytes written after it. */
  endFrame(): void {
    this.dv.setInt32(this.frameAt, this.pos - this.frameAt - 4);
  }

  /** Removes the frame begun last, as if it had never been written. */
  dropFrame(): void {
    this.pos = this.frameAt;
  }

  /** Bytes written and not yet handed off. */
  get unsentBytes(): number {
    return this.pos - this.handedOff;
  }

  /**
   * The bytes written since the last handOff, for a socket to send: they are never written
   * again, so the socket may hold them as long as it needs.
   */
  handOff(): Buffer {
    const bytes = this.buf.subarray(this.handedOff, this.pos);
    this.handedOff = this.pos;
    return bytes;
  }

  /**
   * Whoever took the handed-off bytes is done with them (a socket that passed them to the
   * kernel at once): the next frames are written from the buffer's start again, instead of
   * filling the rest of it and then moving to a new buffer. Only between frames, with every
   * byte handed off.
   */
  reuseHandedOff(): void {
    if (this.pos !== this.handedOff) throw new RangeError(`${this.pos - this.handedOff} bytes are not handed off yet`);
    this.pos = 0;
    this.handedOff = 0;
    this.frameAt = 0;
  }

  writeInt(v: number): this {
    this.ensure(4);
    this.dv.setInt32(this.pos, v | 0);
    this.pos += 4;
    return this;
  }

  writeLong(v: number): this {
    this.ensure(8);
    putLong(this.dv, this.pos, v);
    this.pos += 8;
    return this;
  }

  writeBigLong(v: bigint): this {
    this.ensure(8);
    putBigLong(this.dv, this.pos, v);
    this.pos += 8;
    return this;
  }

  /**
   * Reserves `n` bytes at the end for the caller to fill through `dataView` at the offset returned
   * (valid until the next write): a fixed-size record such as a Stat then costs one bounds
   * check instead of one per field.
   */
  reserve(n: number): number {
    this.ensure(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /** The DataView over the current buffer (replaced when the buffer grows). */
  get dataView(): DataView {
    return this.dv;
  }

  writeBool(v: boolean): this {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
    return this;
  }

  writeBuffer(v: Uint8Array | null): this {
    if (v === null) return this.writeInt(-1);
    this.writeInt(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    return this;
  }

  /** A jute buffer whose bytes are held as a latin1 string (one char per byte). */
  writeLatin1Buffer(v: string | null): this {
    if (v === null) return this.writeInt(-1);
    this.writeInt(v.length);
    this.ensure(v.length);
    this.pos += this.buf.write(v, this.pos, v.length, 'latin1');
    return this;
  }

  writeString(v: string | null): this {
    if (v === null) return this.writeInt(-1);
    if (v.length <= ASCII_LOOP_MAX_CHARS && this.writeShortAscii(v)) return this;
    const len = Buffer.byteLength(v, 'utf8');
    this.writeInt(len);
    this.ensure(len);
    this.buf.write(v, this.pos, len, 'utf8');
    this.pos += len;
    return this;
  }

  /**
   * Writes a short all-ASCII string (length and bytes) with a loop in JS, or writes nothing and
   * answers false. Paths are short and ASCII; for them this is 2-3x cheaper than the two native
   * calls (byteLength and utf8 write) of the general case.
   */
  private writeShortAscii(v: string): boolean {
    const n = v.length;
    this.ensure(4 + n);
    const b = this.buf;
    const at = this.pos + 4;
    for (let i = 0; i < n; i++) {
      const c = v.charCodeAt(i);
      if (c > 0x7f) return false;
      b[at + i] = c;
    }
    this.dv.setInt32(this.pos, n);
    this.pos = at + n;
    return true;
  }

  writeVector<T>(items: readonly T[] | null, writeItem: (w: JuteWriter, item: T) => void): this {
    if (items === null) return this.writeInt(-1);
    this.writeInt(items.length);
    for (const item of items) writeItem(this, item);
    return this;
  }

  writeStrings(items: readonly string[]): this {
    return this.writeVector(items, (w, s) => w.writeString(s));
  }

  /** Reserve an int to fill in later (e.g. a frame length). Returns its offset. */
  reserveInt(): number {
    this.ensure(4);
    const at = this.pos;
    this.pos += 4;
    return at;
  }

  patchInt(at: number, v: number): void {
    this.checkPatch(at);
    this.dv.setInt32(at, v | 0);
  }

  /** Overwrites 4 bytes at `at` with an unsigned int (a checksum). */
  patchUint(at: number, v: number): void {
    this.checkPatch(at);
    this.dv.setUint32(at, v >>> 0);
  }

  /** A patch lands inside what was written, as Buffer's bounds check made sure before. */
  private checkPatch(at: number): void {
    if (at < 0 || at + 4 > this.pos) throw new RangeError(`patch at ${at} outside the ${this.pos} bytes written`);
  }

  /** One raw byte. */
  writeByte(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  /** The writer's whole current buffer (bytes past `length` are garbage); valid until the next write. */
  view(): Buffer {
    return this.buf;
  }

  /** Start over, keeping the memory (the previous toBuffer() view must no longer be needed). */
  reset(): this {
    if (this.handedOff > 0) throw new Error('reset of a writer whose bytes were handed off');
    this.pos = 0;
    this.frameAt = 0;
    return this;
  }

  /** Drop everything written after `length` bytes. */
  truncate(length: number): void {
    if (length < this.pos) this.pos = length;
  }

  /** The bytes written so far (a view: copy it if the writer is reused). */
  toBuffer(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
