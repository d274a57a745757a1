/**
 * Runs one case under tinybench. tinybench times every call of its task function with its own
 * clock reads, which costs tens of ns: more than a 50 ns tree lookup. So each task call is a
 * batch of `n` calls of the body (n picked so one batch takes about SAMPLE_MS) and reports
 * batch time / ops as `overriddenDuration`: tinybench's statistics are then per op, and its
 * p99 is the p99 of batch means (a tail that stays within one batch is averaged away).
 */
import { performance } from 'node:perf_hooks';
import { Bench } from 'tinybench';
import type { AllocFigure, AllocMeter } from './alloc.js';
import type { AsyncCase, MicroCase, SyncCase } from './case.js';

export interface RunSettings {
  /** tinybench's time budget per case (ms) and minimum number of samples. */
  timeMs: number;
  minSamples: number;
  /** Time each case runs before its batch size is chosen and measuring starts. */
  warmupMs: number;
  /** Most calls in an allocation window. */
  allocCalls: number;
}

export interface Measurement {
  /** Mean over all samples: the headline figure. */
  nsPerOp: number;
  /** Median and p99 of the per-sample means (the median shrugs off preempted samples). */
  p50Ns: number;
  p99Ns: number;
  opsPerSec: number;
  samples: number;
  /** Calls per timed sample. */
  batch: number;
  alloc: AllocFigure | null;
}

/** Target duration of one timed sample: long against the clock's resolution, short against a scavenge. */
const SAMPLE_MS = 0.05;
const DEFAULT_MAX_BATCH = 65536;
const DEFAULT_MAX_ALLOC_CALLS = 20000;
/**
 * Allocation windows aim at this many ms of calls, so slow ops do not take seconds. Many calls
 * matter for Buffer contents: they come from 8 KiB pool slabs, counted a slab at a time.
 */
const ALLOC_WINDOW_MS = 10;

interface Timed {
  /** Time of the body alone. */
  bodyMs: number;
  /** Time including prepare and cleanup: what the sample costs tinybench's time budget. */
  wallMs: number;
}

async function sampleAsync(c: AsyncCase, n: number): Promise<Timed> {
  const start = performance.now();
  c.prepare?.(n);
  const t0 = performance.now();
  await c.run(n);
  const t1 = performance.now();
  c.cleanup?.(n);
  return { bodyMs: t1 - t0, wallMs: performance.now() - start };
}

function sampleSync(c: SyncCase, n: number): Timed {
  const start = performance.now();
  c.prepare?.(n);
  const t0 = performance.now();
  c.run(n);
  const t1 = performance.now();
  c.cleanup?.(n);
  return { bodyMs: t1 - t0, wallMs: performance.now() - start };
}

const sample = (c: MicroCase, n: number): Promise<Timed> => (c.async === true ? sampleAsync(c, n) : Promise.resolve(sampleSync(c, n)));

/**
 * Runs samples for `budgetMs` (growing the batch up to SAMPLE_MS), so the JIT has optimized
 * the body before the batch size is chosen: sized on interpreter speed, batches come out too
 * small to time. It replaces tinybench's own warm-up, which would run at that wrong size.
 */
async function warmUp(c: MicroCase, budgetMs: number): Promise<void> {
  const max = c.maxBatch ?? DEFAULT_MAX_BATCH;
  const end = performance.now() + budgetMs;
  for (let n = 1; performance.now() < end;) {
    if ((await sample(c, n)).bodyMs < SAMPLE_MS) n = Math.min(max, n * 2);
  }
}

/**
 * Doubles the batch until a sample takes SAMPLE_MS. A long sample is confirmed by the median
 * of three: one that lost the CPU to another process is long too.
 */
async function calibrate(c: MicroCase): Promise<number> {
  const max = c.maxBatch ?? DEFAULT_MAX_BATCH;
  let n = 1;
  while (n < max) {
    if ((await sample(c, n)).bodyMs >= SAMPLE_MS) {
      const times = [(await sample(c, n)).bodyMs, (await sample(c, n)).bodyMs, (await sample(c, n)).bodyMs].sort((a, b) => a - b);
      if ((times[1] ?? 0) >= SAMPLE_MS) return n;
    }
    n = Math.min(max, n * 2);
  }
  return n;
}

export async function measureCase(c: MicroCase, settings: RunSettings, meter: AllocMeter | null): Promise<Measurement> {
  await warmUp(c, settings.warmupMs);
  const batch = await calibrate(c);
  const ops = batch * (c.opsPerCall ?? 1);
  const bench = new Bench({ time: settings.timeMs, iterations: settings.minSamples, warmup: false, throws: true });
  // tinybench takes the sample's per-op time from overriddenDuration and charges the whole
  // sample (prepare and cleanup included) to its time budget through overriddenIterationCost.
  if (c.async === true) {
    bench.add(
      c.name,
      async () => {
        const t = await sampleAsync(c, batch);
        return { overriddenDuration: t.bodyMs / ops, overriddenIterationCost: t.wallMs };
      },
      { async: true },
    );
  } else {
    bench.add(
      c.name,
      () => {
        const t = sampleSync(c, batch);
        return { overriddenDuration: t.bodyMs / ops, overriddenIterationCost: t.wallMs };
      },
      { async: false },
    );
  }
  await bench.run();
  const result = bench.getTask(c.name)?.result;
  if (result === undefined) throw new Error(`tinybench lost task ${c.name}`);
  if (result.state === 'errored') throw result.error;
  if (result.state !== 'completed') throw new Error(`${c.name}: tinybench finished in state ${result.state}`);
  const nsPerOp = result.latency.mean * 1e6;
  // The median sizes the window: a mean inflated by a few preempted samples would make it tiny.
  const perCallNs = result.latency.p50 * 1e6 * (c.opsPerCall ?? 1);
  const allocCalls = Math.min(
    settings.allocCalls,
    c.maxAllocCalls ?? DEFAULT_MAX_ALLOC_CALLS,
    Math.max(1, Math.round((ALLOC_WINDOW_MS * 1e6) / Math.max(perCallNs, 1))),
  );
  const alloc = meter === null ? null : await meter.measure(c, allocCalls);
  return {
    nsPerOp,
    p50Ns: result.latency.p50 * 1e6,
    p99Ns: result.latency.p99 * 1e6,
    opsPerSec: nsPerOp > 0 ? 1e9 / nsPerOp : 0,
    samples: result.latency.samplesCount,
    batch,
    alloc,
  };
}
