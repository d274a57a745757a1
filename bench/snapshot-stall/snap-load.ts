/**
 * How long a learner loading a SNAP stalls its event loop. Members 1 and 2 of a 3-member
 * ensemble start on a dataDir of N znodes of V bytes (bench/recovery/make-datadir.ts) and elect
 * a leader; member 3 then starts empty, so the leader syncs it by SNAP. Member 3 runs with
 * loop-monitor.ts, which notes every gap of its event loop over 5 ms; the gaps between its
 * "synchronizing with the leader by SNAP" and its "synced" log lines are the load's stalls:
 * its quorum pings, its election port and its four-letter words wait that long. Meanwhile a
 * probe sends `ruok` on a new connection every --interval-ms (open loop: a latency counts from
 * the moment the probe was due), the same stalls seen from a client.
 *
 *   node dist/bench/snapshot-stall/snap-load.js [--znodes 500000] [--value-bytes 100]
 *       [--interval-ms 10] [--rounds 1] [--tick-ms 2000] [--learner-bin PATH] [--label NAME]
 *
 * --learner-bin runs member 3 from another build's dist/src/bin/zephyr-coord.js (the leader
 * stays this checkout's), to compare a change on the same machine. Prints one JSON line per
 * round: the loop's longest gap during the load, the gaps over 20 / 50 ms and their sum, the
 * longest garbage collection pause in that time,
 * probe's p50/p99/max in ms, the time from member 3's start to serving and from SNAP to synced.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ProcessEnsemble, type MemberLog } from '../../test/ensemble/zephyr/processes.js';
import { SERVER_BIN } from '../../test/support/server-process.js';

const { values } = parseArgs({
  options: {
    znodes: { type: 'string', default: '500000' },
    'value-bytes': { type: 'string', default: '100' },
    'interval-ms': { type: 'string', default: '10' },
    rounds: { type: 'string', default: '1' },
    'tick-ms': { type: 'string', default: '2000' },
    'learner-bin': { type: 'string', default: SERVER_BIN },
    label: { type: 'string', default: '' },
  },
});

const MAKE_DATADIR = fileURLToPath(new URL('../recovery/make-datadir.js', import.meta.url));
const LOOP_MONITOR = fileURLToPath(new URL('./loop-monitor.js', import.meta.url));
const PROBE_TIMEOUT_MS = 30000;

/** One `ruok` on a new connection; resolves with the time its answer ended, or null if refused. */
function ruok(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let answer = '';
    const timer = setTimeout(() => socket.destroy(), PROBE_TIMEOUT_MS);
    socket.on('connect', () => socket.write('ruok'));
    socket.on('data', (c: Buffer) => (answer += c.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer === 'imok' ? performance.now() : null);
    });
  });
}

/**
 * Probes `port` open-loop until `done` resolves; the latencies in ms. Probes due before the
 * first answer came back are not counted: they measure the process's start, not its loop.
 */
async function probeUntil(port: number, intervalMs: number, done: Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  const pending: Array<Promise<void>> = [];
  let listeningSince = Infinity;
  const state = { over: false };
  void done.finally(() => {
    state.over = true;
  });
  let due = performance.now();
  while (!state.over) {
    const now = performance.now();
    while (due <= now) {
      const dueMs = due;
      pending.push(
        ruok(port).then((end) => {
          if (end === null) return;
          if (dueMs >= listeningSince) latencies.push(end - dueMs);
          listeningSince = Math.min(listeningSince, end);
        }),
      );
      due += intervalMs;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
  }
  await Promise.all(pending);
  return latencies;
}

/**
 * The loop monitor's gaps (or with `gc`, its collections) that began between two log lines of
 * member 3 (wall-clock ms), in ms.
 */
function noted(file: string, from: MemberLog | undefined, to: MemberLog | undefined, gc = false): number[] {
  const [start, end] = [from?.['time'], to?.['time']];
  if (typeof start !== 'number' || typeof end !== 'number') throw new Error('member 3 logged no SNAP sync');
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // no gap over the threshold at all
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .filter((l) => l.startsWith('gc ') === gc)
    .map((l) => l.replace('gc ', '').split(' ').map(Number))
    .filter(([at = 0]) => at >= start && at <= end)
    .map(([, ms = 0]) => ms);
}

async function round(template: string, n: number): Promise<object> {
  const e = await ProcessEnsemble.create(3, 0, { tickTime: values['tick-ms'], maxClientCnxns: '0' });
  const gapsFile = path.join(e.base, 'loop-gaps');
  try {
    for (const id of [1, 2]) cpSync(path.join(template, 'version-2'), path.join(e.member(id).dir, 'version-2'), { recursive: true });
    e.start(1);
    e.start(2);
    await e.waitLeader([1, 2], 120000);
    const started = performance.now();
    e.start(3, ['env', `NODE_OPTIONS=--import=${LOOP_MONITOR}`, `LOOP_MONITOR_FILE=${gapsFile}`], values['learner-bin']);
    const serving = e.waitServing(3, 600000);
    const latencies = await probeUntil(e.port(3), Number(values['interval-ms']), serving);
    const startToServingMs = performance.now() - started;
    if ((await serving) !== 'follower') throw new Error('member 3 does not follow');
    const [snap, synced] = [e.logged(3, /by SNAP$/)[0], e.logged(3, /synced with leader/)[0]];
    if (synced?.['mode'] !== 'snap') throw new Error(`member 3 synced by ${String(synced?.['mode'])}, not SNAP`);
    const gaps = noted(gapsFile, snap, synced);
    const collections = noted(gapsFile, snap, synced, true);
    return {
      label: values.label,
      znodes: n,
      loop_max_ms: round2(Math.max(0, ...gaps)),
      loop_gaps_over_20ms: gaps.filter((g) => g > 20).length,
      loop_gaps_over_50ms: gaps.filter((g) => g > 50).length,
      loop_gaps_ms_sum: Math.round(gaps.reduce((a, b) => a + b, 0)),
      gc_max_ms: round2(Math.max(0, ...collections)),
      ...probeSummary(latencies),
      snap_to_synced_ms: Number(synced['time']) - Number(snap?.['time']),
      start_to_serving_ms: Math.round(startToServingMs),
    };
  } finally {
    await e.close();
  }
}

function round2(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function probeSummary(latencies: number[]): object {
  const ms = [...latencies].sort((a, b) => a - b);
  const q = (x: number): number => round2(ms[Math.min(ms.length - 1, Math.floor(x * ms.length))] ?? 0);
  return { probes: ms.length, probe_p50_ms: q(0.5), probe_p99_ms: q(0.99), probe_max_ms: q(1) };
}

async function main(): Promise<void> {
  const n = Number(values.znodes);
  const template = mkdtempSync(path.join(tmpdir(), 'zephyr-snap-load-'));
  try {
    execFileSync(process.execPath, [MAKE_DATADIR, template, String(n), values['value-bytes']], { stdio: ['ignore', 'ignore', 'inherit'] });
    for (let r = 0; r < Number(values.rounds); r++) process.stdout.write(`${JSON.stringify(await round(template, n))}\n`);
  } finally {
    rmSync(template, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
