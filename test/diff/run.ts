/**
 * Differential test: runs the same seeded operation sequences against Apache ZooKeeper and
 * ZephyrCoord and compares their normalized transcripts entry by entry.
 *
 *   node dist/test/diff/run.js --zk 127.0.0.1:2181 --zephyr 127.0.0.1:2182
 *        [--sequences 200] [--ops 200] [--seed 1] [--zxid exact|order] [--keep-going]
 *        [--ignore-event-zxid] [--stats] [--timeout-ms 5000] [--slow-every 25]
 *   node dist/test/diff/run.js --replay <seed> --zk ... --zephyr ...   (one seed, verbosely)
 *
 * Sequence k uses seed (seed + k) under its own root /diff-<run>-<seed>; servers are reused.
 * Seeds divisible by --slow-every (0: none) also let a session expire and wait for the TTL
 * reaper, which takes seconds each; the other sequences never wait for the servers' timers
 * (beyond an emptied container's deletion).
 * Exit status: 0 all sequences matched, 1 a difference (or a sequence that could not run),
 * 2 bad arguments or a server that cannot be reached.
 */
import { parseArgs } from 'node:util';
import { type DriverOptions, type Entry, type ServerAddr, type Transcript, ServerDriver } from './driver.js';

interface Difference {
  index: number;
  a: Entry | undefined;
  b: Entry | undefined;
}

function parseAddr(flag: string, v: string | undefined): ServerAddr {
  if (v === undefined) usage(`--${flag} host:port is required`);
  const m = /^(.*):(\d+)$/.exec(v);
  if (m === null || m[1] === undefined || m[2] === undefined) usage(`--${flag} must be host:port, got ${v}`);
  return { host: m[1] === '' ? '127.0.0.1' : m[1], port: Number(m[2]) };
}

function usage(msg: string): never {
  process.stderr.write(
    `${msg}\nusage: run.js --zk host:port --zephyr host:port [--sequences N] [--ops M] [--seed S] [--zxid exact|order] [--keep-going] [--replay SEED] [--timeout-ms MS] [--stats] [--ignore-event-zxid] [--slow-every N]\n`,
  );
  process.exit(2);
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) usage(`--${flag} must be a non-negative integer, got ${v}`);
  return n;
}

function firstDifference(a: Transcript, b: Transcript): Difference | undefined {
  const n = Math.max(a.entries.length, b.entries.length);
  for (let k = 0; k < n; k++) {
    const ea = a.entries[k];
    const eb = b.entries[k];
    if (ea === undefined || eb === undefined || ea.op !== eb.op || ea.out !== eb.out) return { index: k, a: ea, b: eb };
  }
  if (a.error !== undefined || b.error !== undefined) {
    const last = n - 1;
    return { index: last, a: a.entries[last], b: b.entries[last] };
  }
  return undefined;
}

function label(e: Entry | undefined, ops: number): string {
  if (e === undefined) return '(none)';
  if (e.i < 0) return 'setup';
  if (e.i >= ops) return `${e.i} (teardown)`;
  return String(e.i);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sequences: { type: 'string', default: '200' },
      ops: { type: 'string', default: '200' },
      seed: { type: 'string', default: '1' },
      zk: { type: 'string' },
      zephyr: { type: 'string' },
      replay: { type: 'string' },
      zxid: { type: 'string', default: 'exact' },
      'keep-going': { type: 'boolean', default: false },
      'timeout-ms': { type: 'string', default: '5000' },
      stats: { type: 'boolean', default: false },
      'ignore-event-zxid': { type: 'boolean', default: false },
      'slow-every': { type: 'string', default: '25' },
    },
    strict: true,
  });
  const zk = parseAddr('zk', values.zk);
  const zephyr = parseAddr('zephyr', values.zephyr);
  const ops = positiveInt('ops', values.ops);
  const zxidMode = values.zxid;
  if (zxidMode !== 'exact' && zxidMode !== 'order') usage(`--zxid must be exact or order, got ${zxidMode}`);
  const replay = values.replay === undefined ? undefined : positiveInt('replay', values.replay);
  const sequences = replay === undefined ? positiveInt('sequences', values.sequences) : 1;
  const firstSeed = replay ?? positiveInt('seed', values.seed);
  const options: DriverOptions = {
    zxidMode,
    requestTimeoutMs: positiveInt('timeout-ms', values['timeout-ms']),
    keepAliveMs: 1000,
    ignoreEventZxid: values['ignore-event-zxid'],
    slowEvery: positiveInt('slow-every', values['slow-every']),
  };

  const a = new ServerDriver('zk', zk, options);
  const b = new ServerDriver('zephyr', zephyr, options);
  try {
    await Promise.all([a.start(), b.start()]);
  } catch (e) {
    process.stderr.write(`cannot connect: ${(e as Error).message}\n`);
    await Promise.all([a.stop(), b.stop()]);
    process.exit(2);
  }

  const runId = Date.now().toString(36);
  const started = Date.now();
  let passed = 0;
  let failed = 0;
  const out = (s: string): void => {
    process.stdout.write(`${s}\n`);
  };
  for (let k = 0; k < sequences; k++) {
    const seed = (firstSeed + k) >>> 0;
    const root = `/diff-${runId}-${seed}`;
    const [ta, tb] = await Promise.all([a.runSequence(seed, ops, root), b.runSequence(seed, ops, root)]);
    const diff = firstDifference(ta, tb);
    if (replay !== undefined) {
      const n = Math.max(ta.entries.length, tb.entries.length);
      for (let i = 0; i < n; i++) {
        const ea = ta.entries[i];
        const eb = tb.entries[i];
        const mark = diff !== undefined && i === diff.index ? '!! ' : '';
        out(`${mark}#${label(ea ?? eb, ops)} ${(ea ?? eb)?.op ?? ''}`);
        if (ea !== undefined && eb !== undefined && ea.op === eb.op && ea.out === eb.out) {
          out(`    ${ea.out}`);
        } else {
          out(`    zk:     ${ea === undefined ? '(none)' : ea.op === eb?.op ? ea.out : `${ea.op} => ${ea.out}`}`);
          out(`    zephyr: ${eb === undefined ? '(none)' : eb.op === ea?.op ? eb.out : `${eb.op} => ${eb.out}`}`);
        }
        if (mark !== '') break;
      }
    }
    const dead = [a, b].filter((d) => !d.alive).map((d) => d.name);
    if (diff === undefined && dead.length === 0) {
      passed++;
      continue;
    }
    failed++;
    const e = diff?.a ?? diff?.b;
    out(`DIFF seed=${seed} op#${label(e, ops)}`);
    out(`  op:     ${diff?.a?.op ?? '(none)'}`);
    if (diff?.b !== undefined && diff.b.op !== diff.a?.op) out(`  op (zephyr): ${diff.b.op}`);
    out(`  zk:     ${diff?.a?.out ?? '(no entry)'}`);
    out(`  zephyr: ${diff?.b?.out ?? '(no entry)'}`);
    if (ta.error !== undefined) out(`  zk sequence error: ${ta.error}`);
    if (tb.error !== undefined) out(`  zephyr sequence error: ${tb.error}`);
    if (dead.length > 0) {
      out(`  server(s) no longer answering: ${dead.join(', ')}; stopping`);
      break;
    }
    if (replay === undefined) {
      // The same seed again, alone, under a new root: does it depend on earlier sequences?
      const again = await Promise.all([a.runSequence(seed, ops, `${root}-again`), b.runSequence(seed, ops, `${root}-again`)]);
      const d2 = firstDifference(again[0], again[1]);
      out(
        d2 === undefined
          ? '  run again alone: no difference (timing, or a background deletion left over from an earlier sequence)'
          : `  run again alone: differs at op#${label(d2.a ?? d2.b, ops)}`,
      );
      out(
        `  replay: node dist/test/diff/run.js --replay ${seed} --ops ${ops} --zxid ${zxidMode} --slow-every ${options.slowEvery}${values['ignore-event-zxid'] ? ' --ignore-event-zxid' : ''} --zk ${values.zk} --zephyr ${values.zephyr}`,
      );
      if (!values['keep-going']) break;
    }
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (values.stats) {
    for (const d of [a, b]) {
      const rows = [...d.stats.entries()].sort((x, y) => y[1][1] - x[1][1]);
      out(`time by phase on ${d.name} (count, total ms, mean ms):`);
      for (const [key, [n, ms]] of rows)
        out(`  ${key.padEnd(28)} ${String(n).padStart(7)} ${String(ms).padStart(8)} ${(ms / n).toFixed(2).padStart(8)}`);
    }
  }
  out(`differential: ${passed + failed} sequences x ${ops} ops, ${passed} passed, ${failed} failed (${secs} s)`);
  await Promise.all([a.stop(), b.stop()]);
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((e: unknown) => {
  process.stderr.write(`differential runner crashed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});
