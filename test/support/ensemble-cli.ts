/**
 * Runs an ensemble (test/support/ensemble-process.ts) for shell scripts: the kazoo suite and the
 * 3-member benchmark.
 *
 *   node dist/test/support/ensemble-cli.js [--server zk|zephyr] [--participants 3] [--observers 0]
 *        [--no-proxy] [--set key=value]... [--java-heap 256m]
 *
 * Prints one JSON line once every member serves: {"connect":"127.0.0.1:p1,...","server":..,
 * "members":[{"id":1,"role":"participant","clientPort":..,"pid":..,"dir":..}]}. Then reads
 * commands, one per line, on stdin and answers each with one JSON line:
 *   modes      {"modes":{"1":"follower",...}}
 *   failover   kill -9 of the leader, then creates through the others until one is acknowledged:
 *              {"failover_ms":..,"killed":..,"new_leader":..}; the old leader is restarted after
 *   quit       (or end of input, SIGINT, SIGTERM) stops every member and exits
 */
import { parseArgs } from 'node:util';
import * as readline from 'node:readline';
import { createUntilAcknowledged } from '../ensemble/ensemble-support.js';
import { ENSEMBLE_SERVER, Ensemble, type EnsembleServer } from './ensemble-process.js';

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

async function main(): Promise<void> {
  const o = options();
  const ensemble = await Ensemble.start(o);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= ensemble.close());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void close().then(() => process.exit(0)));
  const members = ensemble.members.map((m) => ({ id: m.id, role: m.role, clientPort: m.ports.client, pid: m.pid, dir: m.dir }));
  process.stdout.write(`${JSON.stringify({ connect: ensemble.connectionString(), server: ensemble.server, members })}\n`);
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const command = line.trim();
    if (command === 'quit') break;
    try {
      if (command === 'modes') process.stdout.write(`${JSON.stringify({ modes: Object.fromEntries(await ensemble.modes()) })}\n`);
      else if (command === 'failover') process.stdout.write(`${JSON.stringify(await failover(ensemble))}\n`);
      else if (command !== '') process.stdout.write(`${JSON.stringify({ error: `unknown command ${command}` })}\n`);
    } catch (e) {
      process.stdout.write(`${JSON.stringify({ error: (e as Error).message })}\n`);
    }
  }
  await close();
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
