import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { nodeFileSystem } from '../../../src/runtime/node-file-system.js';

test('file handles write at positions, in synced and plain files, and report write errors', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'zc-nodefs-'));
  try {
    for (const syncWrites of [true, false]) {
      const file = path.join(dir, `log-${syncWrites}`);
      const h = await nodeFileSystem.create(file, { syncWrites });
      const big = Buffer.alloc(3 * 1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
      await h.write(Buffer.from('head'), 0);
      await h.write(big, 4);
      await h.write(Buffer.from('tail'), 4 + big.length);
      await h.write(Buffer.from('HE'), 0); // overwrite in place
      await h.close();
      const back = await readFile(file);
      assert.equal(back.length, 4 + big.length + 4);
      assert.equal(back.subarray(0, 4).toString(), 'HEad');
      assert.ok(back.subarray(4, 4 + big.length).equals(big));
      assert.equal(back.subarray(4 + big.length).toString(), 'tail');
    }
    // A write through a closed handle fails with the OS error (EBADF) as a rejection, not a throw.
    const closed = await nodeFileSystem.openExisting(path.join(dir, 'log-true'));
    await closed.close();
    await assert.rejects(closed.write(Buffer.from('x'), 0), (e: NodeJS.ErrnoException) => typeof e.code === 'string');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('read handles read at positions: a part of the file, its tail, then 0 at and past the end', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'zc-nodefs-'));
  try {
    const file = path.join(dir, 'log.1');
    await writeFile(file, Buffer.from('0123456789'));
    const h = await nodeFileSystem.openRead(file);
    const into = Buffer.alloc(4);
    assert.equal(await h.read(into, 3), 4);
    assert.equal(into.toString(), '3456');
    assert.equal(await h.read(into, 8), 2);
    assert.equal(into.subarray(0, 2).toString(), '89');
    assert.equal(await h.read(into, 10), 0);
    assert.equal(await h.read(into, 50), 0);
    await h.close();
    await assert.rejects(nodeFileSystem.openRead(path.join(dir, 'missing')), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
