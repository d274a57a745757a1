/**
 * The server as an operator sees it: four-letter words on the client port and the whitelist.
 * Output formats are Apache ZooKeeper 3.8's. (Signals, config errors and command-line flags of
 * our own process: zephyr-only/process.test.ts.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateMode } from '../../src/codec/index.js';
import { RawClient } from '../support/raw-client.js';
import { fourLetterWord, startServer, type ServerProcess } from '../support/server-process.js';
import { Wire } from './wire.js';

const TIMEOUT = { timeout: 30000 };

function hex(v: bigint): string {
  return `0x${BigInt.asUintN(64, v).toString(16)}`;
}

function field(text: string, re: RegExp): string {
  const m = re.exec(text);
  assert.ok(m !== null, `${re} in:\n${text}`);
  return m[1] ?? '';
}

describe('four-letter words (4lw.commands.whitelist=*)', { timeout: 60000 }, () => {
  let server: ServerProcess;
  let c: RawClient;
  let wire: Wire;
  const base = '/cli';

  before(async () => {
    server = await startServer({ config: { tickTime: '2000' } });
    c = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 30000, readOnly: false });
    assert.equal((await c.create(base, Buffer.from('x'))).err, 0);
    assert.equal((await c.create(`${base}/data`)).err, 0);
    assert.equal((await c.create(`${base}/eph`, null, { flags: CreateMode.EPHEMERAL })).err, 0);
    // Watches: a data watch, an exists watch on a missing node, and a child watch.
    assert.equal((await c.getData(`${base}/data`, true)).err, 0);
    assert.equal((await c.exists(`${base}/absent`, true)).err, -101);
    assert.equal((await c.getChildren(base, true)).err, 0);
    wire = (await Wire.connected(server.port)).wire;
  });
  after(async () => {
    c.destroy();
    wire.destroy();
    await server.stop();
  });

  test('ruok -> imok; isro -> rw', TIMEOUT, async () => {
    assert.equal(await fourLetterWord(server.port, 'ruok'), 'imok');
    assert.equal(await fourLetterWord(server.port, 'isro'), 'rw');
  });

  test('srvr and stat', TIMEOUT, async () => {
    const srvr = await fourLetterWord(server.port, 'srvr');
    assert.match(srvr, /^Zookeeper version: .+\n/);
    assert.match(srvr, /^Latency min\/avg\/max: \d+\/[\d.]+\/\d+$/m);
    assert.match(srvr, /^Mode: standalone$/m);
    assert.match(srvr, /^Zxid: 0x[0-9a-f]+$/m);
    assert.match(srvr, /^Outstanding: 0$/m);
    // /, /zookeeper, /zookeeper/quota, /zookeeper/config plus our three, and one more: ZooKeeper
    // counts its root twice (a fresh Apache ZooKeeper 3.8.0 says "Node count: 5").
    assert.equal(Number(field(srvr, /^Node count: (\d+)$/m)), 4 + 3 + 1);
    assert.ok(Number(field(srvr, /^Connections: (\d+)$/m)) >= 2);

    const stat = await fourLetterWord(server.port, 'stat');
    assert.match(stat, /^Zookeeper version: .+\nClients:\n/);
    const port = wire.socket.localPort ?? -1;
    assert.match(stat, new RegExp(`^ /127\\.0\\.0\\.1:${port}\\[1\\]\\(queued=\\d+,recved=\\d+,sent=\\d+\\)$`, 'm'));
    assert.match(stat, /^Mode: standalone$/m);
    assert.match(stat, /^Node count: \d+$/m);
  });

  test('conf shows clientPort, tickTime, the session bounds and dataDir', TIMEOUT, async () => {
    const conf = await fourLetterWord(server.port, 'conf');
    assert.match(conf, new RegExp(`^clientPort=${server.port}$`, 'm'));
    assert.match(conf, /^tickTime=2000$/m);
    assert.match(conf, /^minSessionTimeout=4000$/m);
    assert.match(conf, /^maxSessionTimeout=40000$/m);
    assert.ok(field(conf, /^dataDir=(.*)$/m).startsWith(server.dataDir), conf);
  });

  test('envi', TIMEOUT, async () => {
    const envi = await fourLetterWord(server.port, 'envi');
    assert.match(envi, /^Environment:\n/);
    assert.match(envi, /^zookeeper\.version=.+$/m);
    assert.match(envi, /^host\.name=.+$/m);
  });

  test('mntr', TIMEOUT, async () => {
    const mntr = await fourLetterWord(server.port, 'mntr');
    assert.match(mntr, /^zk_server_state\tstandalone$/m);
    assert.match(mntr, /^zk_version\t.+$/m);
    const srvr = await fourLetterWord(server.port, 'srvr');
    assert.equal(field(mntr, /^zk_znode_count\t(\d+)$/m), field(srvr, /^Node count: (\d+)$/m));
    assert.equal(field(mntr, /^zk_ephemerals_count\t(\d+)$/m), '1');
    // mntr counts data and child watches alike.
    assert.equal(field(mntr, /^zk_watch_count\t(\d+)$/m), '3');
    for (const line of mntr.trimEnd().split('\n')) assert.match(line, /^zk_\w+\t.*$/);
  });

  // ZooKeeper's wchs / wchc / wchp read the data-watch table only (getData and exists watches);
  // child watches are counted by mntr's zk_watch_count but not listed here.
  test('wchs summarises the data watches', TIMEOUT, async () => {
    assert.equal(await fourLetterWord(server.port, 'wchs'), '1 connections watching 2 paths\nTotal watches:2\n');
  });

  test('wchc lists watched paths by session', TIMEOUT, async () => {
    const wchc = await fourLetterWord(server.port, 'wchc');
    const lines = wchc.split('\n');
    assert.equal(lines[0], hex(c.sessionId));
    assert.deepEqual(lines.slice(1, 3).sort(), [`\t${base}/absent`, `\t${base}/data`]);
    assert.deepEqual(lines.slice(3), ['', ''], 'then a blank line, as ZooKeeper prints');
  });

  test('wchp lists sessions by watched path', TIMEOUT, async () => {
    const wchp = await fourLetterWord(server.port, 'wchp');
    const entries = wchp.split('\n');
    const byPath = new Map<string, string[]>();
    let current = '';
    for (const line of entries.filter((l) => l !== '')) {
      if (line.startsWith('\t')) byPath.get(current)?.push(line.slice(1));
      else byPath.set((current = line), []);
    }
    assert.deepEqual([...byPath.entries()].sort(), [
      [`${base}/absent`, [hex(c.sessionId)]],
      [`${base}/data`, [hex(c.sessionId)]],
    ]);
    assert.deepEqual(entries.slice(-2), ['', ''], 'then a blank line, as ZooKeeper prints');
  });

  // ZooKeeper keeps a connection's entry in its watch2Paths when its last watch fires (it is
  // dropped only when the connection closes or removes its watches), so wchs still counts that
  // connection and wchc lists its session with no paths: checked against ZooKeeper 3.8.0.
  test('a connection whose watches all fired is still counted by wchs and listed by wchc', TIMEOUT, async () => {
    const d = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 30000, readOnly: false });
    try {
      assert.equal((await d.getData(`${base}/eph`, true)).err, 0);
      assert.equal(await fourLetterWord(server.port, 'wchs'), '2 connections watching 3 paths\nTotal watches:3\n');
      assert.equal((await c.setData(`${base}/eph`, Buffer.from('y'))).err, 0);
      await d.waitForEvent((e) => e.path === `${base}/eph`);
      assert.equal(await fourLetterWord(server.port, 'wchs'), '2 connections watching 2 paths\nTotal watches:2\n');
      const wchc = await fourLetterWord(server.port, 'wchc');
      assert.ok(wchc.includes(`${hex(d.sessionId)}\n${hex(c.sessionId)}\n`) || wchc.endsWith(`${hex(d.sessionId)}\n\n`), wchc);
    } finally {
      await d.close();
    }
    assert.equal(await fourLetterWord(server.port, 'wchs'), '1 connections watching 2 paths\nTotal watches:2\n');
  });

  test('dump shows sessions and their ephemerals', TIMEOUT, async () => {
    const dump = await fourLetterWord(server.port, 'dump');
    assert.match(dump, /^SessionTracker dump:\n/);
    assert.ok(dump.includes(`\t${hex(c.sessionId)}\n`), dump);
    assert.match(dump, /^ephemeral nodes dump:$/m);
    assert.ok(dump.includes(`${hex(c.sessionId)}:\n\t${base}/eph\n`), dump);
  });

  test('dirs, crst and srst', TIMEOUT, async () => {
    assert.match(await fourLetterWord(server.port, 'dirs'), /^datadir_size: \d+\nlogdir_size: \d+\n$/);
    assert.equal(await fourLetterWord(server.port, 'crst'), 'Connection stats reset.\n');
    const before = Number(field(await fourLetterWord(server.port, 'srvr'), /^Received: (\d+)$/m));
    assert.ok(before >= 8, `received ${before} packets before srst`);
    assert.equal(await fourLetterWord(server.port, 'srst'), 'Server stats reset.\n');
    const afterReset = Number(field(await fourLetterWord(server.port, 'srvr'), /^Received: (\d+)$/m));
    assert.ok(afterReset < before, `Received ${afterReset} after srst, ${before} before`);
  });

  test('a four-letter word after the handshake is not a command: the connection is closed', TIMEOUT, async () => {
    const { wire: w } = await Wire.connected(server.port);
    w.send(Buffer.from('ruok'));
    assert.ok(await w.closedWithin(3000));
    assert.equal(w.frames.length, 1, 'only the ConnectResponse');
    // The session is unharmed elsewhere.
    assert.equal((await c.exists(base)).err, 0);
  });
});

describe('four-letter word whitelist (4lw.commands.whitelist=ruok)', { timeout: 30000 }, () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer({ config: { '4lw.commands.whitelist': 'ruok' } });
  });
  after(async () => {
    await server.stop();
  });

  test("listed words run, others are refused with ZooKeeper's message, srvr is always allowed", TIMEOUT, async () => {
    assert.equal(await fourLetterWord(server.port, 'ruok'), 'imok');
    for (const word of ['stat', 'conf', 'mntr', 'dump', 'wchs', 'envi']) {
      assert.equal(await fourLetterWord(server.port, word), `${word} is not executed because it is not in the whitelist.\n`);
    }
    assert.match(await fourLetterWord(server.port, 'srvr'), /^Zookeeper version: /);
  });
});
