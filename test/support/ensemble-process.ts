/**
 * Runs a replicated ensemble of real server processes on 127.0.0.1 for tests and benchmarks:
 * N participants and M observers, each in its own temp dir with its own zoo.cfg and myid.
 *
 * The server is Apache ZooKeeper 3.8.0 from Debian's `zookeeper` package (QuorumPeerMain) with
 * ZEPHYR_ENSEMBLE_SERVER=zk, or ZephyrCoord's own binary (the default, and the same interface).
 *
 * Every link between members goes through a FaultProxy (test/support/tcp-proxy.ts), one per
 * ordered pair of members and per port (quorum, election): member a's zoo.cfg lists itself at
 * its real ports, which it listens on, and every other member b at the proxies "a to b". So a
 * connection arriving at a proxy is known to come from a, and a test can cut, black-hole or
 * reset any link in either direction without root. One habit of the election port would get
 * around that: a member receiving an election connection from a smaller id drops it and dials
 * back the address the smaller one announced in its initial message, its real port. The
 * election proxies therefore rewrite that address to the proxy of the way back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  INCOMPLETE,
  JuteReader,
  JuteWriter,
  measureInitialMessage,
  readInitialMessage,
  writeInitialMessage,
} from '../../src/codec/index.js';
import { SERVER_BIN, fourLetterWord, sleep } from './server-process.js';
import { FaultProxy, type ProxyMode, type ProxyOptions } from './tcp-proxy.js';
import { zooKeeperCommand } from './zookeeper-java.js';

export type EnsembleServer = 'zk' | 'zephyr';

/** Which server ensembles run as: ZEPHYR_ENSEMBLE_SERVER=zk|zephyr (default zephyr). */
export const ENSEMBLE_SERVER: EnsembleServer = process.env['ZEPHYR_ENSEMBLE_SERVER'] === 'zk' ? 'zk' : 'zephyr';

/**
 * A mixed ensemble for the suites that take no `servers` of their own:
 * ZEPHYR_ENSEMBLE_SERVERS=zk,zk,zephyr gives each member's server by id.
 */
export const ENSEMBLE_SERVERS: EnsembleServer[] | undefined = process.env['ZEPHYR_ENSEMBLE_SERVERS']?.split(',').map((s) => {
  const server = s.trim();
  if (server !== 'zk' && server !== 'zephyr') throw new Error(`ZEPHYR_ENSEMBLE_SERVERS: "${server}" is neither zk nor zephyr`);
  return server;
});

export type Role = 'participant' | 'observer';
export type LinkPort = 'quorum' | 'election';

export interface EnsembleOptions {
  participants?: number;
  observers?: number;
  server?: EnsembleServer;
  /**
   * A mixed ensemble: the server of each member, by id - 1 (members past the list run `server`).
   * Members of both kinds speak the same quorum protocol, which is what such an ensemble tests.
   */
  servers?: EnsembleServer[];
  /**
   * zoo.cfg entries over the defaults (null drops one). For ZooKeeper, keys starting with
   * `zookeeper.`, `znode.`, `jute.` or `readonlymode.` become Java system properties, as
   * ZooKeeper reads them.
   */
  config?: Record<string, string | null>;
  /** Links through fault proxies (default true); false lets members dial each other directly. */
  proxied?: boolean;
  /** How long start() waits for every member to serve (default 90 s). */
  readyTimeoutMs?: number;
  /** Java heap of each ZooKeeper member (default 256m). */
  javaHeap?: string;
}

const DEFAULT_CONFIG: Readonly<Record<string, string>> = {
  tickTime: '2000',
  initLimit: '10',
  syncLimit: '5',
  clientPortAddress: '127.0.0.1',
  maxClientCnxns: '0',
  'admin.enableServer': 'false',
  '4lw.commands.whitelist': '*',
};

/** Ports below Linux's ephemeral range, so no outgoing connection takes one between runs of a member. */
const PORT_RANGE = { min: 20000, max: 32767 };

export interface MemberPorts {
  client: number;
  quorum: number;
  election: number;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test run that dies must not leave members behind (stopped ones cannot even take SIGTERM).
  process.once('exit', () => {
    for (const p of live) {
      p.kill('SIGCONT');
      p.kill('SIGKILL');
    }
  });
}

/**
 * Ports this process gave to members and proxies, until their ensemble closes. A proxy that
 * follows a target which is down does not hold its port, so a port found free is not enough:
 * it may belong to a dark proxy.
 */
const assignedPorts = new Set<number>();

/** Holds a free port open until released, so nothing else takes it before the member binds it. */
async function holdPort(owned: number[]): Promise<{ port: number; server: net.Server }> {
  for (;;) {
    const port = PORT_RANGE.min + Math.floor(Math.random() * (PORT_RANGE.max - PORT_RANGE.min));
    if (assignedPorts.has(port)) continue;
    // a member dialling the port before its owner runs (a reconfig added it) is turned away,
    // or closing the holder would wait for that connection
    const server = net.createServer((socket) => socket.destroy());
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!ok) continue;
    assignedPorts.add(port);
    owned.push(port);
    return { port, server };
  }
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export class Member {
  process: ChildProcess | undefined;
  /** Set while the process is stopped with SIGSTOP. */
  paused = false;
  private exited: Promise<void> = Promise.resolve();
  private held: net.Server[] = [];

  constructor(
    readonly id: number,
    readonly role: Role,
    readonly ports: MemberPorts,
    readonly dir: string,
  ) {}

  get log(): string {
    return path.join(this.dir, 'output.log');
  }

  get pid(): number | undefined {
    return this.alive() ? this.process?.pid : undefined;
  }

  get address(): string {
    return `127.0.0.1:${this.ports.client}`;
  }

  alive(): boolean {
    return this.process !== undefined && this.process.exitCode === null && this.process.signalCode === null;
  }

  holdPorts(servers: net.Server[]): void {
    this.held = servers;
  }

  async spawn(command: string[]): Promise<void> {
    installExitHook();
    await Promise.all(this.held.splice(0).map(closeServer));
    const out = fs.openSync(this.log, 'a');
    const child = spawn(command[0] ?? 'false', command.slice(1), { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    live.add(child);
    this.process = child;
    this.paused = false;
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        live.delete(child);
        resolve();
      }),
    );
  }

  async kill9(): Promise<void> {
    if (!this.alive()) return;
    this.process?.kill('SIGKILL');
    await this.exited;
    this.paused = false;
  }

  /** Stops the process as an operator would (SIGTERM), with SIGKILL after `graceMs`. */
  async stop(graceMs = 10000): Promise<void> {
    if (!this.alive()) return;
    this.sigcont();
    this.process?.kill('SIGTERM');
    const timer = setTimeout(() => this.process?.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  sigstop(): void {
    if (this.alive() && this.process?.kill('SIGSTOP') === true) this.paused = true;
  }

  sigcont(): void {
    if (this.alive() && this.process?.kill('SIGCONT') === true) this.paused = false;
  }

  /** `srvr`'s Mode line (leader, follower, observer, standalone), or undefined when it does not serve. */
  async mode(timeoutMs = 2000): Promise<string | undefined> {
    if (!this.alive() || this.paused) return undefined;
    const reply = await fourLetterWord(this.ports.client, 'srvr', '127.0.0.1', timeoutMs).catch(() => '');
    return /^Mode: ([\w-]+)/m.exec(reply)?.[1];
  }

  /** The zxid `srvr` reports, as a number (undefined when it does not serve). */
  async zxid(timeoutMs = 2000): Promise<number | undefined> {
    if (!this.alive() || this.paused) return undefined;
    const reply = await fourLetterWord(this.ports.client, 'srvr', '127.0.0.1', timeoutMs).catch(() => '');
    const m = /^Zxid: (0x[0-9a-f]+)/m.exec(reply);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  }

  /** Resolves once the member serves with a mode; rejects when it exits first or the time runs out. */
  async waitServing(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.alive()) throw new Error(`member ${this.id} exited (${this.exitText()}):\n${this.tail()}`);
      const mode = await this.mode();
      // A read-only member (readonlymode.enabled) serves, but outside any quorum: not yet.
      if (mode !== undefined && mode !== 'read-only') return mode;
      if (Date.now() > deadline) throw new Error(`member ${this.id} did not serve within ${timeoutMs} ms:\n${this.tail()}`);
      await sleep(200);
    }
  }

  /** The last lines of the member's output. */
  tail(lines = 30): string {
    const text = fs.existsSync(this.log) ? fs.readFileSync(this.log, 'utf8') : '';
    return text.split('\n').slice(-lines).join('\n');
  }

  private exitText(): string {
    return `code ${this.process?.exitCode ?? 'none'}, signal ${this.process?.signalCode ?? 'none'}`;
  }
}

/**
 * The election proxy "from to": ZooKeeper's initial message names `from`'s own election address;
 * the receiver may dial it back, so it is made to name the proxy of the way back instead.
 */
export function initialMessageRewriter(backPort: () => number): (bytes: Buffer) => { consumed: number; replacement: Buffer } | undefined {
  return (bytes) => {
    const length = measureInitialMessage(bytes, 0, bytes.length);
    if (length === INCOMPLETE) return undefined;
    const message = readInitialMessage(new JuteReader(bytes.subarray(0, length)));
    if (message.protocolVersion === null) return { consumed: length, replacement: bytes.subarray(0, length) };
    const w = new JuteWriter(64);
    writeInitialMessage(w, { ...message, addresses: [{ host: '127.0.0.1', port: backPort() }] });
    return { consumed: length, replacement: Buffer.from(w.toBuffer()) };
  };
}

export class Ensemble {
  readonly members: Member[] = [];
  /** `${port}:${from}:${to}` -> proxy. */
  private readonly proxies = new Map<string, FaultProxy>();
  private readonly entries: Record<string, string>;
  /** Every port given to a member or proxy of this ensemble. */
  private readonly ports: number[] = [];
  private closed = false;

  private constructor(
    readonly server: EnsembleServer,
    readonly dir: string,
    private options: EnsembleOptions,
  ) {
    this.entries = { ...DEFAULT_CONFIG };
    for (const [k, v] of Object.entries(options.config ?? {})) {
      if (v === null) Reflect.deleteProperty(this.entries, k);
      else this.entries[k] = v;
    }
  }

  /** Starts every member and resolves once each serves with a mode (one leader among them). */
  static async start(options: EnsembleOptions = {}): Promise<Ensemble> {
    const server = options.server ?? ENSEMBLE_SERVER;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `zephyr-ensemble-${server}-`));
    const servers = options.servers ?? ENSEMBLE_SERVERS;
    const ensemble = new Ensemble(server, dir, servers === undefined ? options : { ...options, servers });
    try {
      await ensemble.create(options.participants ?? 3, options.observers ?? 0);
      await Promise.all(ensemble.members.map((m) => ensemble.launch(m)));
      await ensemble.waitReady(options.readyTimeoutMs ?? 90000);
    } catch (e) {
      await ensemble.close();
      throw e;
    }
    return ensemble;
  }

  member(id: number): Member {
    const m = this.members.find((x) => x.id === id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  get participants(): Member[] {
    return this.members.filter((m) => m.role === 'participant');
  }

  get observers(): Member[] {
    return this.members.filter((m) => m.role === 'observer');
  }

  /** "127.0.0.1:p1,127.0.0.1:p2,..." for the given members (default all). */
  connectionString(ids: number[] = this.members.map((m) => m.id)): string {
    return ids.map((id) => this.member(id).address).join(',');
  }

  /** Each member's mode (undefined: down, paused or not serving). */
  async modes(): Promise<Map<number, string | undefined>> {
    const modes = await Promise.all(this.members.map((m) => m.mode()));
    return new Map(this.members.map((m, i) => [m.id, modes[i]]));
  }

  /** Waits until exactly one member reports itself leader and returns its id. */
  async leader(timeoutMs = 60000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leaders = [...(await this.modes())].filter(([, mode]) => mode === 'leader').map(([id]) => id);
      if (leaders.length === 1 && leaders[0] !== undefined) return leaders[0];
      if (Date.now() > deadline) throw new Error(`no single leader within ${timeoutMs} ms (leaders: ${leaders.join(', ') || 'none'})`);
      await sleep(100);
    }
  }

  /** Followers (participants that serve and are not the leader). */
  async followers(): Promise<number[]> {
    return [...(await this.modes())].filter(([, mode]) => mode === 'follower').map(([id]) => id);
  }

  async kill9(id: number): Promise<void> {
    await this.member(id).kill9();
  }

  sigstop(id: number): void {
    this.member(id).sigstop();
  }

  sigcont(id: number): void {
    this.member(id).sigcont();
  }

  /** Starts a member that is down again, on its own data dir and ports; resolves once it serves. */
  async restart(id: number, timeoutMs = 90000): Promise<string> {
    const m = this.member(id);
    if (m.alive()) await m.kill9();
    await this.launch(m);
    return m.waitServing(timeoutMs);
  }

  /**
   * A member for a reconfig to add (unproxied ensembles only), the id after the last: its ports
   * held and its data dir made with myid, not started. `serverLine` is its line for a reconfig
   * (`server.N=127.0.0.1:quorum:election:role;127.0.0.1:client`).
   */
  async newMember(role: Role = 'participant'): Promise<{ member: Member; serverLine: string }> {
    if (this.options.proxied !== false) throw new Error('members join only unproxied ensembles');
    const held = [await holdPort(this.ports), await holdPort(this.ports), await holdPort(this.ports)];
    const [client, quorum, election] = held.map((h) => h.port) as [number, number, number];
    const id = Math.max(...this.members.map((m) => m.id)) + 1;
    const member = new Member(id, role, { client, quorum, election }, path.join(this.dir, `m${id}`));
    member.holdPorts(held.map((h) => h.server));
    fs.mkdirSync(path.join(member.dir, 'data'), { recursive: true });
    fs.writeFileSync(path.join(member.dir, 'data', 'myid'), `${id}\n`);
    this.members.push(member);
    return { member, serverLine: `server.${id}=127.0.0.1:${quorum}:${election}:${role};127.0.0.1:${client}` };
  }

  /**
   * Starts a member made by `newMember` with `membership` (the text of /zookeeper/config) as an
   * operator would: `added` (a reconfig added it) puts it in `zoo.cfg.dynamic.<version>`, named
   * by a zoo.cfg without server lines; otherwise (ZooKeeper's documented way to join: start it,
   * then add it) zoo.cfg lists those members and the new one itself, at version 0, and the
   * member learns the ensemble's membership from the election. Resolves with its mode once it
   * serves.
   */
  async launchJoiner(m: Member, membership: string, added: boolean, ownLine?: string, timeoutMs = 90000): Promise<string> {
    const lines = membership.split('\n').filter((l) => l.trim() !== '');
    const servers = lines.filter((l) => !l.startsWith('version='));
    const entries: Record<string, string> = { ...this.entries, dataDir: path.join(m.dir, 'data'), clientPort: String(m.ports.client) };
    if (added) {
      const version = lines.find((l) => l.startsWith('version='))?.slice('version='.length);
      if (version === undefined) throw new Error(`no version line in the membership: ${membership}`);
      const dynamic = path.join(m.dir, `zoo.cfg.dynamic.${version}`);
      fs.writeFileSync(dynamic, servers.join('\n'));
      entries['dynamicConfigFile'] = dynamic;
    } else {
      if (ownLine === undefined) throw new Error('a member that joins before it is added needs its own server line');
      for (const line of [...servers, ownLine]) {
        const eq = line.indexOf('=');
        entries[line.slice(0, eq)] = line.slice(eq + 1);
      }
    }
    const keys = Object.entries(entries).filter(([k]) => this.serverOf(m) === 'zephyr' || !isJavaProperty(k));
    fs.writeFileSync(this.configFile(m), keys.map(([k, v]) => `${k}=${v}\n`).join(''));
    await this.launch(m);
    return m.waitServing(timeoutMs);
  }

  /**
   * A rolling migration's step: member `id` is stopped (SIGTERM, then SIGKILL if it lingers)
   * and started again as `server` on the same myid, data dir, ports and zoo.cfg (less the
   * JVM's system properties, which ZooKeeper takes on its command line).
   */
  async replace(id: number, server: EnsembleServer, timeoutMs = 90000): Promise<string> {
    const m = this.member(id);
    await m.stop();
    const servers = this.members.map((x) => this.serverOf(x));
    servers[id - 1] = server;
    this.options = { ...this.options, servers };
    this.writeConfig(m);
    await this.launch(m);
    return m.waitServing(timeoutMs);
  }

  /** Sets the proxies of the link from `from` to `to` (both ports), i.e. connections `from` opens to `to`. */
  setLink(from: number, to: number, mode: ProxyMode, ports: LinkPort[] = ['quorum', 'election']): void {
    for (const port of ports) this.proxy(port, from, to).setMode(mode);
  }

  /** Cuts every link between the groups, both ways; links inside a group are left as they are. */
  partition(groups: number[][], mode: ProxyMode = 'drop'): void {
    for (const [i, a] of groups.entries()) {
      for (const b of groups.slice(i + 1)) {
        for (const x of a) {
          for (const y of b) {
            this.setLink(x, y, mode);
            this.setLink(y, x, mode);
          }
        }
      }
    }
  }

  /** Cuts member `id` off from every other member. */
  isolate(id: number, mode: ProxyMode = 'drop'): void {
    this.partition([[id], this.members.filter((m) => m.id !== id).map((m) => m.id)], mode);
  }

  /** Every link back to pass. */
  heal(): void {
    for (const p of this.proxies.values()) p.setMode('pass');
  }

  proxy(port: LinkPort, from: number, to: number): FaultProxy {
    const p = this.proxies.get(`${port}:${from}:${to}`);
    if (p === undefined) throw new Error(`no ${port} proxy from ${from} to ${to} (proxied: ${this.options.proxied !== false})`);
    return p;
  }

  /** Kills every member (resuming paused ones first), closes the proxies and removes the dirs. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Proxies first: none may start listening again for a member that is being killed.
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
    for (const m of this.members) m.sigcont();
    await Promise.all(this.members.map((m) => m.kill9()));
    for (const port of this.ports) assignedPorts.delete(port);
    if (process.env['ZEPHYR_ENSEMBLE_KEEP'] === '1') process.stderr.write(`# ensemble dirs kept in ${this.dir}\n`);
    else fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Each member's last output lines, for a failure message. */
  tails(lines = 20): string {
    return this.members.map((m) => `--- member ${m.id} (${m.role}, ${m.log})\n${m.tail(lines)}`).join('\n');
  }

  // ------------------------------------------------------------ set-up

  private async create(participants: number, observers: number): Promise<void> {
    for (let i = 0; i < participants + observers; i++) {
      const held = [await holdPort(this.ports), await holdPort(this.ports), await holdPort(this.ports)];
      const [client, quorum, election] = held.map((h) => h.port) as [number, number, number];
      const id = i + 1;
      const member = new Member(
        id,
        i < participants ? 'participant' : 'observer',
        { client, quorum, election },
        path.join(this.dir, `m${id}`),
      );
      member.holdPorts(held.map((h) => h.server));
      fs.mkdirSync(path.join(member.dir, 'data'), { recursive: true });
      fs.writeFileSync(path.join(member.dir, 'data', 'myid'), `${id}\n`);
      this.members.push(member);
    }
    if (this.options.proxied !== false) await this.createProxies();
    for (const m of this.members) this.writeConfig(m);
  }

  private async createProxies(): Promise<void> {
    for (const from of this.members) {
      for (const to of this.members) {
        if (from === to) continue;
        const back = (): number => this.proxy('election', to.id, from.id).port;
        this.proxies.set(`quorum:${from.id}:${to.id}`, await startProxy(this.ports, to.ports.quorum));
        this.proxies.set(`election:${from.id}:${to.id}`, await startProxy(this.ports, to.ports.election, initialMessageRewriter(back)));
      }
    }
  }

  /** Member m's zoo.cfg: itself at its real ports, every other member at the proxies "m to it". */
  private writeConfig(m: Member): void {
    const entries: Record<string, string> = { ...this.entries, dataDir: path.join(m.dir, 'data'), clientPort: String(m.ports.client) };
    if (m.role === 'observer') entries['peerType'] = 'observer';
    for (const other of this.members) {
      const proxied = other !== m && this.options.proxied !== false;
      const quorum = proxied ? this.proxy('quorum', m.id, other.id).port : other.ports.quorum;
      const election = proxied ? this.proxy('election', m.id, other.id).port : other.ports.election;
      const role = other.role === 'observer' ? ':observer' : '';
      entries[`server.${other.id}`] = `127.0.0.1:${quorum}:${election}${role};127.0.0.1:${other.ports.client}`;
    }
    const lines = Object.entries(entries).filter(([k]) => this.serverOf(m) === 'zephyr' || !isJavaProperty(k));
    fs.writeFileSync(this.configFile(m), lines.map(([k, v]) => `${k}=${v}\n`).join(''));
  }

  private configFile(m: Member): string {
    return path.join(m.dir, 'zoo.cfg');
  }

  private async launch(m: Member): Promise<void> {
    await m.spawn(this.serverOf(m) === 'zk' ? this.zkCommand(m) : [process.execPath, SERVER_BIN, '--config', this.configFile(m)]);
  }

  /** The server member m runs. */
  serverOf(m: { id: number }): EnsembleServer {
    return this.options.servers?.[m.id - 1] ?? this.server;
  }

  private zkCommand(m: Member): string[] {
    const properties = Object.entries(this.entries)
      .filter(([k]) => isJavaProperty(k))
      .map(([k, v]) => `-D${k}=${v}`);
    return zooKeeperCommand({
      id: m.id,
      config: this.configFile(m),
      dir: m.dir,
      logFile: null,
      heap: this.options.javaHeap,
      jvmOptions: ['-XX:+UseSerialGC', ...properties],
    });
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    try {
      await Promise.all(this.members.map((m) => m.waitServing(timeoutMs)));
      await this.leader(timeoutMs);
    } catch (e) {
      throw new Error(`${this.server} ensemble did not start: ${(e as Error).message}`);
    }
  }
}

/**
 * A proxy that listens, on a port of the members' range, only while its target does: a member
 * dialling a member that is down or a follower's quorum port is refused, as without a proxy.
 */
async function startProxy(owned: number[], targetPort: number, rewriteFirst?: ProxyOptions['rewriteFirst']): Promise<FaultProxy> {
  const held = await holdPort(owned);
  await closeServer(held.server);
  return FaultProxy.start({ targetPort, port: held.port, followTarget: true, ...(rewriteFirst === undefined ? {} : { rewriteFirst }) });
}

function isJavaProperty(key: string): boolean {
  return /^(zookeeper|znode|jute|readonlymode)\./.test(key);
}
