/**
 * Hostile and broken input against the real server process: oversized, negative and truncated
 * frames, undecodable bodies, unknown opcodes, requests before the handshake, junk instead of a
 * four-letter word, the per-IP connection limit, and a client that pipelines large reads without
 * reading. After each case the server must still be up and an innocent, already-connected
 * client (and its session) must be unaffected.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateMode, ErrorCode, JuteReader, OpCode, readReplyHeader, readStat } from '../../src/codec/index.js';
import { RawClient, RawClientError, type ConnectOptions } from '../support/raw-client.js';
import { fourLetterWord, sleep, startServer, waitFor, type ServerProcess } from '../support/server-process.js';
import { Wire, frame } from './wire.js';

const TIMEOUT = { timeout: 30000 };

function connectTo(server: ServerProcess, opts: Partial<ConnectOptions> = {}): Promise<RawClient> {
  return RawClient.connect({ host: server.host, port: server.port, timeoutMs: 30000, readOnly: false, ...opts });
}

function getDataFrame(xid: number, path: string): Buffer {
  return frame((w) => w.writeInt(xid).writeInt(OpCode.getData).writeString(path).writeBool(false));
}

describe('malformed input (jute.maxbuffer=4096)', { timeout: 60000 }, () => {
  let server: ServerProcess;
  let bystander: RawClient;
  let checks = 0;
  const wires: Wire[] = [];
  const clients: RawClient[] = [];

  async function wire(): Promise<Wire> {
    const w = await Wire.open(server.port);
    wires.push(w);
    return w;
  }
  async function session(): Promise<Wire> {
    const { wire: w } = await Wire.connected(server.port);
    wires.push(w);
    return w;
  }
  async function raw(): Promise<RawClient> {
    const c = await connectTo(server);
    clients.push(c);
    return c;
  }

  /** The server is up, answers ruok, and the bystander's session and connection work as before. */
  async function assertUnharmed(label: string): Promise<void> {
    assert.ok(server.alive(), `${label}: the server process is still running`);
    assert.equal(await fourLetterWord(server.port, 'ruok'), 'imok', `${label}: ruok`);
    assert.equal(bystander.isClosed, false, `${label}: the bystander's connection is open`);
    const mark = `${label} #${++checks}`;
    const set = await bystander.setData('/bystander', Buffer.from(mark));
    assert.equal(set.err, 0, `${label}: bystander setData`);
    const got = await bystander.getData('/bystander');
    assert.equal(got.data?.toString(), mark);
    const eph = await bystander.exists('/bystander/eph');
    assert.equal(eph.err, 0, `${label}: the bystander's ephemeral still exists`);
    assert.equal(eph.stat?.ephemeralOwner, bystander.sessionId);
    const fresh = await connectTo(server);
    assert.equal((await fresh.getData('/bystander')).data?.toString(), mark, `${label}: a new client sees the bystander's write`);
    assert.equal((await fresh.close()).err, 0);
  }

  before(async () => {
    server = await startServer({ config: { 'jute.maxbuffer': '4096' } });
    bystander = await connectTo(server, { timeoutMs: 20000, keepAliveMs: 2000 });
    assert.equal((await bystander.create('/bystander')).err, 0);
    assert.equal((await bystander.create('/bystander/eph', null, { flags: CreateMode.EPHEMERAL })).err, 0);
  });
  afterEach(() => {
    for (const w of wires.splice(0)) w.destroy();
    for (const c of clients.splice(0)) c.destroy();
  });
  after(async () => {
    bystander.destroy();
    await server.stop();
  });

  test('a frame longer than jute.maxbuffer closes that connection', TIMEOUT, async () => {
    const c = await raw();
    assert.equal((await c.create('/big', Buffer.alloc(1000, 1))).err, 0, 'a frame under the limit is fine');
    await assert.rejects(c.setData('/big', Buffer.alloc(8192, 2)), RawClientError);
    assert.equal((await c.closed).byServer, true);
    assert.equal((await bystander.getData('/big')).data?.length, 1000, 'the oversized write did not happen');
    await assertUnharmed('oversized frame');
  });

  test('a negative frame length closes that connection', TIMEOUT, async () => {
    for (const prefix of [
      [0xff, 0xff, 0xff, 0xff],
      [0x80, 0, 0, 0],
      [0xff, 0xff, 0xff, 0xf0],
    ]) {
      const c = await raw();
      c.sendRaw(Buffer.from([...prefix, 0, 0, 0, 0]));
      const closed = await Promise.race([c.closed, sleep(3000).then(() => null)]);
      assert.ok(closed !== null, `length ${Buffer.from(prefix).readInt32BE(0)}: connection closed`);
      assert.equal(closed.byServer, true);
    }
    await assertUnharmed('negative length');
  });

  test('a truncated frame followed by a close (or a half-close) is dropped quietly', TIMEOUT, async () => {
    const c = await raw();
    const whole = getDataFrame(1, '/bystander');
    c.sendRaw(whole.subarray(0, 9));
    await sleep(200);
    assert.equal(c.isClosed, false, 'the server waits for the rest of the frame');
    c.destroy();

    const w = await session();
    w.send(Buffer.from([0, 0, 0x0f, 0xa0, 1, 2, 3])); // claims 4000 bytes, sends 3
    w.socket.end();
    assert.ok(await w.closedWithin(3000), 'the server closes after the client half-closes');
    assert.equal(w.frames.length, 1, 'only the ConnectResponse was sent');
    await assertUnharmed('truncated frame');
  });

  test('an undecodable request body after the handshake: the connection is answered (MarshallingError) or closed', TIMEOUT, async () => {
    const bodies: Array<[string, Buffer]> = [
      ['getData whose path length runs past the frame', frame((w) => w.writeInt(5).writeInt(OpCode.getData).writeInt(1000))],
      [
        'create cut off inside the ACL list',
        frame((w) => w.writeInt(5).writeInt(OpCode.create).writeString('/x').writeBuffer(Buffer.from('d')).writeInt(3).writeInt(31)),
      ],
      ['setData with no body at all', frame((w) => w.writeInt(5).writeInt(OpCode.setData))],
      ['header shorter than xid + type', Buffer.from([0, 0, 0, 2, 0, 5])],
    ];
    for (const [what, bytes] of bodies) {
      const w = await session();
      w.send(bytes);
      const outcome = await waitFor(
        `${what}: an answer or a close`,
        () => (w.isClosed ? 'closed' : w.frames.length > 1 ? 'answered' : undefined),
        3000,
      );
      if (outcome === 'answered') {
        // Apache ZooKeeper answers MARSHALLINGERROR (-5) and keeps the connection.
        const h = readReplyHeader(new JuteReader(w.frames[1]!));
        assert.deepEqual([h.xid, h.err], [5, ErrorCode.MARSHALLINGERROR], what);
      }
    }
    assert.equal((await bystander.exists('/x')).err, ErrorCode.NONODE, 'the broken create created nothing');
    await assertUnharmed('undecodable body');
  });

  // Apache ZooKeeper 3.8.0 answers an unknown opcode with UNIMPLEMENTED (zxid -1) and then
  // closes the connection; the session itself survives.
  test('an unknown opcode is answered UNIMPLEMENTED (-6), then the connection is closed', TIMEOUT, async () => {
    const w = await session();
    w.send(frame((b) => b.writeInt(7).writeInt(999).writeString('/whatever')));
    const first = await w.headerAt(1);
    assert.deepEqual([first.xid, first.zxid, first.err], [7, -1, ErrorCode.UNIMPLEMENTED]);
    assert.ok(await w.closedWithin(3000), 'connection closed after the UNIMPLEMENTED reply');
    await assertUnharmed('unknown opcode');
  });

  test('a request frame before the handshake (not a ConnectRequest) closes the connection without a session', TIMEOUT, async () => {
    const frames: Array<[string, Buffer]> = [
      ['getData', getDataFrame(1, '/bystander')],
      ['ping', frame((w) => w.writeInt(-2).writeInt(OpCode.ping))],
      ['empty frame', Buffer.from([0, 0, 0, 0])],
    ];
    for (const [what, bytes] of frames) {
      const w = await wire();
      w.send(bytes);
      assert.ok(await w.closedWithin(3000), `${what}: connection closed`);
      assert.equal(w.bytesReceived, 0, `${what}: no ConnectResponse`);
    }
    await assertUnharmed('request before handshake');
  });

  test('junk where a four-letter word or a frame length should be closes the connection unanswered', TIMEOUT, async () => {
    for (const junk of ['ruoX', 'RUOK', 'abcd', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'ruo\n']) {
      const w = await wire();
      w.send(Buffer.from(junk, 'latin1'));
      assert.ok(await w.closedWithin(3000), `${JSON.stringify(junk)}: connection closed`);
      assert.equal(w.bytesReceived, 0, `${JSON.stringify(junk)}: nothing sent back`);
    }
    await assertUnharmed('bad four-letter prefix');
  });
});

describe('maxClientCnxns=3', { timeout: 30000 }, () => {
  let server: ServerProcess;
  const clients: RawClient[] = [];
  before(async () => {
    server = await startServer({ config: { maxClientCnxns: '3' } });
  });
  after(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await server.stop();
  });

  test('the 4th connection from 127.0.0.1 is closed while the first three work', TIMEOUT, async () => {
    for (let i = 0; i < 3; i++) clients.push(await connectTo(server));
    const [c1, c2, c3] = clients as [RawClient, RawClient, RawClient];
    assert.equal((await c1.create('/limit', Buffer.from('x'))).err, 0);

    // The server drops it on accept; the connect itself may already fail (EPIPE / ECONNRESET).
    const fourth = await Wire.open(server.port).catch(() => null);
    if (fourth !== null) {
      assert.ok(await fourth.closedWithin(3000), '4th connection closed');
      assert.equal(fourth.bytesReceived, 0);
    }
    await assert.rejects(connectTo(server, { connectTimeoutMs: 3000 }), RawClientError);
    const word = await fourLetterWord(server.port, 'ruok').catch(() => '');
    assert.equal(word, '', 'a four-letter-word connection counts too');

    for (const c of [c1, c2, c3]) {
      assert.equal(c.isClosed, false);
      assert.equal((await c.getData('/limit')).data?.toString(), 'x');
    }
    // Closing one frees a slot.
    assert.equal((await c3.close()).serverClosed, true);
    const replacement = await waitFor(
      'a free connection slot',
      () => connectTo(server, { connectTimeoutMs: 1000 }).catch(() => undefined),
      5000,
      100,
    );
    clients.push(replacement);
    assert.equal((await replacement.getData('/limit')).err, 0);
  });
});

describe('slow reader backpressure', { timeout: 60000 }, () => {
  const NODE_BYTES = 512 * 1024;
  const REQUESTS = 1000; // 500 MiB of replies if the server buffered them all
  let server: ServerProcess;
  let slow: Wire | undefined;
  let other: RawClient | undefined;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    slow?.destroy();
    other?.destroy();
    await server.stop();
  });

  test('pipelined 512 KiB reads from a client that does not read keep the server bounded and responsive', { timeout: 45000 }, async () => {
    other = await connectTo(server);
    assert.equal((await other.create('/big', Buffer.alloc(NODE_BYTES, 7))).err, 0);
    assert.equal((await other.getData('/big')).data?.length, NODE_BYTES);
    const baseKiB = server.rssKiB();

    const opened = await Wire.connected(server.port);
    slow = opened.wire;
    slow.pause();
    const requests = Buffer.concat(Array.from({ length: REQUESTS }, (_, i) => getDataFrame(i + 1, '/big')));
    slow.send(requests);

    let peakKiB = baseKiB;
    const started = Date.now();
    let answered = 0;
    while (Date.now() - started < 3000) {
      peakKiB = Math.max(peakKiB, server.rssKiB());
      const t0 = Date.now();
      const r = await other.getData('/big');
      assert.equal(r.data?.length, NODE_BYTES);
      assert.ok(Date.now() - t0 < 5000, 'another client is answered promptly');
      assert.equal((await other.exists('/big')).err, 0);
      answered++;
      await sleep(100);
    }
    peakKiB = Math.max(peakKiB, server.rssKiB());
    assert.ok(answered >= 5, `other client answered ${answered} times while the slow one stalled`);

    // The slow client reads at last: its replies come in request order.
    slow.resume();
    for (let i = 1; i <= 20; i++) {
      const f: Buffer = await slow.frameAt(i, 10000);
      const h = readReplyHeader(new JuteReader(f));
      assert.deepEqual([h.xid, h.err], [i, 0]);
      assert.equal(f.length, 16 + 4 + NODE_BYTES + 68, `reply ${i} carries the whole node`);
    }
    slow.destroy();
    assert.ok(server.alive());
    assert.equal(await fourLetterWord(server.port, 'ruok'), 'imok');
    // Apache ZooKeeper 3.8 grows by a few MiB here: it reads one request at a time and stops reading while replies are queued.
    const growthMiB = (peakKiB - baseKiB) / 1024;
    assert.ok(
      growthMiB < 300,
      `server RSS grew by ${growthMiB.toFixed(0)} MiB (base ${(baseKiB / 1024).toFixed(0)} MiB) with a stalled reader`,
    );
  });
});

describe('replies to a reader that stalls and catches up', { timeout: 60000 }, () => {
  // The server reuses a connection's output buffer after a socket write the kernel took at
  // once, and must not while a write still waits. Each round here stalls the reader behind
  // more reply bytes than the socket buffers hold, so that later replies are written while
  // earlier writes wait, then reads everything: every reply must carry its own node's bytes.
  const NODES = 16;
  const NODE_BYTES = 8 * 1024;
  const PER_ROUND = 3000; // ~24 MiB of replies
  const BATCH = 10;
  const ROUNDS = 3;
  const contentOf = (n: number): Buffer => Buffer.from(Array.from({ length: NODE_BYTES }, (_, j) => (n * 31 + j * 7 + (j >> 8)) & 0xff));
  const nodeOf = (xid: number): number => (xid * 7919) % NODES;
  let server: ServerProcess;
  let wire: Wire | undefined;
  let setup: RawClient | undefined;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    wire?.destroy();
    setup?.destroy();
    await server.stop();
  });

  test('every reply arrives whole and with its own data, in order', { timeout: 50000 }, async () => {
    setup = await connectTo(server);
    assert.equal((await setup.create('/intact', null)).err, 0);
    for (let n = 0; n < NODES; n++) assert.equal((await setup.create(`/intact/n${n}`, contentOf(n))).err, 0);
    const opened = await Wire.connected(server.port);
    const w = opened.wire;
    wire = w;
    let xid = 0;
    let checked = 0;
    const check = (f: Buffer, want: number): void => {
      const r = new JuteReader(f);
      const h = readReplyHeader(r);
      assert.deepEqual([h.xid, h.err], [want, 0], `reply ${want}`);
      const data = r.readBuffer();
      assert.ok(data !== null && data.equals(contentOf(nodeOf(want))), `reply ${want} carries the bytes of /intact/n${nodeOf(want)}`);
      assert.equal(readStat(r).dataLength, NODE_BYTES);
      checked++;
    };
    for (let round = 0; round < ROUNDS; round++) {
      w.pause();
      const first = xid + 1;
      // In small batches, apart: the server answers each on its own while earlier replies
      // still wait in the socket (up to its 4 MiB limit, when it stops reading).
      for (let i = 0; i < PER_ROUND; i += BATCH) {
        const requests: Buffer[] = [];
        for (let k = 0; k < BATCH; k++) {
          xid++;
          requests.push(getDataFrame(xid, `/intact/n${nodeOf(xid)}`));
        }
        w.send(Buffer.concat(requests));
        await sleep(2);
      }
      await sleep(200);
      w.resume();
      for (let x = first; x <= xid; x++) check(await w.frameAt(x, 20000), x);
      // Then a while of small exchanges that the kernel takes at once, between the big rounds.
      for (let i = 0; i < 50; i++) {
        xid++;
        w.send(getDataFrame(xid, `/intact/n${nodeOf(xid)}`));
        check(await w.frameAt(xid, 5000), xid);
      }
    }
    assert.equal(checked, ROUNDS * (PER_ROUND + 50));
    assert.ok(server.alive());
  });
});
