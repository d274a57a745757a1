import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { purge } from '../../../src/storage/index.js';
import { nodeFileSystem } from '../../../src/runtime/node-file-system.js';

async function dirWith(names: readonly string[]): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'zc-purge-'));
  for (const n of names) await writeFile(path.join(dir, n), 'x');
  return dir;
}

describe('purge (zkCleanup)', () => {
  test('keeps the newest snapshots and every log needed to replay from the oldest kept one', async () => {
    // snapshots at 0x10, 0x20, 0x30, 0x40, 0x50; logs starting at 0x1, 0x15, 0x25, 0x35, 0x45
    const dir = await dirWith([
      'snapshot.10',
      'snapshot.20',
      'snapshot.30',
      'snapshot.40',
      'snapshot.50',
      'log.1',
      'log.15',
      'log.25',
      'log.35',
      'log.45',
      'myid-not-ours',
    ]);
    try {
      const deleted = await purge(nodeFileSystem, dir, dir, 3);
      assert.deepEqual(deleted.sort(), ['log.1', 'log.15', 'snapshot.10', 'snapshot.20'].sort());
      // snapshot.30 is the oldest kept: log.25 holds the txns right after it.
      assert.deepEqual((await readdir(dir)).sort(), [
        'log.25',
        'log.35',
        'log.45',
        'myid-not-ours',
        'snapshot.30',
        'snapshot.40',
        'snapshot.50',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('never keeps fewer than 3 snapshots and deletes nothing when there are only 3', async () => {
    const dir = await dirWith(['snapshot.1', 'snapshot.2', 'snapshot.3', 'log.1']);
    try {
      assert.deepEqual(await purge(nodeFileSystem, dir, dir, 1), []);
      assert.equal((await readdir(dir)).length, 4);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('compressed snapshots count as snapshots', async () => {
    const dir = await dirWith(['snapshot.1.gz', 'snapshot.2.gz', 'snapshot.3', 'snapshot.4.gz', 'log.1', 'log.3']);
    try {
      const deleted = await purge(nodeFileSystem, dir, dir, 3);
      // snapshot.2.gz is the oldest kept, and log.1 holds the txns after it: only one file goes.
      assert.deepEqual(deleted, ['snapshot.1.gz']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
