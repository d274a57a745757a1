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
