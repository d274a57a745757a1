/** The tables, the JSON lines and the target summary of bench/micro. */
import type { Target } from './case.js';
import type { Measurement } from './runner.js';

export interface Row {
  suite: string;
  name: string;
  m: Measurement;
  target: Target | undefined;
}

const grouped = (v: number): string => Math.round(v).toLocaleString('en-US');

function ns(v: number): string {
  if (v < 10) return v.toFixed(2);
  if (v < 1000) return v.toFixed(1);
  return grouped(v);
}

function bytes(v: number | null): string {
  if (v === null) return 'n/a';
  return v < 100 ? v.toFixed(1) : grouped(v);
}

const totalBytes = (m: Measurement): number | null => (m.alloc === null ? null : m.alloc.heapBytes + m.alloc.bufferBytes);

/** Whether the mean meets the row's target; null without one. */
export function verdict(row: Row): 'meets' | 'misses' | null {
  if (row.target === undefined) return null;
  return row.m.nsPerOp <= row.target.ns ? 'meets' : 'misses';
}

function targetText(t: Target): string {
  return t.ns >= 1000 ? `<= ${t.ns / 1000} us` : `<= ${t.ns} ns`;
}

/** Columns: left-aligned first, right-aligned rest. */
function render(header: readonly string[], body: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** One suite's table. B/op is everything allocated (JS heap + Buffer contents); buf B/op the Buffer-content part. */
export function suiteTable(title: string, rows: readonly Row[]): string {
  const withTargets = rows.some((r) => r.target !== undefined);
  const header = ['benchmark', 'ns/op', 'p50 ns', 'p99 ns', 'ops/s', 'B/op', 'buf B/op', ...(withTargets ? ['target', 'result'] : [])];
  const body = rows.map((r) => {
    const a = r.m.alloc;
    const cells = [
      r.name,
      ns(r.m.nsPerOp),
      ns(r.m.p50Ns),
      ns(r.m.p99Ns),
      grouped(r.m.opsPerSec),
      bytes(totalBytes(r.m)),
      bytes(a?.bufferBytes ?? null),
    ];
    if (withTargets) cells.push(r.target === undefined ? '' : targetText(r.target), verdict(r) ?? '');
    return cells;
  });
  return `${title}\n${render(header, body)}`;
}

/** The issue's targeted figures, gathered at the end of a run. */
export function targetSummary(rows: readonly Row[], note: string | null): string {
  const targeted = rows.filter((r) => r.target !== undefined);
  if (targeted.length === 0) return '';
  const body = targeted.map((r) => [r.target?.label ?? '', `${r.suite}: ${r.name}`, ns(r.m.nsPerOp), verdict(r) ?? '']);
  const table = render(['target (informational)', 'benchmark', 'ns/op', 'result'], body);
  return `${table}${note === null ? '' : `\n${note}`}`;
}

const round1 = (v: number): number => Math.round(v * 10) / 10;
const roundOrNull = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : round1(v));

/** One benchmark as a JSON line (--json). Byte figures are null where a GC spoiled the window. */
export function jsonLine(row: Row): string {
  const m = row.m;
  const v = verdict(row);
  return JSON.stringify({
    suite: row.suite,
    benchmark: row.name,
    ns_per_op: round1(m.nsPerOp),
    p50_ns: round1(m.p50Ns),
    p99_ns: round1(m.p99Ns),
    ops_per_sec: Math.round(m.opsPerSec),
    bytes_per_op: roundOrNull(totalBytes(m)),
    heap_bytes_per_op: roundOrNull(m.alloc?.heapBytes),
    buffer_bytes_per_op: roundOrNull(m.alloc?.bufferBytes),
    samples: m.samples,
    calls_per_sample: m.batch,
    alloc_window_calls: m.alloc?.calls ?? null,
    ...(row.target === undefined ? {} : { target_ns: row.target.ns, meets: v === 'meets' }),
  });
}
