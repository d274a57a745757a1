#!/usr/bin/env node
/**
 * `zephyr-election --config zoo.cfg [--zxid N] [--epoch N]`: runs this member's leader election
 * alone (no ZAB), for tests and for checking an ensemble's election port. The config must describe
 * an ensemble and dataDir/myid must name this member. Each decision is printed as one JSON line
 * on stdout; the process then keeps answering members that look, until it gets SIGTERM or
 * SIGINT. Logs go to stderr.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { decideStartup, parseZooCfg } from '../config/index.js';
import { readOptionalTextFile, systemClock } from '../runtime/index.js';
import { ElectionDriver } from '../server/election-driver.js';

const { values } = parseArgs({
  options: { config: { type: 'string', short: 'c' }, zxid: { type: 'string' }, epoch: { type: 'string' } },
  allowPositionals: false,
});
if (values.config === undefined) {
  process.stderr.write('usage: zephyr-election --config zoo.cfg [--zxid N] [--epoch N]\n');
  process.exit(2);
}
const log = pino({ base: { svc: 'zephyr-election' } }, pino.destination(2));
const parsed = parseZooCfg(readFileSync(values.config, 'utf8'), values.config);
const myidPath = path.join(parsed.config.dataDir, 'myid');
const plan = decideStartup(parsed, values.config, { path: myidPath, text: readOptionalTextFile(myidPath) });
if (plan.mode !== 'ensemble') {
  process.stderr.write('zephyr-election: the config describes a standalone server\n');
  process.exit(2);
}
const driver = ElectionDriver.forEnsemble(plan.ensemble, log, () => systemClock.monoMs());
await driver.listen();
const decision = await driver.lookForLeader({ lastLoggedZxid: Number(values.zxid ?? 0), currentEpoch: Number(values.epoch ?? 0) });
const { state, vote, path: how } = decision;
const name = ['LOOKING', 'FOLLOWING', 'LEADING', 'OBSERVING'][state];
process.stdout.write(`${JSON.stringify({ state: name, leader: vote.leader, zxid: vote.zxid, round: vote.electionEpoch, path: how })}\n`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void driver.close().then(() => process.exit(0));
  });
}
