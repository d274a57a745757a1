/**
 * Apache ZooKeeper 3.8.0 (Debian's `zookeeper` package) and the files of the ZAB log, both
 * ways: ZooKeeper's own persistence classes (ZabFiles.java: FileTxnLog's iterator,
 * getLastLoggedZxid, FileTxnSnapLog.restore, FileTxnLog.truncate), its TxnLogToolkit and its
 * servers (ZooKeeperServerMain; QuorumPeerMain as a one-voter ensemble, standaloneEnabled=false)
 * read what src/storage wrote, and src/storage reads what they wrote:
 *   - a log we truncated (inside a file, later files removed) and appended to in a new epoch;
 *   - a log ZooKeeper truncated, read back here (and ZooKeeper's own rule for a zxid it does
 *     not hold);
 *   - acceptedEpoch / currentEpoch we wrote: ZooKeeper starts on them and proposes
 *     acceptedEpoch + 1, or refuses them with the words QuorumEpochs.load uses; the files it
 *     writes read back here; missing files are derived alike;
 *   - neither standalone server writes epoch files.
 *
 *   npm run build && node --test dist/test/compat/zab-storage/    (needs java, javac, the package)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { JuteWriter, OpCode, writeTxn, type Txn, type TxnHeader } from '../../../src/codec/index.js';
import { OPEN_ACL_UNSAFE } from '../../../src/tree/index.js';
import { nodeFileSystem } from '../../../src/runtime/node-file-system.js';
import {
  ACCEPTED_EPOCH_FILE,
  CURRENT_EPOCH_FILE,
  lastLoggedZxid,
  QuorumEpochs,
  readEpochFile,
  recover,
  TxnLog,
  TxnLogReader,
  writeEpochFile,
} from '../../../src/storage/index.js';
import { RawClient } from '../../support/raw-client.js';
import { startServer } from '../../support/server-process.js';

const run = promisify(execFile);
const JARS = ['zookeeper.jar', 'zookeeper-jute.jar'].map((j) => path.join('/usr/share/java', j));
const SERVER_JARS = [...JARS, '/usr/share/java/log4j-1.2.jar', '/usr/share/java/slf4j-log4j12.jar'];
const SOURCE = fileURLToPath(new URL('../../../../test/compat/zab-storage/ZabFiles.java', import.meta.url));
const MAX_ENTRY = 0xfffff + 1024 * 1024;
const S1 = 0x0100000000000001n;
const zxidOf = (epoch: number, counter: number): number => epoch * 2 ** 32 + counter;
const hex = (z: number): string => z.toString(16);

let work = '';
let classes = '';
const children = new Set<ChildProcess>();

before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'zab-storage-compat-'));
  classes = path.join(work, 'classes');
  mkdirSync(classes);
  await run('javac', ['-nowarn', '-cp', JARS.join(':'), '-d', classes, SOURCE], { timeout: 60_000 });
});

after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

async function zabFiles(...args: string[]): Promise<string[]> {
  const cp = [classes, ...JARS, '/usr/share/java/slf4j-nop.jar'].join(':');
  const { stdout } = await run('java', ['-Xmx256m', '-XX:+UseSerialGC', '-cp', cp, 'ZabFiles', ...args], { timeout: 60_000 });
  return stdout.split('\n').filter((l) => l !== '');
}

function entry(zxid: number): { header: TxnHeader; txn: Txn } {
  return {
    header: { clientId: S1, cxid: zxid % 1000, zxid, time: 1_700_000_000_000 + (zxid % 1000), type: OpCode.create },
    txn: {
      type: OpCode.create,
      path: `/n-${hex(zxid)}`,
      data: Buffer.from(`v${hex(zxid)}`),
      acl: [...OPEN_ACL_UNSAFE],
      ephemeral: false,
      parentCVersion: -1,
    },
  };
}

function encoded(txn: Txn): Buffer {
  const w = new JuteWriter(64);
  writeTxn(w, txn);
  return Buffer.from(w.toBuffer());
}

/** Every zxid of the history these tests log: three files, two epochs. */
const FILES = [[1, 2, 3, 4, 5].map((c) => zxidOf(1, c)), [6, 7, 8, 9].map((c) => zxidOf(1, c)), [1, 2, 3, 4].map((c) => zxidOf(2, c))];

/** A fresh dataDir (snapshot.0, as a first start writes it) whose log holds `files`; returns its TxnLog. */
async function dataDirWith(name: string, files: number[][]): Promise<{ dataDir: string; versionDir: string; log: TxnLog }> {
  const dataDir = path.join(work, name);
  const versionDir = path.join(dataDir, 'version-2');
  const o = {
    snapDir: versionDir,
    logDir: versionDir,
    extendedTypesEnabled: false,
    maxEntryBytes: MAX_ENTRY,
    compression: '' as const,
    warn: () => undefined,
  };
  await recover(nodeFileSystem, o);
  const log = new TxnLog(nodeFileSystem, versionDir, { preAllocBytes: 64 * 1024, forceSync: true, maxEntryBytes: MAX_ENTRY }, (e) => {
    throw e;
  });
  await append(log, files);
  return { dataDir, versionDir, log };
}

/** One file per group; every other txn goes in as an encoded body, as a follower logs a PROPOSAL. */
async function append(log: TxnLog, files: number[][]): Promise<void> {
  for (const zxids of files) {
    log.roll();
    for (const z of zxids) {
      const { header, txn } = entry(z);
      log.append(header, z % 2 === 0 ? encoded(txn) : txn, { durable: () => undefined });
    }
    await log.drain();
  }
}

async function ourZxids(versionDir: string): Promise<number[]> {
  const reader = await TxnLogReader.open(nodeFileSystem, versionDir, -1, { maxEntryBytes: MAX_ENTRY });
  const out: number[] = [];
  for (let s = await reader.next(); s.length > 0; s = await reader.next()) out.push(...s.map((t) => t.header.zxid));
  return out;
}

const logNames = (versionDir: string): string[] =>
  readdirSync(versionDir)
    .filter((n) => n.startsWith('log.'))
    .sort((a, b) => parseInt(a.slice(4), 16) - parseInt(b.slice(4), 16));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function fourLetter(port: number, word: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let out = '';
    socket.setTimeout(2000, () => socket.destroy());
    socket.on('connect', () => socket.write(word));
    socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
    socket.on('close', () => resolve(out));
    socket.on('error', () => resolve(''));
  });
}

interface Zk {
  port: number;
  output: () => string;
  exited: Promise<number | null>;
  /** `srvr` once the server serves (a Zxid line), or null if it exited first. */
  serving: Promise<string | null>;
  stop: () => Promise<void>;
}

/** Apache ZooKeeper on `dataDir`: ZooKeeperServerMain, or QuorumPeerMain as the one voter of an ensemble. */
async function startZk(dataDir: string, mode: 'standalone' | 'quorum'): Promise<Zk> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(work, 'zk-'));
  const cfg = [
    `tickTime=2000`,
    `initLimit=10`,
    `syncLimit=5`,
    `dataDir=${dataDir}`,
    `clientPort=${port}`,
    'clientPortAddress=127.0.0.1',
    'admin.enableServer=false',
    '4lw.commands.whitelist=*',
  ];
  if (mode === 'quorum') {
    cfg.push('standaloneEnabled=false', `server.1=127.0.0.1:${await freePort()}:${await freePort()}`);
    writeFileSync(path.join(dataDir, 'myid'), '1\n');
  }
  writeFileSync(path.join(dir, 'zoo.cfg'), cfg.join('\n') + '\n');
  writeFileSync(
    path.join(dir, 'log4j.properties'),
    'log4j.rootLogger=INFO, OUT\nlog4j.appender.OUT=org.apache.log4j.ConsoleAppender\nlog4j.appender.OUT.layout=org.apache.log4j.PatternLayout\nlog4j.appender.OUT.layout.ConversionPattern=%-5p %m%n\n',
  );
  const main = mode === 'quorum' ? 'org.apache.zookeeper.server.quorum.QuorumPeerMain' : 'org.apache.zookeeper.server.ZooKeeperServerMain';
  const proc = spawn(
    'java',
    [
      '-Xmx256m',
      '-XX:+UseSerialGC',
      `-Dlog4j.configuration=file:${dir}/log4j.properties`,
      '-cp',
      SERVER_JARS.join(':'),
      main,
      path.join(dir, 'zoo.cfg'),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.add(proc);
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const state = { gone: false };
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      state.gone = true;
      children.delete(proc);
      resolve(code);
    }),
  );
  const serving = (async (): Promise<string | null> => {
    for (let i = 0; i < 300 && !state.gone; i++) {
      const srvr = await fourLetter(port, 'srvr');
      if (/^Zxid: /m.test(srvr)) return srvr;
      await new Promise((r) => setTimeout(r, 100));
    }
    return null;
  })();
  const stop = async (): Promise<void> => {
    if (!state.gone) proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return { port, output: () => out, exited, serving, stop };
}

const srvrZxid = (srvr: string | null): string | undefined => /^Zxid: 0x([0-9a-f]+)$/m.exec(srvr ?? '')?.[1];
const expectedChildren = (zxids: number[]): string[] => [...zxids.map((z) => `n-${hex(z)}`), 'zookeeper'].sort();

test('Apache ZooKeeper reads a log we truncated inside a file and then appended to in a new epoch', { timeout: 180_000 }, async () => {
  const { dataDir, versionDir, log } = await dataDirWith('ours-truncated', FILES);
  const at = zxidOf(1, 7);
  assert.equal(await log.truncate(at), true);
  const more = [zxidOf(3, 1), zxidOf(3, 2)];
  await append(log, [more]);
  await log.close();
  const expected = [...FILES.flat().filter((z) => z <= at), ...more];
  assert.deepEqual(logNames(versionDir), ['log.100000001', 'log.100000006', 'log.300000001']);
  assert.deepEqual(await ourZxids(versionDir), expected);

  assert.deepEqual(
    await zabFiles('log', versionDir),
    [...expected.map((z) => `zxid ${hex(z)}`), `last ${hex(zxidOf(3, 2))}`],
    "FileTxnLog's iterator and getLastLoggedZxid",
  );
  assert.deepEqual(
    await zabFiles('restore', dataDir),
    [`restored ${hex(zxidOf(3, 2))}`, ...expectedChildren(expected).map((c) => `child ${c}`)],
    'FileTxnSnapLog.restore',
  );
  const perFile = { 'log.100000001': 5, 'log.100000006': 2, 'log.300000001': 2 };
  for (const [name, count] of Object.entries(perFile)) {
    const { stdout } = await run(
      'java',
      [
        '-cp',
        [...JARS, '/usr/share/java/slf4j-nop.jar'].join(':'),
        'org.apache.zookeeper.server.persistence.TxnLogToolkit',
        '-d',
        path.join(versionDir, name),
      ],
      { timeout: 60_000 },
    );
    assert.match(stdout, new RegExp(`EOF reached after ${count} txns\\.`), `TxnLogToolkit on ${name}:\n${stdout}`);
  }

  const zk = await startZk(dataDir, 'standalone');
  try {
    const srvr = await zk.serving;
    assert.equal(srvrZxid(srvr), hex(zxidOf(3, 2)), zk.output());
    const client = await RawClient.connect({ host: '127.0.0.1', port: zk.port, timeoutMs: 10_000 });
    try {
      assert.deepEqual((await client.getChildren('/')).children?.sort(), expectedChildren(expected));
    } finally {
      await client.close();
    }
  } finally {
    await zk.stop();
  }
});

test(
  'we read a log Apache ZooKeeper truncated; to a zxid it does not hold, ZooKeeper keeps the first txn above it',
  { timeout: 120_000 },
  async () => {
    const held = await dataDirWith('zk-truncated-held', FILES);
    await held.log.close();
    assert.deepEqual(await zabFiles('truncate', held.versionDir, hex(zxidOf(1, 7))), ['truncated true']);
    assert.deepEqual(
      await ourZxids(held.versionDir),
      FILES.flat().filter((z) => z <= zxidOf(1, 7)),
    );
    assert.equal(await lastLoggedZxid(nodeFileSystem, held.versionDir, MAX_ENTRY), zxidOf(1, 7));
    assert.deepEqual(logNames(held.versionDir), ['log.100000001', 'log.100000006']);

    // Between the epochs: ZooKeeper's iterator stops on the first txn at or above the zxid and cuts after it.
    const between = await dataDirWith('zk-truncated-between', FILES);
    await between.log.close();
    const copy = path.join(work, 'ours-truncated-between');
    cpSync(between.dataDir, copy, { recursive: true });
    assert.deepEqual(await zabFiles('truncate', between.versionDir, hex(zxidOf(2, 0))), ['truncated true']);
    assert.deepEqual(await ourZxids(between.versionDir), [...FILES.flat().filter((z) => z < zxidOf(2, 0)), zxidOf(2, 1)]);
    // ours cuts every txn above the zxid
    const ours = new TxnLog(nodeFileSystem, path.join(copy, 'version-2'), { preAllocBytes: 4096, forceSync: true }, (e) => {
      throw e;
    });
    assert.equal(await ours.truncate(zxidOf(2, 0)), true);
    assert.deepEqual(
      await ourZxids(path.join(copy, 'version-2')),
      FILES.flat().filter((z) => z < zxidOf(2, 0)),
    );
    assert.deepEqual(await zabFiles('log', path.join(copy, 'version-2')), [
      ...FILES.flat()
        .filter((z) => z < zxidOf(2, 0))
        .map((z) => `zxid ${hex(z)}`),
      `last ${hex(zxidOf(1, 9))}`,
    ]);
  },
);

test(
  'Apache ZooKeeper starts on epoch files we wrote, proposes acceptedEpoch + 1, and we read the files it wrote',
  { timeout: 120_000 },
  async () => {
    const { dataDir, versionDir, log } = await dataDirWith('epochs', FILES);
    await log.close();
    await writeEpochFile(nodeFileSystem, versionDir, ACCEPTED_EPOCH_FILE, 5);
    await writeEpochFile(nodeFileSystem, versionDir, CURRENT_EPOCH_FILE, 4);
    assert.equal(readFileSync(path.join(versionDir, ACCEPTED_EPOCH_FILE), 'latin1'), '5');
    assert.ok(!readdirSync(versionDir).some((n) => n.endsWith('.tmp')));
    const zk = await startZk(dataDir, 'quorum');
    try {
      const srvr = await zk.serving;
      assert.match(srvr ?? '', /^Mode: leader$/m, zk.output());
      assert.equal(srvrZxid(srvr), hex(zxidOf(6, 0)), 'the new epoch is the accepted one + 1');
    } finally {
      await zk.stop();
    }
    assert.equal(await readEpochFile(nodeFileSystem, versionDir, ACCEPTED_EPOCH_FILE), 6);
    assert.equal(await readEpochFile(nodeFileSystem, versionDir, CURRENT_EPOCH_FILE), 6);
    const epochs = await QuorumEpochs.load(nodeFileSystem, versionDir, zxidOf(6, 0));
    assert.deepEqual([epochs.acceptedEpoch, epochs.currentEpoch], [6, 6]);
  },
);

test('epoch files that disagree: Apache ZooKeeper refuses them with the words QuorumEpochs.load uses', { timeout: 120_000 }, async () => {
  const cases = [
    { name: 'accepted-below-current', accepted: 3, current: 4, words: 'The accepted epoch, 3 is less than the current epoch, 4' },
    // With accepted 2 (the log's epoch) ZooKeeper refuses too, and we accept: see QuorumEpochs.load.
    {
      name: 'current-older-than-log',
      accepted: 1,
      current: 1,
      words: `The current epoch, 1, is older than the last zxid, ${zxidOf(2, 4)}`,
    },
  ];
  for (const c of cases) {
    const { dataDir, versionDir, log } = await dataDirWith(c.name, FILES);
    await log.close();
    await writeEpochFile(nodeFileSystem, versionDir, ACCEPTED_EPOCH_FILE, c.accepted);
    await writeEpochFile(nodeFileSystem, versionDir, CURRENT_EPOCH_FILE, c.current);
    await assert.rejects(QuorumEpochs.load(nodeFileSystem, versionDir, zxidOf(2, 4)), { message: c.words });
    const zk = await startZk(dataDir, 'quorum');
    try {
      assert.equal(await zk.serving, null, `${c.name}: ZooKeeper should not serve`);
      assert.notEqual(await zk.exited, 0);
      assert.ok(zk.output().includes(c.words), `${c.name}: ZooKeeper's output lacks "${c.words}":\n${zk.output()}`);
    } finally {
      await zk.stop();
    }
  }
});

test('missing epoch files: Apache ZooKeeper and QuorumEpochs.load both take the last zxid epoch', { timeout: 120_000 }, async () => {
  const { dataDir, versionDir, log } = await dataDirWith('no-epochs', FILES);
  await log.close();
  const ourCopy = path.join(work, 'no-epochs-ours');
  cpSync(versionDir, ourCopy, { recursive: true });
  const epochs = await QuorumEpochs.load(nodeFileSystem, ourCopy, zxidOf(2, 4));
  assert.deepEqual([epochs.acceptedEpoch, epochs.currentEpoch], [2, 2]);
  const zk = await startZk(dataDir, 'quorum');
  try {
    const srvr = await zk.serving;
    assert.equal(srvrZxid(srvr), hex(zxidOf(3, 0)), zk.output());
    for (const name of [CURRENT_EPOCH_FILE, ACCEPTED_EPOCH_FILE]) {
      assert.ok(zk.output().includes(`${name} not found! Creating with a reasonable default of 2.`), zk.output());
    }
  } finally {
    await zk.stop();
  }
});

test('neither standalone server writes epoch files', { timeout: 120_000 }, async () => {
  const zkDir = path.join(work, 'standalone-zk');
  mkdirSync(zkDir);
  const zk = await startZk(zkDir, 'standalone');
  try {
    assert.ok((await zk.serving) !== null, zk.output());
    const client = await RawClient.connect({ host: '127.0.0.1', port: zk.port, timeoutMs: 10_000 });
    assert.equal((await client.create('/w', Buffer.from('x'))).err, 0);
    await client.close();
  } finally {
    await zk.stop();
  }
  const ours = await startServer({ config: { dataDir: path.join(work, 'standalone-zephyr') } });
  try {
    const client = await RawClient.connect({ host: ours.host, port: ours.port, timeoutMs: 10_000 });
    assert.equal((await client.create('/w', Buffer.from('x'))).err, 0);
    await client.close();
  } finally {
    await ours.stop();
  }
  for (const dir of [path.join(zkDir, 'version-2'), path.join(work, 'standalone-zephyr', 'version-2')]) {
    const names = readdirSync(dir);
    assert.ok(
      names.some((n) => n.startsWith('log.')),
      `${dir}: ${names.join(' ')}`,
    );
    assert.deepEqual(
      names.filter((n) => /Epoch/.test(n)),
      [],
      dir,
    );
  }
});
