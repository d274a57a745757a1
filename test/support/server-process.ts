/**
 * Runs the real server binary (dist/src/bin/zephyr-coord.js) as a child process for integration
 * tests: writes a zoo.cfg into a fresh temp dir, starts the process, waits for its
 * "ZephyrCoord listening on <host>:<port>" log line and hands back the port. Every server is
 * on an ephemeral port with its own data dir, so suites can run side by side.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/test/support/server-process.js -> dist/src/bin/zephyr-coord.js */
export const SERVER_BIN = fileURLToPath(new URL('../../src/bin/zephyr-coord.js', import.meta.url));

/** The zoo.cfg every test server starts from; `config` entries override these (null drops one). */
export const DEFAULT_CONFIG: Readonly<Record<string, string>> = {
  tickTime: '2000',
  clientPort: '0',
  clientPortAddress: '127.0.0.1',
  '4lw.commands.whitelist': '*',
  'zookeeper.extendedTypesEnabled': 'true',
  'znode.container.checkIntervalMs': '1000',
};

export interface StartOptions {
  /** zoo.cfg entries over DEFAULT_CONFIG; a null value leaves that key out. dataDir defaults to <tmp>/data. */
  config?: Record<string, string | null>;
  /** Extra command-line arguments after `--config <file>`. */
  args?: string[];
  /** How long to wait for the listen line (default 10 s). */
  listenTimeoutMs?: number;
  /**
   * Runs the server under this command prefix, e.g. `['prlimit', '--fsize=65536', '--']`
   * (the node binary and its arguments follow). Absent: node is spawned directly.
   */
  wrapper?: string[];
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  host: string;
  port: number;
  /** The dataDir the server reported in its listen line. */
  dataDir: string;
  /** The temp dir holding zoo.cfg (and the default data dir); removed on stop/kill9. */
  dir: string;
  configFile: string;
  pid: number;
  proc: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<ExitInfo>;
  /** Sends `signal`, waits for exit (SIGKILL after 10 s) and resolves with the exit code (null if killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  kill9(): Promise<void>;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resident set size from /proc/<pid>/status, in KiB. */
  rssKiB(): number;
  /** True while the process has not exited. */
  alive(): boolean;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test run that dies must not leave servers behind.
  process.once('exit', () => {
    for (const p of live) p.kill('SIGKILL');
  });
}

export function renderConfig(entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
}

interface Spawned {
  dir: string;
  configFile: string;
  proc: ChildProcess;
  exited: Promise<ExitInfo>;
  output: () => string;
  stdoutLines: (onLine: (line: string) => void) => void;
}

function spawnServer(options: StartOptions): Spawned {
  installExitHook();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zephyr-it-'));
  const entries: Record<string, string> = { ...DEFAULT_CONFIG, dataDir: path.join(dir, 'data') };
  for (const [k, v] of Object.entries(options.config ?? {})) {
    if (v === null) Reflect.deleteProperty(entries, k);
    else entries[k] = v;
  }
  const configFile = path.join(dir, 'zoo.cfg');
  writeFileSync(configFile, renderConfig(entries));
  const argv = [process.execPath, SERVER_BIN, '--config', configFile, ...(options.args ?? [])];
  const command = [...(options.wrapper ?? []), ...argv];
  const proc = spawn(command[0] ?? process.execPath, command.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  let pendingLine = '';
  const lineListeners: Array<(line: string) => void> = [];
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (chunk: string) => {
    out += chunk;
    pendingLine += chunk;
    let nl = pendingLine.indexOf('\n');
    while (nl >= 0) {
      const line = pendingLine.slice(0, nl);
      pendingLine = pendingLine.slice(nl + 1);
      for (const l of lineListeners) l(line);
      nl = pendingLine.indexOf('\n');
    }
  });
  proc.stderr.on('data', (chunk: string) => {
    out += chunk;
  });
  const exited = new Promise<ExitInfo>((resolve) => {
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    });
  });
  return {
    dir,
    configFile,
    proc,
    exited,
    output: () => out,
    stdoutLines: (onLine) => lineListeners.push(onLine),
  };
}

interface ListenLine {
  host: string;
  port: number;
  dataDir: string;
}

function parseListenLine(line: string): ListenLine | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const rec = parsed as Record<string, unknown>;
  const msg = rec['msg'];
  const host = rec['host'];
  const port = rec['port'];
  if (typeof msg !== 'string' || !msg.startsWith('ZephyrCoord listening on ')) return undefined;
  if (typeof host !== 'string' || typeof port !== 'number') return undefined;
  if (msg !== `ZephyrCoord listening on ${host}:${port}`) return undefined;
  const dataDir = rec['dataDir'];
  return { host, port, dataDir: typeof dataDir === 'string' ? dataDir : '' };
}

/**
 * With ZEPHYR_IT_EXTERNAL=host:port set, startServer() calls that pass no config and no args get
 * that already-running server instead (stop() leaves it running): a way to run the
 * server-agnostic suites against a reference ZooKeeper (test/compat/reference-zk.sh) to check the
 * tests' own expectations.
 */
function externalServer(target: string): ServerProcess {
  const m = /^(.*):(\d+)$/.exec(target);
  if (m === null) throw new Error(`ZEPHYR_IT_EXTERNAL must be host:port, got "${target}"`);
  const never = new Promise<ExitInfo>(() => undefined);
  return {
    host: m[1] ?? '127.0.0.1',
    port: Number(m[2]),
    dataDir: '',
    dir: '',
    configFile: '',
    pid: -1,
    proc: undefined as unknown as ChildProcess,
    exited: never,
    stop: () => Promise.resolve(0),
    kill9: () => Promise.resolve(),
    output: () => '',
    alive: () => true,
    rssKiB: () => {
      throw new Error('rssKiB is not available for an external server');
    },
  };
}

/** Starts a server and resolves once it listens. Rejects (with its output) if it exits or stays silent. */
export async function startServer(options: StartOptions = {}): Promise<ServerProcess> {
  const external = process.env['ZEPHYR_IT_EXTERNAL'];
  if (external !== undefined && external !== '' && options.config === undefined && options.args === undefined) {
    return externalServer(external);
  }
  const s = spawnServer(options);
  const timeoutMs = options.listenTimeoutMs ?? 10000;
  let timer: NodeJS.Timeout | undefined;
  let listen: ListenLine;
  try {
    listen = await new Promise<ListenLine>((resolve, reject) => {
      s.stdoutLines((line) => {
        const l = parseListenLine(line);
        if (l !== undefined) resolve(l);
      });
      s.exited.then(
        (e) => reject(new Error(`server exited (code ${e.code}, signal ${e.signal}) before listening:\n${s.output()}`)),
        reject,
      );
      timer = setTimeout(() => reject(new Error(`server did not log its listen line within ${timeoutMs} ms:\n${s.output()}`)), timeoutMs);
    });
  } catch (e) {
    s.proc.kill('SIGKILL');
    await s.exited;
    rmSync(s.dir, { recursive: true, force: true });
    throw e;
  } finally {
    clearTimeout(timer);
  }
  const pid = s.proc.pid ?? -1;
  let cleaned = false;
  const cleanup = (): void => {
    if (cleaned) return;
    cleaned = true;
    rmSync(s.dir, { recursive: true, force: true });
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill(signal);
    const killer = setTimeout(() => s.proc.kill('SIGKILL'), 10000);
    const e = await s.exited;
    clearTimeout(killer);
    cleanup();
    return e.code;
  };
  return {
    host: listen.host,
    port: listen.port,
    dataDir: listen.dataDir,
    dir: s.dir,
    configFile: s.configFile,
    pid,
    proc: s.proc,
    exited: s.exited,
    stop,
    kill9: async () => {
      s.proc.kill('SIGKILL');
      await s.exited;
      cleanup();
    },
    output: s.output,
    rssKiB: () => readRssKiB(pid),
    alive: () => s.proc.exitCode === null && s.proc.signalCode === null,
  };
}

/** Runs the server with `options` expecting it to exit by itself (bad config); kills it after `timeoutMs`. */
export async function runServerToExit(
  options: StartOptions,
  timeoutMs = 10000,
): Promise<ExitInfo & { output: string; timedOut: boolean; configFile: string }> {
  const s = spawnServer(options);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    s.proc.kill('SIGKILL');
  }, timeoutMs);
  const e = await s.exited;
  clearTimeout(timer);
  rmSync(s.dir, { recursive: true, force: true });
  return { ...e, output: s.output(), timedOut, configFile: s.configFile };
}

export function readRssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (m === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Sends a four-letter word on a fresh connection and resolves with everything the server wrote before closing. */
export function fourLetterWord(port: number, word: string, host = '127.0.0.1', timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no end of reply to "${word}" within ${timeoutMs} ms (got ${JSON.stringify(Buffer.concat(chunks).toString())})`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(word));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (e) => {
      // A reset after the answer still counts as the answer.
      if (chunks.length > 0) return;
      clearTimeout(timer);
      reject(e);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 5000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
