/**
 * bench/load: a load generator that speaks the ZooKeeper client protocol directly.
 *
 *   node dist/bench/load/main.js --servers 127.0.0.1:2181 --workload get --sessions 16 --outstanding 32
 *
 * Phases: an admin session creates the key space (/bench-<runid>/n0000..); the sessions open
 * (spread over --threads worker threads); load runs for warm-up + duration, and only replies
 * completing inside the measured window count; requests in flight drain; sessions close; the
 * key space is deleted. Prints a table and, last, one JSON line. Any error fails the run
 * (exit status 1).
 */
import { Worker } from 'node:worker_threads';
import { USAGE, UsageError, parseOptions, type Options } from './args.js';
import { Driver, type DriverResult, type DriverSpec, type Window } from './driver.js';
import { createKeySpace, deleteTree, keySpace, newRunId } from './keyspace.js';
import { processCpuSeconds } from './proc-cpu.js';
import { merge, table, toRecord, type RunInfo } from './report.js';
import { BASE_HR, Session, nowNs } from './session.js';
import type { ToMain, ToWorker, WorkerInit } from './worker.js';

interface Runner {
  open(): Promise<void>;
  run(win: Window): Promise<DriverResult>;
  close(): Promise<string[]>;
}

function inProcess(spec: DriverSpec): Runner {
  const d = new Driver(spec);
  return { open: () => d.open(), run: (w) => d.run(w), close: () => d.close() };
}

function inWorker(spec: DriverSpec): Runner {
  const init: WorkerInit = { spec, mainBaseHr: BASE_HR.toString() };
  const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
  type Waiter = { want: ToMain['type']; resolve: (m: ToMain) => void; reject: (e: Error) => void };
  let waiter: Waiter | undefined;
  let failure: Error | undefined;
  const failAll = (e: Error): void => {
    failure ??= e;
    const cur = waiter;
    waiter = undefined;
    cur?.reject(e);
  };
  w.on('message', (m: ToMain) => {
    if (m.type === 'error') {
      failAll(new Error(`worker: ${m.message}`));
      return;
    }
    const cur = waiter;
    if (cur && cur.want === m.type) {
      waiter = undefined;
      cur.resolve(m);
    }
  });
  w.on('error', (e) => failAll(e));
  w.on('exit', (code) => {
    if (code !== 0) failAll(new Error(`worker exited with status ${code}`));
  });
  const next = (want: ToMain['type'], send?: ToWorker): Promise<ToMain> =>
    new Promise((resolve, reject) => {
      if (failure) {
        reject(failure);
        return;
      }
      waiter = { want, resolve, reject };
      if (send) w.postMessage(send);
    });
  return {
    open: async () => {
      await next('ready');
    },
    run: async (win) => {
      const m = await next('result', { type: 'go', startNs: win.startNs, endNs: win.endNs });
      if (m.type !== 'result') throw new Error('worker: no result');
      return m.result;
    },
    close: async () => {
      const m = await next('closed', { type: 'close' });
      return m.type === 'closed' ? m.problems : [];
    },
  };
}

async function runBench(o: Options): Promise<boolean> {
  const runId = newRunId();
  const needsNodes = o.workload !== 'create' && o.workload !== 'session';
  const ks = keySpace(runId, needsNodes ? o.nodes : 0);
  const value = Buffer.alloc(o.valueSize, 0x61);
  const first = o.servers[0]!;
  const results: DriverResult[] = [];
  const problems: string[] = [];
  const info: RunInfo = { runId, measuredS: o.durationS, clientCpuPct: 0 };
  let admin: Session | undefined;
  let adminPing: NodeJS.Timeout | undefined;
  try {
    admin = await Session.open({ host: first.host, port: first.port, timeoutMs: o.sessionTimeoutMs, connectTimeoutMs: o.connectTimeoutMs });
    const a = admin;
    adminPing = setInterval(() => {
      const now = nowNs();
      if (!a.error && now - a.lastSendNs > (a.negotiatedTimeoutMs / 3) * 1e6) a.ping(now);
    }, 1000);
    await createKeySpace(admin, ks, value, o.workload === 'create');

    const total = o.workload === 'watch' ? Math.max(o.sessions, o.watchers) : o.sessions;
    const shares: number[][] = Array.from({ length: o.threads }, () => []);
    for (let i = 0; i < total; i++) shares[i % o.threads]!.push(i);
    const runners = shares.map((sessionIndices) => {
      const spec: DriverSpec = {
        workload: o.workload,
        servers: o.servers,
        sessionIndices,
        outstanding: o.outstanding,
        valueSize: o.valueSize,
        nodes: ks.nodes,
        scratch: ks.scratch,
        root: ks.root,
        watchers: o.watchers,
        multiSize: o.multiSize,
        sessionTimeoutMs: o.sessionTimeoutMs,
        connectTimeoutMs: o.connectTimeoutMs,
        drainTimeoutMs: o.drainTimeoutMs,
      };
      return o.threads === 1 ? inProcess(spec) : inWorker(spec);
    });
    try {
      await Promise.all(runners.map((r) => r.open()));
      const begin = nowNs();
      const win: Window = { startNs: begin + o.warmupS * 1e9, endNs: begin + (o.warmupS + o.durationS) * 1e9 };
      // client CPU over the measured window (process-wide: every worker thread included)
      // and the server's, when its pid is known
      let cpu0: NodeJS.CpuUsage | undefined;
      let serverCpu0: number | undefined;
      let cpuDone = false;
      const serverCpuSeconds = (): number => o.serverPids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
      const measureCpu = (): void => {
        if (!cpu0 || cpuDone) return;
        cpuDone = true;
        const d = process.cpuUsage(cpu0);
        info.clientCpuPct = ((d.user + d.system) / 1e6 / o.durationS) * 100;
        if (serverCpu0 !== undefined) info.serverCpuS = serverCpuSeconds() - serverCpu0;
      };
      const cpuStart = setTimeout(() => {
        cpu0 = process.cpuUsage();
        if (o.serverPids.length > 0) serverCpu0 = serverCpuSeconds();
      }, o.warmupS * 1000);
      const cpuEnd = setTimeout(measureCpu, (o.warmupS + o.durationS) * 1000);
      try {
        results.push(...(await Promise.all(runners.map((r) => r.run(win)))));
      } finally {
        clearTimeout(cpuStart);
        clearTimeout(cpuEnd);
        measureCpu();
      }
    } finally {
      for (const p of await Promise.all(runners.map((r) => r.close().catch((e: unknown) => [(e as Error).message])))) problems.push(...p);
    }
  } catch (e) {
    info.fatal = (e as Error).message;
  } finally {
    if (adminPing) clearInterval(adminPing);
    if (admin && !admin.error) {
      try {
        await deleteTree(admin, ks.root);
      } catch (e) {
        problems.push(`teardown: ${(e as Error).message}`);
      }
      try {
        await admin.close();
      } catch (e) {
        problems.push(`admin close: ${(e as Error).message}`);
      }
    }
  }
  const m = merge(results);
  m.errors += problems.length;
  for (const p of problems) m.errorKinds.set(p, (m.errorKinds.get(p) ?? 0) + 1);
  const rec = toRecord(o, m, info);
  if (!o.quiet) process.stdout.write(table(o, m, info) + '\n');
  process.stdout.write(JSON.stringify(rec) + '\n');
  return rec.ok === true;
}

async function main(): Promise<void> {
  let o: Options | null;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (e) {
    const usage = e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
    process.stderr.write(`bench/load: ${(e as Error).message}\n${usage ? USAGE + '\n' : ''}`);
    process.exit(2);
  }
  if (o === null) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const ok = await runBench(o);
  process.exitCode = ok ? 0 : 1;
}

await main();
