/**
 * How long a server leaves a read waiting: one session sends a getData every --interval-ms
 * for --duration seconds. The schedule is open-loop: requests go out when due whatever the
 * replies do, and each latency counts from the moment the request was due, so a stall of the
 * server shows in every request due during it (a closed loop would see one slow request).
 *
 *   node dist/bench/snapshot-stall/probe.js --server 127.0.0.1:2181 --path /bench/p0/n0 \
 *       [--interval-ms 2] [--duration 60] [--label NAME]
 *
 * Prints one JSON line: probes, p50/p99/p999/max in ms, how many took over 10 / 50 / 100 ms,
 * and the 5 slowest with their due time (seconds from the start).
 */
import { parseArgs } from 'node:util';
import { ErrorCode, OpCode } from '../../src/codec/index.js';
import { Histogram } from '../load/histogram.js';
import { encode, nowNs, Session } from '../load/session.js';

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: '127.0.0.1:2181' },
    path: { type: 'string', default: '/' },
    'interval-ms': { type: 'string', default: '2' },
    duration: { type: 'string', default: '60' },
    label: { type: 'string', default: '' },
  },
});

const MS = 1e6;

async function main(): Promise<void> {
  const [host = '127.0.0.1', portText = '2181'] = values.server.split(':');
  const intervalNs = Number(values['interval-ms']) * MS;
  const durationNs = Number(values.duration) * 1e3 * MS;
  const session = await Session.open({ host, port: Number(portText), timeoutMs: 30000, connectTimeoutMs: 10000 });
  const getData = encode({ op: OpCode.getData, path: values.path, watch: false });
  const latencies = new Histogram();
  const slowest: Array<{ atS: number; ms: number }> = [];
  const overMs = [10, 50, 100];
  const over = [0, 0, 0];
  let failure: Error | undefined;
  session.onFailure = (e) => {
    failure = e;
  };
  const start = nowNs();
  let due = start;
  let answered = 0;
  let sent = 0;
  const onReply = (err: number, _body: unknown, latencyNs: number, now: number): void => {
    answered++;
    if (err !== ErrorCode.OK) failure ??= new Error(`getData ${values.path}: error ${err}`);
    latencies.record(latencyNs);
    overMs.forEach((ms, i) => {
      if (latencyNs > ms * MS) over[i] = (over[i] ?? 0) + 1;
    });
    noteSlow(slowest, { atS: (now - latencyNs - start) / 1e9, ms: latencyNs / MS });
  };
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = nowNs();
      // every request due by now goes out, stamped with the moment it was due
      while (due <= now && due - start < durationNs) {
        session.send(getData, onReply, due);
        sent++;
        due += intervalNs;
      }
      if (due - start >= durationNs || failure !== undefined) {
        resolve();
        return;
      }
      setTimeout(tick, Math.max(0, (due - nowNs()) / MS));
    };
    tick();
  });
  const deadline = nowNs() + 30e3 * MS;
  while (answered < sent && failure === undefined && nowNs() < deadline) await new Promise((r) => setTimeout(r, 10));
  await session.close().catch(() => undefined);
  if (failure !== undefined) throw failure;
  if (answered < sent) throw new Error(`${sent - answered} probes unanswered 30 s after the run`);
  const q = (x: number): number => Math.round((latencies.quantile(x) / MS) * 100) / 100;
  const record = {
    label: values.label,
    probes: latencies.count,
    interval_ms: Number(values['interval-ms']),
    p50_ms: q(0.5),
    p99_ms: q(0.99),
    p999_ms: q(0.999),
    max_ms: Math.round((latencies.max / MS) * 100) / 100,
    over_10ms: over[0],
    over_50ms: over[1],
    over_100ms: over[2],
    slowest: slowest.map((s) => [Math.round(s.atS * 10) / 10, Math.round(s.ms * 10) / 10]),
  };
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

/** Keeps the 5 slowest probes (one per stall: a probe within 50 ms of a kept one replaces it if slower). */
function noteSlow(slowest: Array<{ atS: number; ms: number }>, probe: { atS: number; ms: number }): void {
  const near = slowest.findIndex((s) => Math.abs(s.atS - probe.atS) < 0.05);
  if (near >= 0) {
    const kept = slowest[near];
    if (kept !== undefined && probe.ms > kept.ms) slowest[near] = probe;
  } else {
    slowest.push(probe);
  }
  slowest.sort((a, b) => b.ms - a.ms);
  slowest.length = Math.min(slowest.length, 5);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
