/**
 * Loaded into a server process with `node --import` (NODE_OPTIONS) to see its event loop from
 * inside: a 1 ms interval timer notes every gap between two of its runs longer than
 * LOOP_MONITOR_MIN_MS (default 5) as one line "<wall-clock ms at its start> <gap ms>" appended to the file
 * LOOP_MONITOR_FILE. A gap is a time the loop ran something else without a break (or had no
 * CPU). Garbage collections over the same threshold are noted too, as "gc <start> <ms>": a
 * gap that holds one is the collector's, not the server code's. Lines are written as they
 * happen: the process may end with SIGKILL.
 */
import { appendFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';

const file = process.env['LOOP_MONITOR_FILE'];
const minMs = Number(process.env['LOOP_MONITOR_MIN_MS'] ?? '5');
if (file !== undefined) {
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > minMs) appendFileSync(file, `${(performance.timeOrigin + last).toFixed(1)} ${(now - last).toFixed(1)}\n`);
    last = now;
  }, 1).unref();
  new PerformanceObserver((list) => {
    for (const gc of list.getEntries()) {
      if (gc.duration > minMs) appendFileSync(file, `gc ${(performance.timeOrigin + gc.startTime).toFixed(1)} ${gc.duration.toFixed(1)}\n`);
    }
  }).observe({ entryTypes: ['gc'] });
}
