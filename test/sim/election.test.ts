/**
 * Seeded simulation of FastLeaderElection (see election-scenario.ts for the scenario and its
 * checkers). ELECTION_SEEDS=n (default 1000) runs seeds 1..n, a third each with 3, 5 and 7
 * participants; ELECTION_SEED=n runs that seed alone and prints its log, every notification
 * included. A failing seed is printed with its log tail; test/sim/election-run.ts runs many more
 * seeds in one process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, SeedTally } from './election-scenario.js';

const RUNS = Number(process.env.ELECTION_SEEDS ?? 1000);
const ONE_SEED = process.env.ELECTION_SEED;

test(`election simulation: ${ONE_SEED === undefined ? `${RUNS} seeds` : `seed ${ONE_SEED}`}`, { timeout: 600_000 }, () => {
  const seeds = ONE_SEED === undefined ? Array.from({ length: RUNS }, (_, i) => i + 1) : [Number(ONE_SEED)];
  const tally = new SeedTally();
  for (const seed of seeds) {
    const r = runScenario(seed, undefined, ONE_SEED !== undefined);
    if (ONE_SEED !== undefined) console.log(r.log.join('\n'));
    if (r.failures.length > 0) {
      const tail = r.log.slice(-40).join('\n');
      assert.fail(`ELECTION_SEED=${seed} (${r.participants}+${r.observers} members): ${r.failures.join('; ')}\n${tail}`);
    }
    tally.add(r);
  }
  console.log(`# ${tally.summary()}`);
  if (ONE_SEED !== undefined) return;
  // the scenario mix must keep exercising what the checkers are about
  assert.ok(tally.joinedByReplies > RUNS / 5, `late joiners that learned the leader from replies: ${tally.joinedByReplies}`);
  assert.ok(tally.calm > RUNS / 5 && tally.observerSeeds > RUNS / 5, tally.summary());
});
