/**
 * Damaged data directories, made with real files: a dataDir is filled by the real server (low
 * snapCount, so there are several snapshots and log files), killed, copied per case and then
 * damaged on disk before the next start.
 *
 *   (a) a torn last record (truncated mid-record, or a partial record appended) is cut off
 *       with a warning and everything before it is served;
 *   (b) damage followed by valid records stops start-up (non-zero exit, file and offset named)
 *       and leaves the files byte-for-byte as they were;
 *   (c) a damaged newest snapshot falls back to an older one plus the logs after it;
 *   (d) logs without any snapshot refuse to start;
 *   (e) an empty dataDir starts and writes snapshot.0.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { OpCode } from '../../src/codec/index.js';
import { RawClient } from '../support/raw-client.js';
import { logFiles, snapshotFiles, startOn, versionDir } from '../support/data-dir.js';
import { runServerToExit, type ServerProcess } from '../support/server-process.js';
import { fingerprint, logLines, scanLog, tempDir, type ScannedRecord } from './fault-support.js';

const CONFIG = { snapCount: '50', preAllocSize: '64' };
const T = { timeout: 30000 };

/** One acknowledged write: the model replays these to get the expected tree at any zxid. */
interface AckedWrite {
  zxid: number;
  path: string;
  data: string;
}

/** The expected content of /c (child name -> data) after every write with zxid < `below`. */
function stateBelow(writes: readonly AckedWrite[], below = Infinity): Map<string, string> {
  const out = new Map<string, string>();
  for (const w of writes) if (w.zxid < below) out.set(w.path, w.data);
  return out;
}

async function connect(s: ServerProcess): Promise<RawClient> {
  return RawClient.connect({ host: s.host, port: s.port, timeoutMs: 30000 });
}

/** Checks that /c holds exactly `expected` (every node, its data, and no others). */
async function assertServes(s: ServerProcess, expected: Map<string, string>, what: string): Promise<void> {
  const c = await connect(s);
  try {
    const kids = await c.getChildren('/c');
    assert.equal(kids.err, 0, `${what}: getChildren /c`);
    const want = [...expected.keys()].map((p) => p.slice('/c/'.length)).sort();
    assert.deepEqual([...(kids.children ?? [])].sort(), want, `${what}: children of /c`);
    const reads = await Promise.all([...expected.keys()].map((p) => c.getData(p)));
    let i = 0;
    for (const [p, data] of expected) {
      const r = reads[i++];
      assert.equal(r?.err, 0, `${what}: ${p} missing`);
      assert.equal(r.data?.toString('utf8'), data, `${what}: data of ${p}`);
    }
  } finally {
    c.destroy();
  }
}

/** The records of a log file (which must be intact up to its end). */
function recordsOf(file: string): ScannedRecord[] {
  return scanLog(readFileSync(file));
}

function copyDataDir(from: string, label: string): string {
  const to = tempDir(`corrupt-${label}`);
  cpSync(from, to, { recursive: true });
  return to;
}

function flipByte(file: string, offset: number): void {
  const buf = readFileSync(file);
  assert.ok(offset >= 0 && offset < buf.length, `offset ${offset} inside ${file} (${buf.length} bytes)`);
  buf[offset] = (buf[offset] ?? 0) ^ 0xff;
  writeFileSync(file, buf);
}

describe('recovery from damaged data files', { timeout: 120000 }, () => {
  /** A dataDir written by a server that was then killed with SIGKILL; every case works on a copy. */
  let pristine: string;
  const writes: AckedWrite[] = [];
  const dirs: string[] = [];

  before(async () => {
    pristine = tempDir('pristine');
    dirs.push(pristine);
    const s = await startOn(pristine, CONFIG);
    try {
      const c = await connect(s);
      assert.equal((await c.create('/c', Buffer.from(''))).err, 0);
      let n = 0;
      const batch = async (count: number): Promise<void> => {
        // Pipelined, so several txns share a group commit; a third of them overwrite older nodes.
        const ops: Array<Promise<void>> = [];
        for (let i = 0; i < count; i++) {
          const k = n++;
          const overwrite = k > 10 && k % 3 === 0;
          const p = overwrite ? `/c/n${k % 10}` : `/c/n${k}`;
          const data = `value-${k}-${'x'.repeat(k % 40)}`;
          const sent = overwrite ? c.setData(p, Buffer.from(data)) : c.create(p, Buffer.from(data));
          ops.push(
            sent.then((r) => {
              assert.equal(r.err, 0, `write ${k} to ${p}`);
              writes.push({ zxid: r.zxid, path: p, data });
            }),
          );
        }
        await Promise.all(ops);
      };
      // Small pipelined batches: with everything sent at once, group commit puts the whole load in
      // one or two fsyncs and the snapshot triggers collapse into one; this way there are several.
      for (let b = 0; b < 30; b++) await batch(10);
      // The newest log must hold enough records to damage one in its middle, and end with a
      // create, so cutting its last record off is visible as a missing node. A create can itself
      // roll the log (snapCount is small), so create until both hold.
      for (let i = 0; ; i++) {
        const path = `/c/last-${i}`;
        const last = await c.create(path, Buffer.from('last'));
        assert.equal(last.err, 0);
        writes.push({ zxid: last.zxid, path, data: 'last' });
        const records = recordsOf(logFiles(pristine).at(-1)?.path ?? '');
        if (records.length >= 8 && records.at(-1)?.zxid === last.zxid) break;
      }
      writes.sort((a, b) => a.zxid - b.zxid);
    } finally {
      await s.kill9();
    }
    assert.ok(
      snapshotFiles(pristine).length >= 3,
      `several snapshots: ${snapshotFiles(pristine)
        .map((f) => f.name)
        .join(' ')}`,
    );
    assert.ok(
      logFiles(pristine).length >= 3,
      `several logs: ${logFiles(pristine)
        .map((f) => f.name)
        .join(' ')}`,
    );
  });

  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function copy(label: string): string {
    const d = copyDataDir(pristine, label);
    dirs.push(d);
    return d;
  }

  test('the undamaged copy serves every acknowledged write', T, async () => {
    const d = copy('control');
    const s = await startOn(d, CONFIG);
    try {
      await assertServes(s, stateBelow(writes), 'control');
      assert.ok(!s.output().includes('"level":40'), `no warnings on a clean start:\n${s.output()}`);
    } finally {
      await s.kill9();
    }
  });

  /** Starts on a dataDir whose last log record was torn at `tornAt`, and checks warning + data. */
  async function expectTornTailRecovered(d: string, tornAt: number, expected: Map<string, string>, label: string): Promise<void> {
    const lastLog = logFiles(d).at(-1);
    assert.ok(lastLog !== undefined);
    const s = await startOn(d, CONFIG);
    try {
      const warn = logLines(s.output()).find((l) => typeof l['msg'] === 'string' && /torn txn log tail/.test(l['msg']));
      assert.ok(warn !== undefined, `a truncation warning in the output:\n${s.output()}`);
      assert.equal(warn['level'], 40, 'logged as a warning');
      assert.equal(warn['file'], lastLog.path, 'the warning names the log file');
      assert.equal(warn['offset'], tornAt, 'the warning names the offset of the torn record');
      await assertServes(s, expected, label);
      // The server keeps working, and what it writes now survives another restart.
      const c = await connect(s);
      const after = await c.create('/c/after', Buffer.from('after'));
      assert.equal(after.err, 0);
      c.destroy();
    } finally {
      await s.kill9();
    }
    const again = await startOn(d, CONFIG);
    try {
      assert.ok(!/torn txn log tail/.test(again.output()), 'the torn tail was cut off for good');
      await assertServes(again, new Map([...expected, ['/c/after', 'after']]), `${label}, second restart`);
    } finally {
      await again.kill9();
    }
  }

  test('(a) a last log truncated in the middle of its last record: warns, truncates, serves all before it', T, async () => {
    const d = copy('torn');
    const lastLog = logFiles(d).at(-1);
    assert.ok(lastLog !== undefined);
    const records = recordsOf(lastLog.path);
    const last = records.at(-1);
    assert.ok(last !== undefined);
    const lastWrite = writes.at(-1);
    assert.equal(last.zxid, lastWrite?.zxid, 'the last record is the last acknowledged create');
    truncateSync(lastLog.path, last.offset + 12 + Math.floor(last.len / 2));
    await expectTornTailRecovered(d, last.offset, stateBelow(writes, last.zxid), 'torn mid-record');
  });

  test('(a) a partial record appended after the last one (in the preallocated zeros): warns, truncates, serves everything', T, async () => {
    const d = copy('garbage');
    const lastLog = logFiles(d).at(-1);
    assert.ok(lastLog !== undefined);
    const records = recordsOf(lastLog.path);
    const last = records.at(-1);
    assert.ok(last !== undefined);
    // A record that was being written when the process died: checksum, a length, 60 of its bytes.
    const partial = Buffer.alloc(12 + 60);
    partial.writeUInt32BE(0, 0);
    partial.writeUInt32BE(0x1234abcd, 4);
    partial.writeInt32BE(120, 8);
    for (let i = 12; i < partial.length; i++) partial[i] = (i * 37 + 11) & 0xff || 1;
    const buf = readFileSync(lastLog.path);
    assert.ok(buf.length >= last.end + partial.length, 'the log is preallocated past its last record');
    partial.copy(buf, last.end);
    writeFileSync(lastLog.path, buf);
    await expectTornTailRecovered(d, last.end, stateBelow(writes), 'partial record appended');
  });

  test(
    '(b) a flipped byte in a log record followed by valid records: start-up fails naming file and offset, files untouched',
    T,
    async () => {
      const d = copy('flip');
      const lastLog = logFiles(d).at(-1);
      assert.ok(lastLog !== undefined);
      const records = recordsOf(lastLog.path);
      assert.ok(records.length >= 3);
      const victim = records[Math.floor(records.length / 2)];
      assert.ok(victim !== undefined);
      flipByte(lastLog.path, victim.offset + 12 + Math.floor(victim.len / 2));
      const before = fingerprint(d);
      const r = await runServerToExit({ config: { dataDir: d, ...CONFIG } }, 15000);
      assert.equal(r.timedOut, false, `the server must refuse to start, not serve:\n${r.output}`);
      assert.notEqual(r.code, 0, `non-zero exit:\n${r.output}`);
      assert.ok(r.output.includes(lastLog.path), `the message names ${lastLog.path}:\n${r.output}`);
      assert.match(r.output, new RegExp(`offset ${victim.offset}\\b`), `the message names offset ${victim.offset}`);
      assert.deepEqual(fingerprint(d), before, 'files left byte-for-byte untouched (nothing truncated, no snapshot written)');
    },
  );

  test('(b) damage in a log that is not the last one (older snapshot in use): start-up fails naming that file', T, async () => {
    const d = copy('flip-mid');
    // Keep only the oldest snapshot (snapshot.0), so recovery reads every log from the first on.
    const snaps = snapshotFiles(d);
    for (const s of snaps.slice(1)) unlinkSync(s.path);
    const logs = logFiles(d);
    const target = logs.find((l, i) => i < logs.length - 1 && recordsOf(l.path).length >= 3);
    assert.ok(target !== undefined, 'a non-last log with records');
    const records = recordsOf(target.path);
    const victim = records[1];
    assert.ok(victim !== undefined);
    flipByte(target.path, victim.offset + 12 + Math.floor(victim.len / 2));
    const before = fingerprint(d);
    const r = await runServerToExit({ config: { dataDir: d, ...CONFIG } }, 15000);
    assert.equal(r.timedOut, false, `the server must refuse to start:\n${r.output}`);
    assert.notEqual(r.code, 0);
    assert.ok(r.output.includes(target.path), `the message names ${target.path}:\n${r.output}`);
    assert.match(r.output, new RegExp(`offset ${victim.offset}\\b`));
    assert.deepEqual(fingerprint(d), before, 'files left byte-for-byte untouched');
  });

  for (const damage of ['flip a byte in the middle', 'flip a byte in the checksum seal', 'truncate to half'] as const) {
    test(`(c) newest snapshot damaged (${damage}): starts from the older snapshot + logs and serves everything`, T, async () => {
      const d = copy('snap');
      const snaps = snapshotFiles(d);
      assert.ok(snaps.length >= 2);
      const newest = snaps.at(-1);
      const older = snaps.at(-2);
      assert.ok(newest !== undefined && older !== undefined);
      // The logs needed from the older snapshot on are all there.
      const logs = logFiles(d);
      assert.ok(
        logs.some((l) => l.zxid <= older.zxid + 1),
        `a log covering the txns after ${older.name}: ${logs.map((l) => l.name).join(' ')}`,
      );
      const size = readFileSync(newest.path).length;
      if (damage === 'truncate to half') truncateSync(newest.path, Math.floor(size / 2));
      else flipByte(newest.path, damage === 'flip a byte in the middle' ? Math.floor(size / 2) : size - 8);
      const s = await startOn(d, CONFIG);
      try {
        const warn = logLines(s.output()).find((l) => typeof l['msg'] === 'string' && /invalid snapshot/.test(l['msg']));
        assert.ok(warn !== undefined, `a warning about the skipped snapshot:\n${s.output()}`);
        assert.equal(warn['file'], newest.path);
        const recovered = logLines(s.output()).find((l) => l['msg'] === 'data recovered');
        assert.equal(recovered?.['snapshot'], older.name, 'recovered from the older snapshot');
        assert.equal(recovered['zxid'], writes.at(-1)?.zxid, 'replayed up to the last acknowledged txn');
        await assertServes(s, stateBelow(writes), `newest snapshot damaged (${damage})`);
      } finally {
        await s.kill9();
      }
    });
  }

  test('(d) txn logs but no snapshot: refuses to start with a clear message, files untouched', T, async () => {
    const d = copy('nosnap');
    for (const s of snapshotFiles(d)) unlinkSync(s.path);
    assert.ok(logFiles(d).length > 0);
    const before = fingerprint(d);
    const r = await runServerToExit({ config: { dataDir: d, ...CONFIG } }, 15000);
    assert.equal(r.timedOut, false, `the server must refuse to start:\n${r.output}`);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /has txn logs but .* has no snapshot/, r.output);
    assert.ok(r.output.includes(versionDir(d)), 'the message names the directory');
    assert.deepEqual(fingerprint(d), before, 'files left byte-for-byte untouched');
  });

  test('(e) an empty dataDir: starts and writes snapshot.0; a missing one is created', T, async () => {
    for (const kind of ['empty', 'missing'] as const) {
      const root = tempDir('empty');
      dirs.push(root);
      const d = kind === 'empty' ? root : path.join(root, 'not', 'there', 'yet');
      if (kind === 'empty') mkdirSync(d, { recursive: true });
      const s = await startOn(d, CONFIG);
      try {
        const snap0 = path.join(versionDir(d), 'snapshot.0');
        assert.ok(existsSync(snap0), `${kind}: snapshot.0 written`);
        assert.equal(readFileSync(snap0).readUInt32BE(0), 0x5a4b534e, 'snapshot magic "ZKSN"');
        assert.deepEqual(
          logFiles(d).map((l) => l.name),
          [],
          'no log before the first txn',
        );
        const c = await connect(s);
        const r = await c.create('/c', Buffer.from('first'));
        assert.equal(r.err, 0);
        c.destroy();
        // The first txn went into a log named after its zxid.
        const first = logFiles(d)[0];
        assert.ok(first !== undefined);
        assert.ok(recordsOf(first.path).some((rec) => rec.zxid === r.zxid && rec.type === OpCode.create));
      } finally {
        await s.kill9();
      }
      const again = await startOn(d, CONFIG);
      try {
        const c = await connect(again);
        const r = await c.getData('/c');
        assert.equal(r.data?.toString(), 'first', `${kind}: the first write survived a restart`);
        c.destroy();
      } finally {
        await again.kill9();
      }
    }
  });
});
