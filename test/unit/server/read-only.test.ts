/**
 * A read-only server (an ensemble member out of quorum with readonlymode.enabled) over a
 * database a read-write server left: what it accepts, refuses and answers, and that it never
 * makes a txn. Compared with ZooKeeper 3.8.0 in test/ensemble/read-only.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, JuteWriter, OpCode, type Request } from '../../../src/codec/index.js';
import { ReadOnlySessions } from '../../../src/session/index.js';
import { runFourLetterWord } from '../../../src/admin/index.js';
import { readNow } from '../../../src/server/types.js';
import type { ZkServer } from '../../../src/server/zk-server.js';
import { RecordingSink, TestClient, TestClock, createReq, getDataReq, makeServer, setDataReq } from './harness.js';

const MEMBER_ID = 3;
const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

interface ReadOnlyFixture {
  clock: TestClock;
  server: ZkServer;
  sink: RecordingSink;
  /** A session of the read-write server: global, in the session table. */
  global: { sessionId: bigint; passwd: Buffer };
}

/** A read-write server writes /a and makes a session; a read-only server takes over its database. */
function readOnlyFixture(): ReadOnlyFixture {
  const clock = new TestClock();
  const rw = makeServer(clock);
  const writer = new TestClient(rw);
  writer.connect();
  writer.send(createReq('/a', 0, 'v1'));
  const response = writer.connectResponse();
  assert.ok(response !== undefined);
  const sink = new RecordingSink();
  const server = makeServer(
    clock,
    sink,
    { sessionServerId: MEMBER_ID },
    { readOnly: true, authority: (_table, ids) => new ReadOnlySessions(ids) },
    { tree: rw.tree, sessions: rw.sessionTimeouts() },
  );
  return { clock, server, sink, global: { sessionId: response.sessionId, passwd: response.passwd } };
}

function readOnlyClient(server: ZkServer): TestClient {
  const c = new TestClient(server);
  c.connect(0n, new Uint8Array(16), 30000, true);
  return c;
}

const REFUSED: Request[] = [
  createReq('/b'),
  { op: OpCode.create2, path: '/b', data: null, acl: OPEN, flags: 0 },
  { op: OpCode.createContainer, path: '/b', data: null, acl: OPEN, flags: 4 },
  { op: OpCode.createTTL, path: '/b', data: null, acl: OPEN, flags: 5, ttl: 1000 },
  setDataReq('/a', 'v2'),
  { op: OpCode.delete, path: '/a', version: -1 },
  { op: OpCode.setACL, path: '/a', acl: OPEN, version: -1 },
  { op: OpCode.check, path: '/a', version: -1 },
  { op: OpCode.multi, ops: [{ op: OpCode.check, path: '/a', version: -1 }] },
  { op: OpCode.sync, path: '/a' },
  { op: OpCode.reconfig, joiningServers: '', leavingServers: '', newMembers: '', curConfigId: -1 },
];

describe('read-only server', () => {
  test('refuses a client that did not ask for read-only, and one too old to ask', () => {
    const { server } = readOnlyFixture();
    for (const readOnly of [false, undefined]) {
      const c = new TestClient(server);
      c.connect(0n, new Uint8Array(16), 30000, readOnly);
      assert.equal(c.closed, true);
      assert.equal(c.frames.length, 0, 'no ConnectResponse');
    }
  });

  test("gives a read-only client a session of its own: flagged read-only, the member's id in its top byte, no txn", () => {
    const { server, sink } = readOnlyFixture();
    const c = readOnlyClient(server);
    const response = c.connectResponse();
    assert.equal(response?.readOnly, true);
    assert.equal(response.timeOut, 30000);
    assert.equal(response.sessionId >> 56n, BigInt(MEMBER_ID));
    assert.equal(sink.txns.length, 0);
    assert.equal(server.sessionTable.has(response.sessionId), false, 'not a global session');
  });

  test('answers reads, and NOTREADONLY with its last zxid to every write and sync, in order', () => {
    const { server, sink } = readOnlyFixture();
    const c = readOnlyClient(server);
    const xids = [c.send(getDataReq('/a', false)), ...REFUSED.map((r) => c.send(r)), c.send(getDataReq('/a', false))];
    const replies = c.received();
    assert.deepEqual(
      replies.map((r) => r.xid),
      xids,
    );
    assert.equal(replies[0]?.err, ErrorCode.OK);
    assert.equal(replies.at(-1)?.err, ErrorCode.OK);
    for (const r of replies.slice(1, -1)) {
      assert.equal(r.err, ErrorCode.NOTREADONLY, `xid ${r.xid}`);
      assert.equal(r.zxid, server.lastZxid);
    }
    assert.equal(sink.txns.length, 0);
    assert.equal(server.tree.get('/a')?.data()?.toString(), 'v1');
  });

  test('refuses a write by its type, before reading its body', () => {
    const { server, clock } = readOnlyFixture();
    const c = readOnlyClient(server);
    const frame = new JuteWriter(16).writeInt(7).writeInt(OpCode.create).writeInt(-5).toBuffer();
    server.onFrame(c, readNow(clock), Buffer.from(frame));
    assert.equal(c.reply(7)?.err, ErrorCode.NOTREADONLY);
    assert.equal(c.closed, false);
  });

  test('refuses the re-attach of a global session; a read-only session re-attaches, and is gone once closed', () => {
    const { server, global, sink } = readOnlyFixture();
    const g = new TestClient(server);
    g.connect(global.sessionId, global.passwd, 30000, true);
    assert.equal(g.closed, true);
    assert.equal(g.frames.length, 0);

    const first = readOnlyClient(server);
    const { sessionId, passwd } = first.connectResponse()!;
    const again = new TestClient(server);
    again.connect(sessionId, passwd, 30000, true);
    assert.equal(again.connectResponse()?.sessionId, sessionId);
    assert.equal(first.closed, true, 'the previous connection of the session is closed');

    const xid = again.send({ op: OpCode.closeSession });
    assert.equal(again.reply(xid)?.err, ErrorCode.OK);
    assert.equal(again.closed, true);
    const gone = new TestClient(server);
    gone.connect(sessionId, passwd, 30000, true);
    assert.equal(gone.connectResponse()?.timeOut, 0, 'expired');
    assert.equal(sink.txns.length, 0);
  });

  test('expires a silent read-only session itself, with no txn', () => {
    const { server, clock, sink } = readOnlyFixture();
    const c = readOnlyClient(server);
    const { sessionId, passwd } = c.connectResponse()!;
    clock.now += 20000;
    server.tick(readNow(clock));
    assert.equal(c.closed, false, 'not before its timeout');
    clock.now += 12000;
    server.tick(readNow(clock));
    assert.equal(c.closed, true);
    const late = new TestClient(server);
    late.connect(sessionId, passwd, 30000, true);
    assert.equal(late.connectResponse()?.timeOut, 0);
    assert.equal(sink.txns.length, 0);
    assert.equal(server.checkContainers(readNow(clock)), 0, 'nor does it reap');
  });

  test('isro says ro; srvr and stat say READ-ONLY mode', () => {
    const { server } = readOnlyFixture();
    const env = {
      conf: () => [],
      environment: () => [],
      dirSizes: () => ({ dataDir: 0, logDir: 0 }),
      openFileDescriptors: () => 0,
      maxFileDescriptors: () => 0,
      nowMs: () => 0,
    };
    assert.equal(runFourLetterWord('isro', server, env), 'ro');
    for (const word of ['srvr', 'stat']) {
      assert.match(runFourLetterWord(word, server, env), /^Zookeeper version: .*\nREAD-ONLY mode; serving only read-only clients\n/);
    }
    const rw = makeServer(new TestClock());
    assert.equal(runFourLetterWord('isro', rw, env), 'rw');
    assert.doesNotMatch(runFourLetterWord('srvr', rw, env), /READ-ONLY/);
  });
});
