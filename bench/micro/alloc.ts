/**
 * Bytes allocated per op. tinybench does not measure allocations, so we do: a full gc(), the
 * heap's used size, K calls, the used size again. That difference is only the allocation
 * total if no collection ran in between, so a PerformanceObserver watches 'gc' entries and a
 * window that overlaps one is retried with fewer calls, and reported as n/a if that keeps
 * happening (a wrong figure is worse than none). The npm script gives node a 64 MiB young
 * generation from the start (--min/--max-semi-space-size) so a window rarely meets a scavenge.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';
import type { MicroCase } from './case.js';

export interface AllocFigure {
  /** JS heap bytes per op (objects, strings, closures, Buffer and ArrayBuffer headers). */
  heapBytes: number;
  /** ArrayBuffer backing-store bytes per op (Buffer contents live outside the JS heap). */
  bufferBytes: number;
  /** Calls in the window that produced the figure. */
  calls: number;
}

interface Window {
  heap: number;
  buffers: number;
  collided: boolean;
}

interface GcSpan {
  start: number;
  end: number;
}

/** Lets node deliver pending 'gc' entries: observers receive them asynchronously. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1));

export class AllocMeter {
  private readonly spans: GcSpan[] = [];
  private readonly observer: PerformanceObserver;
  /** What an empty window measures (the memoryUsage() call's own result object and such). */
  private baseline: { heap: number; buffers: number } = { heap: 0, buffers: 0 };

  private constructor(private readonly gc: () => void) {
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) this.spans.push({ start: e.startTime, end: e.startTime + e.duration });
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** A meter, or null when node runs without --expose-gc (allocations then print as n/a). */
  static async create(): Promise<AllocMeter | null> {
    const gc = globalThis.gc;
    if (gc === undefined) return null;
    const meter = new AllocMeter(() => {
      gc();
    });
    await meter.calibrate();
    return meter;
  }

  private async calibrate(): Promise<void> {
    const empty: MicroCase = { name: 'empty', run: () => undefined };
    let best: Window | null = null;
    for (let i = 0; i < 3; i++) {
      const w = await this.window(empty, 1000);
      if (!w.collided && (best === null || w.heap < best.heap)) best = w;
    }
    if (best !== null) this.baseline = { heap: best.heap, buffers: best.buffers };
  }

  /**
   * Allocation per op of `c`, from `calls` calls (fewer if a collection gets in the way).
   * Call it after the timed run, so the code is optimized and its inline caches are settled:
   * lazy feedback allocation or compilation would otherwise count as the operation's.
   */
  async measure(c: MicroCase, calls: number): Promise<AllocFigure | null> {
    const ops = c.opsPerCall ?? 1;
    for (let k = Math.max(1, Math.floor(calls)), tries = 0; tries < 4 && k >= 1; tries++, k = Math.floor(k / 4)) {
      // Two windows, the smaller clean one kept: a one-off allocation (an inline cache
      // going polymorphic, a pool growing) in one of them does not make the figure.
      let best: Window | null = null;
      for (let w = 0; w < 2; w++) {
        const win = await this.window(c, k);
        if (!win.collided && (best === null || win.heap < best.heap)) best = win;
      }
      if (best === null) continue;
      return {
        heapBytes: Math.max(0, best.heap - this.baseline.heap) / (k * ops),
        bufferBytes: Math.max(0, best.buffers - this.baseline.buffers) / (k * ops),
        calls: k,
      };
    }
    return null;
  }

  private async window(c: MicroCase, calls: number): Promise<Window> {
    c.prepare?.(calls);
    this.gc();
    await settle(); // the explicit gc()'s own entry arrives now, and is forgotten
    this.spans.length = 0;
    const t0 = performance.now();
    const m0 = process.memoryUsage();
    if (c.async === true) await c.run(calls);
    else c.run(calls);
    const m1 = process.memoryUsage();
    const t1 = performance.now();
    c.cleanup?.(calls);
    await settle();
    const collided = this.spans.some((s) => s.end >= t0 && s.start <= t1);
    return { heap: m1.heapUsed - m0.heapUsed, buffers: m1.arrayBuffers - m0.arrayBuffers, collided };
  }

  close(): void {
    this.observer.disconnect();
  }
}
