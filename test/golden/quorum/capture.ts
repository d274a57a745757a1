/**
 * Re-captures the quorum-protocol fixtures of this directory from a real Apache ZooKeeper 3.8.0
 * ensemble (Debian's `zookeeper` package). Run it through `capture.sh`; see README.md.
 *
 * Four members run on 127.0.0.1: participants 1, 2 and 3, and observer 4. Each member's zoo.cfg
 * lists itself at its real ports and every other member at a recording proxy of its own for that
 * ordered pair (a connection arriving at the proxy for "m to k" comes from m, whatever m says),
 * so every election and quorum connection a member opens passes a proxy that keeps both
 * directions' bytes. Member 3 has two election addresses and `zookeeper.multiAddress.enabled`,
 * so it sends the V2 initial message; the others send V1.
 *
 * The one connection ZooKeeper opens to an address it did not take from zoo.cfg is the answer
 * to a lost challenge: a member that receives an election connection from a smaller sid, and has
 * none to it, connects back to the address in that sid's initial message (its real port). The
 * phases avoid it (members start in sid order, and the member restarted is the highest
 * participant), and the capture fails if a member logs an election connection from anywhere
 * but a proxy.
 *
 * Besides the bytes, the manifest records what the tests compare the decoded records with,
 * from sources other than the bytes: the configs written, the sessions and replies the clients
 * got, the requests they sent, and each notification as the receiving member logged it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { JuteWriter, OpCode, writeRequest, type ACL, type Request } from '../../../src/codec/index.js';
import { RawClient } from '../../support/raw-client.js';
import { zooKeeperCommand } from '../../support/zookeeper-java.js';
import { splitStream, type Manifest, type MemberInfo, type RecordedOp } from './fixtures.js';

const MEMBER_IDS = [1, 2, 3, 4] as const;
const OBSERVER_ID = 4;
const MULTI_ADDRESS_ID = 3;
const TICK_MS = 2000;
/** Long enough for the restart of member 3 and the re-attach that follows it. */
const SESSION_TIMEOUT_MS = 30000;
/** A few leader pings (every tickTime/2) and their answers with session touches. */
const PING_WAIT_MS = 2500;
const CREATOR_ALL: ACL[] = [{ perms: 31, id: { scheme: 'auth', id: '' } }];
const OPEN: ACL[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

type MemberId = (typeof MEMBER_IDS)[number];

interface Ports {
  client: Record<MemberId, number>;
  quorum: Record<MemberId, number[]>;
  election: Record<MemberId, number[]>;
}

// ---------------------------------------------------------------- recording proxy

interface CapturedConnection {
  index: number;
  port: 'election' | 'quorum';
  from: MemberId;
  to: MemberId;
  openedAtMs: number;
  /** Chunks from `from`, and from `to`. */
  forward: Buffer[];
  backward: Buffer[];
}

class Recorder {
  readonly connections: CapturedConnection[] = [];
  /** Local ports of the proxies' upstream sockets: how a member's log tells a proxied connection. */
  readonly upstreamPorts = new Set<number>();
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();

  async listen(port: 'election' | 'quorum', from: MemberId, to: MemberId, targetPort: number): Promise<number> {
    const server = net.createServer((client) => this.relay(client, port, from, to, targetPort));
    this.servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as net.AddressInfo).port;
  }

  private relay(client: net.Socket, port: 'election' | 'quorum', from: MemberId, to: MemberId, targetPort: number): void {
    client.pause();
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    const conn: CapturedConnection = { index: -1, port, from, to, openedAtMs: Date.now(), forward: [], backward: [] };
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    upstream.once('connect', () => {
      this.upstreamPorts.add(upstream.localPort ?? 0);
      conn.index = this.connections.length;
      this.connections.push(conn);
      client.on('data', (d: Buffer) => {
        conn.forward.push(d);
        upstream.write(d);
      });
      upstream.on('data', (d: Buffer) => {
        conn.backward.push(d);
        client.write(d);
      });
      client.resume();
    });
    // a member that is not up yet refuses: that connection is not recorded
    upstream.once('close', () => client.destroy());
    client.once('close', () => upstream.destroy());
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

// ---------------------------------------------------------------- members

/** Ports below Linux's ephemeral range, so no outgoing connection (ours or anyone's) takes them meanwhile. */
const PORT_RANGE = { min: 20000, max: 32767 };

/**
 * Picks the members' ports and holds each one open (a listening socket) until `release`: a port
 * found free and let go at once could be handed to one of the proxies, or to anyone else.
 */
async function reservePorts(): Promise<{ ports: Ports; release: () => Promise<void> }> {
  const held: net.Server[] = [];
  const reserve = async (): Promise<number> => {
    for (;;) {
      const port = PORT_RANGE.min + Math.floor(Math.random() * (PORT_RANGE.max - PORT_RANGE.min));
      const server = net.createServer();
      const ok = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(port, '127.0.0.1', () => resolve(true));
      });
      if (ok) {
        held.push(server);
        return port;
      }
    }
  };
  const ports: Ports = {
    client: {} as Record<MemberId, number>,
    quorum: {} as Record<MemberId, number[]>,
    election: {} as Record<MemberId, number[]>,
  };
  for (const id of MEMBER_IDS) {
    const addresses = id === MULTI_ADDRESS_ID ? 2 : 1;
    ports.client[id] = await reserve();
    ports.quorum[id] = [];
    ports.election[id] = [];
    for (let i = 0; i < addresses; i++) {
      ports.quorum[id].push(await reserve());
      ports.election[id].push(await reserve());
    }
  }
  const release = async (): Promise<void> => {
    await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
  };
  return { ports, release };
}

function role(id: MemberId): string {
  return id === OBSERVER_ID ? ':observer' : '';
}

/** The zoo.cfg of member `id`: itself at its real ports, every other member at its proxy. */
function zooCfg(id: MemberId, dir: string, ports: Ports, proxies: Map<string, number>): string {
  const lines = [
    `tickTime=${TICK_MS}`,
    'initLimit=10',
    'syncLimit=5',
    `dataDir=${dir}/data`,
    `clientPort=${ports.client[id]}`,
    'clientPortAddress=127.0.0.1',
    'admin.enableServer=false',
    '4lw.commands.whitelist=*',
  ];
  if (id === OBSERVER_ID) lines.push('peerType=observer');
  for (const k of MEMBER_IDS) {
    if (k === id) {
      const own = ports.quorum[k].map((q, i) => `127.0.0.1:${q}:${ports.election[k][i] ?? 0}`).join('|');
      lines.push(`server.${k}=${own}${role(k)}`);
    } else {
      lines.push(`server.${k}=127.0.0.1:${proxyPort(proxies, 'quorum', id, k)}:${proxyPort(proxies, 'election', id, k)}${role(k)}`);
    }
  }
  return lines.join('\n') + '\n';
}

function proxyPort(proxies: Map<string, number>, port: 'election' | 'quorum', from: MemberId, to: MemberId): number {
  const p = proxies.get(`${port}:${from}:${to}`);
  if (p === undefined) throw new Error(`no ${port} proxy from ${from} to ${to}`);
  return p;
}

class Member {
  private process: ChildProcess | undefined;

  constructor(
    readonly id: MemberId,
    readonly dir: string,
    readonly clientPort: number,
  ) {}

  get log(): string {
    return path.join(this.dir, 'zookeeper.log');
  }

  start(): void {
    const [java = 'java', ...args] = zooKeeperCommand({
      id: this.id,
      config: path.join(this.dir, 'zoo.cfg'),
      dir: this.dir,
      logFile: this.log,
      jvmOptions: [
        // txn-log sync off: a learner that missed the leader's in-memory committed log gets SNAP
        '-Dzookeeper.snapshotSizeFactor=-1',
        `-Dzookeeper.multiAddress.enabled=${this.id === MULTI_ADDRESS_ID}`,
      ],
    });
    const out = fs.openSync(path.join(this.dir, 'stdout.log'), 'a');
    this.process = spawn(java, args, { stdio: ['ignore', out, out] });
    fs.closeSync(out);
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(killer);
  }

  async waitForLog(pattern: RegExp, timeoutMs = 60000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (fs.existsSync(this.log) && pattern.test(fs.readFileSync(this.log, 'utf8'))) return;
      await sleep(100);
    }
    throw new Error(`member ${this.id} did not log ${String(pattern)}; see ${this.log}`);
  }

  /** Waits until `srvr` reports a mode (the member serves), and answers it. */
  async waitServing(timeoutMs = 60000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const mode = /^Mode: (\w+)/m.exec(await fourLetterWord(this.clientPort, 'srvr'));
      if (mode?.[1] !== undefined) return mode[1];
      if (this.process?.exitCode !== null) throw new Error(`member ${this.id} exited; see ${this.log}`);
      await sleep(200);
    }
    throw new Error(`member ${this.id} did not start serving; see ${this.log}`);
  }
}

function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: '127.0.0.1', port }, () => s.end(word));
    s.setTimeout(2000, () => s.destroy());
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => resolve(''));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

function writeMemberFiles(member: Member, cfg: string): void {
  fs.mkdirSync(path.join(member.dir, 'data'), { recursive: true });
  fs.writeFileSync(path.join(member.dir, 'data', 'myid'), `${member.id}\n`);
  fs.writeFileSync(path.join(member.dir, 'zoo.cfg'), cfg);
}

// ---------------------------------------------------------------- workload

class Workload {
  readonly ops: RecordedOp[] = [];

  async run(client: RawClient, session: string, via: MemberId, req: Request): Promise<void> {
    const w = new JuteWriter(64);
    writeRequest(w, req);
    const reply = await client.request(req);
    if (reply.header.err !== 0) throw new Error(`${session}: ${JSON.stringify(req.op)} failed with ${reply.header.err}`);
    this.ops.push({
      session,
      via,
      requestType: req.op,
      cxid: reply.header.xid,
      zxid: reply.header.zxid,
      body: Buffer.from(w.toBuffer()).toString('hex'),
    });
  }
}

async function connect(port: number, resume?: RawClient): Promise<RawClient> {
  return RawClient.connect({
    host: '127.0.0.1',
    port,
    timeoutMs: SESSION_TIMEOUT_MS,
    keepAliveMs: 1000,
    ...(resume === undefined ? {} : { sessionId: resume.sessionId, passwd: resume.passwd, lastZxidSeen: resume.lastZxid }),
  });
}

// ---------------------------------------------------------------- run

interface Ensemble {
  recorder: Recorder;
  ports: Ports;
  members: Map<MemberId, Member>;
  memberInfo: MemberInfo[];
}

/** What the phases learn besides the bytes: the manifest's facts. */
class Facts {
  readonly workload = new Workload();
  readonly sessions: Manifest['sessions'] = [];
  readonly phases: Manifest['phases'] = [];

  phase(name: string): void {
    this.phases.push({ name, atMs: Date.now() });
    console.log(`phase: ${name}`);
  }

  addSession(name: string, client: RawClient): void {
    this.sessions.push({
      name,
      sessionId: client.sessionId.toString(),
      timeoutMs: client.negotiatedTimeout,
      passwd: client.passwd.toString('hex'),
    });
  }
}

/** The proxies and each member's files; the members' ports stay held until `release`. */
async function setUp(work: string): Promise<Ensemble & { release: () => Promise<void> }> {
  const recorder = new Recorder();
  const { ports, release } = await reservePorts();
  const proxies = new Map<string, number>();
  for (const from of MEMBER_IDS) {
    for (const to of MEMBER_IDS) {
      if (from === to) continue;
      proxies.set(`election:${from}:${to}`, await recorder.listen('election', from, to, ports.election[to][0] ?? 0));
      proxies.set(`quorum:${from}:${to}`, await recorder.listen('quorum', from, to, ports.quorum[to][0] ?? 0));
    }
  }
  const members = new Map<MemberId, Member>();
  const memberInfo: MemberInfo[] = [];
  for (const id of MEMBER_IDS) {
    const member = new Member(id, path.join(work, `member${id}`), ports.client[id]);
    writeMemberFiles(member, zooCfg(id, member.dir, ports, proxies));
    members.set(id, member);
    const proxyPorts = MEMBER_IDS.filter((k) => k !== id).map((k) => [
      k,
      { quorum: proxyPort(proxies, 'quorum', id, k), election: proxyPort(proxies, 'election', id, k) },
    ]);
    memberInfo.push({
      id,
      observer: id === OBSERVER_ID,
      quorumPorts: ports.quorum[id],
      electionPorts: ports.election[id],
      multiAddress: id === MULTI_ADDRESS_ID,
      proxyPorts: Object.fromEntries(proxyPorts) as MemberInfo['proxyPorts'],
    });
  }
  return { recorder, ports, members, memberInfo, release };
}

async function runPhases(ens: Ensemble, facts: Facts): Promise<void> {
  const member = (id: MemberId): Member => ens.members.get(id) as Member;
  facts.phase('start members 1 and 2: election, then FOLLOWERINFO/LEADERINFO/ACKEPOCH/DIFF/NEWLEADER/UPTODATE');
  member(1).start();
  // Member 1 retries its connections with a doubling interval. Started just after a retry, 2
  // connects to 1 first; had 1 connected to 2 first, 2 would drop that connection and connect
  // back to 1's real port, past the proxy.
  await member(1).waitForLog(/Notification time out: (6400|12800) ms/);
  member(2).start();
  const modes = [await member(1).waitServing(), await member(2).waitServing()];
  if (modes[1] !== 'leader') throw new Error(`member 2 should lead (modes ${modes.join(', ')}); run again`);
  facts.phase('start observer 4: OBSERVERINFO, INFORM');
  member(4).start();
  await member(4).waitServing();

  facts.phase('session A at follower 1: REQUEST (createSession, writes, sync), PROPOSAL, ACK, COMMIT');
  const a = await connect(ens.ports.client[1]);
  facts.addSession('A', a);
  await a.addAuth('digest', 'golden:secret');
  for (const req of SESSION_A_REQUESTS) await facts.workload.run(a, 'A', 1, req);

  facts.phase("session B at leader 2: proposals of the leader's own clients");
  const b = await connect(ens.ports.client[2]);
  facts.addSession('B', b);
  await facts.workload.run(b, 'B', 2, { op: OpCode.create, path: '/golden/b', data: Buffer.from('from the leader'), acl: OPEN, flags: 0 });
  await sleep(PING_WAIT_MS);

  facts.phase('start member 3 (empty): SNAP with the serialized database, multi-address V2 initial messages');
  member(3).start();
  await member(3).waitServing();
  await sleep(PING_WAIT_MS);

  facts.phase('stop member 3, write, restart it: DIFF with PROPOSAL/COMMIT pairs');
  await member(3).stop();
  await facts.workload.run(b, 'B', 2, { op: OpCode.setData, path: '/golden/b', data: Buffer.from('while 3 was down'), version: -1 });
  await facts.workload.run(b, 'B', 2, { op: OpCode.create, path: '/golden/c', data: Buffer.from('gamma'), acl: OPEN, flags: 0 });
  member(3).start();
  await member(3).waitServing();

  facts.phase('session A re-attaches at follower 3: REVALIDATE, REQUEST, closeSession');
  a.destroy();
  const a2 = await connect(ens.ports.client[3], a);
  if (a2.sessionId !== a.sessionId) throw new Error('session A was not re-attached');
  await a2.addAuth('digest', 'golden:secret'); // auth belongs to the connection, not the session
  await facts.workload.run(a2, 'A', 3, { op: OpCode.setData, path: '/golden/a', data: Buffer.from('delta'), version: -1 });
  await sleep(PING_WAIT_MS);
  await facts.workload.run(a2, 'A', 3, { op: OpCode.closeSession });
  a2.destroy();
  await facts.workload.run(b, 'B', 2, { op: OpCode.closeSession });
  b.destroy();
  await sleep(PING_WAIT_MS);
}

/** Session A's requests at follower 1: each kind of write a follower forwards, and a sync. */
const SESSION_A_REQUESTS: Request[] = [
  { op: OpCode.create, path: '/golden', data: Buffer.from('q'), acl: OPEN, flags: 0 },
  { op: OpCode.create, path: '/golden/a', data: Buffer.from('alpha'), acl: CREATOR_ALL, flags: 0 },
  { op: OpCode.setData, path: '/golden/a', data: Buffer.from('beta'), version: -1 },
  { op: OpCode.create, path: '/golden/e', data: Buffer.from('ephemeral'), acl: OPEN, flags: 1 },
  {
    op: OpCode.multi,
    ops: [
      { op: OpCode.create, path: '/golden/m', data: null, acl: OPEN, flags: 0 },
      { op: OpCode.setData, path: '/golden/m', data: Buffer.from('multi'), version: 0 },
      { op: OpCode.delete, path: '/golden/m', version: -1 },
    ],
  },
  { op: OpCode.sync, path: '/golden' },
];

async function main(): Promise<void> {
  const outDir = path.resolve(process.argv[2] ?? 'test/golden/quorum');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'zk-quorum-capture-'));
  try {
    const ens = await setUp(work);
    const facts = new Facts();
    await ens.release();
    try {
      await runPhases(ens, facts);
    } catch (e) {
      showLogTails(work);
      throw e;
    } finally {
      facts.phase('stop');
      for (const id of [4, 3, 1, 2] as const) await ens.members.get(id)?.stop();
      await ens.recorder.close();
    }
    writeFixtures(outDir, work, ens.recorder, {
      memberInfo: ens.memberInfo,
      sessions: facts.sessions,
      phases: facts.phases,
      ops: facts.workload.ops,
    });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** What went wrong is in the members' logs, which go with their temp dir. */
function showLogTails(work: string): void {
  for (const id of MEMBER_IDS) {
    const log = path.join(work, `member${id}`, 'zookeeper.log');
    if (!fs.existsSync(log)) continue;
    const lines = fs
      .readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => / (WARN|ERROR) /.test(l));
    console.error(`--- member ${id}: last warnings\n${lines.slice(-8).join('\n')}`);
  }
}

function writeFixtures(
  outDir: string,
  work: string,
  recorder: Recorder,
  facts: { memberInfo: MemberInfo[]; sessions: Manifest['sessions']; phases: Manifest['phases']; ops: RecordedOp[] },
): void {
  const logs = MEMBER_IDS.map((id) => fs.readFileSync(path.join(work, `member${id}`, 'zookeeper.log'), 'utf8'));
  checkNoBypass(logs, recorder.upstreamPorts);
  const streamsDir = path.join(outDir, 'streams');
  fs.rmSync(streamsDir, { recursive: true, force: true });
  fs.mkdirSync(streamsDir, { recursive: true });
  const connections: Manifest['connections'] = [];
  for (const conn of recorder.connections) {
    const name = `${String(conn.index).padStart(2, '0')}-${conn.port}-${conn.from}-${conn.to}`;
    const forward = Buffer.concat(conn.forward);
    const backward = Buffer.concat(conn.backward);
    fs.writeFileSync(path.join(streamsDir, `${name}.fwd.bin`), forward);
    fs.writeFileSync(path.join(streamsDir, `${name}.bwd.bin`), backward);
    connections.push({
      name,
      port: conn.port,
      from: conn.from,
      to: conn.to,
      openedAtMs: conn.openedAtMs,
      // the members were stopped at the end: a stream may end inside a packet
      forwardComplete: splitStream(conn.port, 'forward', forward).complete,
      backwardComplete: splitStream(conn.port, 'backward', backward).complete,
    });
  }
  const manifest: Manifest = {
    zookeeper: zookeeperVersion(logs[0] ?? ''),
    members: facts.memberInfo,
    sessions: facts.sessions,
    phases: facts.phases,
    ops: facts.ops,
    connections,
    notifications: loggedNotifications(logs),
  };
  fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
  console.log(`${connections.length} connections written to ${streamsDir}`);
}

/** Every election connection a member accepted must have come from a proxy. */
function checkNoBypass(logs: string[], upstreamPorts: ReadonlySet<number>): void {
  logs.forEach((log, i) => {
    for (const m of log.matchAll(/Received connection request from \/127\.0\.0\.1:(\d+)/g)) {
      if (!upstreamPorts.has(Number(m[1])))
        throw new Error(`member ${i + 1} accepted an election connection from port ${m[1]}, not a proxy; run again`);
    }
  });
}

function zookeeperVersion(log: string): string {
  return /Server environment:zookeeper\.version=([^\s,-]+)/.exec(log)?.[1] ?? 'unknown';
}

/** Each member's "Notification:" log lines: what FastLeaderElection decoded from each sender. */
function loggedNotifications(logs: string[]): Manifest['notifications'] {
  const out: Manifest['notifications'] = [];
  logs.forEach((log, i) => {
    const re =
      /Notification: my state:\w+; n\.sid:(\d+), n\.state:(\w+), n\.leader:(\d+), n\.round:0x(\w+), n\.peerEpoch:0x(\w+), n\.zxid:0x(\w+), message format version:0x(\w+), n\.config version:0x(\w+)/g;
    for (const m of log.matchAll(re)) {
      const [, sid, state, leader, round, peerEpoch, zxid, version, configVersion] = m;
      out.push({
        receiver: i + 1,
        sender: Number(sid),
        state: state ?? '',
        leader: leader ?? '',
        electionEpoch: parseInt(round ?? '', 16),
        peerEpoch: parseInt(peerEpoch ?? '', 16),
        zxid: parseInt(zxid ?? '', 16),
        version: parseInt(version ?? '', 16),
        configVersion: parseInt(configVersion ?? '', 16),
      });
    }
  });
  return out;
}

main()
  .catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  })
  // a failed phase can leave a client socket or a reserved port open: they must not keep us alive
  .finally(() => process.exit());
