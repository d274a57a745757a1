/**
 * Randomized runs of the real server code as an ensemble (ensemble-sim.ts): 3 voters, and 5
 * voters with an observer, under power cuts, restarts, partitions, broken connections and slow
 * disks, with clients writing and reading throughout; then healed and checked.
 *
 * ENSEMBLE_SEEDS=n (default 2000) runs seeds 1..n, split between the two shapes;
 * ENSEMBLE_SEED=n runs only seed n and prints its trace. A failure prints SEED=<n>, what broke
 * and the end of the trace; the seed replays the same run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runEnsemble, SimFailure, type EnsembleOptions, type EnsembleResult } from './ensemble-sim.js';
import type { Bug } from './ensemble-replica.js';

const SEEDS = Number(process.env.ENSEMBLE_SEEDS ?? 2000);
const ONLY = process.env.ENSEMBLE_SEED === undefined ? undefined : Number(process.env.ENSEMBLE_SEED);
const BUG = (process.env.ENSEMBLE_BUG ?? null) as Bug | null;

export function shape(seed: number, trace: boolean, bug: Bug | null = BUG): EnsembleOptions {
  const five = seed % 2 === 0;
  return { seed, voters: five ? 5 : 3, observers: five ? 1 : 0, clients: five ? 4 : 3, faultTicks: 40, healTicks: 80, trace, bug };
}

/** Runs a seed; on failure runs it again with the trace on and reports its end. */
async function runSeed(seed: number): Promise<EnsembleResult> {
  try {
    return await runEnsemble(shape(seed, false));
  } catch (first) {
    let trace = '';
    try {
      await runEnsemble(shape(seed, true));
    } catch (e) {
      if (e instanceof SimFailure) trace = e.trace.slice(-120).join('\n');
    }
    throw new Error(`SEED=${seed}: ${first instanceof Error ? (first.stack ?? first.message) : String(first)}\n${trace}`, { cause: first });
  }
}

test(
  'ensemble of the real server code: random faults, then heal: safety, client guarantees, liveness',
  { timeout: 1_200_000 },
  async () => {
    if (ONLY !== undefined) {
      try {
        const r = await runEnsemble(shape(ONLY, true));
        console.log(r.trace.join('\n'));
      } catch (e) {
        if (e instanceof SimFailure) console.log(e.trace.join('\n'));
        throw e;
      }
      return;
    }
    const started = Date.now();
    let acked = 0;
    let reads = 0;
    let worstHeal = 0;
    const stats = new Map<string, number>();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = await runSeed(seed);
      acked += r.acked;
      reads += r.reads;
      worstHeal = Math.max(worstHeal, r.healedAfterTicks);
      for (const [k, v] of r.stats) stats.set(k, (stats.get(k) ?? 0) + v);
    }
    console.log(
      `${SEEDS} seeds in ${((Date.now() - started) / 1000).toFixed(1)} s: ${acked} acknowledged writes, ${reads} reads, slowest recovery ${worstHeal} ticks after heal`,
    );
    console.log([...stats].map(([k, v]) => `${k} ${v}`).join(', '));
    assert.ok(acked > SEEDS, `only ${acked} writes acknowledged over ${SEEDS} runs: the runs do too little`);
    if (SEEDS >= 200) {
      for (const path of ['diff', 'trunc', 'snap', 'power cut', 'tree reset', 'leader serving'])
        assert.ok((stats.get(path) ?? 0) > 0, `no run reached ${path}`);
    }
  },
);

/**
 * The checkers can fail: each deliberate bug (ensemble-replica.ts `Bug`) must be caught within
 * the first seeds; the seed that catches it and what broke are printed.
 */
test('ensemble checkers catch deliberate bugs', { timeout: 600_000 }, async () => {
  if (ONLY !== undefined || BUG !== null) return;
  const bugs: Bug[] = ['ackBeforeDurable', 'applyBeforeCommit', 'answerBeforeCommit'];
  for (const bug of bugs) {
    let caught: string | null = null;
    for (let seed = 1; seed <= 150 && caught === null; seed++) {
      try {
        await runEnsemble(shape(seed, false, bug));
      } catch (e) {
        if (!(e instanceof SimFailure)) throw e;
        caught = e.message.split('\n')[0] ?? '';
      }
    }
    console.log(`${bug}: ${caught ?? 'not caught'}`);
    assert.ok(caught !== null, `${bug} was not caught in 150 seeds`);
  }
});
