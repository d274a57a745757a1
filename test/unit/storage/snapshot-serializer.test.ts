/**
 * src/storage/snapshot-serializer.ts and the snapshot file writer: fuzzy snapshots taken while
 * txns apply, at chosen moments of the walk, must be well formed and, with the log replayed
 * over them as recovery does, give back the live tree exactly.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  OpCode,
  Perms,
  RecordStream,
  SNAP_SIGNATURE,
  SnapTransferReader,
  type ACL,
  type Txn,
  type TxnHeader,
} from '../../../src/codec/index.js';
import { DataTree, OPEN_ACL_UNSAFE, type TreeChange } from '../../../src/tree/index.js';
import {
  encodeSnapshot,
  parseSnapshot,
  readSnapshotBytes,
  removeDeadSessionsEphemerals,
  replayTxn,
  SnapshotFileWriter,
  SnapshotLoader,
  SnapshotSerializer,
  UNSLICED,
  type SlicePacer,
} from '../../../src/storage/index.js';
import { nodeFileSystem } from '../../../src/runtime/node-file-system.js';
import { SimFs, SimScheduler, runUntilSettled } from '../../sim/sim-fs.js';
import { assertReplayableSnapshot, assertSameTree, snapshotRecords } from '../../support/snapshot-check.js';
import { SeededRandom } from '../../../src/base/index.js';

const S1 = 0x0100000000000001n;
const S2 = 0x0100000000000002n;
const S3 = 0x0100000000000003n;
const OPEN: ACL[] = [...OPEN_ACL_UNSAFE];
const digest = (user: string): ACL[] => [{ perms: Perms.ALL, id: { scheme: 'digest', id: `${user}:x` } }];

/** The live side: a tree and sessions changed only through txns, and the txn history (the log). */
class Live {
  readonly tree = new DataTree(true);
  readonly sessions = new Map<bigint, number>();
  readonly history: Array<{ header: TxnHeader; txn: Txn }> = [];
  private readonly changes: TreeChange[] = [];

  apply(txn: Txn, clientId = S1): void {
    const zxid = this.tree.lastProcessedZxid + 1;
    const header = { clientId, cxid: zxid, zxid, time: 1_700_000_000_000 + zxid, type: txn.type };
    this.history.push({ header, txn });
    if (txn.type === OpCode.createSession) this.sessions.set(clientId, txn.timeOut);
    this.tree.applyTxn(header, txn, this.changes);
    this.changes.length = 0;
    if (txn.type === OpCode.closeSession) this.sessions.delete(clientId);
  }

  create(p: string, data = 'v', acl: ACL[] = OPEN, opts: { ephemeral?: bigint; type?: 1 | 15 } = {}): void {
    const parent = this.tree.get(p.slice(0, p.lastIndexOf('/')) || '/');
    const parentCVersion = (parent?.cversion ?? 0) + 1;
    const type = opts.type ?? OpCode.create;
    this.apply(
      { type, path: p, data: Buffer.from(data), acl, ephemeral: opts.ephemeral !== undefined, parentCVersion },
      opts.ephemeral ?? S1,
    );
  }

  delete(p: string): void {
    this.apply({ type: OpCode.delete, path: p });
  }

  setData(p: string, data: string): void {
    this.apply({ type: OpCode.setData, path: p, data: Buffer.from(data), version: (this.tree.get(p)?.version ?? 0) + 1 });
  }

  setAcl(p: string, acl: ACL[]): void {
    this.apply({ type: OpCode.setACL, path: p, acl, version: (this.tree.get(p)?.aversion ?? 0) + 1 });
  }
}

/** A snapshot being taken of `live`: its bytes are collected; `walk(n)` writes about n more nodes. */
class Taking {
  readonly chunks: Buffer[] = [];
  readonly serializer: SnapshotSerializer;

  constructor(readonly live: Live) {
    this.serializer = new SnapshotSerializer(live.tree, new Map(live.sessions), {
      chunk: (bytes, release) => {
        this.chunks.push(Buffer.from(bytes));
        release();
      },
    });
  }

  /** Runs the walk until `n` more entries were visited (or it ends). */
  walk(n = Infinity): void {
    let left = n;
    this.serializer.step(() => --left <= 0);
  }

  /** Finishes the walk; the snapshot's bytes. */
  bytes(): Buffer {
    assert.equal(
      this.serializer.step(() => false),
      'done',
    );
    return Buffer.concat(this.chunks);
  }
}

/** Recovery from `snapshot` (taken at zxid `s`) and the live history: as recover() does it. */
function recoverFrom(snapshot: Buffer, s: number, live: Live): { tree: DataTree; sessions: Map<bigint, number> } {
  const { tree, sessions } = parseSnapshot(snapshot, true);
  tree.lastProcessedZxid = s;
  const changes: TreeChange[] = [];
  for (const { header, txn } of live.history) if (header.zxid > s) replayTxn(tree, sessions, header, txn, changes);
  removeDeadSessionsEphemerals(tree, sessions);
  return { tree, sessions };
}

function assertRecovers(taking: Taking, context: string): Buffer {
  const snapshot = taking.bytes();
  assertReplayableSnapshot(snapshot, context);
  const { tree, sessions } = recoverFrom(snapshot, taking.serializer.zxid, taking.live);
  assertSameTree(tree, taking.live.tree, context);
  assert.deepEqual([...sessions].sort(), [...taking.live.sessions].sort(), `${context}: sessions`);
  return snapshot;
}

const pathsOf = (snapshot: Buffer): string[] => snapshotRecords(snapshot).map((r) => r.path);

/** /a with children c0..c4 and /b with /b/x: the walk meets /, /zookeeper (3 nodes), /a, c0..c4, /b, /b/x. */
function smallTree(): Live {
  const live = new Live();
  live.apply({ type: OpCode.createSession, timeOut: 30_000 }, S1);
  live.apply({ type: OpCode.createSession, timeOut: 4_000 }, S2);
  live.create('/a');
  for (let i = 0; i < 5; i++) live.create(`/a/c${i}`, `c${i}`);
  live.create('/b');
  live.create('/b/x');
  return live;
}

/** Nodes visited up to and including /a. */
const THROUGH_A = 5;

describe('fuzzy snapshots: changes during the walk', () => {
  test('a tree that does not change: written in slices through one buffer, the same bytes as at once', () => {
    const live = new Live();
    for (let d = 0; d < 30; d++) {
      live.create(`/d${d}`);
      for (let i = 0; i < 100; i++) live.create(`/d${d}/n${i}`, 'x'.repeat(100));
    }
    const whole = encodeSnapshot(live.tree, live.sessions);
    const held: Array<() => void> = [];
    const chunks: Buffer[] = [];
    const serializer = new SnapshotSerializer(
      live.tree,
      live.sessions,
      {
        chunk: (bytes, release) => {
          chunks.push(Buffer.from(bytes));
          held.push(release);
        },
      },
      1,
    );
    const rng = new SeededRandom(5);
    const results = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const r = serializer.step(() => rng.chance(0.01));
      results.add(r);
      if (r === 'done') break;
      if (r === 'full') held.shift()?.();
    }
    assert.ok(results.has('full') && results.has('sliceDone'), `the walk stopped for both reasons (${[...results].join(', ')})`);
    assert.ok(chunks.length >= 2, `${chunks.length} chunks`);
    assert.ok(Buffer.concat(chunks).equals(whole));
    assert.equal(live.tree.aclReplacedListeners.size, 0, 'the tree is let go once the walk is done');
  });

  test('snapshots taken at once (a file and SNAP transfers) each get the ACL lists replaced during their walks', () => {
    // a leader writes its snapshot file while it streams SNAPs to learners, all of one tree
    const live = smallTree();
    live.setAcl('/a/c4', digest('before'));
    const first = new Taking(live);
    first.walk(THROUGH_A);
    live.setAcl('/a/c3', digest('during-first'));
    const second = new Taking(live);
    second.walk(THROUGH_A - 1);
    live.setAcl('/a/c4', digest('during-both'));
    live.setAcl('/b/x', digest('during-both-again'));
    assertRecovers(second, 'second snapshot');
    assertRecovers(first, 'first snapshot');
    assert.equal(live.tree.aclReplacedListeners.size, 0, 'both let the tree go');
  });

  test('a child created after its parent was written is left out; replay creates it', () => {
    const live = smallTree();
    const taking = new Taking(live);
    taking.walk(THROUGH_A + 1); // through /a/c0
    assert.equal(taking.serializer.nodes, THROUGH_A + 1);
    live.create('/a/late', 'l', OPEN, { type: OpCode.create2 });
    live.create('/a/c0/under-written', 'u');
    live.create('/b/early', 'e'); // /b not yet written: it counts this child, so it may be there
    const snapshot = assertRecovers(taking, 'late children');
    const paths = pathsOf(snapshot);
    assert.ok(!paths.includes('/a/late') && !paths.includes('/a/c0/under-written'), paths.join(' '));
    assert.ok(paths.includes('/b/early'), paths.join(' '));
  });

  test('a path deleted and re-created behind the walk is written once; one re-created ahead of it is left out', () => {
    const live = smallTree();
    const taking = new Taking(live);
    taking.walk(THROUGH_A + 1); // through /a/c0
    live.delete('/a/c0');
    live.create('/a/c0', 'again');
    live.delete('/a/c2');
    live.create('/a/c2', 'again');
    const snapshot = assertRecovers(taking, 're-created');
    const paths = pathsOf(snapshot);
    assert.equal(paths.filter((p) => p === '/a/c0').length, 1);
    assert.ok(!paths.includes('/a/c2'));
  });

  test('a node deleted before its turn is left out with its subtree; changes after S show in nodes written later', () => {
    const live = smallTree();
    const taking = new Taking(live);
    const s = live.tree.lastProcessedZxid;
    taking.walk(THROUGH_A);
    live.delete('/b/x');
    live.delete('/b');
    live.setData('/a/c3', 'changed after S');
    const snapshot = assertRecovers(taking, 'deleted ahead');
    assert.ok(!pathsOf(snapshot).some((p) => p.startsWith('/b')));
    const parsed = parseSnapshot(snapshot, true).tree;
    assert.equal(parsed.get('/a/c3')?.dataLatin1, 'changed after S', 'the snapshot is fuzzy');
    assert.ok((parsed.get('/a/c3')?.mzxid ?? 0) > s);
  });

  test('ACL lists interned after S: a new node with one is left out with its subtree; an older node given one is written with its previous list', () => {
    const live = smallTree();
    live.setAcl('/a/c4', digest('before'));
    const taking = new Taking(live);
    taking.walk(THROUGH_A);
    live.create('/n', 'n', digest('new-node'));
    live.create('/n/k');
    live.setAcl('/a/c3', digest('new-acl-1'));
    live.setAcl('/a/c3', digest('new-acl-2'));
    live.setAcl('/a/c4', digest('new-acl-3'));
    live.setAcl('/b/x', [...OPEN]); // a list the table has
    const snapshot = assertRecovers(taking, 'new ACL lists');
    assert.ok(!pathsOf(snapshot).some((p) => p.startsWith('/n')));
    const parsed = parseSnapshot(snapshot, true).tree;
    assert.deepEqual(parsed.get('/a/c3')?.acl, OPEN);
    assert.deepEqual(parsed.get('/a/c4')?.acl, digest('before'));
    assert.equal(parsed.get('/a/c4')?.aversion, 2, 'the rest of the node as it was when written');
    assert.equal(live.tree.aclReplacedListeners.size, 0);
  });

  test('sessions are those of S; session txns after S replay to the live ones, and a closed session takes its ephemerals', () => {
    const live = smallTree();
    live.create('/a/e1', 'e', OPEN, { ephemeral: S2 });
    const taking = new Taking(live);
    taking.walk(2);
    live.apply({ type: OpCode.createSession, timeOut: 9_000 }, S3);
    live.create('/b/e3', 'e', OPEN, { ephemeral: S3 });
    live.apply({ type: OpCode.closeSession, paths2Delete: ['/a/e1'] }, S2);
    const snapshot = assertRecovers(taking, 'sessions');
    const parsed = parseSnapshot(snapshot, true);
    assert.deepEqual([...parsed.sessions.keys()].sort(), [S1, S2]);
    assert.ok(pathsOf(snapshot).includes('/b/e3'), 'an ephemeral of a session newer than the snapshot');
  });

  test('an aborted snapshot lets the tree go; one taken meanwhile goes on', () => {
    const live = smallTree();
    const taking = new Taking(live);
    const second = new Taking(live);
    taking.serializer.abort();
    assert.equal(live.tree.aclReplacedListeners.size, 1);
    live.setAcl('/b/x', digest('after-the-abort'));
    assertRecovers(second, 'after an abort');
  });
});

describe("replay over ZooKeeper's fuzzy snapshots", () => {
  test('a child re-created by another session after its parent was written: NodeExists still moves the parent counters forward', () => {
    // ZooKeeper's walk copies a node's child names and visits each later, so it can write a
    // parent as it was at S and a child as re-created after S. Its replay then meets the
    // re-creation as NodeExists (a closeSession logged without paths, as before 3.6, deletes
    // only the closing session's ephemerals, and the snapshot's node is the new session's).
    const live = new Live();
    live.apply({ type: OpCode.createSession, timeOut: 30_000 }, S1);
    live.apply({ type: OpCode.createSession, timeOut: 30_000 }, S2);
    live.create('/p');
    live.create('/p/e', 'old', OPEN, { ephemeral: S1 });
    const s = live.tree.lastProcessedZxid;
    const atS = { cversion: live.tree.get('/p')?.cversion ?? 0, pzxid: live.tree.get('/p')?.pzxid ?? 0 };
    live.apply({ type: OpCode.closeSession, paths2Delete: null }, S1);
    live.create('/p/e', 'new', OPEN, { ephemeral: S2 });
    // the snapshot ZooKeeper could have written: /p as at S, /p/e as re-created
    const zkLike = parseSnapshot(encodeSnapshot(live.tree, new Map([[S2, 30_000]])), true).tree;
    const p = zkLike.get('/p');
    assert.ok(p !== undefined);
    p.cversion = atS.cversion;
    p.pzxid = atS.pzxid;
    zkLike.lastProcessedZxid = live.tree.lastProcessedZxid;
    const { tree } = recoverFrom(
      encodeSnapshot(
        zkLike,
        new Map([
          [S1, 30_000],
          [S2, 30_000],
        ]),
      ),
      s,
      live,
    );
    assertSameTree(tree, live.tree);
  });
});

describe('snapshot files', () => {
  function bigTree(): DataTree {
    const live = new Live();
    for (let i = 0; i < 4000; i++) live.create(`/n${i}`, `${i}`.repeat(40));
    return live.tree;
  }

  /** Ends slices at random, as the server's pacer ends them in time. */
  function randomPacer(seed: number): SlicePacer {
    const rng = new SeededRandom(seed);
    return { nextSlice: () => new Promise((r) => setImmediate(r)), sliceDone: () => rng.chance(0.05), endSlice: () => undefined };
  }

  for (const compression of ['', 'gz', 'snappy'] as const) {
    test(`compression '${compression}': the file holds the snapshot's bytes; no temp file is left`, async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'zc-snapfile-'));
      try {
        const tree = bigTree();
        const sessions = new Map([[S1, 30_000]]);
        const written = await new SnapshotFileWriter(nodeFileSystem, dir, tree, sessions, compression).run(randomPacer(1));
        assert.equal(written.zxid, tree.lastProcessedZxid);
        assert.deepEqual(await readdir(dir), [written.name]);
        const bytes = await readSnapshotBytes(nodeFileSystem, dir, written.name);
        assert.ok(bytes.equals(encodeSnapshot(tree, sessions)));
        assert.equal(written.bytes, bytes.length);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  test('a write that fails fails the snapshot, removes its temp file and lets the tree go', async () => {
    const rng = new SeededRandom(3);
    const fs = new SimFs(new SimScheduler(rng), { failWriteAt: 2 }, false);
    const dir = '/zk/version-2';
    await runUntilSettled(fs.sched, fs.mkdirp(dir));
    const tree = bigTree();
    const writer = new SnapshotFileWriter(fs, dir, tree, new Map(), '');
    await assert.rejects(runUntilSettled(fs.sched, writer.run(UNSLICED)), /ENOSPC|no space/);
    assert.deepEqual(await runUntilSettled(fs.sched, fs.list(dir)), []);
    assert.equal(tree.aclReplacedListeners.size, 0);
  });
});

describe('SNAP transfers (what a leader streams to a learner)', () => {
  /** The transfer's bytes in random chunks, read as a learner reads them, loaded record by record. */
  function loadTransfer(bytes: Buffer, rng: SeededRandom): { tree: DataTree; sessions: Map<bigint, number> } {
    const stream = new RecordStream();
    const reader = new SnapTransferReader();
    const loader = new SnapshotLoader(true);
    let ended = false;
    for (let at = 0; at < bytes.length;) {
      const n = 1 + rng.int(700);
      stream.push(bytes.subarray(at, at + n));
      at += n;
      for (let item = ended ? null : reader.next(stream); item !== null; item = ended ? null : reader.next(stream))
        ended = loader.item(item);
    }
    assert.ok(ended, 'the transfer ended with its signature');
    assert.equal(stream.buffered, 0);
    return loader.finish();
  }

  test('the body of the file with the signature instead of header and seal', () => {
    const live = smallTree();
    const file = encodeSnapshot(live.tree, live.sessions);
    const transfer = encodeSnapshot(live.tree, live.sessions, 'transfer');
    const sealBytes = 8 + 4 + 1; // long checksum, string "/"
    const signatureBytes = 4 + SNAP_SIGNATURE.length;
    assert.deepEqual(transfer.subarray(0, transfer.length - signatureBytes), file.subarray(16, file.length - sealBytes));
    assert.equal(transfer.subarray(transfer.length - SNAP_SIGNATURE.length).toString(), SNAP_SIGNATURE);
  });

  for (let seed = 1; seed <= 10; seed++) {
    test(`seed ${seed}: a fuzzy transfer taken while txns apply, loaded as it arrives, replays to the live tree`, () => {
      const rng = new SeededRandom(seed);
      const live = smallTree();
      const chunks: Buffer[] = [];
      const serializer = new SnapshotSerializer(
        live.tree,
        new Map(live.sessions),
        {
          chunk: (bytes, release) => {
            chunks.push(Buffer.from(bytes));
            release();
          },
        },
        4,
        'transfer',
      );
      const s = serializer.zxid;
      for (let i = 0; serializer.step(() => rng.chance(0.3)) !== 'done'; i++) {
        const pick = rng.int(4);
        if (pick === 0) live.create(`/a/new${i}`);
        else if (pick === 1 && live.tree.get(`/a/c${i % 5}`) !== undefined) live.delete(`/a/c${i % 5}`);
        else if (pick === 2) live.setData('/b/x', `x${i}`);
        else live.create(`/b/y${i}`, 'y', digest(`u${i}`));
      }
      const { tree, sessions } = loadTransfer(Buffer.concat(chunks), rng);
      tree.lastProcessedZxid = s;
      const changes: TreeChange[] = [];
      for (const { header, txn } of live.history) if (header.zxid > s) replayTxn(tree, sessions, header, txn, changes);
      assertSameTree(tree, live.tree, `seed ${seed}`);
    });
  }
});
