/**
 * An ensemble of QuorumPeers in this process, for tests of the ensemble driver that choose the
 * leader themselves: the election is a test double that names whichever member the test
 * designates (`leader`), so each scenario (a SNAP, a TRUNC, a move between members) is built
 * exactly. Real election over the election port is tested with real processes
 * (processes.test.ts). Members use ephemeral ports on 127.0.0.1 and temp dirs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decideStartup, parseZooCfg } from '../../../src/config/index.js';
import { QuorumPeer, type ElectionOutcome, type LeaderElection } from '../../../src/ensemble/index.js';
import type { Logger } from '../../../src/server/types.js';
import { RawClient } from '../../support/raw-client.js';
import { fourLetterWord, sleep, waitFor } from '../../support/server-process.js';

/** A log line a member wrote. */
export interface LogLine {
  readonly member: number;
  readonly level: 'info' | 'warn' | 'error' | 'debug';
  readonly msg: string;
  readonly obj: Record<string, unknown>;
}

/** Names the designated leader once there is one; the test changes it between terms. */
class DesignatedLeader implements LeaderElection {
  private stopped = false;
  constructor(private readonly leader: () => number | null) {}
  async lookForLeader(): Promise<ElectionOutcome> {
    for (;;) {
      const leader = this.leader();
      if (this.stopped) return new Promise(() => undefined);
      if (leader !== null) return { leader, electionEpoch: 0 };
      await sleep(20);
    }
  }
  updateElectionVote(): void {}
  shutdown(): void {
    this.stopped = true;
  }
}

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve) => {
          const s = createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

interface Member {
  readonly id: number;
  readonly dir: string;
  readonly clientPort: number;
  peer: QuorumPeer | null;
}

export class InProcessEnsemble {
  /** The member the election names (null: none yet). */
  leader: number | null = null;
  readonly lines: LogLine[] = [];
  private readonly members = new Map<number, Member>();
  private readonly configText: string;

  private constructor(
    private readonly base: string,
    specs: Array<{ id: number; observer: boolean; ports: number[] }>,
    extra: Record<string, string>,
  ) {
    const servers = specs.map(
      (s) => `server.${s.id}=127.0.0.1:${s.ports[0]}:${s.ports[1]}:${s.observer ? 'observer' : 'participant'};127.0.0.1:${s.ports[2]}`,
    );
    const settings = { tickTime: '100', initLimit: '20', syncLimit: '10', '4lw.commands.whitelist': '*', ...extra };
    this.configText = [...Object.entries(settings).map(([k, v]) => `${k}=${v}`), ...servers].join('\n');
    for (const s of specs) {
      const dir = path.join(base, `m${s.id}`);
      this.members.set(s.id, { id: s.id, dir, clientPort: s.ports[2] ?? 0, peer: null });
    }
  }

  static async create(participants: number, observers = 0, extra: Record<string, string> = {}): Promise<InProcessEnsemble> {
    const base = mkdtempSync(path.join(tmpdir(), 'zephyr-peer-'));
    const n = participants + observers;
    const ports = await freePorts(3 * n);
    const specs = Array.from({ length: n }, (_, i) => ({ id: i + 1, observer: i >= participants, ports: ports.slice(3 * i, 3 * i + 3) }));
    return new InProcessEnsemble(base, specs, extra);
  }

  get ids(): number[] {
    return [...this.members.keys()];
  }

  dirOf(id: number): string {
    return this.member(id).dir;
  }

  port(id: number): number {
    return this.member(id).clientPort;
  }

  private member(id: number): Member {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  private logger(id: number): Logger {
    const line = (level: LogLine['level']) => (obj: object, msg: string) => {
      this.lines.push({ member: id, level, msg, obj: obj as Record<string, unknown> });
      if (process.env['ZEPHYR_PEER_TRACE'] !== undefined) process.stderr.write(`[${id}] ${level} ${msg} ${JSON.stringify(obj)}\n`);
    };
    return { info: line('info'), warn: line('warn'), error: line('error'), debug: () => undefined };
  }

  async start(id: number): Promise<void> {
    const m = this.member(id);
    if (m.peer !== null) return;
    const dir = m.dir;
    const cfg = `${this.configText}\ndataDir=${dir}\n`;
    writeFileSync(path.join(this.base, `zoo${id}.cfg`), cfg);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'myid'), `${id}\n`);
    const plan = decideStartup(parseZooCfg(cfg, `zoo${id}.cfg`), `zoo${id}.cfg`, { path: path.join(dir, 'myid'), text: `${id}\n` });
    if (plan.mode !== 'ensemble') throw new Error('not an ensemble config');
    const peer = new QuorumPeer(plan.config, plan.ensemble, new DesignatedLeader(() => this.leader), this.logger(id), (e) => {
      throw e;
    });
    m.peer = peer;
    await peer.start();
  }

  async startAll(): Promise<void> {
    for (const id of this.ids) await this.start(id);
  }

  async stop(id: number): Promise<void> {
    const m = this.member(id);
    const peer = m.peer;
    m.peer = null;
    await peer?.stop();
  }

  peer(id: number): QuorumPeer {
    const p = this.member(id).peer;
    if (p === null) throw new Error(`member ${id} is not running`);
    return p;
  }

  /** Waits until `srvr` at the member answers with a mode (it serves clients). */
  async waitServing(id: number, timeoutMs = 10000): Promise<string> {
    return waitFor(
      `member ${id} serving`,
      async () => {
        const text = await fourLetterWord(this.port(id), 'srvr', '127.0.0.1', 1000).catch(() => '');
        return /Mode: (\w+)/.exec(text)?.[1];
      },
      timeoutMs,
    );
  }

  connect(id: number, options: { sessionId?: bigint; passwd?: Buffer; timeoutMs?: number; keepAliveMs?: number } = {}): Promise<RawClient> {
    return RawClient.connect({ host: '127.0.0.1', port: this.port(id), timeoutMs: options.timeoutMs ?? 6000, ...options });
  }

  /** Log lines of `member` whose message matches. */
  logged(member: number, pattern: RegExp): LogLine[] {
    return this.lines.filter((l) => l.member === member && pattern.test(l.msg));
  }

  async close(): Promise<void> {
    for (const id of this.ids) await this.stop(id);
    rmSync(this.base, { recursive: true, force: true });
  }
}
