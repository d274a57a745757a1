/**
 * Ensemble members for election tests on 127.0.0.1: port allocation, Apache ZooKeeper 3.8
 * (Debian's `zookeeper` package) run as QuorumPeerMain with a zoo.cfg of `server.N` lines and a
 * myid, and our election driver for a member of the same ensemble. Every member gets its own temp
 * dir; ZooKeeper logs to a file there, which `log()` reads.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { majorityOf, quorumConfigText, type EnsembleMember } from '../../src/config/index.js';
import { ElectionDriver } from '../../src/server/election-driver.js';
import type { Logger } from '../../src/server/types.js';
import { systemClock } from '../../src/runtime/index.js';
import { zooKeeperCommand } from './zookeeper-java.js';

export const TICK_MS = 2000;
export const INIT_LIMIT = 5;
export const SYNC_LIMIT = 2;

/** Ports below Linux's ephemeral range, so no outgoing connection takes them between the probe and the bind. */
const PORT_RANGE = { min: 20000, max: 32767 };

/** `count` ports that were free on 127.0.0.1 when probed (each bound and let go). */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = PORT_RANGE.min + Math.floor(Math.random() * (PORT_RANGE.max - PORT_RANGE.min));
    if (ports.includes(port)) continue;
    const server = net.createServer();
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) {
      ports.push(port);
      await new Promise((resolve) => server.close(resolve));
    }
  }
  return ports;
}

export interface MemberPorts {
  readonly id: number;
  readonly client: number;
  readonly quorum: number;
  readonly election: number;
  readonly observer?: boolean;
}

export async function allocateMembers(ids: readonly number[], observers: readonly number[] = []): Promise<MemberPorts[]> {
  const ports = await freePorts(3 * ids.length);
  return ids.map((id, i) => ({
    id,
    client: ports[3 * i]!,
    quorum: ports[3 * i + 1]!,
    election: ports[3 * i + 2]!,
    observer: observers.includes(id),
  }));
}

/** The members as our config module would resolve them from the same server lines. */
export function ensembleMembers(members: readonly MemberPorts[]): EnsembleMember[] {
  return members.map((m) => ({
    id: m.id,
    role: m.observer === true ? ('observer' as const) : ('participant' as const),
    host: '127.0.0.1',
    quorumPort: m.quorum,
    electionPort: m.election,
    client: undefined,
  }));
}

export function serverLines(members: readonly MemberPorts[]): string[] {
  return members.map((m) => `server.${m.id}=127.0.0.1:${m.quorum}:${m.election}${m.observer === true ? ':observer' : ''}`);
}

/** Our election driver for member `id` of `members`. */
export function electionDriver(
  id: number,
  members: readonly MemberPorts[],
  log: Logger,
  overrides: { initialMessageTimeoutMs?: number } = {},
): ElectionDriver {
  const all = ensembleMembers(members);
  return new ElectionDriver({
    myid: id,
    learnerType: members.find((m) => m.id === id)?.observer === true ? 'observer' : 'participant',
    members: all,
    quorum: majorityOf(all.filter((m) => m.role === 'participant').map((m) => m.id)),
    configText: quorumConfigText({ servers: all }),
    cnxTimeoutMs: 5000,
    initialMessageTimeoutMs: overrides.initialMessageTimeoutMs ?? TICK_MS * SYNC_LIMIT,
    log,
    nowMs: () => systemClock.monoMs(),
  });
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** One Apache ZooKeeper 3.8 ensemble member (QuorumPeerMain). */
export class ZkMember {
  readonly dir: string;
  private process: ChildProcess | undefined;

  constructor(
    readonly ports: MemberPorts,
    readonly members: readonly MemberPorts[],
    parent: string,
  ) {
    this.dir = mkdtempSync(path.join(parent, `zk${ports.id}-`));
  }

  get id(): number {
    return this.ports.id;
  }

  get logFile(): string {
    return path.join(this.dir, 'zookeeper.log');
  }

  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  /** Starts it; `files` are written into its dataDir first (e.g. version-2/ contents, epochs). */
  start(files: Record<string, string | Buffer> = {}): void {
    const dataDir = path.join(this.dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path.join(dataDir, 'myid'), `${this.id}\n`);
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dataDir, name)), { recursive: true });
      writeFileSync(path.join(dataDir, name), content);
    }
    const cfg = [
      `tickTime=${TICK_MS}`,
      `initLimit=${INIT_LIMIT}`,
      `syncLimit=${SYNC_LIMIT}`,
      `dataDir=${dataDir}`,
      `clientPort=${this.ports.client}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      '4lw.commands.whitelist=*',
      ...(this.ports.observer === true ? ['peerType=observer'] : []),
      ...serverLines(this.members),
    ];
    writeFileSync(path.join(this.dir, 'zoo.cfg'), cfg.join('\n') + '\n');
    const [java = 'java', ...args] = zooKeeperCommand({
      id: this.id,
      config: path.join(this.dir, 'zoo.cfg'),
      dir: this.dir,
      logFile: this.logFile,
      heap: '128m',
      jvmOptions: ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'],
    });
    const proc = spawn(java, args, { stdio: ['ignore', 'ignore', 'ignore'] });
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    this.process = proc;
  }

  alive(): boolean {
    return this.process !== undefined && this.process.exitCode === null && this.process.signalCode === null;
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** `srvr`'s Mode line (leader, follower, observer), or null while it does not serve. */
  async mode(): Promise<string | null> {
    return /^Mode: (\w+)/m.exec(await fourLetterWord(this.ports.client, 'srvr'))?.[1] ?? null;
  }

  async waitForMode(timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const mode = await this.mode();
      if (mode !== null) return mode;
      if (this.process !== undefined && !this.alive()) throw new Error(`ZooKeeper ${this.id} exited; see ${this.logFile}`);
      await sleep(200);
    }
    throw new Error(`ZooKeeper ${this.id} did not start serving; log tail:\n${this.log().slice(-3000)}`);
  }

  /** Waits until its log matches `pattern`; resolves with the match. */
  async waitForLog(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const m = pattern.exec(this.log());
      if (m !== null) return m;
      await sleep(100);
    }
    throw new Error(`ZooKeeper ${this.id} did not log ${String(pattern)}; log tail:\n${this.log().slice(-3000)}`);
  }
}

export function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: '127.0.0.1', port }, () => s.end(word));
    s.setTimeout(2000, () => s.destroy());
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => resolve(''));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
