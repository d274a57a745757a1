/** The human table and the machine-readable JSON line of one run. */
import type { Options } from './args.js';
import type { DriverResult } from './driver.js';
import { Histogram } from './histogram.js';

export interface Merged {
  ops: number;
  hist: Histogram;
  byOp: Map<string, { ops: number; hist: Histogram }>;
  errors: number;
  errorKinds: Map<string, number>;
}

export function merge(results: readonly DriverResult[]): Merged {
  const m: Merged = { ops: 0, hist: new Histogram(), byOp: new Map(), errors: 0, errorKinds: new Map() };
  for (const r of results) {
    m.ops += r.ops;
    m.hist.add(r.hist);
    m.errors += r.errors;
    for (const [msg, n] of Object.entries(r.errorKinds)) m.errorKinds.set(msg, (m.errorKinds.get(msg) ?? 0) + n);
    for (const [name, st] of Object.entries(r.byOp)) {
      let e = m.byOp.get(name);
      if (!e) {
        e = { ops: 0, hist: new Histogram() };
        m.byOp.set(name, e);
      }
      e.ops += st.ops;
      e.hist.add(st.hist);
    }
  }
  return m;
}

const ms = (ns: number): number => Math.round(ns / 1e3) / 1e3;
const round1 = (v: number): number => Math.round(v * 10) / 10;

export interface LatencyFields {
  ops: number;
  ops_per_sec: number;
  p50_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
  mean_ms: number;
}

function latency(ops: number, h: Histogram, seconds: number): LatencyFields {
  return {
    ops,
    ops_per_sec: round1(ops / seconds),
    p50_ms: ms(h.quantile(0.5)),
    p99_ms: ms(h.quantile(0.99)),
    p999_ms: ms(h.quantile(0.999)),
    max_ms: ms(h.max),
    mean_ms: ms(h.mean()),
  };
}

export interface RunInfo {
  runId: string;
  measuredS: number;
  clientCpuPct: number;
  /** CPU seconds the server process used in the measured window (--server-pid), if measured. */
  serverCpuS?: number;
  /** Set when the run could not be carried out at all (connect or setup failed). */
  fatal?: string;
}

export type RunRecord = Record<string, unknown>;

export function toRecord(o: Options, m: Merged, info: RunInfo): RunRecord {
  const detail: Record<string, LatencyFields> = {};
  for (const [name, st] of m.byOp) if (st.ops > 0) detail[name] = latency(st.ops, st.hist, info.measuredS);
  const errors = m.errors + (info.fatal === undefined ? 0 : 1);
  return {
    workload: o.workload,
    server: o.label,
    servers: o.serversText,
    client: 'node',
    ...latency(m.ops, m.hist, info.measuredS),
    errors,
    ok: errors === 0,
    sessions: o.sessions,
    outstanding: o.workload === 'session' ? 1 : o.outstanding,
    value_size: o.valueSize,
    nodes: o.nodes,
    ...(o.workload === 'watch' ? { watchers: o.watchers } : {}),
    ...(o.workload === 'multi' ? { multi_size: o.multiSize } : {}),
    threads: o.threads,
    duration_s: Math.round(info.measuredS * 100) / 100,
    warmup_s: o.warmupS,
    client_cpu_pct: Math.round(info.clientCpuPct),
    ...(info.serverCpuS === undefined
      ? {}
      : {
          server_cpu_pct: Math.round((info.serverCpuS / info.measuredS) * 100),
          server_cpu_us_per_op: m.ops > 0 ? Math.round((info.serverCpuS * 1e7) / m.ops) / 10 : null,
        }),
    run_id: info.runId,
    time: new Date().toISOString(),
    detail,
    ...(info.fatal === undefined ? {} : { fatal: info.fatal }),
    ...(m.errorKinds.size > 0 ? { error_kinds: Object.fromEntries(m.errorKinds) } : {}),
  };
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

const UNITS: Record<string, string> = {
  watch: 'notifications',
  session: 'sessions (connect + close)',
  create: 'requests (create and delete)',
  multi: 'multi requests',
};

export function table(o: Options, m: Merged, info: RunInfo): string {
  const lines: string[] = [];
  const unit = UNITS[o.workload] ?? 'requests';
  lines.push(
    `# ${o.workload} against ${o.label}${o.label === o.serversText ? '' : ` (${o.serversText})`}: ${o.sessions} sessions` +
      (o.workload === 'session' ? '' : ` x ${o.outstanding} outstanding`) +
      `, ${o.valueSize}-byte values, ${o.nodes} nodes` +
      (o.workload === 'watch' ? `, ${o.watchers} watchers per node` : '') +
      `, ${o.threads} thread(s), ${info.measuredS} s measured after ${o.warmupS} s warm-up; ops = ${unit}`,
  );
  const head = ['', 'ops', 'ops/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'mean ms'];
  const widths = [24, 10, 11, 9, 9, 9, 9, 9];
  lines.push(head.map((h, i) => pad(h, widths[i]!, i > 0)).join(' '));
  const row = (name: string, f: LatencyFields): string =>
    [
      name,
      String(f.ops),
      f.ops_per_sec.toFixed(1),
      f.p50_ms.toFixed(3),
      f.p99_ms.toFixed(3),
      f.p999_ms.toFixed(3),
      f.max_ms.toFixed(3),
      f.mean_ms.toFixed(3),
    ]
      .map((c, i) => pad(c, widths[i]!, i > 0))
      .join(' ');
  lines.push(row(o.workload, latency(m.ops, m.hist, info.measuredS)));
  if (m.byOp.size > 1) {
    for (const [name, st] of m.byOp) if (st.ops > 0) lines.push(row(`  ${name}`, latency(st.ops, st.hist, info.measuredS)));
  }
  const errors = m.errors + (info.fatal === undefined ? 0 : 1);
  const server =
    info.serverCpuS === undefined
      ? ''
      : `    server CPU: ${Math.round((info.serverCpuS / info.measuredS) * 100)} % of one core, ` +
        `${m.ops > 0 ? ((info.serverCpuS * 1e6) / m.ops).toFixed(1) : '-'} us per op`;
  lines.push(`errors: ${errors}    client CPU: ${Math.round(info.clientCpuPct)} % of one core${server}`);
  if (info.fatal !== undefined) lines.push(`  fatal: ${info.fatal}`);
  for (const [msg, n] of m.errorKinds) lines.push(`  error: ${msg}${n > 1 ? ` (x${n})` : ''}`);
  return lines.join('\n');
}
