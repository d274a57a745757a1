/**
 * Paces a long job (a snapshot) on the event loop: each slice runs until `sliceMs` have passed,
 * then the job waits for setImmediate, which comes after the I/O callbacks (requests, txn log
 * completions and their applies) that arrived meanwhile.
 */
import { performance } from 'node:perf_hooks';
import type { SlicePacer } from '../storage/snapshot-serializer.js';

export class EventLoopPacer implements SlicePacer {
  private sliceStart = 0;
  private inSlice = false;
  private readonly startedAt = performance.now();
  private slices = 0;
  private longestSliceMs = 0;
  private busyMs = 0;

  constructor(private readonly sliceMs: number) {}

  nextSlice(): Promise<void> {
    this.endSlice();
    return new Promise((resolve) => {
      setImmediate(() => {
        this.sliceStart = performance.now();
        this.inSlice = true;
        resolve();
      });
    });
  }

  readonly sliceDone = (): boolean => performance.now() - this.sliceStart >= this.sliceMs;

  endSlice(): void {
    if (!this.inSlice) return;
    this.inSlice = false;
    const ms = performance.now() - this.sliceStart;
    this.slices++;
    this.busyMs += ms;
    if (ms > this.longestSliceMs) this.longestSliceMs = ms;
  }

  /** Slices run, the longest, their total, and the job's time from start to now (ms). */
  report(): object {
    const round = (ms: number): number => Math.round(ms * 100) / 100;
    return {
      slices: this.slices,
      longestSliceMs: round(this.longestSliceMs),
      busyMs: round(this.busyMs),
      elapsedMs: round(performance.now() - this.startedAt),
    };
  }
}
