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
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A long as a number: exact for zxids, times and TTLs (all below 2^53). */
  readLong(): number {
    this.need(8);
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  /** A long as a bigint: for session ids and ephemeralOwner, which use all 64 bits. */
  readBigLong(): bigint {
    this.need(8);
    // Most are 0 (no ephemeral owner): answer the shared 0n rather than make a bigint.
    if (this.buf.readInt32BE(this.pos) === 0 && this.buf.readInt32BE(this.pos + 4) === 0) {
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

export class JuteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 256) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  writeInt(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v | 0, this.pos);
    this.pos += 4;
    return this;
  }

  writeLong(v: number): this {
    this.ensure(8);
    const hi = Math.floor(v / TWO_32);
    this.buf.writeInt32BE(hi | 0, this.pos);
    this.buf.writeUInt32BE(v - hi * TWO_32, this.pos + 4);
    this.pos += 8;
    return this;
  }

  writeBigLong(v: bigint): this {
    this.ensure(8);
    if (v === ZERO) {
      // the common case (no ephemeral owner) without bigint arithmetic
      this.buf.writeInt32BE(0, this.pos);
      this.buf.writeInt32BE(0, this.pos + 4);
    } else {
      this.buf.writeBigInt64BE(BigInt.asIntN(64, v), this.pos);
    }
    this.pos += 8;
    return this;
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
    const len = Buffer.byteLength(v, 'utf8');
    this.writeInt(len);
    this.ensure(len);
    this.buf.write(v, this.pos, len, 'utf8');
    this.pos += len;
    return this;
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
    this.buf.writeInt32BE(v | 0, at);
  }

  /** Overwrites 4 bytes at `at` with an unsigned int (a checksum). */
  patchUint(at: number, v: number): void {
    this.buf.writeUInt32BE(v >>> 0, at);
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
    this.pos = 0;
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
