/**
 * Randomized runs of the real server code (ensemble-sim.ts) while an admin client changes the
 * membership with reconfigs (sim-admin.ts), under the usual faults, then healed and checked:
 * the ensemble checks, plus one membership per committed version, every running member on the
 * newest committed membership after the heal, acknowledged reconfigs committed, and no leader
 * committing above a membership that has it no voter.
 *
 * RECONFIG_SEEDS=n (default 200) runs seeds 1..n of each scenario; RECONFIG_SEED=n with
 * RECONFIG_SCENARIO=<name> runs one and prints its trace. A failure prints the scenario,
 * SEED=<n>, what broke and the end of the trace; the seed replays the same run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runEnsemble, SimFailure, type EnsembleOptions, type EnsembleResult } from './ensemble-sim.js';
import type { ReconfigScenario } from './sim-admin.js';
import type { Bug } from './ensemble-replica.js';

const SEEDS = Number(process.env.RECONFIG_SEEDS ?? 200);
const ONLY = process.env.RECONFIG_SEED === undefined ? undefined : Number(process.env.RECONFIG_SEED);
const ONLY_SCENARIO = (process.env.RECONFIG_SCENARIO ?? 'crash') as ReconfigScenario;

export function reconfigShape(scenario: ReconfigScenario, seed: number, trace: boolean, bug: Bug | null = null): EnsembleOptions {
  const common = { seed, clients: 3, faultTicks: 80, healTicks: 80, faultChance: 0.4, trace, reconfig: scenario, bug };
  switch (scenario) {
    case 'crash':
      return { ...common, voters: 4, observers: 0, spares: 1 };
    case 'removeLeader':
      return { ...common, voters: 5, observers: 0 };
    case 'joinObserver':
      return { ...common, voters: 3, observers: 1, spares: 1 };
  }
}

async function runSeed(scenario: ReconfigScenario, seed: number): Promise<EnsembleResult> {
  try {
    return await runEnsemble(reconfigShape(scenario, seed, false));
  } catch (first) {
    let trace = '';
    try {
      await runEnsemble(reconfigShape(scenario, seed, true));
    } catch (e) {
      if (e instanceof SimFailure) trace = e.trace.slice(-150).join('\n');
    }
    const what = first instanceof Error ? (first.stack ?? first.message) : String(first);
    throw new Error(`RECONFIG_SCENARIO=${scenario} SEED=${seed}: ${what}\n${trace}`, { cause: first });
  }
}

for (const scenario of ['crash', 'removeLeader', 'joinObserver'] as const) {
  test(`reconfig scenario ${scenario}: random faults, then heal: memberships, safety, liveness`, { timeout: 1_200_000 }, async () => {
    if (ONLY !== undefined) {
      if (scenario !== ONLY_SCENARIO) return;
      try {
        const r = await runEnsemble(reconfigShape(scenario, ONLY, true));
        console.log(r.trace.join('\n'));
      } catch (e) {
        if (e instanceof SimFailure) console.log(e.trace.join('\n'));
        throw e;
      }
      return;
    }
    const started = Date.now();
    const stats = new Map<string, number>();
    let acked = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = await runSeed(scenario, seed);
      acked += r.acked;
      for (const [k, v] of r.stats) stats.set(k, (stats.get(k) ?? 0) + v);
    }
    console.log(`${scenario}: ${SEEDS} seeds in ${((Date.now() - started) / 1000).toFixed(1)} s, ${acked} acknowledged writes`);
    console.log([...stats].map(([k, v]) => `${k} ${v}`).join(', '));
    assert.ok((stats.get('reconfig acked') ?? 0) >= SEEDS / 2, `too few reconfigs acknowledged over ${SEEDS} runs`);
    assert.ok((stats.get('reconfig activated') ?? 0) > 0, 'no reconfig was activated');
    if (scenario === 'removeLeader' && SEEDS >= 50)
      assert.ok((stats.get('leader without election') ?? 0) > 0, 'no hand-over to a designated leader');
  });
}

/**
 * The reconfig checkers can fail: each deliberate reconfig bug (ensemble-replica.ts `Bug`) must
 * be caught within the first seeds of the crash scenario; the seed and what broke are printed.
 */
test('reconfig checkers catch deliberate bugs', { timeout: 600_000 }, async () => {
  if (ONLY !== undefined) return;
  for (const bug of ['ignoreActivate', 'establishWithoutLastSeen'] as const) {
    let caught: string | null = null;
    for (let seed = 1; seed <= 300 && caught === null; seed++) {
      try {
        await runEnsemble(reconfigShape('crash', seed, false, bug));
      } catch (e) {
        if (!(e instanceof SimFailure)) throw e;
        caught = e.message.split('\n')[0] ?? '';
      }
    }
    console.log(`${bug}: ${caught ?? 'not caught'}`);
    assert.ok(caught !== null, `${bug} was not caught in 300 seeds`);
  }
});
