/** Command-line options of the load generator. */
import { parseArgs } from 'node:util';

export const WORKLOADS = ['get', 'set', 'create', 'mixed', 'watch', 'session', 'multi'] as const;
export type Workload = (typeof WORKLOADS)[number];

export interface Target {
  host: string;
  port: number;
}

export interface Options {
  servers: Target[];
  serversText: string;
  /** What to call the server in the output (default: the --servers text). */
  label: string;
  workload: Workload;
  sessions: number;
  outstanding: number;
  valueSize: number;
  durationS: number;
  warmupS: number;
  nodes: number;
  watchers: number;
  multiSize: number;
  threads: number;
  sessionTimeoutMs: number;
  connectTimeoutMs: number;
  /** Largest pause allowed for the requests in flight to drain after the run. */
  drainTimeoutMs: number;
  /**
   * The server's process ids (one, or an ensemble's members): their CPU time over the measured
   * window, summed, is reported (Linux /proc). Empty: not measured.
   */
  serverPids: number[];
  quiet: boolean;
}

export const USAGE = `usage: node dist/bench/load/main.js [options]
  --servers H:P,...     servers; sessions are spread over them round-robin (default 127.0.0.1:2181)
  --workload W          ${WORKLOADS.join(' | ')} (default get)
                          get     getData of existing nodes
                          set     setData of existing nodes (version -1)
                          create  create then delete a fresh node (both count as ops)
                          mixed   90 % getData / 10 % setData
                          watch   --watchers sessions watch each node; one writer session sets nodes;
                                  ops are notifications, latency is setData sent -> notification received
                          session connect + closeSession churn (one loop per session)
                          multi   multi of --multi-size setData ops on distinct nodes
  --sessions N          concurrent sessions, each on its own TCP connection (default 16)
  --outstanding N       requests in flight per session (watch: setData in flight) (default 32)
  --value-size B        bytes per znode value (default 100)
  --duration S          measured seconds (default 10)
  --warmup S            seconds of load before measuring (default 2)
  --nodes N             znodes in the key space (default 1000)
  --watchers N          watchers per node for the watch workload (default 8)
  --multi-size N        ops per multi (default 4)
  --threads N           worker threads sharing the sessions (default 1; watch uses 1)
  --session-timeout MS  session timeout asked for (default 30000)
  --label NAME          server name in the output (default: the --servers text)
  --server-pid PID[,..] also report the server processes' CPU over the measured window (per op;
                          several PIDs, e.g. an ensemble's members, are summed)
  --quiet               print only the JSON line
Prints a table, then one JSON line. Exit status 1 if any request failed.`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function intOpt(name: string, v: string | undefined, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name}: expected an integer in [${min}, ${max}], got "${v}"`);
  return n;
}

function secondsOpt(name: string, v: string | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name}: expected seconds >= ${min}, got "${v}"`);
  return n;
}

export function parseServers(text: string): Target[] {
  const out: Target[] = [];
  for (const part of text.split(',')) {
    const s = part.trim();
    if (s === '') continue;
    const i = s.lastIndexOf(':');
    const host = i > 0 ? s.slice(0, i).replace(/^\[(.*)\]$/, '$1') : s;
    const port = i > 0 ? Number(s.slice(i + 1)) : 2181;
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new UsageError(`--servers: bad port in "${s}"`);
    out.push({ host, port });
  }
  if (out.length === 0) throw new UsageError('--servers: no server given');
  return out;
}

/** Returns null when --help was asked for. */
export function parseOptions(argv: readonly string[]): Options | null {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      servers: { type: 'string' },
      workload: { type: 'string' },
      sessions: { type: 'string' },
      outstanding: { type: 'string' },
      'value-size': { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      nodes: { type: 'string' },
      watchers: { type: 'string' },
      'multi-size': { type: 'string' },
      threads: { type: 'string' },
      'session-timeout': { type: 'string' },
      label: { type: 'string' },
      'server-pid': { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.help) return null;
  const workload = values.workload ?? 'get';
  if (!(WORKLOADS as readonly string[]).includes(workload)) throw new UsageError(`--workload: expected one of ${WORKLOADS.join(', ')}`);
  const serversText = values.servers ?? '127.0.0.1:2181';
  const o: Options = {
    servers: parseServers(serversText),
    serversText,
    label: values.label ?? serversText,
    workload: workload as Workload,
    sessions: intOpt('sessions', values.sessions, 16, 1, 100000),
    outstanding: intOpt('outstanding', values.outstanding, 32, 1, 100000),
    valueSize: intOpt('value-size', values['value-size'], 100, 0, 1024 * 1024),
    durationS: secondsOpt('duration', values.duration, 10, 0.1),
    warmupS: secondsOpt('warmup', values.warmup, 2, 0),
    nodes: intOpt('nodes', values.nodes, 1000, 1, 10_000_000),
    watchers: intOpt('watchers', values.watchers, 8, 1, 100000),
    multiSize: intOpt('multi-size', values['multi-size'], 4, 1, 10000),
    threads: intOpt('threads', values.threads, 1, 1, 256),
    sessionTimeoutMs: intOpt('session-timeout', values['session-timeout'], 30000, 1000),
    connectTimeoutMs: 10000,
    drainTimeoutMs: 30000,
    serverPids: values['server-pid'] === undefined ? [] : values['server-pid'].split(',').map((pid) => intOpt('server-pid', pid, 0, 1)),
    quiet: values.quiet ?? false,
  };
  if (o.workload === 'multi' && o.multiSize > o.nodes) throw new UsageError('--multi-size must not exceed --nodes');
  if (o.workload === 'watch') o.threads = 1;
  o.threads = Math.min(o.threads, o.sessions);
  return o;
}
