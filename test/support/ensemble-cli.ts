/**
 * Runs an ensemble (test/support/ensemble-process.ts) for shell scripts: the kazoo suite and the
 * 3-member benchmark.
 *
 *   node dist/test/support/ensemble-cli.js [--server zk|zephyr] [--participants 3] [--observers 0]
 *        [--no-proxy] [--set key=value]... [--java-heap 256m]
 *
 * Prints one JSON line once every member serves: {"connect":"127.0.0.1:p1,...","server":..,
 * "control":PORT,"members":[{"id":1,"role":"participant","clientPort":..,"pid":..,"dir":..}]}.
 * Then takes commands, one per line, on stdin or on a TCP connection to 127.0.0.1:PORT (for a
 * test suite that stops and starts members), and answers each with one JSON line:
 *   modes      {"modes":{"1":"follower",...}}
 *   kill N     kill -9 of member N: {"killed":N}
 *   restart N  starts member N again (kill -9 first if it runs) and waits until it serves: {"mode":..}
 *   failover   kill -9 of the leader, then creates through the others until one is acknowledged:
 *              {"failover_ms":..,"killed":..,"new_leader":..}; the old leader is restarted after
 *   isolate    black-holes every link of the leader (quorum and election ports, both ways; its
 *              process runs on), then creates through the others until one is acknowledged:
 *              {"write_ms":..,"isolated":..,"new_leader":..,"old_leader_stops_ms":..,
 *              "client_loss_ms":..,"rejoin_ms":..}: times from the cut until the create is
 *              acknowledged, the old leader stops serving (`srvr`), a session on it loses its
 *              connection (null if not within 30 s), and, after the links heal, it serves again
 *   quit       (on stdin, or end of stdin, SIGINT, SIGTERM) stops every member and exits
 */
import * as net from 'node:net';
import { parseArgs } from 'node:util';
import * as readline from 'node:readline';
import { connectTo, createUntilAcknowledged } from '../ensemble/ensemble-support.js';
import { ENSEMBLE_SERVER, Ensemble, type EnsembleServer, type Member } from './ensemble-process.js';
import { sleep } from './server-process.js';

interface CliOptions {
  server: EnsembleServer;
  participants: number;
  observers: number;
  proxied: boolean;
  config: Record<string, string>;
  javaHeap: string;
}

function options(): CliOptions {
  const { values } = parseArgs({
    options: {
      server: { type: 'string' },
      participants: { type: 'string', default: '3' },
      observers: { type: 'string', default: '0' },
      'no-proxy': { type: 'boolean', default: false },
      set: { type: 'string', multiple: true, default: [] },
      'java-heap': { type: 'string', default: '256m' },
    },
  });
  const server = values.server ?? ENSEMBLE_SERVER;
  if (server !== 'zk' && server !== 'zephyr') throw new Error(`--server: zk or zephyr, not ${server}`);
  const config: Record<string, string> = {};
  for (const kv of values.set) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`--set: key=value, not ${kv}`);
    config[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return {
    server,
    participants: Number(values.participants),
    observers: Number(values.observers),
    proxied: !values['no-proxy'],
    config,
    javaHeap: values['java-heap'],
  };
}

async function failover(ensemble: Ensemble): Promise<object> {
  const killed = await ensemble.leader();
  const started = Date.now();
  await ensemble.kill9(killed);
  const others = ensemble.participants.filter((m) => m.id !== killed);
  await createUntilAcknowledged(others, `/failover-${started}`, 120000);
  const failoverMs = Date.now() - started;
  const newLeader = await ensemble.leader();
  await ensemble.restart(killed);
  return { failover_ms: failoverMs, killed, new_leader: newLeader };
}

/** How long the isolated leader's own signs of the cut are waited for. */
const OLD_LEADER_WAIT_MS = 30000;

/** Ms from `since` until the member stops serving (`srvr` has no mode), or null if it serves on. */
async function stopsServing(m: Member, since: number): Promise<number | null> {
  while (Date.now() - since < OLD_LEADER_WAIT_MS) {
    if ((await m.mode(1000)) === undefined) return Date.now() - since;
    await sleep(20);
  }
  return null;
}

/** The failover a network partition causes: nothing is killed, the leader's links go silent. */
async function isolateLeader(ensemble: Ensemble): Promise<object> {
  const isolated = await ensemble.leader();
  const old = ensemble.member(isolated);
  const others = ensemble.participants.filter((m) => m.id !== isolated);
  const session = await connectTo(old);
  const started = Date.now();
  ensemble.isolate(isolated, 'drop');
  const clientLoss = Promise.race([session.closed.then(() => Date.now() - started), sleep(OLD_LEADER_WAIT_MS).then(() => null)]);
  const [writeMs, oldLeaderStopsMs, clientLossMs] = await Promise.all([
    createUntilAcknowledged(others, `/isolate-${started}`, 120000).then(() => Date.now() - started),
    stopsServing(old, started),
    clientLoss,
  ]);
  session.destroy();
  const newLeader = await ensemble.leader();
  const healed = Date.now();
  ensemble.heal();
  await old.waitServing(120000);
  await ensemble.leader();
  return {
    write_ms: writeMs,
    isolated,
    new_leader: newLeader,
    old_leader_stops_ms: oldLeaderStopsMs,
    client_loss_ms: clientLossMs,
    rejoin_ms: Date.now() - healed,
  };
}

async function answer(ensemble: Ensemble, line: string): Promise<object | undefined> {
  const [command = '', arg] = line.trim().split(/\s+/);
  try {
    if (command === 'modes') return { modes: Object.fromEntries(await ensemble.modes()) };
    if (command === 'failover') return await failover(ensemble);
    if (command === 'isolate') return await isolateLeader(ensemble);
    if (command === 'kill' && arg !== undefined) {
      await ensemble.kill9(Number(arg));
      return { killed: Number(arg) };
    }
    if (command === 'restart' && arg !== undefined) return { mode: await ensemble.restart(Number(arg)) };
    return command === '' ? undefined : { error: `unknown command ${line}` };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** Answers commands on TCP connections, one line each. */
async function controlServer(ensemble: Ensemble): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    const lines = readline.createInterface({ input: socket });
    lines.on('line', (line) => {
      void answer(ensemble, line).then((reply) => {
        if (reply !== undefined && !socket.destroyed) socket.write(`${JSON.stringify(reply)}\n`);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function main(): Promise<void> {
  const o = options();
  const ensemble = await Ensemble.start(o);
  const control = await controlServer(ensemble);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= Promise.all([ensemble.close(), new Promise((resolve) => control.close(resolve))]).then(() => undefined));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void close().then(() => process.exit(0)));
  const members = ensemble.members.map((m) => ({ id: m.id, role: m.role, clientPort: m.ports.client, pid: m.pid, dir: m.dir }));
  const port = (control.address() as net.AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ connect: ensemble.connectionString(), server: ensemble.server, control: port, members })}\n`);
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line.trim() === 'quit') break;
    const reply = await answer(ensemble, line);
    if (reply !== undefined) process.stdout.write(`${JSON.stringify(reply)}\n`);
  }
  await close();
  // Control connections left open by a client must not keep the process alive.
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
