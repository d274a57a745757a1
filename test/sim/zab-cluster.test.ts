/**
 * Randomized ZAB cluster runs (zab-cluster.ts): 3 voters, and 5 voters with an observer, under
 * crashes, restarts, partitions, broken connections and slow disks, then healed.
 *
 * ZAB_SEEDS=n (default 2000) runs seeds 1..n, split between the two shapes; ZAB_SEED=n runs
 * only seed n (both shapes) and prints its trace. A failure prints SEED=<n> and the end of the
 * trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runRandom, SimFailure, type SimOptions, type SimResult } from './zab-cluster.js';

const SEEDS = Number(process.env.ZAB_SEEDS ?? 2000);
const ONLY = process.env.ZAB_SEED === undefined ? undefined : Number(process.env.ZAB_SEED);
const HEAL_TICKS = 80;

function shape(seed: number, trace: boolean): SimOptions {
  const five = seed % 2 === 0;
  return { seed, voters: five ? 5 : 3, observers: five ? 1 : 0, faultTicks: 60, healTicks: HEAL_TICKS, trace };
}

/** Runs a seed; on failure runs it again with the trace on and reports its end. */
function runSeed(seed: number): SimResult {
  try {
    return runRandom(shape(seed, false));
  } catch (first) {
    try {
      runRandom(shape(seed, true));
    } catch (e) {
      const trace = e instanceof SimFailure ? e.trace.slice(-150).join('\n') : '';
      throw new Error(`SEED=${seed}: ${String(first)}\n${trace}`, { cause: first });
    }
    throw first;
  }
}

test('ZAB cluster: random faults, then heal: safety and liveness', { timeout: 600_000 }, () => {
  if (ONLY !== undefined) {
    const opts = shape(ONLY, true);
    try {
      console.log(runRandom(opts).trace.join('\n'));
    } catch (e) {
      if (e instanceof SimFailure) console.log(e.trace.join('\n'));
      throw e;
    }
    return;
  }
  let acked = 0;
  let worstHeal = 0;
  const stats = new Map<string, number>();
  for (let seed = 1; seed <= SEEDS; seed++) {
    const r = runSeed(seed);
    acked += r.acked;
    worstHeal = Math.max(worstHeal, r.healedAfterTicks);
    for (const [k, v] of r.stats) stats.set(k, (stats.get(k) ?? 0) + v);
  }
  console.log(`${SEEDS} seeds, ${acked} acknowledged writes, slowest recovery ${worstHeal} ticks after heal`);
  console.log([...stats].map(([k, v]) => `${k} ${v}`).join(', '));
  assert.ok(acked > SEEDS, `only ${acked} writes acknowledged over ${SEEDS} runs: the runs do too little`);
  if (SEEDS >= 200) {
    // the runs must reach every sync path, or they prove little about it
    for (const path of ['diff', 'trunc', 'snap', 'readLog', 'crash', 'looking'])
      assert.ok((stats.get(path) ?? 0) > 0, `no run reached ${path}`);
  }
});
