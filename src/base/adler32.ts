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
    for (; i < stop; i++) {
      a += buf[i] ?? 0;
      b += a;
    }
    a %= MOD;
    b %= MOD;
  }
  return ((b << 16) | a) >>> 0;
}
