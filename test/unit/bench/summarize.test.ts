/**
 * bench/load/summarize: the medians compare.sh prints, and the round-by-round columns that
 * pair each server's run of the same round.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bench/load/summarize.js');

function run(server: string, opsPerSec: number, p99: number, ok = true): string {
  return JSON.stringify({
    workload: 'set',
    server,
    client: 'node',
    sessions: 8,
    outstanding: 1,
    ok,
    errors: ok ? 0 : 1,
    ops_per_sec: opsPerSec,
    p50_ms: 1,
    p99_ms: p99,
    p999_ms: 9,
    max_ms: 10,
    client_cpu_pct: 50,
    server_cpu_us_per_op: 20,
  });
}

/** The table's row for `first`, as cells. */
function row(out: string, first: string): string[] {
  const line = out.split('\n').find((l) => l.startsWith(`| ${first} `));
  assert.ok(line !== undefined, `a row for ${first} in:\n${out}`);
  return line
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());
}

test('per-round ratios pair the runs of each round; the ratio of medians may pair different rounds', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'summarize-'));
  try {
    const file = path.join(dir, 'runs.jsonl');
    // Round 1: the base had a slow round (the candidate is 4x); rounds 2 and 3: 1.1x and 1.2x.
    // The medians (1000 and 1100) come from different rounds and give 1.10; the median of the
    // rounds' own ratios (4.0, 1.1, 1.2) is 1.20.
    const lines = [
      run('zookeeper', 250, 10),
      run('zephyrcoord', 1000, 5),
      run('zookeeper', 1000, 4),
      run('zephyrcoord', 1100, 6),
      run('zookeeper', 2000, 3),
      run('zephyrcoord', 2400, 2),
      'not a result line',
    ];
    writeFileSync(file, lines.join('\n') + '\n');
    const out = execFileSync(process.execPath, [script, '--mode', 'durability', file], { encoding: 'utf8' });
    const cells = row(out, '8');
    // clients, base ops, candidate ops, ratio of medians, per round, p50 x2, p99 x2, p99 lower, runs
    assert.equal(cells[1], '1000');
    assert.equal(cells[2], '1100');
    assert.equal(cells[3], '1.10');
    assert.equal(cells[4], '1.20', 'median of 4.00, 1.10 and 1.20');
    assert.equal(cells[9], '2/3', 'the candidate p99 was lower in rounds 1 and 3');
    assert.equal(cells[10], '3/3');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a round with a failed run is left out of the per-round columns and the run is counted', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'summarize-'));
  try {
    const file = path.join(dir, 'runs.jsonl');
    writeFileSync(
      file,
      [run('zookeeper', 100, 10), run('zephyrcoord', 300, 5, false), run('zookeeper', 100, 10), run('zephyrcoord', 200, 20)].join('\n'),
    );
    let out = '';
    let status = 0;
    try {
      out = execFileSync(process.execPath, [script, '--mode', 'durability', file], { encoding: 'utf8' });
    } catch (e) {
      const err = e as { status: number; stdout: string };
      status = err.status;
      out = err.stdout;
    }
    assert.equal(status, 1, 'a failed run makes the exit status 1');
    const cells = row(out, '8');
    assert.equal(cells[4], '2.00', 'only round 2 pairs');
    assert.equal(cells[9], '0/1');
    assert.match(cells[10] ?? '', /^2\/1 \(1 failed\)$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
