/**
 * The snappy-java stream format ZooKeeper writes for `snapshot.<zxid>.snappy`
 * (SnappyOutputStream): an 8-byte magic (0x82 "SNAPPY" 0x00), int version 1, int minimum
 * compatible version 1, then blocks of {int compressedLength, raw snappy block} each holding
 * up to 32 KiB of input. Raw snappy: a varint length, then literals and back-references.
 */

const MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const BLOCK_BYTES = 32 * 1024;
const HASH_BITS = 14;

export class SnappyError extends Error {
  override readonly name = 'SnappyError';
}

export function isSnappyJavaStream(buf: Buffer): boolean {
  return buf.length >= 16 && buf.subarray(0, 8).equals(MAGIC);
}

function pushVarint(out: number[], v: number): void {
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
}

function pushLiteral(out: number[], src: Buffer, from: number, to: number): void {
  const n = to - from;
  if (n <= 0) return;
  const m = n - 1;
  if (m < 60) out.push(m << 2);
  else if (m < 0x100) out.push(60 << 2, m);
  else if (m < 0x10000) out.push(61 << 2, m & 0xff, m >>> 8);
  else out.push(62 << 2, m & 0xff, (m >>> 8) & 0xff, m >>> 16);
  for (let i = from; i < to; i++) out.push(src[i] ?? 0);
}

/** Compresses one block (<= 32 KiB) with a greedy 4-byte hash matcher. */
function compressBlock(src: Buffer): Buffer {
  const out: number[] = [];
  pushVarint(out, src.length);
  const table = new Int32Array(1 << HASH_BITS).fill(-1);
  let i = 0;
  let literalStart = 0;
  while (i + 4 <= src.length) {
    const word = src.readUInt32LE(i);
    const h = Math.imul(word, 0x1e35a7bd) >>> (32 - HASH_BITS);
    const candidate = table[h] ?? -1;
    table[h] = i;
    if (candidate >= 0 && i - candidate <= 0xffff && src.readUInt32LE(candidate) === word) {
      pushLiteral(out, src, literalStart, i);
      let length = 4;
      while (length < 64 && i + length < src.length && src[candidate + length] === src[i + length]) length++;
      const offset = i - candidate;
      out.push(((length - 1) << 2) | 2, offset & 0xff, offset >>> 8);
      i += length;
      literalStart = i;
    } else {
      i++;
    }
  }
  pushLiteral(out, src, literalStart, src.length);
  return Buffer.from(out);
}

function uncompressBlock(src: Buffer): Buffer {
  let pos = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    const b = src[pos++];
    if (b === undefined || shift > 28) throw new SnappyError('bad block length');
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  const out = Buffer.alloc(length);
  let o = 0;
  const need = (n: number): void => {
    if (pos + n > src.length) throw new SnappyError('block truncated');
  };
  while (pos < src.length) {
    const tag = src[pos++] ?? 0;
    const type = tag & 3;
    if (type === 0) {
      let n = tag >>> 2;
      if (n >= 60) {
        const bytes = n - 59;
        need(bytes);
        n = src.readUIntLE(pos, bytes);
        pos += bytes;
      }
      n += 1;
      need(n);
      if (o + n > length) throw new SnappyError('literal overruns the block');
      src.copy(out, o, pos, pos + n);
      pos += n;
      o += n;
      continue;
    }
    let len: number;
    let offset: number;
    if (type === 1) {
      need(1);
      len = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | (src[pos++] ?? 0);
    } else if (type === 2) {
      need(2);
      len = (tag >>> 2) + 1;
      offset = src.readUInt16LE(pos);
      pos += 2;
    } else {
      need(4);
      len = (tag >>> 2) + 1;
      offset = src.readUInt32LE(pos);
      pos += 4;
    }
    if (offset === 0 || offset > o || o + len > length) throw new SnappyError('bad back-reference');
    for (let k = 0; k < len; k++, o++) out[o] = out[o - offset] ?? 0;
  }
  if (o !== length) throw new SnappyError('block shorter than its declared length');
  return out;
}

export function snappyJavaCompress(raw: Buffer): Buffer {
  const c = new SnappyJavaCompressor();
  return Buffer.concat([c.header(), ...c.push(raw), ...c.end()]);
}

/**
 * The snappy-java stream of input given in pieces: blocks are cut every 32 KiB of the whole
 * input, wherever the pieces end, and come out one at a time, so that a caller compressing a
 * large snapshot can pause between blocks.
 */
export class SnappyJavaCompressor {
  private readonly pending = Buffer.allocUnsafe(BLOCK_BYTES);
  private filled = 0;

  header(): Buffer {
    const header = Buffer.alloc(16);
    MAGIC.copy(header, 0);
    header.writeInt32BE(1, 8);
    header.writeInt32BE(1, 12);
    return header;
  }

  /** The blocks `input` completes, one per iteration (`input` is read as they are taken). */
  *push(input: Buffer): Generator<Buffer, void, undefined> {
    let at = 0;
    while (at < input.length) {
      if (this.filled === 0 && input.length - at >= BLOCK_BYTES) {
        yield framedBlock(input.subarray(at, at + BLOCK_BYTES));
        at += BLOCK_BYTES;
        continue;
      }
      const n = Math.min(BLOCK_BYTES - this.filled, input.length - at);
      input.copy(this.pending, this.filled, at, at + n);
      this.filled += n;
      at += n;
      if (this.filled === BLOCK_BYTES) {
        this.filled = 0;
        yield framedBlock(this.pending);
      }
    }
  }

  /** The last, partial block, if any. */
  end(): Buffer[] {
    if (this.filled === 0) return [];
    const last = framedBlock(this.pending.subarray(0, this.filled));
    this.filled = 0;
    return [last];
  }
}

/** One block as the stream holds it: its compressed length, then the compressed bytes. */
function framedBlock(src: Buffer): Buffer {
  const block = compressBlock(src);
  const framed = Buffer.allocUnsafe(4 + block.length);
  framed.writeInt32BE(block.length, 0);
  block.copy(framed, 4);
  return framed;
}

export function snappyJavaUncompress(buf: Buffer): Buffer {
  if (!isSnappyJavaStream(buf)) throw new SnappyError('not a snappy-java stream (bad magic header)');
  const parts: Buffer[] = [];
  let pos = 16;
  while (pos < buf.length) {
    if (pos + 4 > buf.length) throw new SnappyError('truncated block header');
    const len = buf.readInt32BE(pos);
    pos += 4;
    if (len < 0 || pos + len > buf.length) throw new SnappyError('truncated block');
    parts.push(uncompressBlock(buf.subarray(pos, pos + len)));
    pos += len;
  }
  return Buffer.concat(parts);
}
