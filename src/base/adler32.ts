/** Adler-32 (java.util.zip.Adler32), the checksum of ZooKeeper's txn log records and snapshots. */
const MOD = 65521;
/** Largest run of bytes that cannot overflow the sums before a modulo (zlib's NMAX). */
const NMAX = 5552;

export function adler32(buf: Uint8Array, start = 0, end = buf.length, seed = 1): number {
  let a = seed & 0xffff;
  let b = (seed >>> 16) & 0xffff;
  let i = start;
  while (i < end) {
    const stop = Math.min(i + NMAX, end);
    // Four bytes a round: about a quarter faster than one (fewer loop checks); in-range reads.
    for (const stop4 = stop - 3; i < stop4; i += 4) {
      a += buf[i] as number;
      b += a;
      a += buf[i + 1] as number;
      b += a;
      a += buf[i + 2] as number;
      b += a;
      a += buf[i + 3] as number;
      b += a;
    }
    for (; i < stop; i++) {
      a += buf[i] as number;
      b += a;
    }
    a %= MOD;
    b %= MOD;
  }
  return ((b << 16) | a) >>> 0;
}
