/**
 * Power cuts in the middle of the ZAB log's operations, over the simulated disk (sim-fs.ts):
 *
 * - truncation (TxnLog.truncate): a log of 1-4 files (random batches, epochs, preallocation,
 *   disks with and without O_DSYNC) is truncated to a random zxid (held, between two txns,
 *   below or above them all) and the power is cut after a random number of file-system steps
 *   (or never), sometimes again while recovery finishes the truncation. Recovery must not
 *   throw or call anything a torn tail or corruption; it must find exactly the old log or
 *   the new one (the new one if truncate had returned), and the tree must hold exactly those
 *   txns. Read without recovery (as Apache ZooKeeper, which knows no marker, would) the log
 *   must be a prefix of the old one at least as long as the new one: never a gap. Appends
 *   then go on above the zxid and survive a clean cut.
 * - epoch files (writeEpochFile): the power is cut while acceptedEpoch or currentEpoch is
 *   replaced; the file must read as the old value (or be missing if it was) or the new one,
 *   the new one if the write had returned, and QuorumEpochs.load must accept what is left.
 *
 * ZAB_SIM_RUNS=n (default 1000) runs seeds 1..n of each; ZAB_SIM_SEED=n runs only seed n and
 * prints its log. A failing run prints SEED=<n>, its events, the last file-system steps and
 * the disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../src/base/index.js';
import { OpCode, type Txn, type TxnHeader } from '../../src/codec/index.js';
import { DataTree, OPEN_ACL_UNSAFE } from '../../src/tree/index.js';
import {
  ACCEPTED_EPOCH_FILE,
  CURRENT_EPOCH_FILE,
  QuorumEpochs,
  readEpochFile,
  recover,
  TxnLog,
  TxnLogReader,
  writeEpochFile,
  writeSnapshot,
  type Recovered,
} from '../../src/storage/index.js';
import { SimFs, SimScheduler, settle } from './sim-fs.js';

const RUNS = Number(process.env.ZAB_SIM_RUNS ?? 1000);
const ONLY_SEED = process.env.ZAB_SIM_SEED === undefined ? undefined : Number(process.env.ZAB_SIM_SEED);
const DIR = '/zk/data/version-2';
const MAX_ENTRY = 2 * 1024 * 1024;
const S1 = 0x0100000000000001n;
const zxidOf = (epoch: number, counter: number): number => epoch * 2 ** 32 + counter;

class RunFailure extends Error {}

function createTxn(zxid: number, size: number): { header: TxnHeader; txn: Txn } {
  return {
    header: { clientId: S1, cxid: zxid % 1000, zxid, time: 1_700_000_000_000, type: OpCode.create },
    txn: {
      type: OpCode.create,
      path: `/n-${zxid.toString(16)}`,
      data: Buffer.alloc(size, 7),
      acl: [...OPEN_ACL_UNSAFE],
      ephemeral: false,
      parentCVersion: 1,
    },
  };
}

/** One seeded run: its disk, its events (printed if it fails), and a way to step the disk. */
class Run {
  readonly rng: SeededRandom;
  readonly lines: string[] = [];
  fs: SimFs;

  constructor(readonly seed: number) {
    this.rng = new SeededRandom(seed * 6151 + 3);
    this.fs = new SimFs(new SimScheduler(this.rng), {}, this.rng.chance(0.5));
  }

  note(line: string): void {
    this.lines.push(line);
  }

  fail(message: string): never {
    throw new RunFailure(message);
  }

  /** Steps the disk until `p` settles (its value) or `budget` steps ran (null: the power is cut there). */
  async drive<T>(p: Promise<T>, budget = Infinity): Promise<{ value: T } | null> {
    const state: { outcome: { ok: true; value: T } | { ok: false; error: unknown } | null } = { outcome: null };
    p.then(
      (value) => (state.outcome = { ok: true, value }),
      (error: unknown) => (state.outcome = { ok: false, error }),
    );
    await settle();
    for (let steps = 0; state.outcome === null; steps++) {
      if (steps >= budget) return null;
      if (!this.fs.sched.step()) this.fail(`stalled after ${steps} steps`);
      await settle();
    }
    const o = state.outcome;
    if (!o.ok) throw o.error;
    return { value: o.value };
  }

  async complete<T>(p: Promise<T>): Promise<T> {
    const r = await this.drive(p);
    if (r === null) this.fail('unreachable: no budget');
    return r.value;
  }

  powerCut(): void {
    this.fs.sched.abandon();
    const { fs, stats } = this.fs.powerCut(this.rng);
    this.fs = fs;
    this.note(`power cut: ${JSON.stringify(stats)}`);
  }

  /** Every zxid in the log files as a reader sees them (no recovery). */
  async loggedZxids(): Promise<number[]> {
    const reader = await this.complete(TxnLogReader.open(this.fs, DIR, -1, { maxEntryBytes: MAX_ENTRY }));
    const out: number[] = [];
    for (let s = await this.complete(reader.next()); s.length > 0; s = await this.complete(reader.next())) {
      out.push(...s.map((t) => t.header.zxid));
    }
    return out;
  }

  /** Recovery, as a server starts; only the finishing of an interrupted truncation may warn. */
  async recover(budget = Infinity): Promise<Recovered | null> {
    const warnings: string[] = [];
    const r = await this.drive(
      recover(this.fs, {
        snapDir: DIR,
        logDir: DIR,
        extendedTypesEnabled: false,
        maxEntryBytes: MAX_ENTRY,
        compression: '',
        warn: (m, d) => warnings.push(`${m} ${JSON.stringify(d)}`),
      }),
      budget,
    ).catch((e: unknown) => this.fail(`recovery threw: ${(e as Error).stack ?? String(e)}`));
    for (const w of warnings) {
      this.note(`recovery: ${w}`);
      if (!w.startsWith('finished a txn log truncation')) this.fail(`recovery saw damage: ${w}`);
    }
    return r === null ? null : r.value;
  }

  report(): string {
    return [
      `SEED=${this.seed} (replay: ZAB_SIM_SEED=${this.seed} node --test dist/test/sim/zab-storage.test.js)`,
      'events:',
      ...this.lines.map((l) => `  ${l}`),
      'last file-system steps:',
      ...this.fs.sched.trace.slice(-30).map((l) => `  ${l}`),
      'disk:',
      this.fs.describe(),
    ].join('\n');
  }
}

const show = (zxids: readonly number[]): string => zxids.map((z) => z.toString(16)).join(' ');
const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((z, i) => z === b[i]);

/** 1-4 files of 1-8 txns each, sometimes a new epoch, appended in random batches; all durable. */
async function buildLog(run: Run): Promise<{ log: TxnLog; zxids: number[] }> {
  const { rng } = run;
  await run.complete(run.fs.mkdirp(DIR));
  await run.complete(writeSnapshot(run.fs, DIR, new DataTree(false), new Map(), ''));
  const preAllocBytes = rng.chance(0.5) ? 4096 : 64 * 1024;
  const log = new TxnLog(run.fs, DIR, { preAllocBytes, forceSync: true, maxEntryBytes: MAX_ENTRY }, (e) => run.fail(`fatal: ${e.message}`));
  const zxids: number[] = [];
  let epoch = 0;
  let counter = 0;
  const files = 1 + rng.int(4);
  for (let f = 0; f < files; f++) {
    log.roll();
    const n = 1 + rng.int(8);
    for (let i = 0; i < n; i++) {
      if (rng.chance(0.15)) [epoch, counter] = [epoch + 1, 0];
      const z = zxidOf(epoch, ++counter);
      const { header, txn } = createTxn(z, rng.int(300));
      log.append(header, txn, { durable: () => undefined });
      zxids.push(z);
      if (rng.chance(0.4)) await run.complete(log.drain());
    }
    await run.complete(log.drain());
  }
  run.note(`config: syncWrites=${run.fs.canSyncWrites} preAllocBytes=${preAllocBytes}; log: ${show(zxids)} in ${files} file(s)`);
  return { log, zxids };
}

function truncationPoint(rng: SeededRandom, zxids: readonly number[]): number {
  const held = rng.pick(zxids);
  switch (rng.int(5)) {
    case 0:
      return 0;
    case 1:
      return (zxids.at(-1) ?? 0) + rng.int(2); // the last one, or above it
    case 2:
      return held - 1; // below a held one: between two txns, or between epochs
    default:
      return held;
  }
}

interface TruncationOutcome {
  interrupted: boolean;
  /** Recovery found the old log (the cut came before the marker was durable). */
  old: boolean;
  /** Recovery finished a truncation a cut interrupted. */
  finished: boolean;
  /** The files (read without the marker) held neither log, but a prefix between them. */
  between: boolean;
}

async function truncationRun(seed: number): Promise<TruncationOutcome> {
  const run: Run = new Run(seed);
  try {
    const { log, zxids: old } = await buildLog(run);
    const z = truncationPoint(run.rng, old);
    const truncated = old.filter((x) => x <= z);
    const budget = run.rng.chance(0.2) ? Infinity : run.rng.int(30);
    run.note(`truncate to ${z.toString(16)} (keeps ${show(truncated)}), power cut after ${budget} steps`);
    const returned = (await run.drive(log.truncate(z), budget)) !== null;
    run.note(returned ? 'truncate returned' : 'truncate interrupted');
    run.powerCut();

    // Without the marker's help (Apache ZooKeeper's view): a prefix of the old log, never a gap.
    const raw = await run.loggedZxids();
    const between = raw.length > truncated.length && raw.length < old.length;
    if (raw.length < truncated.length || !same(raw, old.slice(0, raw.length)))
      run.fail(`the log files hold ${show(raw)}: not a prefix of the old log at least as long as the new one`);

    if (run.rng.chance(0.3)) {
      const cutAt = run.rng.int(12);
      if ((await run.recover(cutAt)) === null) {
        run.note(`recovery cut after ${cutAt} steps`);
        run.powerCut();
      }
    }
    const recovered = await run.recover();
    if (recovered === null) run.fail('unreachable');
    const finished = run.lines.some((l) => l.startsWith('recovery: finished a txn log truncation'));
    const seen = await run.loggedZxids();
    if (!same(seen, truncated) && !(same(seen, old) && !returned))
      run.fail(`recovery found ${show(seen)}: neither the old log nor the truncated one${returned ? ' (truncate had returned)' : ''}`);
    const nodes = recovered.tree
      .get('/')
      ?.childNames()
      .filter((n) => n !== 'zookeeper')
      .map((n) => parseInt(n.slice(2), 16))
      .sort((a, b) => a - b);
    if (!same(nodes ?? [], seen)) run.fail(`the recovered tree holds ${show(nodes ?? [])}, the log ${show(seen)}`);

    // The log goes on above what recovery found, in a new epoch; a clean cut keeps it all.
    const last = recovered.tree.lastProcessedZxid;
    const next = new TxnLog(run.fs, DIR, { preAllocBytes: 4096, forceSync: true, lastZxid: last }, (e) => run.fail(`fatal: ${e.message}`));
    const more = [zxidOf(Math.floor(last / 2 ** 32) + 1, 1), zxidOf(Math.floor(last / 2 ** 32) + 1, 2)];
    for (const m of more) {
      const { header, txn } = createTxn(m, 10);
      next.append(header, txn, { durable: () => undefined });
    }
    await run.complete(next.drain());
    run.powerCut();
    const final = await run.recover();
    const after = await run.loggedZxids();
    if (!same(after, [...seen, ...more]) || final?.tree.lastProcessedZxid !== more[1])
      run.fail(`after appending ${show(more)}: the log holds ${show(after)}`);
    if (ONLY_SEED !== undefined) console.log(run.report());
    return { interrupted: !returned, old: same(seen, old) && !same(old, truncated), finished, between };
  } catch (e) {
    const msg = e instanceof RunFailure ? e.message : ((e as Error).stack ?? String(e));
    console.error(`\n${msg}\n${run.report()}\n`);
    throw new Error(`truncation power-cut simulation failed: SEED=${seed}: ${msg}`);
  }
}

async function epochRun(seed: number): Promise<{ returned: boolean; tmpLeft: boolean }> {
  const run: Run = new Run(seed);
  try {
    await run.complete(run.fs.mkdirp(DIR));
    const name = run.rng.chance(0.5) ? CURRENT_EPOCH_FILE : ACCEPTED_EPOCH_FILE;
    const other = name === CURRENT_EPOCH_FILE ? ACCEPTED_EPOCH_FILE : CURRENT_EPOCH_FILE;
    const before = run.rng.chance(0.25) ? null : 1 + run.rng.int(50);
    if (before !== null) await run.complete(writeEpochFile(run.fs, DIR, name, before));
    const value = (before ?? 1) + run.rng.int(3);
    const budget = run.rng.chance(0.2) ? Infinity : run.rng.int(12);
    run.note(`${name}: ${before ?? 'missing'} -> ${value}, power cut after ${budget} steps`);
    const returned = (await run.drive(writeEpochFile(run.fs, DIR, name, value), budget)) !== null;
    run.powerCut();
    const read = await run
      .complete(readEpochFile(run.fs, DIR, name))
      .catch((e: unknown) => run.fail(`reading ${name}: ${(e as Error).message}`));
    run.note(`read back: ${read ?? 'missing'}`);
    if (read !== value && (returned || read !== before))
      run.fail(`${name} reads ${read ?? 'missing'}: neither ${before ?? 'missing'} nor ${value}`);
    // A start-up that finds it: the other file at the same value, the log in an older epoch.
    await run.complete(writeEpochFile(run.fs, DIR, other, read ?? 1));
    const low = Math.min(read ?? 1, before ?? 1);
    const epochs = await run
      .complete(QuorumEpochs.load(run.fs, DIR, zxidOf(low, 5)))
      .catch((e: unknown) => run.fail(`QuorumEpochs.load: ${(e as Error).message}`));
    if (epochs.acceptedEpoch !== (read ?? low) || epochs.currentEpoch !== (read ?? low))
      run.fail(`load found ${epochs.acceptedEpoch}/${epochs.currentEpoch}`);
    const tmpLeft = run.fs.describe().includes(`${name}.tmp`);
    if (ONLY_SEED !== undefined) console.log(run.report());
    return { returned, tmpLeft };
  } catch (e) {
    const msg = e instanceof RunFailure ? e.message : ((e as Error).stack ?? String(e));
    console.error(`\n${msg}\n${run.report()}\n`);
    throw new Error(`epoch-file power-cut simulation failed: SEED=${seed}: ${msg}`);
  }
}

const seeds = (): number[] => (ONLY_SEED === undefined ? Array.from({ length: RUNS }, (_, i) => i + 1) : [ONLY_SEED]);

test(`power cuts during txn log truncation: ${ONLY_SEED === undefined ? `${RUNS} seeded runs` : `seed ${ONLY_SEED}`}; recovery finds the old log or the new one`, async (t) => {
  const started = Date.now();
  const count = { interrupted: 0, old: 0, finished: 0, between: 0 };
  for (const seed of seeds()) {
    const r = await truncationRun(seed);
    for (const k of Object.keys(count) as Array<keyof typeof count>) if (r[k]) count[k]++;
  }
  t.diagnostic(`${seeds().length} runs in ${Date.now() - started} ms: ${JSON.stringify(count)}`);
  if (ONLY_SEED === undefined) {
    assert.ok(
      Object.values(count).every((n) => n > 0),
      'cuts should leave the old log, a finished truncation, and files between old and new',
    );
  }
});

test(`power cuts while an epoch file is replaced: ${ONLY_SEED === undefined ? `${RUNS} seeded runs` : `seed ${ONLY_SEED}`}; it reads old or new`, async (t) => {
  let interrupted = 0;
  let tmpLeft = 0;
  for (const seed of seeds()) {
    const r = await epochRun(seed);
    if (!r.returned) interrupted++;
    if (r.tmpLeft) tmpLeft++;
  }
  t.diagnostic(`${seeds().length} runs: ${interrupted} interrupted, ${tmpLeft} left a .tmp file behind`);
  if (ONLY_SEED === undefined) assert.ok(interrupted > 0 && tmpLeft > 0, 'cuts should land inside writes, some leaving the temp file');
});
