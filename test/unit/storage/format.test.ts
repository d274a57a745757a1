/**
 * src/storage/format.ts: txn log records and files, snapshots; and the txn log's group commit
 * (over the simulated disk of test/sim, which tells durable bytes from written ones).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../../src/base/index.js';
import { OpCode, ErrorCode, Perms, type ACL, type Txn, type TxnHeader } from '../../../src/codec/index.js';
import { DataTree, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, type TreeChange } from '../../../src/tree/index.js';
import {
  encodeSnapshot,
  encodeTxnRecord,
  logFileHeader,
  parseLogFile,
  parseSnapshot,
  SnapshotError,
  TxnLog,
  LOG_HEADER_BYTES,
} from '../../../src/storage/index.js';
import { SimFs, SimScheduler, runUntilSettled, settle } from '../../sim/sim-fs.js';
import { assertSameTree } from '../../support/snapshot-check.js';

const MAX_ENTRY = 2 * 1024 * 1024;
const S1 = 0x0100000000000001n;
const S2 = 0x0100000000000002n;
const OPEN: ACL[] = [...OPEN_ACL_UNSAFE];
const DIGEST: ACL[] = [
  { perms: Perms.ALL, id: { scheme: 'digest', id: 'alice:7ZTbEzhPmdqXgfK3HoGoBtVlI9Y=' } },
  { perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } },
];

function header(zxid: number, type: number, clientId = S1): TxnHeader {
  return { clientId, cxid: zxid * 3, zxid, time: 1_700_000_000_000 + zxid, type };
}

/** One txn of every type the log stores (multi holds a mix, including an error sub-txn). */
const TXNS: Txn[] = [
  { type: OpCode.create, path: '/a', data: Buffer.from('hello'), acl: OPEN, ephemeral: false, parentCVersion: 1 },
  { type: OpCode.create2, path: '/e', data: null, acl: DIGEST, ephemeral: true, parentCVersion: 2 },
  { type: OpCode.createContainer, path: '/c', data: Buffer.alloc(0), acl: OPEN, parentCVersion: 3 },
  { type: OpCode.createTTL, path: '/t', data: Buffer.from([0, 1, 2, 255]), acl: OPEN, parentCVersion: 4, ttl: 60_000 },
  { type: OpCode.delete, path: '/a' },
  { type: OpCode.deleteContainer, path: '/c' },
  { type: OpCode.setData, path: '/t', data: Buffer.from('v2'), version: 1 },
  { type: OpCode.setData, path: '/t', data: null, version: 2 },
  { type: OpCode.setACL, path: '/t', acl: DIGEST, version: 1 },
  { type: OpCode.check, path: '/t', version: 2 },
  { type: OpCode.createSession, timeOut: 30_000 },
  { type: OpCode.closeSession, paths2Delete: null },
  { type: OpCode.closeSession, paths2Delete: ['/e', '/x/y'] },
  { type: OpCode.error, err: ErrorCode.NONODE },
  {
    type: OpCode.multi,
    txns: [
      { type: OpCode.create, path: '/m', data: Buffer.from('p'), acl: OPEN, ephemeral: false, parentCVersion: 5 },
      { type: OpCode.create, path: '/m/1', data: null, acl: OPEN, ephemeral: true, parentCVersion: 1 },
      { type: OpCode.setData, path: '/m', data: Buffer.from('q'), version: 1 },
      { type: OpCode.check, path: '/m', version: 1 },
      { type: OpCode.delete, path: '/m/1' },
    ],
  },
  {
    type: OpCode.multi,
    txns: [
      { type: OpCode.error, err: ErrorCode.OK },
      { type: OpCode.error, err: ErrorCode.NODEEXISTS },
    ],
  },
];

/** A log file: header, the records, then `padding` zero bytes (preallocation). */
function logFile(records: Buffer[], padding = 4096): Buffer {
  return Buffer.concat([logFileHeader(), ...records, Buffer.alloc(padding)]);
}

function flip(buf: Buffer, at: number, mask: number): void {
  buf[at] = (buf[at] ?? 0) ^ mask;
}

function records(n: number, from = 1): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const zxid = from + i;
    out.push(
      encodeTxnRecord(header(zxid, OpCode.setData), {
        type: OpCode.setData,
        path: `/node-${zxid}`,
        data: Buffer.alloc(40, zxid),
        version: zxid,
      }),
    );
  }
  return out;
}

describe('txn log records', () => {
  test('every txn type round-trips through a log file', () => {
    const recs = TXNS.map((txn, i) => encodeTxnRecord(header(i + 1, txn.type), txn));
    const parsed = parseLogFile(logFile(recs), MAX_ENTRY);
    assert.equal(parsed.damage, null);
    assert.equal(parsed.records.length, TXNS.length);
    let offset = LOG_HEADER_BYTES;
    parsed.records.forEach((r, i) => {
      const txn = TXNS[i];
      assert.ok(txn !== undefined);
      assert.deepEqual(r.header, header(i + 1, txn.type));
      assert.deepEqual(r.txn, txn, `txn ${i} (type ${txn.type})`);
      assert.equal(r.offset, offset);
      offset += recs[i]?.length ?? 0;
    });
    assert.equal(parsed.end, offset);
  });

  test('record layout: checksum, length, entry, end-of-record marker', () => {
    const rec = encodeTxnRecord(header(7, OpCode.createSession), { type: OpCode.createSession, timeOut: 1234 });
    const len = rec.readInt32BE(8);
    assert.equal(rec.length, 12 + len + 1);
    assert.equal(rec.readUInt32BE(0), 0, 'adler32 fits the low word of the long');
    assert.equal(rec[rec.length - 1], 0x42);
  });

  test('zero padding ends the log: end is just after the last record', () => {
    const recs = records(3);
    const parsed = parseLogFile(logFile(recs, 64 * 1024), MAX_ENTRY);
    assert.equal(parsed.damage, null);
    assert.deepEqual(
      parsed.records.map((r) => r.header.zxid),
      [1, 2, 3],
    );
    assert.equal(parsed.end, LOG_HEADER_BYTES + recs.reduce((n, r) => n + r.length, 0));
    // No padding at all, and a header-only file, are fine too.
    assert.equal(parseLogFile(logFile(recs, 0), MAX_ENTRY).damage, null);
    const empty = parseLogFile(logFile([], 100), MAX_ENTRY);
    assert.equal(empty.damage, null);
    assert.equal(empty.records.length, 0);
    assert.equal(empty.end, LOG_HEADER_BYTES);
  });

  describe('torn tail (a crash during the last write) vs damage', () => {
    const good = records(3);
    const goodEnd = LOG_HEADER_BYTES + good.reduce((n, r) => n + r.length, 0);
    const last = records(1, 4)[0] ?? Buffer.alloc(0);

    /** The good records, then the first `keep` bytes of the next record, then zeros. */
    function torn(keep: number, padding = 4096): Buffer {
      return logFile([...good, last.subarray(0, keep)], padding);
    }

    test('only the zero high word of the next checksum written: indistinguishable from the end', () => {
      const parsed = parseLogFile(torn(4), MAX_ENTRY);
      assert.equal(parsed.damage, null);
      assert.equal(parsed.records.length, 3);
      assert.equal(parsed.end, goodEnd);
    });

    for (const keep of [6, 8, 11, 12]) {
      test(`only ${keep} bytes of the last record's header written: torn tail`, () => {
        const parsed = parseLogFile(torn(keep), MAX_ENTRY);
        assert.equal(parsed.records.length, 3);
        assert.equal(parsed.end, goodEnd);
        assert.ok(parsed.damage !== null);
        assert.equal(parsed.damage.offset, goodEnd);
        assert.equal(parsed.damage.tornTail, true, parsed.damage.reason);
      });
    }

    for (const keep of [13, 20, last.length - 1]) {
      test(`the last record written up to byte ${keep} of ${last.length}, zeros after: torn tail`, () => {
        const parsed = parseLogFile(torn(keep), MAX_ENTRY);
        assert.equal(parsed.records.length, 3);
        assert.ok(parsed.damage !== null);
        assert.equal(parsed.damage.offset, goodEnd);
        assert.equal(parsed.damage.tornTail, true, `${parsed.damage.reason}: a torn write, not corruption`);
      });
    }

    test('the file ends inside the last record (no preallocation): torn tail', () => {
      const parsed = parseLogFile(torn(30, 0), MAX_ENTRY);
      assert.equal(parsed.records.length, 3);
      assert.ok(parsed.damage !== null);
      assert.equal(parsed.damage.offset, goodEnd);
      assert.equal(parsed.damage.tornTail, true, parsed.damage.reason);
    });

    test('a damaged record followed by a valid one: corruption, not a torn tail', () => {
      const recs = records(4);
      const buf = logFile(recs);
      const second = LOG_HEADER_BYTES + (recs[0]?.length ?? 0);
      flip(buf, second + 20, 0xff); // inside record 2's entry: checksum mismatch
      const parsed = parseLogFile(buf, MAX_ENTRY);
      assert.equal(parsed.records.length, 1);
      assert.ok(parsed.damage !== null);
      assert.equal(parsed.damage.offset, second);
      assert.match(parsed.damage.reason, /checksum/);
      assert.equal(parsed.damage.tornTail, false);
    });

    test('a damaged length followed by valid records: corruption', () => {
      const recs = records(3);
      const buf = logFile(recs);
      buf.writeInt32BE(0x7fffffff, LOG_HEADER_BYTES + 8);
      const parsed = parseLogFile(buf, MAX_ENTRY);
      assert.equal(parsed.records.length, 0);
      assert.ok(parsed.damage !== null);
      assert.equal(parsed.damage.tornTail, false, parsed.damage.reason);
    });

    test('a missing end-of-record marker with records after it: corruption', () => {
      const recs = records(3);
      const buf = logFile(recs);
      buf[LOG_HEADER_BYTES + (recs[0]?.length ?? 0) - 1] = 0x41;
      const parsed = parseLogFile(buf, MAX_ENTRY);
      assert.equal(parsed.records.length, 0);
      assert.ok(parsed.damage !== null);
      assert.match(parsed.damage.reason, /end-of-record/);
      assert.equal(parsed.damage.tornTail, false);
    });

    test('a bad file header: torn when nothing follows it, corruption when records do', () => {
      const empty = parseLogFile(Buffer.alloc(0), MAX_ENTRY);
      assert.equal(empty.damage?.tornTail, true);
      const zeros = parseLogFile(Buffer.alloc(4096), MAX_ENTRY);
      assert.equal(zeros.damage?.tornTail, true);
      const partialHeader = Buffer.alloc(4096);
      logFileHeader().copy(partialHeader, 0, 0, 3); // the header write torn inside the magic
      assert.equal(parseLogFile(partialHeader, MAX_ENTRY).damage?.tornTail, true, 'a log file created just before the crash');
      const badMagic = logFile(records(2));
      badMagic[0] = 0x00;
      const parsed = parseLogFile(badMagic, MAX_ENTRY);
      assert.equal(parsed.records.length, 0);
      assert.equal(parsed.damage?.tornTail, false);
    });
  });
});

// ---------------------------------------------------------------- snapshots

/** A tree with every kind of node, built through applyTxn as the server builds it. */
function richTree(): DataTree {
  const tree = new DataTree(true);
  const changes: TreeChange[] = [];
  let zxid = 0;
  const apply = (txn: Txn, clientId = S1): void => {
    zxid++;
    const res = tree.applyTxn({ clientId, cxid: zxid, zxid, time: 1_700_000_000_000 + zxid * 1000, type: txn.type }, txn, changes);
    assert.equal(res.err, 0, `txn ${zxid} (type ${txn.type})`);
  };
  const cv = (path: string): number => (tree.get(path)?.cversion ?? 0) + 1;
  const create = (path: string, data: Buffer | null, acl: ACL[] = OPEN, ephemeral = false, clientId = S1): void => {
    apply({ type: OpCode.create, path, data, acl, ephemeral, parentCVersion: cv(path.slice(0, path.lastIndexOf('/')) || '/') }, clientId);
  };
  create('/app', Buffer.from('SNAPSHOT-DATA-MARKER'));
  create('/app/null', null);
  create('/app/empty', Buffer.alloc(0));
  create('/app/digest', Buffer.from('secret'), DIGEST);
  create('/app/digest2', Buffer.from('same acl content, other list'), [...DIGEST]);
  create('/app/readonly', Buffer.from('r'), [...READ_ACL_UNSAFE]);
  create('/app/eph1', Buffer.from('e1'), OPEN, true, S1);
  create('/app/eph2', Buffer.from('e2'), OPEN, true, S2);
  apply({ type: OpCode.createContainer, path: '/app/container', data: Buffer.from('c'), acl: OPEN, parentCVersion: cv('/app') });
  create('/app/container/child', null);
  apply({ type: OpCode.createTTL, path: '/app/ttl', data: Buffer.from('t'), acl: OPEN, parentCVersion: cv('/app'), ttl: 5000 });
  create('/app/gone', null);
  apply({ type: OpCode.delete, path: '/app/gone' }); // cversion now differs from the child count
  apply({ type: OpCode.setData, path: '/app', data: Buffer.from('SNAPSHOT-DATA-MARKER-2'), version: 1 });
  apply({ type: OpCode.setACL, path: '/app/digest', acl: DIGEST, version: 1 });
  const big = Buffer.alloc(70_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  create('/big', big);
  tree.setConfigData(Buffer.from('server.1=localhost:2888:3888'));
  return tree;
}

describe('snapshots', () => {
  const sessions = new Map<bigint, number>([
    [S1, 30_000],
    [S2, 4_000],
  ]);

  test('a tree with every node kind round-trips (persistent, ephemeral, container, TTL, digest ACLs, null vs empty data, system nodes)', () => {
    const tree = richTree();
    const parsed = parseSnapshot(encodeSnapshot(tree, sessions), true);
    assertSameTree(parsed.tree, tree);
    assert.deepEqual([...parsed.sessions], [...sessions]);
    assert.equal(parsed.tree.get('/app/null')?.dataLatin1, null);
    assert.equal(parsed.tree.get('/app/empty')?.dataLatin1, '');
    assert.equal(parsed.tree.get('/zookeeper/config')?.aversion, -1);
    assert.deepEqual(parsed.tree.get('/zookeeper/config')?.acl, READ_ACL_UNSAFE);
    // Encoding what was parsed gives the same bytes.
    assert.ok(encodeSnapshot(parsed.tree, parsed.sessions).equals(encodeSnapshot(tree, sessions)));
  });

  test('an empty tree and no sessions round-trip', () => {
    const tree = new DataTree(false);
    const parsed = parseSnapshot(encodeSnapshot(tree, new Map()), false);
    assertSameTree(parsed.tree, tree);
    assert.equal(parsed.sessions.size, 0);
  });

  test('a flipped data byte: checksum mismatch -> SnapshotError', () => {
    const buf = encodeSnapshot(richTree(), sessions);
    const at = buf.indexOf('SNAPSHOT-DATA-MARKER-2');
    assert.ok(at > 0);
    flip(buf, at + 3, 0x01);
    assert.throws(
      () => parseSnapshot(buf, true),
      (e: unknown) => e instanceof SnapshotError && /checksum/.test(e.message),
    );
  });

  test('a damaged seal: checksum mismatch -> SnapshotError', () => {
    const buf = encodeSnapshot(richTree(), sessions);
    flip(buf, buf.length - 6, 0x80); // inside the long checksum (before the trailing string "/")
    assert.throws(() => parseSnapshot(buf, true), SnapshotError);
  });

  test('truncated or garbage snapshots -> SnapshotError', () => {
    const buf = encodeSnapshot(richTree(), sessions);
    for (const n of [0, 3, 20, Math.floor(buf.length / 2), buf.length - 1]) {
      assert.throws(() => parseSnapshot(buf.subarray(0, n), true), SnapshotError, `truncated to ${n}`);
    }
    const garbage = Buffer.from(buf);
    garbage.writeInt32BE(0x12345678, 0);
    assert.throws(() => parseSnapshot(garbage, true), SnapshotError);
  });
});

// ---------------------------------------------------------------- group commit

describe('txn log group commit', () => {
  const txn = (zxid: number): Txn => ({ type: OpCode.setData, path: '/n', data: Buffer.alloc(20, zxid), version: zxid });

  /** A TxnLog on `fs` whose callbacks check that their record is durable, and note the order. */
  async function harness(fs: SimFs) {
    await runUntilSettled(fs.sched, fs.mkdirp('/log'));
    const fatal: Error[] = [];
    const log = new TxnLog(fs, '/log', { preAllocBytes: 4096, forceSync: true }, (e) => fatal.push(e));
    const acked: number[] = [];
    const durableZxids = (): number[] => {
      const bytes = fs.peekDurable('/log/log.1');
      return bytes === undefined ? [] : parseLogFile(bytes, MAX_ENTRY).records.map((r) => r.header.zxid);
    };
    const append = (zxid: number): void =>
      log.append(header(zxid, OpCode.setData), txn(zxid), {
        durable: () => {
          // When told, the record is on the durable side of the disk.
          assert.ok(durableZxids().includes(zxid), `txn ${zxid} acknowledged before it was durable`);
          acked.push(zxid);
        },
      });
    /** Runs the queued steps one at a time: no callback may run but right after a sync of the log. */
    const stepAll = async (): Promise<void> => {
      while (fs.sched.pending > 0) {
        const before = acked.length;
        fs.sched.step();
        await settle();
        const last = fs.sched.trace.at(-1) ?? '';
        if (acked.length > before) assert.match(last, /^sync \/log\/log\.1$/, `callbacks ran after "${last}"`);
      }
    };
    return { log, fatal, acked, durableZxids, append, stepAll };
  }

  test('synced writes (O_DSYNC): one batch in flight, appends made meanwhile go out as the next batch, callbacks only once durable, in order', async () => {
    const fs = new SimFs(new SimScheduler(new SeededRandom(11)));
    const { log, fatal, acked, durableZxids, append, stepAll } = await harness(fs);
    append(1);
    await settle();
    for (let z = 2; z <= 6; z++) append(z); // batch 1 is in flight: these wait, then leave together
    await settle();
    await stepAll();
    assert.deepEqual(acked, [1, 2, 3, 4, 5, 6], 'callbacks in append order');
    assert.equal(log.stats.batches, 2, 'txn 1, then 2..6 together');
    assert.deepEqual(fatal, []);
    assert.deepEqual(durableZxids(), [1, 2, 3, 4, 5, 6]);
    const one = encodeTxnRecord(header(1, OpCode.setData), txn(1)).length;
    const records = fs.sched.trace.filter((l) => l.startsWith('write /log/log.1 @') && !l.startsWith('write /log/log.1 @0 '));
    assert.deepEqual(records, [`write /log/log.1 @16 +${one}`, `write /log/log.1 @${16 + one} +${5 * one}`]);
    // Each record write is followed by its own sync step and nothing runs between them but
    // other files' steps: the second batch's write waits for the first one's sync.
    const logSteps = fs.sched.trace.filter((l) => l.endsWith('/log/log.1') || l.startsWith('write /log/log.1 @'));
    const firstRecord = logSteps.indexOf(records[0] ?? '');
    assert.equal(logSteps[firstRecord + 1], 'sync /log/log.1');
    assert.equal(logSteps[firstRecord + 2], records[1]);
    assert.equal(logSteps[firstRecord + 3], 'sync /log/log.1');
  });

  test('appends made in one turn on an idle log leave as one batch, started once that turn ends', async () => {
    const fs = new SimFs(new SimScheduler(new SeededRandom(5)));
    const { log, fatal, acked, durableZxids, append, stepAll } = await harness(fs);
    for (let z = 1; z <= 4; z++) append(z); // a client's pipelined writes, read in one chunk
    const one = encodeTxnRecord(header(1, OpCode.setData), txn(1)).length;
    const recordWrites = (): string[] =>
      fs.sched.trace.filter((l) => l.startsWith('write /log/log.1 @') && !l.startsWith('write /log/log.1 @0 '));
    await settle();
    await stepAll();
    assert.deepEqual(acked, [1, 2, 3, 4]);
    assert.equal(log.stats.batches, 1, 'one batch for the four');
    assert.deepEqual(recordWrites(), [`write /log/log.1 @16 +${4 * one}`]);
    assert.deepEqual(fatal, []);
    assert.deepEqual(durableZxids(), [1, 2, 3, 4]);
  });

  test('without synced writes two batches are in flight at once; appends made meanwhile go out as one batch; callbacks run only once synced, in order', async () => {
    const fs = new SimFs(new SimScheduler(new SeededRandom(7)), {}, false);
    const { log, fatal, acked, durableZxids, append, stepAll } = await harness(fs);

    // txns 1 and 2, appended on turns of their own, each start a batch (the pipeline holds two).
    append(1);
    await settle();
    append(2);
    await settle();
    // Run steps until txn 1's record write has happened (its fsync is next).
    let guard = 0;
    while (!fs.sched.trace.some((l) => l.startsWith('write /log/log.1 @16 '))) {
      assert.ok(fs.sched.step(), 'the first batch should be writing');
      await settle();
      assert.ok(++guard < 50);
    }
    assert.deepEqual(acked, [], 'written but not yet synced: no callback');
    // The pipeline is full: these wait, and then leave as one batch.
    for (let z = 3; z <= 10; z++) append(z);
    await settle();
    // Step one at a time: no callback may run before the fsync that covers its record.
    await stepAll();
    assert.deepEqual(acked, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'callbacks in append order');
    assert.equal(log.stats.txns, 10);
    assert.equal(log.stats.batches, 3, 'txn 1, txn 2, then 3..10 together: fewer batches than txns');
    assert.equal(log.stats.fsyncs, log.stats.batches);
    assert.deepEqual(fatal, []);
    assert.deepEqual(durableZxids(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const one = encodeTxnRecord(header(1, OpCode.setData), txn(1)).length;
    assert.deepEqual(
      fs.sched.trace.filter((l) => l.startsWith('write /log/log.1 @') && !l.startsWith('write /log/log.1 @0 ')),
      [`write /log/log.1 @16 +${one}`, `write /log/log.1 @${16 + one} +${one}`, `write /log/log.1 @${16 + 2 * one} +${8 * one}`],
      'one record write per batch, at increasing offsets',
    );
  });

  test('a failed fsync is fatal: nothing in that batch or after it is acknowledged, and no later batch is written', async () => {
    // A disk without synced writes; sync 1: the new file; sync 2: batch 1
    const fs = new SimFs(new SimScheduler(new SeededRandom(3)), { failSyncAt: 2 }, false);
    await runUntilSettled(fs.sched, fs.mkdirp('/log'));
    const fatal: Error[] = [];
    const log = new TxnLog(fs, '/log', { preAllocBytes: 4096, forceSync: true }, (e) => fatal.push(e));
    const acked: number[] = [];
    const countWrites = (): number =>
      fs.sched.trace.filter((l) => l.startsWith('write /log/log.1 @') && !l.startsWith('write /log/log.1 @0 ')).length;
    // batch 1 = {1}, batch 2 = {2} (in flight together), then {3} waits for a free slot
    for (let z = 1; z <= 3; z++) log.append(header(z, OpCode.setData), txn(z), { durable: () => acked.push(z) });
    await settle();
    while (fs.sched.step()) await settle();
    assert.equal(fatal.length, 1);
    assert.match(fatal[0]?.message ?? '', /ENOSPC/);
    log.append(header(4, OpCode.setData), txn(4), { durable: () => acked.push(4) });
    await settle();
    while (fs.sched.step()) await settle();
    assert.deepEqual(acked, []);
    // Batch 2's write may already have been issued beside batch 1's fsync; batches {3} and {4}
    // are never written.
    assert.ok(countWrites() <= 2, `record writes: ${countWrites()}`);
  });
});
