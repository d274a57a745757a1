/**
 * Medians of repeated runs, side by side for two servers (used by bench/compare.sh):
 *
 *   node dist/bench/load/summarize.js [--mode workloads|durability] [--base zookeeper]
 *        [--candidate zephyrcoord] RESULTS.jsonl...
 *
 * Reads the JSON lines that bench/load and JavaLoad print (other lines are skipped). Rows are
 * (workload, client) in workloads mode and the number of concurrent clients in durability
 * mode; every metric is the median over that row's successful runs for each server; ratios
 * are candidate / base. Failed runs are left out of the medians and counted.
 *
 * The ratio of two medians may pair one server's good round with the other's bad one on a
 * noisy machine, so two columns pair the runs round by round (compare.sh runs each server once
 * per row and round, in order): the median of the per-round throughput ratios, and in how
 * many rounds the candidate's p99 was the lower.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Run {
  workload: string;
  server: string;
  client: string;
  sessions: number;
  outstanding: number;
  ok: boolean;
  errors: number;
  ops_per_sec: number;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
  client_cpu_pct: number;
  server_cpu_us_per_op?: number | null;
}

function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function readRuns(files: string[]): Run[] {
  const runs: Run[] = [];
  for (const f of files) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (!line.startsWith('{"workload"')) continue;
      try {
        runs.push(JSON.parse(line) as Run);
      } catch {
        // a torn line from an interrupted run
      }
    }
  }
  return runs;
}

interface Cell {
  n: number;
  failed: number;
  ops: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  cpu: number;
  /** Server CPU microseconds per op (NaN when the runs did not measure it). */
  serverUs: number;
}

function cell(runs: Run[]): Cell {
  const good = runs.filter((r) => r.ok);
  return {
    n: good.length,
    failed: runs.length - good.length,
    ops: median(good.map((r) => r.ops_per_sec)),
    p50: median(good.map((r) => r.p50_ms)),
    p99: median(good.map((r) => r.p99_ms)),
    p999: median(good.map((r) => r.p999_ms)),
    max: median(good.map((r) => r.max_ms)),
    cpu: median(good.map((r) => r.client_cpu_pct)),
    serverUs: median(good.flatMap((r) => (typeof r.server_cpu_us_per_op === 'number' ? [r.server_cpu_us_per_op] : []))),
  };
}

interface Rounds {
  /** Median over the rounds of candidate ops/s / base ops/s. */
  ratio: number;
  /** Rounds in which the candidate's p99 was below the base's, of `pairs`. */
  p99Lower: number;
  pairs: number;
}

/** Pairs the i-th run of each server (round i); a round with a failed run is left out. */
function rounds(base: Run[], cand: Run[]): Rounds {
  const ratios: number[] = [];
  let p99Lower = 0;
  for (let i = 0; i < Math.min(base.length, cand.length); i++) {
    const b = base[i]!;
    const c = cand[i]!;
    if (!b.ok || !c.ok || b.ops_per_sec === 0) continue;
    ratios.push(c.ops_per_sec / b.ops_per_sec);
    if (c.p99_ms < b.p99_ms) p99Lower++;
  }
  return { ratio: median(ratios), p99Lower, pairs: ratios.length };
}

const num = (v: number, digits: number): string => (Number.isNaN(v) ? '-' : v.toFixed(digits));
const ratio = (a: number, b: number): string => (Number.isNaN(a) || Number.isNaN(b) || b === 0 ? '-' : (a / b).toFixed(2));

function render(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  return [
    line(header),
    '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|',
    ...rows.map(line),
  ].join('\n');
}

function main(): void {
  const { values, positionals } = parseArgs({
    options: {
      mode: { type: 'string', default: 'workloads' },
      base: { type: 'string', default: 'zookeeper' },
      candidate: { type: 'string', default: 'zephyrcoord' },
    },
    allowPositionals: true,
  });
  const runs = readRuns(positionals);
  const base = values.base;
  const cand = values.candidate;
  const groups = new Map<string, Run[]>();
  const keyOf = (r: Run): string => (values.mode === 'durability' ? String(r.sessions) : `${r.workload}\t${r.client}`);
  for (const r of runs) {
    if (values.mode === 'durability' && (r.workload !== 'set' || r.outstanding !== 1)) continue;
    const k = keyOf(r);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r);
  }
  const rows: string[][] = [];
  let failed = 0;
  for (const [k, g] of groups) {
    const baseRuns = g.filter((r) => r.server === base);
    const candRuns = g.filter((r) => r.server === cand);
    const b = cell(baseRuns);
    const c = cell(candRuns);
    const per = rounds(baseRuns, candRuns);
    failed += b.failed + c.failed;
    const n = `${b.n}/${c.n}` + (b.failed + c.failed > 0 ? ` (${b.failed + c.failed} failed)` : '');
    // throughput, its ratios, p50 and p99: the columns both modes show
    const shared = [
      num(b.ops, 0),
      num(c.ops, 0),
      ratio(c.ops, b.ops),
      num(per.ratio, 2),
      num(b.p50, 2),
      num(c.p50, 2),
      num(b.p99, 2),
      num(c.p99, 2),
      `${per.p99Lower}/${per.pairs}`,
    ];
    if (values.mode === 'durability') {
      rows.push([k, ...shared, n]);
    } else {
      const [workload, client] = k.split('\t');
      rows.push([
        workload!,
        client!,
        ...shared,
        num(b.p999, 1),
        num(c.p999, 1),
        num(b.serverUs, 1),
        num(c.serverUs, 1),
        ratio(c.serverUs, b.serverUs),
        n,
      ]);
    }
  }
  const B = base;
  const C = cand;
  if (values.mode === 'durability') {
    if (rows.length > 0) rows.sort((x, y) => Number(x[0]) - Number(y[0]));
    process.stdout.write(
      render(
        [
          'clients',
          `${B} writes/s`,
          `${C} writes/s`,
          `${C}/${B}`,
          'per round',
          `${B} p50 ms`,
          `${C} p50 ms`,
          `${B} p99 ms`,
          `${C} p99 ms`,
          `${C} p99 lower`,
          'runs',
        ],
        rows,
      ) + '\n',
    );
  } else {
    process.stdout.write(
      render(
        [
          'workload',
          'client',
          `${B} ops/s`,
          `${C} ops/s`,
          `${C}/${B}`,
          'per round',
          `${B} p50`,
          `${C} p50`,
          `${B} p99`,
          `${C} p99`,
          `${C} p99 lower`,
          `${B} p99.9`,
          `${C} p99.9`,
          `${B} srv us/op`,
          `${C} srv us/op`,
          'srv CPU ratio',
          'runs',
        ],
        rows,
      ) + '\n',
    );
    process.stdout.write(
      "(latencies in ms; srv us/op = server process CPU microseconds per op over the measured window; medians over the successful runs; per round = median of the rounds' own ratios; p99 lower = rounds in which the candidate's p99 was the lower; runs = base/candidate)\n",
    );
  }
  if (failed > 0) process.stdout.write(`${failed} run(s) failed and are not in the medians\n`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main();
