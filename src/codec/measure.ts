/**
 * Measuring unframed records. The quorum port has no length prefix: QuorumPackets (and the SNAP
 * stream) follow one another as bare jute records, so a reader must walk a record's lengths to
 * know whether all of it has arrived. The scanner walks them without decoding or allocating,
 * checking each length against its bound as soon as it is seen, so a bogus length is refused
 * before we wait for (or buffer) the bytes it claims.
 */
import { CodecError, int32At } from './jute.js';

/** What a measure function answers when the record is not complete yet. */
export const INCOMPLETE = -1;

/** Thrown inside a scan when the bytes run out; `measure` turns it into INCOMPLETE. One instance: no stack per throw. */
const OUT_OF_BYTES = new Error('record incomplete');

export class JuteScanner {
  private pos: number;

  constructor(
    private readonly buf: Uint8Array,
    private readonly start: number,
    private readonly end: number,
    /** Largest record accepted, in bytes. */
    private readonly maxRecordBytes: number,
  ) {
    this.pos = start;
  }

  get scanned(): number {
    return this.pos - this.start;
  }

  /**
   * After a scan that ran out of bytes: how many bytes from the record's start it needs at least.
   * A reader waiting for a long record measures it again only once that many have arrived.
   */
  needed = 0;

  skip(n: number): void {
    if (this.pos + n - this.start > this.maxRecordBytes) {
      throw new CodecError(`record longer than ${this.maxRecordBytes} bytes`);
    }
    if (this.pos + n > this.end) {
      this.needed = this.pos + n - this.start;
      throw OUT_OF_BYTES;
    }
    this.pos += n;
  }

  /** A jute string (not null) of at most maxBytes: whether it is exactly `ascii`. */
  textEquals(maxBytes: number, ascii: string): boolean {
    const length = this.int();
    if (length < 0 || length > maxBytes) throw new CodecError(`length ${length} outside [0, ${maxBytes}]`);
    const at = this.pos;
    this.skip(length);
    if (length !== ascii.length) return false;
    for (let i = 0; i < length; i++) if (this.buf[at + i] !== ascii.charCodeAt(i)) return false;
    return true;
  }

  int(): number {
    this.skip(4);
    return int32At(this.buf, this.pos - 4);
  }

  /** A jute buffer or string: length -1 (null) or 0..maxBytes, then the bytes. */
  lengthPrefixed(maxBytes: number): void {
    const length = this.int();
    if (length === -1) return;
    if (length < 0 || length > maxBytes) throw new CodecError(`length ${length} outside [0, ${maxBytes}]`);
    this.skip(length);
  }

  /** A jute vector's count: -1 (null) or non-negative. */
  count(): number {
    const n = this.int();
    if (n < -1) throw new CodecError(`negative vector length ${n}`);
    return n;
  }
}

/** Runs `walk` over a scanner and answers the record's length, or INCOMPLETE. */
export function measure(scanner: JuteScanner, walk: (s: JuteScanner) => void): number {
  try {
    walk(scanner);
  } catch (e) {
    if (e === OUT_OF_BYTES) return INCOMPLETE;
    throw e;
  }
  return scanner.scanned;
}
