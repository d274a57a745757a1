/**
 * A minimal launcher for an ensemble of real `zephyr-coord` processes on 127.0.0.1: each member
 * has its own temp dir, zoo.cfg and myid, and ports picked free beforehand. Each member's log
 * lines (pino JSON on stdout) are kept for the tests to read.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SERVER_BIN, fourLetterWord, waitFor } from '../../support/server-process.js';
import { freePorts } from './in-process.js';

export interface MemberLog {
  readonly msg: string;
  readonly [key: string]: unknown;
}

interface Member {
  readonly id: number;
  readonly observer: boolean;
  readonly dir: string;
  readonly configFile: string;
  readonly clientPort: number;
  readonly quorumPort: number;
  proc: ChildProcess | null;
  /** Resolves with the exit code (null: killed by a signal) when this run ends. */
  exited: Promise<number | null> | null;
  readonly lines: MemberLog[];
  output: string;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export class ProcessEnsemble {
  private readonly members = new Map<number, Member>();
  /** Clients the test opened, closed with the ensemble (also when a check fails). */
  private readonly clients: Array<{ close(): unknown; destroy?: () => void }> = [];

  private constructor(readonly base: string) {}

  static async create(participants: number, observers = 0, extra: Record<string, string> = {}): Promise<ProcessEnsemble> {
    const base = mkdtempSync(path.join(tmpdir(), 'zephyr-ens-'));
    const e = new ProcessEnsemble(base);
    const n = participants + observers;
    const ports = await freePorts(3 * n);
    const port = (i: number, k: number): number => ports[3 * i + k] ?? 0;
    const servers = Array.from(
      { length: n },
      (_, i) =>
        `server.${i + 1}=127.0.0.1:${port(i, 0)}:${port(i, 1)}:${i >= participants ? 'observer' : 'participant'};127.0.0.1:${port(i, 2)}`,
    );
    const settings = { tickTime: '200', initLimit: '10', syncLimit: '5', '4lw.commands.whitelist': '*', ...extra };
    for (let i = 0; i < n; i++) {
      const id = i + 1;
      const dir = path.join(base, `m${id}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'myid'), `${id}\n`);
      const configFile = path.join(base, `zoo${id}.cfg`);
      writeFileSync(configFile, [...Object.entries(settings).map(([k, v]) => `${k}=${v}`), `dataDir=${dir}`, ...servers, ''].join('\n'));
      e.members.set(id, {
        id,
        observer: i >= participants,
        dir,
        configFile,
        clientPort: port(i, 2),
        quorumPort: port(i, 0),
        proc: null,
        exited: null,
        lines: [],
        output: '',
      });
    }
    return e;
  }

  get ids(): number[] {
    return [...this.members.keys()];
  }

  member(id: number): Member {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  port(id: number): number {
    return this.member(id).clientPort;
  }

  /**
   * Starts the member, under `wrapper` (e.g. `['prlimit', '--fsize=262144', '--']`) if given,
   * from `bin` (another build's entry point, to compare builds) if given.
   */
  start(id: number, wrapper: readonly string[] = [], bin = SERVER_BIN): void {
    const m = this.member(id);
    if (m.proc !== null) return;
    const command = [...wrapper, process.execPath, bin, '--config', m.configFile];
    const proc = spawn(command[0] ?? process.execPath, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    m.lines.length = 0; // the lines of this run
    live.add(proc);
    m.proc = proc;
    m.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    let pending = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        m.output += `${line}\n`;
        try {
          m.lines.push(JSON.parse(line) as MemberLog);
        } catch {
          // not a log line
        }
      }
    });
    proc.stderr.on('data', (chunk: Buffer) => (m.output += chunk.toString()));
    proc.once('exit', () => {
      live.delete(proc);
      if (m.proc === proc) m.proc = null;
    });
  }

  startAll(wrappers: Readonly<Record<number, readonly string[]>> = {}): void {
    for (const id of this.ids) this.start(id, wrappers[id]);
  }

  /** Stops the member with `signal` and waits for the process to end. */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const m = this.member(id);
    const proc = m.proc;
    if (proc === null) return;
    proc.kill(signal);
    await m.exited;
    m.proc = null;
  }

  signal(id: number, signal: NodeJS.Signals): void {
    this.member(id).proc?.kill(signal);
  }

  /** The member's mode once it serves clients (srvr answers with one). */
  async mode(id: number): Promise<string | undefined> {
    const text = await fourLetterWord(this.port(id), 'srvr', '127.0.0.1', 1000).catch(() => '');
    return /Mode: (\w+)/.exec(text)?.[1];
  }

  waitServing(id: number, timeoutMs = 20000): Promise<string> {
    return waitFor(`member ${id} serving`, () => this.mode(id), timeoutMs, 50);
  }

  /** The serving leader's id, once there is one. */
  waitLeader(among: readonly number[] = this.ids, timeoutMs = 20000): Promise<number> {
    return waitFor(
      'a serving leader',
      async () => {
        for (const id of among) if ((await this.mode(id)) === 'leader') return id;
        return undefined;
      },
      timeoutMs,
      50,
    );
  }

  logged(id: number, pattern: RegExp): MemberLog[] {
    return this.member(id).lines.filter((l) => pattern.test(l.msg));
  }

  /** Closes `c` with the ensemble, whatever happens in the test. */
  track<C extends { close(): unknown; destroy?: () => void }>(c: C): C {
    this.clients.push(c);
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.clients) {
      try {
        // a raw client is dropped (its closeSession could wait on a dead member)
        if (c.destroy !== undefined) c.destroy();
        else c.close();
      } catch {
        // already closed
      }
    }
    for (const id of this.ids) await this.kill(id, 'SIGKILL');
    rmSync(this.base, { recursive: true, force: true });
  }
}
