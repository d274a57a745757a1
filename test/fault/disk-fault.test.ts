/**
 * The disk fails under the real server: it must stop at once (exit code 3, a fatal
 * "storage failure" log line) and never acknowledge a write it could not make durable; after a
 * restart with room again, every acknowledged write is there. Two real kernel failures, no
 * mocks of our code:
 *
 *   - ENOSPC: the txn log directory is a 512 KiB tmpfs (needs root and mount(2); the test is
 *     skipped, saying why, where that is not possible). The log's zero preallocation is sparse
 *     on tmpfs, so the failing call is the record write itself, usually part-way through a batch.
 *   - EFBIG: the server runs under `prlimit --fsize` (any user; util-linux). Node ignores
 *     SIGXFSZ, so growing the log past the limit fails with EFBIG; the failing call is the
 *     preallocation (ftruncate) that precedes a write.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startOn } from '../support/data-dir.js';
import { RawClient } from '../support/raw-client.js';
import type { ServerProcess } from '../support/server-process.js';
import { logLines, tempDir } from './fault-support.js';

const WINDOW = 8;
const DATA_BYTES = 8 * 1024;

interface FillResult {
  acked: Map<string, string>;
  sent: Map<string, string>;
  exit: { code: number | null; signal: NodeJS.Signals | null };
}

function dataFor(i: number): string {
  return `${i}:`.padEnd(DATA_BYTES, String.fromCharCode(97 + (i % 26)));
}

/** Pipelines 8 KiB creates until the server dies (or `maxMs` passes, which fails the test). */
async function fillUntilDeath(s: ServerProcess, maxMs: number): Promise<FillResult> {
  const c = await RawClient.connect({ host: s.host, port: s.port, timeoutMs: 30000 });
  assert.equal((await c.create('/fill', Buffer.alloc(0))).err, 0);
  const acked = new Map<string, string>();
  const sent = new Map<string, string>();
  const deadline = Date.now() + maxMs;
  const inflight = new Set<Promise<void>>();
  let errors = 0;
  for (let i = 0; !c.isClosed && Date.now() < deadline; i++) {
    if (inflight.size >= WINDOW) {
      await Promise.race(inflight);
      i--;
      continue;
    }
    const p = `/fill/n${i}`;
    const data = dataFor(i);
    sent.set(p, data);
    const req: Promise<void> = c
      .create(p, Buffer.from(data))
      .then(
        (r) => {
          if (r.err === 0) acked.set(p, data);
          else errors++;
        },
        () => undefined, // connection gone: not acknowledged
      )
      .finally(() => inflight.delete(req));
    inflight.add(req);
  }
  await Promise.allSettled(inflight);
  c.destroy();
  const exit = await Promise.race([s.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 5000))]);
  assert.ok(exit !== null, `the server still runs after ${maxMs} ms of writes into a full disk:\n${s.output()}`);
  assert.equal(errors, 0, 'no write failed with an error code: the server dies instead');
  return { acked, sent, exit };
}

function assertStorageFailureExit(s: ServerProcess, r: FillResult, errno: string): void {
  assert.equal(r.exit.code, 3, `exit code 3 (exit ${JSON.stringify(r.exit)}):\n${s.output()}`);
  const fatal = logLines(s.output()).find((l) => typeof l['msg'] === 'string' && l['msg'].includes('storage failure'));
  assert.ok(fatal !== undefined, `a "storage failure" log line:\n${s.output()}`);
  assert.equal(fatal['level'], 60, 'logged at level fatal');
  assert.match(String(fatal['err']), new RegExp(errno), `the cause (${errno}) is in the log line`);
  assert.ok(r.acked.size > 10, `some writes were acknowledged before the disk filled (${r.acked.size})`);
}

/** After a restart with room: every acknowledged create is there; anything else there was at least sent. */
async function assertNothingAckedLost(s: ServerProcess, r: FillResult): Promise<number> {
  const c = await RawClient.connect({ host: s.host, port: s.port, timeoutMs: 30000 });
  try {
    const kids = await c.getChildren('/fill');
    assert.equal(kids.err, 0);
    const present = new Set((kids.children ?? []).map((k) => `/fill/${k}`));
    for (const p of present) assert.ok(r.sent.has(p), `${p} exists but was never sent`);
    const reads = await Promise.all([...r.acked.keys()].map((p) => c.getData(p)));
    let i = 0;
    for (const [p, data] of r.acked) {
      const got = reads[i++];
      assert.equal(got?.err, 0, `acknowledged ${p} is missing after the restart`);
      assert.equal(got.data?.toString(), data, `data of ${p}`);
    }
    // The server takes writes again.
    assert.equal((await c.create('/fill/after', Buffer.from('ok'))).err, 0);
    return present.size - r.acked.size;
  } finally {
    c.destroy();
  }
}

function tryMountTmpfs(dir: string, size: string): string | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'needs root on Linux to mount a small tmpfs';
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.error !== undefined) return `mount not available: ${r.error.message}`;
  if (r.status !== 0) return `mount -t tmpfs failed: ${r.stderr.trim()}`;
  return null;
}

describe('disk failures stop the server without losing acknowledged writes', { timeout: 90000 }, () => {
  const dirs: string[] = [];
  const mounts: string[] = [];
  const servers: ServerProcess[] = [];

  after(async () => {
    for (const s of servers) await s.kill9(); // also removes the config dir of a server that died by itself
    for (const m of mounts) {
      const r = spawnSync('umount', [m]);
      if (r.status !== 0) spawnSync('umount', ['-l', m]);
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const enospcCases = [
    { name: 'txn log dir on a 512 KiB tmpfs', logOnly: true, snapCount: '100000' },
    { name: 'whole dataDir on a 512 KiB tmpfs, snapshots competing for space', logOnly: false, snapCount: '10' },
  ];
  for (const c of enospcCases) {
    test(`disk full (ENOSPC, ${c.name}): exit 3, then nothing acknowledged is missing`, { timeout: 40000 }, async (t) => {
      const root = tempDir('enospc');
      dirs.push(root);
      const disk = path.join(root, 'disk');
      mkdirSync(disk);
      const why = tryMountTmpfs(disk, '512k');
      if (why !== null) {
        t.skip(`${why}; the EFBIG test covers the same failure path without root`);
        return;
      }
      mounts.push(disk);
      const dataDir = c.logOnly ? path.join(root, 'data') : disk;
      const config: Record<string, string> = { snapCount: c.snapCount, preAllocSize: '64' };
      if (c.logOnly) config['dataLogDir'] = disk;
      const s = await startOn(dataDir, config);
      servers.push(s);
      const r = await fillUntilDeath(s, 20000);
      assertStorageFailureExit(s, r, 'ENOSPC');
      const snapFailures = logLines(s.output()).filter((l) => l['msg'] === 'snapshot failed').length;
      const cause = String(logLines(s.output()).find((l) => l['level'] === 60)?.['err']);
      t.diagnostic(
        `${r.acked.size} of ${r.sent.size} writes acknowledged before "${cause}"; ${snapFailures} snapshot writes failed (not fatal)`,
      );

      // Room again: grow the tmpfs, restart on the same directories.
      execFileSync('mount', ['-o', 'remount,size=64m', disk]);
      const again = await startOn(dataDir, config);
      servers.push(again);
      const extra = await assertNothingAckedLost(again, r);
      const torn = /torn txn log tail/.test(again.output()) ? 'a torn last record was cut off; ' : '';
      t.diagnostic(`${torn}${extra} unacknowledged writes were found durable after the restart (allowed)`);
      await again.kill9();
    });
  }

  test('file size limit (EFBIG under prlimit --fsize): exit 3, then nothing acknowledged is missing', { timeout: 40000 }, async (t) => {
    const probe = spawnSync('prlimit', ['--version'], { encoding: 'utf8' });
    assert.equal(probe.status, 0, `prlimit (util-linux) is needed for this test: ${probe.error?.message ?? probe.stderr}`);
    const dataDir = tempDir('efbig');
    dirs.push(dataDir);
    const config = { snapCount: '100000', preAllocSize: '64' };
    const s = await startOn(dataDir, config, { wrapper: ['prlimit', `--fsize=${384 * 1024}`, '--'] });
    servers.push(s);
    const r = await fillUntilDeath(s, 20000);
    assertStorageFailureExit(s, r, 'EFBIG');
    t.diagnostic(`${r.acked.size} of ${r.sent.size} writes acknowledged before EFBIG`);

    const again = await startOn(dataDir, config);
    servers.push(again);
    const extra = await assertNothingAckedLost(again, r);
    t.diagnostic(`${extra} unacknowledged writes were found durable after the restart (allowed)`);
    await again.kill9();
  });
});
