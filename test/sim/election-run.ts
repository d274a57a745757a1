/**
 * Runs many election simulation seeds in one process:
 *   node dist/test/sim/election-run.js [first] [count] [participants]
 * Prints each failing seed (replay it with ELECTION_SEED=n in election.test.ts) and a summary.
 */
import { runScenario, SeedTally } from './election-scenario.js';

const first = Number(process.argv[2] ?? 1);
const count = Number(process.argv[3] ?? 20_000);
const size = process.argv[4] === undefined ? undefined : Number(process.argv[4]);
const started = process.hrtime.bigint();
const tally = new SeedTally();
for (let seed = first; seed < first + count; seed++) {
  const r = runScenario(seed, size);
  tally.add(r);
  if (r.failures.length > 0) console.log(`ELECTION_SEED=${seed} (${r.participants}+${r.observers}): ${r.failures.join('; ')}`);
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(`${tally.summary()} in ${seconds.toFixed(1)} s`);
process.exitCode = tally.failed > 0 ? 1 : 0;
