/**
 * Runs the real server binary (dist/src/bin/zephyr-coord.js) as a child process for integration
 * tests: writes a zoo.cfg into a fresh temp dir, starts the process, waits for its
 * "ZephyrCoord listening on <host>:<port>" log line and hands back the port. Every server is
 * on an ephemeral port with its own data dir, so suites can run side by side.
 *
 * With ZEPHYR_IT_SERVER=zk the same calls start Apache ZooKeeper 3.8 from Debian's `zookeeper`
 * package instead, on the same settings, so that every expectation the server-agnostic suites
 * hold is checked against the reference server too (suites about our own process, its flags and
 * log lines live in test/integration/zephyr-only/ and are not run that way).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  /** Files to write before the start, by path relative to the temp dir (the default dataDir is `data`), e.g. `data/myid`. */
  files?: Record<string, string>;
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

/** True when this test process runs its servers as Apache ZooKeeper (ZEPHYR_IT_SERVER=zk). */
export const REFERENCE_ZK = process.env['ZEPHYR_IT_SERVER'] === 'zk';
const REFERENCE_ZK_JARS = ['zookeeper.jar', 'log4j-1.2.jar', 'slf4j-log4j12.jar'].map((j) => path.join('/usr/share/java', j));

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

/** DEFAULT_CONFIG with dataDir under `dir`, then `config` over it (null drops a key). */
function resolveConfig(dir: string, config: Record<string, string | null> = {}): Record<string, string> {
  const entries: Record<string, string> = { ...DEFAULT_CONFIG, dataDir: path.join(dir, 'data') };
  for (const [k, v] of Object.entries(config)) {
    if (v === null) Reflect.deleteProperty(entries, k);
    else entries[k] = v;
  }
  return entries;
}

/**
 * The command line for Apache ZooKeeper on `entries`. ZooKeeper reads keys such as
 * `zookeeper.extendedTypesEnabled`, `znode.container.*` and `jute.maxbuffer` as Java system
 * properties when its classes load, so those become -D options; the rest stay zoo.cfg lines.
 * Its log goes to stdout at INFO, which output() returns.
 */
function referenceZkCommand(dir: string, entries: Record<string, string>): { command: string[]; cfgLines: Record<string, string> } {
  const cfgLines: Record<string, string> = { 'admin.enableServer': 'false' };
  const properties: string[] = [];
  for (const [k, v] of Object.entries(entries)) {
    if (/^(zookeeper|znode|jute)\./.test(k)) properties.push(`-D${k}=${v}`);
    else cfgLines[k] = v;
  }
  const log4j = path.join(dir, 'log4j.properties');
  writeFileSync(
    log4j,
    [
      'log4j.rootLogger=INFO, OUT',
      'log4j.appender.OUT=org.apache.log4j.ConsoleAppender',
      'log4j.appender.OUT.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.OUT.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n',
      '',
    ].join('\n'),
  );
  const command = [
    'java',
    '-Xmx512m',
    '-XX:+UseSerialGC',
    ...properties,
    `-Dlog4j.configuration=file:${log4j}`,
    '-cp',
    REFERENCE_ZK_JARS.join(':'),
    'org.apache.zookeeper.server.ZooKeeperServerMain',
    path.join(dir, 'zoo.cfg'),
  ];
  return { command, cfgLines };
}

function writeFiles(dir: string, files: Record<string, string> = {}): void {
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}

function spawnServer(options: StartOptions, entries: Record<string, string>, dir: string): Spawned {
  installExitHook();
  writeFiles(dir, options.files);
  const configFile = path.join(dir, 'zoo.cfg');
  let command: string[];
  if (REFERENCE_ZK) {
    if (options.args !== undefined || options.wrapper !== undefined) {
      throw new Error('command-line arguments and wrappers are ZephyrCoord-only; this test belongs in test/integration/zephyr-only');
    }
    const zk = referenceZkCommand(dir, entries);
    writeFileSync(configFile, renderConfig(zk.cfgLines));
    command = zk.command;
  } else {
    writeFileSync(configFile, renderConfig(entries));
    const argv = [process.execPath, SERVER_BIN, '--config', configFile, ...(options.args ?? [])];
    command = [...(options.wrapper ?? []), ...argv];
  }
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

/** Starts a server and resolves once it listens. Rejects (with its output) if it exits or stays silent. */
export async function startServer(options: StartOptions = {}): Promise<ServerProcess> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zephyr-it-'));
  const entries = resolveConfig(dir, options.config);
  // ZooKeeper does not say which port it took for clientPort=0, so it gets a free one.
  if (REFERENCE_ZK && entries['clientPort'] === '0') entries['clientPort'] = String(await freePort());
  const s = spawnServer(options, entries, dir);
  const timeoutMs = options.listenTimeoutMs ?? (REFERENCE_ZK ? 30000 : 10000);
  let timer: NodeJS.Timeout | undefined;
  let listen: ListenLine;
  try {
    listen = await new Promise<ListenLine>((resolve, reject) => {
      if (REFERENCE_ZK) {
        const host = entries['clientPortAddress'] ?? '127.0.0.1';
        const port = Number(entries['clientPort']);
        serving(host, port, s.exited).then(() => resolve({ host, port, dataDir: entries['dataDir'] ?? '' }), reject);
      }
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
  if (REFERENCE_ZK) throw new Error('runServerToExit checks ZephyrCoord start-up errors; it belongs in test/integration/zephyr-only');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zephyr-it-'));
  const s = spawnServer(options, resolveConfig(dir, options.config), dir);
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

/** A TCP port that was free on 127.0.0.1 a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a !== null ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Resolves once `srvr` on host:port shows a serving server; rejects if the process exits first.
 * (ZooKeeper answers `ruok` as soon as its port is open, a moment before it takes sessions.)
 */
async function serving(host: string, port: number, exited: Promise<ExitInfo>): Promise<void> {
  const process = { exited: false };
  void exited.then(() => (process.exited = true));
  for (;;) {
    if (process.exited) throw new Error('the server exited before serving');
    const reply = await fourLetterWord(port, 'srvr', host, 2000).catch(() => '');
    if (reply.startsWith('Zookeeper version:')) return;
    await sleep(100);
  }
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
