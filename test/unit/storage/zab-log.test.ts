/**
 * The txn log as ZAB uses it (src/storage: txn-log.ts, log-reader.ts, log-truncate.ts,
 * committed-log.ts), over the simulated disk of test/sim: appends of typed and encoded txns,
 * strictly increasing zxids, reading back from a zxid in slices, truncation, the committed
 * window. Power cuts in the middle of a truncation are in test/sim/zab-storage.test.ts.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { AssertionError, SeededRandom } from '../../../src/base/index.js';
import { JuteWriter, OpCode, writeTxn, type Txn, type TxnHeader } from '../../../src/codec/index.js';
import { OPEN_ACL_UNSAFE } from '../../../src/tree/index.js';
import {
  CommittedLog,
  encodeTxnRecord,
  lastLoggedZxid,
  logFileHeader,
  parseLogFile,
  recover,
  TxnLog,
  TxnLogDamageError,
  TxnLogReader,
  truncationMarkerName,
  writeSnapshot,
  type LoggedTxn,
  type TxnLogEntry,
} from '../../../src/storage/index.js';
import { DataTree } from '../../../src/tree/index.js';
import { SimFs, SimScheduler, runUntilSettled } from '../../sim/sim-fs.js';

const DIR = '/zk/data/version-2';
const MAX_ENTRY = 2 * 1024 * 1024;
const S1 = 0x0100000000000001n;

export const zxidOf = (epoch: number, counter: number): number => epoch * 2 ** 32 + counter;

/** A create of /n-<zxid hex> (so a recovered tree names every txn it holds), `size` bytes of data. */
export function entry(zxid: number, size = 12): { header: TxnHeader; txn: Txn } {
  return {
    header: { clientId: S1, cxid: zxid % 1000, zxid, time: 1_700_000_000_000 + zxid, type: OpCode.create },
    txn: {
      type: OpCode.create,
      path: `/n-${zxid.toString(16)}`,
      data: Buffer.alloc(size, zxid & 0xff),
      acl: [...OPEN_ACL_UNSAFE],
      ephemeral: false,
      parentCVersion: 1,
    },
  };
}

export function encodedBody(txn: Txn): Buffer {
  const w = new JuteWriter(64);
  writeTxn(w, txn);
  return Buffer.from(w.toBuffer());
}

function newFs(seed = 1, syncWrites = true): SimFs {
  return new SimFs(new SimScheduler(new SeededRandom(seed)), {}, syncWrites);
}

const run = <T>(fs: SimFs, p: Promise<T>): Promise<T> => runUntilSettled(fs.sched, p);
const notCalled = (): never => assert.fail('not expected to be called');

/** A log whose files hold these zxid groups, one file per group, all durable. */
async function buildLog(fs: SimFs, groups: number[][], o: { preAllocBytes?: number; size?: number } = {}): Promise<TxnLog> {
  await run(fs, fs.mkdirp(DIR));
  const fatal: Error[] = [];
  const log = new TxnLog(fs, DIR, { preAllocBytes: o.preAllocBytes ?? 4096, forceSync: true, maxEntryBytes: MAX_ENTRY }, (e) =>
    fatal.push(e),
  );
  for (const group of groups) {
    log.roll();
    for (const z of group) {
      const e = entry(z, o.size);
      log.append(e.header, e.txn, { durable: () => undefined });
    }
    await run(fs, log.drain());
  }
  assert.deepEqual(fatal, []);
  return log;
}

async function readAll(reader: TxnLogReader, maxTxns?: number): Promise<number[]> {
  const out: number[] = [];
  for (let slice = await reader.next(maxTxns); slice.length > 0; slice = await reader.next(maxTxns)) {
    for (const t of slice) out.push(t.header.zxid);
  }
  return out;
}

async function zxidsAfter(fs: SimFs, after: number, chunkBytes?: number): Promise<number[]> {
  return run(
    fs,
    (async () => {
      const reader = await TxnLogReader.open(fs, DIR, after, {
        maxEntryBytes: MAX_ENTRY,
        ...(chunkBytes === undefined ? {} : { chunkBytes }),
      });
      return readAll(reader);
    })(),
  );
}

/** The log files' names, oldest first. */
function logNames(fs: SimFs): string[] {
  return fs
    .describe()
    .split('\n')
    .map((l) => /^ {2}(log\.[0-9a-f]+):/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined)
    .sort((a, b) => parseInt(a.slice(4), 16) - parseInt(b.slice(4), 16));
}

describe('appending: typed or encoded txns, zxids strictly increasing', () => {
  test('an encoded body is logged byte for byte as the typed txn it encodes, and read back as that txn', async () => {
    const typed = newFs(1);
    const encoded = newFs(1);
    await buildLog(typed, [[1, 2, 3]]);
    await run(encoded, encoded.mkdirp(DIR));
    const log = new TxnLog(encoded, DIR, { preAllocBytes: 4096, forceSync: true }, notCalled);
    for (const z of [1, 2, 3]) {
      const e = entry(z);
      log.append(e.header, encodedBody(e.txn), { durable: () => undefined });
    }
    await run(encoded, log.drain());
    assert.deepEqual(encoded.peekDurable(`${DIR}/log.1`), typed.peekDurable(`${DIR}/log.1`));
    const back = await run(
      encoded,
      TxnLogReader.open(encoded, DIR, 0, { maxEntryBytes: MAX_ENTRY }).then((r) => r.next()),
    );
    assert.deepEqual(
      back.map((t) => t.txn),
      [1, 2, 3].map((z) => entry(z).txn),
    );
  });

  test('an encoded body with a TxnDigest after the txn keeps it: the entry read back is the PROPOSAL data again', async () => {
    const fs = newFs(2);
    await run(fs, fs.mkdirp(DIR));
    const log = new TxnLog(fs, DIR, { preAllocBytes: 4096, forceSync: true }, notCalled);
    const e = entry(7);
    const digest = Buffer.from([0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8]); // TxnDigest{int version, long treeDigest}
    const body = Buffer.concat([encodedBody(e.txn), digest]);
    log.append(e.header, body, { durable: () => undefined });
    await run(fs, log.drain());
    const [t] = await run(
      fs,
      TxnLogReader.open(fs, DIR, 0, { maxEntryBytes: MAX_ENTRY }).then((r) => r.next()),
    );
    assert.ok(t !== undefined);
    assert.deepEqual(t.txn, e.txn);
    assert.deepEqual(t.entry.subarray(t.entry.length - body.length), body);
    assert.equal(t.entry.length, 32 + body.length, 'TxnHeader (32 bytes) + body');
    // recovery's parser reads the same txn and ignores the digest, as ZooKeeper's does
    const bytes = fs.peekDurable(`${DIR}/log.7`);
    assert.ok(bytes !== undefined);
    assert.deepEqual(parseLogFile(bytes, MAX_ENTRY).records[0]?.txn, e.txn);
  });

  test('a zxid at or below the last one appended is a bug: AssertionError, nothing queued', async () => {
    const fs = newFs(3);
    await run(fs, fs.mkdirp(DIR));
    const log = new TxnLog(fs, DIR, { preAllocBytes: 4096, forceSync: true, lastZxid: 10 }, notCalled);
    assert.equal(log.lastZxid, 10);
    const e = (z: number): TxnLogEntry => entry(z);
    assert.throws(() => log.append(e(10).header, e(10).txn, { durable: notCalled }), AssertionError, 'equal to the recovered zxid');
    assert.throws(() => log.append(e(9).header, e(9).txn, { durable: notCalled }), AssertionError);
    assert.equal(log.idle, true);
    log.append(e(11).header, e(11).txn, { durable: () => undefined });
    assert.throws(() => log.append(e(11).header, e(11).txn, { durable: notCalled }), /zxid b appended after b/);
    const nan = { ...e(12).header, zxid: Number.NaN };
    assert.throws(() => log.append(nan, e(12).txn, { durable: notCalled }), AssertionError);
    log.append(e(zxidOf(1, 1)).header, e(zxidOf(1, 1)).txn, { durable: () => undefined });
    assert.equal(log.lastZxid, zxidOf(1, 1));
    await run(fs, log.drain());
    assert.deepEqual(await zxidsAfter(fs, 0), [11, zxidOf(1, 1)]);
  });
});

describe('reading the log from a zxid', () => {
  const groups = [
    [1, 2, 3, 4],
    [5, 6, 7],
    [8, 9, 10, 11, 12],
    [zxidOf(1, 1), zxidOf(1, 2)],
  ];
  const all = groups.flat();

  test('every txn above the zxid, in order, across files; `preceding` is the last one at or below it', async () => {
    const fs = newFs(4);
    await buildLog(fs, groups);
    for (const after of [0, 1, 4, 5, 9, 12, zxidOf(1, 0), zxidOf(1, 1), zxidOf(1, 2), zxidOf(2, 0)]) {
      const reader = await run(fs, TxnLogReader.open(fs, DIR, after, { maxEntryBytes: MAX_ENTRY }));
      const expectedPreceding = after < 1 ? -1 : Math.max(...all.filter((z) => z <= after));
      assert.equal(reader.preceding, expectedPreceding, `preceding for ${after}`);
      assert.deepEqual(
        await run(fs, readAll(reader)),
        all.filter((z) => z > after),
        `after ${after}`,
      );
    }
  });

  test('slices hold at most the asked number of txns (and bytes, beyond the first), and add up to the whole read', async () => {
    const fs = newFs(5);
    await buildLog(fs, groups, { size: 300 });
    const reader = await run(fs, TxnLogReader.open(fs, DIR, 2, { maxEntryBytes: MAX_ENTRY }));
    const sizes: number[] = [];
    const seen: number[] = [];
    for (let s = await run(fs, reader.next(3, 700)); s.length > 0; s = await run(fs, reader.next(3, 700))) {
      sizes.push(s.length);
      seen.push(...s.map((t) => t.header.zxid));
      const bytes = s.reduce((n, t) => n + t.entry.length, 0);
      assert.ok(s.length === 1 || bytes - (s.at(-1)?.entry.length ?? 0) < 700, `slice of ${bytes} bytes`);
    }
    assert.deepEqual(
      seen,
      all.filter((z) => z > 2),
    );
    assert.ok(Math.max(...sizes) <= 3 && sizes.length >= 4, `slices ${sizes.join(',')}`);
    assert.deepEqual(await run(fs, reader.next()), [], 'a finished reader stays finished');
  });

  test('`until` ends the read before the first txn above it', async () => {
    const fs = newFs(6);
    await buildLog(fs, groups);
    const reader = await run(fs, TxnLogReader.open(fs, DIR, 3, { maxEntryBytes: MAX_ENTRY, until: 9 }));
    assert.deepEqual(await run(fs, readAll(reader)), [4, 5, 6, 7, 8, 9]);
  });

  test('tiny chunks and records larger than a chunk read the same', async () => {
    const fs = newFs(7);
    await buildLog(
      fs,
      [
        [1, 2],
        [3, 4, 5],
      ],
      { size: 5000, preAllocBytes: 64 * 1024 },
    );
    for (const chunk of [16, 17, 100, 4096, 1 << 20]) assert.deepEqual(await zxidsAfter(fs, 1, chunk), [2, 3, 4, 5], `chunk ${chunk}`);
  });

  test('a log that does not reach back to the zxid: preceding -1, and every txn it has', async () => {
    const fs = newFs(8);
    await buildLog(fs, [[5, 6], [7]]);
    const reader = await run(fs, TxnLogReader.open(fs, DIR, 3, { maxEntryBytes: MAX_ENTRY }));
    assert.equal(reader.preceding, -1);
    assert.deepEqual(await run(fs, readAll(reader)), [5, 6, 7]);
    const empty = newFs(9);
    await run(empty, empty.mkdirp(DIR));
    assert.deepEqual(await zxidsAfter(empty, 0), []);
  });

  test('damage in an earlier file is a TxnLogDamageError naming it; in the last file it ends the read', async () => {
    const fs = newFs(10);
    await buildLog(
      fs,
      [
        [1, 2, 3],
        [4, 5],
      ],
      { preAllocBytes: 0 },
    );
    const first = fs.peek(`${DIR}/log.1`);
    assert.ok(first !== undefined);
    const one = encodeTxnRecord(entry(1).header, entry(1).txn).length;
    const damaged = Buffer.from(first);
    damaged[16 + one + 20] = (damaged[16 + one + 20] ?? 0) ^ 0xff; // inside txn 2
    fs.poke(`${DIR}/log.1`, damaged);
    await assert.rejects(
      zxidsAfter(fs, 0),
      (e: unknown) => e instanceof TxnLogDamageError && e.file === `${DIR}/log.1` && e.offset === 16 + one,
    );
    // the same damage in the last file: the records before it, then the end
    fs.poke(`${DIR}/log.1`, first);
    const last = fs.peek(`${DIR}/log.4`);
    assert.ok(last !== undefined);
    fs.poke(`${DIR}/log.4`, Buffer.concat([last.subarray(0, 16 + one + 7)]));
    assert.deepEqual(await zxidsAfter(fs, 0), [1, 2, 3, 4]);
  });

  test('lastLoggedZxid: the last txn in the newest file holding one; -1 without any', async () => {
    const fs = newFs(11);
    await buildLog(
      fs,
      [
        [1, 2],
        [3, 4, 5],
      ],
      { preAllocBytes: 64 * 1024 },
    );
    assert.equal(await run(fs, lastLoggedZxid(fs, DIR, MAX_ENTRY)), 5);
    fs.poke(`${DIR}/log.9`, logFileHeader()); // a newer file with no txn (ZooKeeper would answer 9)
    assert.equal(await run(fs, lastLoggedZxid(fs, DIR, MAX_ENTRY)), 5);
    const empty = newFs(12);
    await run(empty, empty.mkdirp(DIR));
    assert.equal(await run(empty, lastLoggedZxid(empty, DIR, MAX_ENTRY)), -1);
  });
});

describe('truncation (TRUNC)', () => {
  const groups = [
    [1, 2, 3],
    [4, 5, 6, 7],
    [8, 9],
    [zxidOf(1, 1), zxidOf(1, 2), zxidOf(1, 3)],
  ];
  const all = groups.flat();

  /** Truncates to `zxid`, then checks files, the durable state and a recovered tree. */
  async function truncateAndCheck(seed: number, zxid: number, expectFiles: string[]): Promise<{ fs: SimFs; log: TxnLog }> {
    const fs = newFs(seed);
    await run(fs, fs.mkdirp(DIR));
    await run(fs, writeSnapshot(fs, DIR, new DataTree(false), new Map(), ''));
    const log = await buildLog(fs, groups, { preAllocBytes: seed % 2 === 0 ? 4096 : 64 * 1024 });
    const expected = all.filter((z) => z <= zxid);
    const cut = await run(fs, log.truncate(zxid));
    assert.equal(cut, expected.length < all.length, `truncate(${zxid}) says whether it cut anything`);
    assert.deepEqual(logNames(fs), expectFiles, `files after truncate(${zxid})`);
    assert.deepEqual(await zxidsAfter(fs, 0), expected);
    assert.equal(log.lastZxid, Math.min(zxid, all.at(-1) ?? 0));
    assert.ok(!fs.describe().includes('txnlog-truncate'), 'the marker is gone');
    // durable before it returned: a power cut now keeps exactly the truncated log
    const { fs: after } = fs.powerCut(new SeededRandom(seed));
    assert.deepEqual(await zxidsAfter(after, 0), expected);
    const warnings: string[] = [];
    const recovered = await run(
      after,
      recover(after, {
        snapDir: DIR,
        logDir: DIR,
        extendedTypesEnabled: false,
        maxEntryBytes: MAX_ENTRY,
        compression: '',
        warn: (m) => warnings.push(m),
      }),
    );
    assert.deepEqual(warnings, []);
    assert.equal(recovered.tree.lastProcessedZxid, expected.at(-1) ?? 0);
    assert.deepEqual(
      recovered.tree
        .get('/')
        ?.childNames()
        .filter((n) => n !== 'zookeeper')
        .sort(),
      expected.map((z) => `n-${z.toString(16)}`).sort(),
    );
    return { fs, log };
  }

  test('inside a middle file: later files removed, that file cut after the zxid', async () => {
    await truncateAndCheck(20, 5, ['log.1', 'log.4']);
  });

  test("at a file's last txn, and at a later file's first txn", async () => {
    await truncateAndCheck(21, 7, ['log.1', 'log.4']);
    await truncateAndCheck(22, 8, ['log.1', 'log.4', 'log.8']);
  });

  test('to a zxid the log does not hold (between epochs): every txn above it goes, none at or below it', async () => {
    // ZooKeeper 3.8.0 keeps the first txn above such a zxid (its iterator stops on it and cuts after it)
    await truncateAndCheck(23, zxidOf(1, 0), ['log.1', 'log.4', 'log.8']);
  });

  test('below the first txn: every file goes; above the last: nothing changes', async () => {
    await truncateAndCheck(24, 0, []);
    await truncateAndCheck(25, zxidOf(1, 3), ['log.1', 'log.4', 'log.8', `log.${zxidOf(1, 1).toString(16)}`]);
    await truncateAndCheck(26, zxidOf(5, 0), ['log.1', 'log.4', 'log.8', `log.${zxidOf(1, 1).toString(16)}`]);
  });

  test('appends go on after it in a new file, above the zxid; the cut file is not written again', async () => {
    const { fs, log } = await truncateAndCheck(27, 5, ['log.1', 'log.4']);
    const cutFile = fs.peekDurable(`${DIR}/log.4`);
    for (const z of [zxidOf(2, 1), zxidOf(2, 2)]) {
      const e = entry(z);
      log.append(e.header, e.txn, { durable: () => undefined });
    }
    await run(fs, log.drain());
    assert.deepEqual(logNames(fs), ['log.1', 'log.4', `log.${zxidOf(2, 1).toString(16)}`]);
    assert.deepEqual(fs.peekDurable(`${DIR}/log.4`), cutFile);
    assert.deepEqual(await zxidsAfter(fs, 0), [1, 2, 3, 4, 5, zxidOf(2, 1), zxidOf(2, 2)]);
    assert.throws(() => log.append(entry(5).header, entry(5).txn, { durable: notCalled }), AssertionError);
  });

  test('only on an idle log: with appends in flight it is a bug', async () => {
    const fs = newFs(28);
    const log = await buildLog(fs, [[1, 2]]);
    log.append(entry(3).header, entry(3).txn, { durable: () => undefined });
    await assert.rejects(log.truncate(1), AssertionError);
    await run(fs, log.drain());
    assert.equal(await run(fs, log.truncate(1)), true);
  });

  test('a marker left by a crash is carried out by recovery before the log is read', async () => {
    const fs = newFs(29);
    await run(fs, fs.mkdirp(DIR));
    await run(fs, writeSnapshot(fs, DIR, new DataTree(false), new Map(), ''));
    await buildLog(fs, groups);
    fs.poke(`${DIR}/${truncationMarkerName(6)}`, Buffer.alloc(0));
    const warnings: string[] = [];
    const recovered = await run(
      fs,
      recover(fs, {
        snapDir: DIR,
        logDir: DIR,
        extendedTypesEnabled: false,
        maxEntryBytes: MAX_ENTRY,
        compression: '',
        warn: (m, d) => warnings.push(`${m} ${JSON.stringify(d)}`),
      }),
    );
    assert.equal(recovered.tree.lastProcessedZxid, 6);
    assert.deepEqual(logNames(fs), ['log.1', 'log.4']);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /truncation a crash interrupted.*"zxid":"0x6"/);
    assert.ok(!fs.describe().includes('txnlog-truncate'));
  });
});

describe('the committed window (ZooKeeper committedLog)', () => {
  const add = (log: CommittedLog, from: number, to: number): void => {
    for (let z = from; z <= to; z++) log.add(entry(z));
  };

  test('holds commitLogCount + 1 once full, as ZooKeeper 3.8 does; min and max follow', () => {
    const log = new CommittedLog(500);
    assert.equal(log.minZxid, 0);
    assert.equal(log.maxZxid, 0);
    add(log, 1, 501);
    assert.equal(log.size, 501);
    assert.equal(log.minZxid, 1);
    add(log, 502, 502);
    assert.equal(log.size, 501);
    assert.equal(log.minZxid, 2);
    assert.equal(log.maxZxid, 502);
    add(log, 503, 2000);
    assert.equal(log.size, 501);
    assert.equal(log.minZxid, 1500);
    assert.deepEqual(
      log.entries().map((e) => e.header.zxid),
      Array.from({ length: 501 }, (_, i) => 1500 + i),
    );
  });

  test('a count below 500 is raised to 500 (ZooKeeper refuses less); a larger one is kept', () => {
    const small = new CommittedLog(10);
    add(small, 1, 1000);
    assert.equal(small.size, 501);
    const large = new CommittedLog(2000);
    add(large, 1, 5000);
    assert.equal(large.size, 2001);
    assert.equal(large.minZxid, 3000);
  });

  test('after(z): the entries above z, oldest first, wherever the ring wrapped', () => {
    const log = new CommittedLog();
    add(log, 1, 700); // wrapped: holds 200..700
    assert.deepEqual(
      log.after(650).map((e) => e.header.zxid),
      Array.from({ length: 50 }, (_, i) => 651 + i),
    );
    assert.equal(log.after(100).length, 501);
    assert.equal(log.after(700).length, 0);
    assert.equal(log.after(199).length, 501);
    assert.equal(log.after(200).length, 500);
  });

  test('zxids must strictly increase; truncateAbove and clear', () => {
    const log = new CommittedLog();
    add(log, 1, 10);
    assert.throws(() => log.add(entry(10)), AssertionError);
    log.truncateAbove(7);
    assert.equal(log.maxZxid, 7);
    assert.equal(log.size, 7);
    log.add(entry(8));
    log.truncateAbove(0);
    assert.equal(log.size, 0);
    assert.equal(log.minZxid, 0);
    assert.equal(log.maxZxid, 0);
    add(log, 3, 4);
    assert.equal(log.minZxid, 3);
    log.clear();
    assert.deepEqual([log.size, log.minZxid, log.maxZxid], [0, 0, 0]);
  });

  test('fill: the txns the log replays after a zxid, the last 501 of them, as ZooKeeper loads them', async () => {
    const fs = newFs(30);
    const zxids = Array.from({ length: 700 }, (_, i) => i + 1);
    await buildLog(fs, [zxids.slice(0, 300), zxids.slice(300)], { preAllocBytes: 64 * 1024 });
    const window = new CommittedLog();
    await run(
      fs,
      TxnLogReader.open(fs, DIR, 50, { maxEntryBytes: MAX_ENTRY }).then((r) => window.fill(r)),
    );
    assert.equal(window.size, 501);
    assert.equal(window.minZxid, 200);
    assert.equal(window.maxZxid, 700);
    const sample = window.after(699)[0] as LoggedTxn | undefined;
    assert.deepEqual(sample?.txn, entry(700).txn);
  });
});
