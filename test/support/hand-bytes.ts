/**
 * Bytes built by hand, as Java's DataOutputStream / jute's BinaryOutputArchive write them, for
 * codec tests that must not build their expectations with the writer under test.
 */
export const i32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};

export const i64 = (v: bigint | number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(v));
  return b;
};

/** A jute string: int length, then the UTF-8 bytes. */
export const text = (s: string): Buffer => Buffer.concat([i32(Buffer.byteLength(s)), Buffer.from(s)]);

/** A jute buffer: int length (-1 for null), then the bytes. */
export const buffer = (b: Buffer | null): Buffer => (b === null ? i32(-1) : Buffer.concat([i32(b.length), b]));
