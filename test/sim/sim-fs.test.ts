/** The simulated disk's durability model (what the power-loss test relies on). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../src/base/index.js';
import { SimFs, SimFsError, SimScheduler, runUntilSettled, settle } from './sim-fs.js';

function newFs(seed: number): SimFs {
  return new SimFs(new SimScheduler(new SeededRandom(seed)));
}

/** Runs `p` to completion on `fs`'s scheduler. */
function run<T>(fs: SimFs, p: Promise<T>): Promise<T> {
  return runUntilSettled(fs.sched, p);
}

test('synced bytes always survive; the unsynced tail is kept, lost or torn, never beyond what was written', async () => {
  let torn = 0;
  let lost = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const fs = newFs(seed);
    await run(fs, fs.mkdirp('/d'));
    const h = await run(fs, fs.create('/d/f'));
    await run(fs, h.write(Buffer.from('durable-part|'), 0));
    await run(fs, h.sync());
    await run(fs, fs.syncDir('/d'));
    await run(fs, h.write(Buffer.from('volatile-tail'), 13));
    assert.equal(fs.peek('/d/f')?.toString(), 'durable-part|volatile-tail');
    const { fs: after } = fs.powerCut(new SeededRandom(seed * 31));
    const content = after.peek('/d/f');
    assert.ok(content !== undefined, 'a durable name survives');
    assert.equal(content.subarray(0, 13).toString(), 'durable-part|');
    assert.ok(content.length <= 26);
    const tail = content.subarray(13);
    if (tail.length === 0) lost++;
    else if (!tail.equals(Buffer.from('volatile-tail'))) torn++;
    // Whatever survived is a prefix of the write, possibly followed by garbage: never longer.
    assert.ok(Buffer.from('volatile-tail').subarray(0, 1).equals(tail.subarray(0, 1)) || tail.length === 0);
  }
  assert.ok(lost > 0 && torn > 0, `both outcomes should occur (lost ${lost}, torn ${torn})`);
});

test('a created name is durable only after syncDir', async () => {
  let vanished = 0;
  for (let seed = 1; seed <= 100; seed++) {
    const fs = newFs(seed);
    await run(fs, fs.mkdirp('/d'));
    const h = await run(fs, fs.create('/d/new'));
    await run(fs, h.write(Buffer.from('x'), 0));
    await run(fs, h.sync());
    if (fs.powerCut(new SeededRandom(seed)).fs.peek('/d/new') === undefined) vanished++;
    await run(fs, fs.syncDir('/d'));
    assert.equal(fs.powerCut(new SeededRandom(seed)).fs.peek('/d/new')?.toString(), 'x');
  }
  assert.ok(vanished > 0);
});

test('temp file + fsync + rename + syncDir: a cut at any step leaves the old file or the whole new one', async () => {
  for (let seed = 1; seed <= 200; seed++) {
    const fs = newFs(seed);
    await run(fs, fs.mkdirp('/d'));
    fs.poke('/d/target', Buffer.from('old'));
    const steps: Array<() => Promise<unknown>> = [];
    let h: Awaited<ReturnType<SimFs['create']>> | undefined;
    steps.push(async () => (h = await fs.create('/d/.target.tmp')));
    steps.push(() => h?.write(Buffer.from('new content, several bytes long'), 0) ?? Promise.resolve());
    steps.push(() => h?.sync() ?? Promise.resolve());
    steps.push(() => h?.close() ?? Promise.resolve());
    steps.push(() => fs.rename('/d/.target.tmp', '/d/target'));
    steps.push(() => fs.syncDir('/d'));
    const cutAfter = seed % (steps.length + 1);
    for (const step of steps.slice(0, cutAfter)) await run(fs, step());
    const target = fs.powerCut(new SeededRandom(seed)).fs.peek('/d/target')?.toString();
    assert.ok(target === 'old' || target === 'new content, several bytes long', `cut after step ${cutAfter}: ${String(target)}`);
    if (cutAfter === steps.length) assert.equal(target, 'new content, several bytes long');
  }
});

test('steps run only when the driver runs them; faults fail the n-th write or sync with ENOSPC', async () => {
  const fs = new SimFs(new SimScheduler(new SeededRandom(1)), { failWriteAt: 2, failSyncAt: 1 });
  await run(fs, fs.mkdirp('/d'));
  const h = await run(fs, fs.create('/d/f'));
  let done = false;
  void h.write(Buffer.from('a'), 0).then(() => (done = true));
  await settle();
  assert.equal(done, false);
  assert.equal(fs.sched.pending, 1);
  assert.ok(fs.sched.step());
  await settle();
  assert.equal(done, true);
  await assert.rejects(run(fs, h.write(Buffer.from('b'), 1)), (e: unknown) => e instanceof SimFsError && e.code === 'ENOSPC');
  await assert.rejects(run(fs, h.sync()), (e: unknown) => e instanceof SimFsError && e.code === 'ENOSPC');
  assert.deepEqual(fs.faultsHit, ['write /d/f', 'sync /d/f']);
  assert.equal(fs.peek('/d/f')?.toString(), 'a', 'the failed write had no effect');
  await run(fs, h.write(Buffer.from('c'), 1));
  await run(fs, h.sync());
  assert.equal(fs.peekDurable('/d/f'), undefined, 'the name is not durable yet');
  await run(fs, fs.syncDir('/d'));
  assert.equal(fs.peekDurable('/d/f')?.toString(), 'ac');
});
