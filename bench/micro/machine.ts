/**
 * CPU time the hypervisor gave to other guests ("steal") while we ran, from /proc/stat. On a
 * shared host it is what makes figures noisy and slow, so the run reports it beside them.
 */
import { readFileSync } from 'node:fs';

interface CpuTimes {
  total: number;
  steal: number;
}

/** The aggregate "cpu" line of /proc/stat; null where there is none (not Linux). */
function cpuTimes(): CpuTimes | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal [guest guest_nice, already counted in user]
    const base = fields.slice(0, 8);
    if (!line.startsWith('cpu ') || base.length < 8 || base.some((v) => !Number.isFinite(v))) return null;
    return { total: base.reduce((a, b) => a + b, 0), steal: base[7] ?? 0 };
  } catch {
    return null;
  }
}

export class StealMeter {
  private readonly start = cpuTimes();

  /** Percent of all CPU time stolen since construction, or null if unknown. */
  percent(): number | null {
    const end = cpuTimes();
    if (this.start === null || end === null || end.total <= this.start.total) return null;
    return (100 * (end.steal - this.start.steal)) / (end.total - this.start.total);
  }
}

/**
 * This machine's speed at two fixed JavaScript tasks, so figures from different machines can
 * be scaled against each other: an int32 add loop and Buffer.writeInt32BE (a modern x86 core
 * runs them at about 0.4-0.8 ns and 2-4 ns per iteration). Best of five runs.
 */
export function referenceSpeed(): { loopNs: number; writeInt32Ns: number } {
  const buf = Buffer.alloc(16);
  const loop = (n: number): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s = (s + (i & 7)) | 0;
    return s;
  };
  const writes = (n: number): void => {
    for (let i = 0; i < n; i++) buf.writeInt32BE(i, (i & 3) << 2);
  };
  const best = (run: (n: number) => unknown, n: number): number => {
    run(n); // warm up: optimized before timing
    let min = Infinity;
    for (let k = 0; k < 5; k++) {
      const t0 = process.hrtime.bigint();
      run(n);
      min = Math.min(min, Number(process.hrtime.bigint() - t0) / n);
    }
    return min;
  };
  return { loopNs: best(loop, 20_000_000), writeInt32Ns: best(writes, 2_000_000) };
}
