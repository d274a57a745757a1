/**
 * Writes a ZooKeeper-format dataDir holding N znodes of V bytes (1000 parents x N/1000
 * children), for timing how fast each server restarts from it:
 *   node dist/bench/recovery/make-datadir.js DIR [N=1000000] [V=100]
 */
import path from 'node:path';
import { OpCode } from '../../src/codec/index.js';
import { DataTree, OPEN_ACL_UNSAFE, type TreeChange } from '../../src/tree/index.js';
import { writeSnapshot } from '../../src/storage/index.js';
import { nodeFileSystem } from '../../src/runtime/node-file-system.js';

async function main(): Promise<void> {
  const [dir, nArg, vArg] = process.argv.slice(2);
  if (dir === undefined) throw new Error('usage: make-datadir DIR [N] [V]');
  const n = Number(nArg ?? 1000000);
  const valueBytes = Number(vArg ?? 100);
  const tree = new DataTree(false);
  const changes: TreeChange[] = [];
  const acl = [...OPEN_ACL_UNSAFE];
  const value = Buffer.alloc(valueBytes, 0x61);
  let zxid = 0;
  const create = (p: string, data: Buffer | null): void => {
    zxid++;
    tree.applyTxn(
      { clientId: 0n, cxid: 0, zxid, time: 1700000000000 + zxid, type: OpCode.create },
      { type: OpCode.create, path: p, data, acl, ephemeral: false, parentCVersion: -1 },
      changes,
    );
    changes.length = 0;
  };
  const parents = Math.max(1, Math.min(1000, Math.floor(n / 1000)));
  create('/bench', null);
  for (let p = 0; p < parents; p++) create(`/bench/p${p}`, null);
  for (let i = 0; i < n - parents - 1; i++) create(`/bench/p${i % parents}/n${i}`, value);
  const snapDir = path.join(dir, 'version-2');
  await nodeFileSystem.mkdirp(snapDir);
  const started = Date.now();
  const name = await writeSnapshot(nodeFileSystem, snapDir, tree, new Map(), '');
  process.stdout.write(`${JSON.stringify({ file: path.join(snapDir, name), znodes: tree.size, zxid, writeMs: Date.now() - started })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
