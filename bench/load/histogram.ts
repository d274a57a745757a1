/**
 * A log-bucketed latency histogram in the manner of HdrHistogram: values (nanoseconds) below
 * 2 * SUB are counted exactly; above that, every power-of-two range is split into SUB equal
 * sub-buckets, so any recorded value is known to within 1/SUB (0.8 %) of itself. Recording is
 * a few integer operations and one array increment; no allocation.
 */

/** Sub-buckets per power of two (2^SUB_BITS). */
const SUB_BITS = 7;
const SUB = 1 << SUB_BITS;
/** Values up to 2^MAX_BITS ns (about 78 hours) are tracked; larger ones are clamped. */
const MAX_BITS = 48;
const TWO_32 = 4294967296;
const BUCKETS = 2 * SUB + (MAX_BITS - SUB_BITS - 1) * SUB;

/** Position of the highest set bit of a non-negative integer below 2^53. */
function msb(v: number): number {
  if (v >= TWO_32) return 63 - Math.clz32(Math.floor(v / TWO_32));
  return 31 - Math.clz32(v);
}

function indexOf(v: number): number {
  if (v < 2 * SUB) return v;
  const shift = msb(v) - SUB_BITS;
  const sub = Math.floor(v / 2 ** shift); // in [SUB, 2 * SUB)
  const idx = 2 * SUB + (shift - 1) * SUB + (sub - SUB);
  return idx < BUCKETS ? idx : BUCKETS - 1;
}

/** The largest value that lands in bucket `idx`. */
function highestIn(idx: number): number {
  if (idx < 2 * SUB) return idx;
  const j = idx - 2 * SUB;
  const shift = Math.floor(j / SUB) + 1;
  const sub = SUB + (j % SUB);
  return (sub + 1) * 2 ** shift - 1;
}

export interface HistogramSnapshot {
  counts: number[];
  count: number;
  min: number;
  max: number;
  sum: number;
}

export class Histogram {
  private counts = new Float64Array(BUCKETS);
  count = 0;
  min = Number.POSITIVE_INFINITY;
  max = 0;
  sum = 0;

  /** Records one value in nanoseconds (negative values count as 0). */
  record(ns: number): void {
    const v = ns > 0 ? Math.round(ns) : 0;
    this.counts[indexOf(v)]! += 1;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** Records hrtime.bigint() readings `end - start`. */
  recordSpan(start: bigint, end: bigint): void {
    this.record(Number(end - start));
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.min = Number.POSITIVE_INFINITY;
    this.max = 0;
    this.sum = 0;
  }

  add(other: Histogram | HistogramSnapshot): void {
    const c: ArrayLike<number> = other instanceof Histogram ? other.counts : other.counts;
    for (let i = 0; i < BUCKETS; i++) {
      const n = c[i] ?? 0;
      if (n !== 0) this.counts[i]! += n;
    }
    if (other.count === 0) return;
    this.count += other.count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
  }

  /**
   * The value at quantile q (0..1): the highest value of the bucket holding the ceil(q * count)-th
   * smallest recording, capped at the exact maximum. 0 when empty.
   */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(Math.max(highestIn(i), this.min), this.max);
    }
    return this.max;
  }

  mean(): number {
    return this.count === 0 ? 0 : this.sum / this.count;
  }

  /** A plain copy (structured-clone and JSON friendly) for passing between threads. */
  snapshot(): HistogramSnapshot {
    return { counts: Array.from(this.counts), count: this.count, min: this.min, max: this.max, sum: this.sum };
  }

  static from(s: HistogramSnapshot): Histogram {
    const h = new Histogram();
    h.add(s);
    return h;
  }
}
