/**
 * java.util.Random's 48-bit LCG. ZooKeeper derives a session's password from its id with
 * `new Random(sessionId ^ 0xB3415C00).nextBytes(16)`, so any server can check a password
 * without storing it; we must produce the same bytes to let sessions move between
 * ZooKeeper and ZephyrCoord servers.
 */
const MULTIPLIER = 0x5deece66dn;
const ADDEND = 0xbn;
const MASK = (1n << 48n) - 1n;

export class JavaRandom {
  private seed: bigint;

  constructor(seed: bigint) {
    this.seed = (BigInt.asIntN(64, seed) ^ MULTIPLIER) & MASK;
  }

  private next(bits: number): number {
    this.seed = (this.seed * MULTIPLIER + ADDEND) & MASK;
    return Number(BigInt.asIntN(32, this.seed >> BigInt(48 - bits)));
  }

  nextInt(): number {
    return this.next(32);
  }

  nextBytes(out: Uint8Array): void {
    let i = 0;
    while (i < out.length) {
      let rnd = this.nextInt();
      for (let n = Math.min(out.length - i, 4); n > 0; n--) {
        out[i++] = rnd & 0xff;
        rnd >>= 8;
      }
    }
  }
}

const PASSWORD_SECRET = 0xb3415c00n;

/** The password ZooKeeper issues for `sessionId`. */
export function sessionPassword(sessionId: bigint): Buffer {
  const out = Buffer.alloc(16);
  new JavaRandom(sessionId ^ PASSWORD_SECRET).nextBytes(out);
  return out;
}
