/**
 * Reads with ZooKeeper's per-field bound: BinaryInputArchive refuses a string or buffer longer
 * than jute.maxbuffer + extrasize before reading it. JuteReader alone bounds a length only by
 * the bytes at hand, which for a stream being reassembled is not a bound.
 */
import { CodecError, type JuteReader } from './jute.js';

/** -1 is null; any other length must be in [0, maxBytes]. */
export function checkLength(length: number, maxBytes: number): void {
  if (length < -1 || length > maxBytes) throw new CodecError(`length ${length} outside [0, ${maxBytes}]`);
}

export function readBoundedBuffer(r: JuteReader, maxBytes: number): Buffer | null {
  checkLength(r.peekInt(), maxBytes);
  return r.readBuffer();
}

/** A string that may not be null (paths, auth ids, markers). */
export function readBoundedText(r: JuteReader, maxBytes: number): string {
  checkLength(r.peekInt(), maxBytes);
  const s = r.readString();
  if (s === null) throw new CodecError('null string where a value is required');
  return s;
}
