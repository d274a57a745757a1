/**
 * applyTxn from any source: a server that never prepared a txn applies the (header, txn) stream
 * of one that did, and ends with the same tree, session table and watch events; a learner
 * forwards its clients' writes and answers them when their txns come back committed.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CreateMode, EventType, OpCode, type Request } from '../../../src/codec/index.js';
import { LearnerSessions, type SessionAuthority } from '../../../src/session/index.js';
import type { ZkServer } from '../../../src/server/zk-server.js';
import { readNow } from '../../../src/server/types.js';
import { assertSameTree } from '../../support/snapshot-check.js';
import {
  RecordingSink,
  TestClient,
  TestClock,
  childrenReq,
  createReq,
  deleteReq,
  existsReq,
  getDataReq,
  makeServer,
  setDataReq,
} from './harness.js';

/** Applies the leader's txns the follower has not seen yet, in order. */
function follow(sink: RecordingSink, follower: ZkServer, from: number): number {
  for (let i = from; i < sink.txns.length; i++) {
    const t = sink.txns[i];
    if (t !== undefined) follower.applyCommitted(t.header, t.txn);
  }
  return sink.txns.length;
}

/** A connection that watches the same things on either server. */
function watchAll(c: TestClient): void {
  c.send(getDataReq('/app', true));
  c.send(childrenReq('/app', true));
  c.send(existsReq('/app/new', true));
  c.send(childrenReq('/', true));
  c.send({ op: OpCode.addWatch, path: '/app', mode: 1 });
}

describe('a replica that only applies txns', () => {
  test("ends with the preparing server's tree, session table and watch events", () => {
    const clock = new TestClock();
    const sink = new RecordingSink();
    const leader = makeServer(clock, sink);
    const follower = makeServer(clock);
    let seen = 0;

    const a = new TestClient(leader);
    a.connect();
    const b = new TestClient(leader);
    b.connect();
    seen = follow(sink, follower, seen);
    const sessionA = a.connectResponse()?.sessionId;
    const sessionB = b.connectResponse()?.sessionId;
    assert.ok(sessionA !== undefined && sessionB !== undefined);
    assert.deepEqual([...follower.sessionTable.keys()].sort(), [sessionA, sessionB].sort());

    a.send(createReq('/app'));
    seen = follow(sink, follower, seen);
    // Watchers on both servers, watching the same paths. The follower's re-attaches to a
    // session the leader created: the follower knows it only from the createSession txn.
    const onLeader = new TestClient(leader);
    onLeader.connect(sessionB, b.connectResponse()?.passwd);
    const onFollower = new TestClient(follower);
    onFollower.connect(sessionB, b.connectResponse()?.passwd);
    assert.equal(onFollower.connectResponse()?.sessionId, sessionB, 'the follower accepts the session from the txns');
    watchAll(onLeader);
    watchAll(onFollower);

    const writes: Request[] = [
      createReq('/app/x'),
      createReq('/app/e', CreateMode.EPHEMERAL),
      setDataReq('/app', 'v2'),
      createReq('/app/new'),
      createReq('/app/s-', CreateMode.PERSISTENT_SEQUENTIAL),
      { op: OpCode.multi, ops: [createReq('/app/m'), setDataReq('/app/m', 'mm'), deleteReq('/app/x')] },
      { op: OpCode.multi, ops: [createReq('/app/fails'), deleteReq('/app/absent')] },
      deleteReq('/app/new'),
      createReq('/top', CreateMode.EPHEMERAL),
    ];
    for (const w of writes) {
      a.send(w);
      seen = follow(sink, follower, seen);
    }
    // b closes its session; a's expires (its ephemerals go with it)
    b.send({ op: OpCode.closeSession });
    seen = follow(sink, follower, seen);
    clock.now += 60_000;
    leader.tick(readNow(clock));
    follower.tick(readNow(clock));
    follow(sink, follower, seen);

    assertSameTree(follower.tree, leader.tree);
    assert.equal(follower.lastZxid, leader.lastZxid);
    assert.deepEqual([...follower.sessionTable], [...leader.sessionTable]);
    assert.equal(leader.sessionTable.size, 0);
    assert.equal(follower.tree.get('/app/e'), undefined, "the expired session's ephemeral is gone on the follower too");
    const events = onLeader.events();
    assert.ok(events.length >= 8, `events: ${events.join(', ')}`);
    assert.ok(events.includes(`${EventType.NodeCreated} /app/new`));
    assert.deepEqual(onFollower.events(), events);
    // The follower answered none of the leader's clients' writes: it has no such requests.
    assert.equal(follower.outstandingRequests, 0);
  });
});

describe('a learner', () => {
  interface Ensemble {
    clock: TestClock;
    sink: RecordingSink;
    leader: ZkServer;
    learner: ZkServer;
    sessions: LearnerSessions;
    revalidations: Array<[bigint, number]>;
    /** Paths of the syncs the learner sent to the leader. */
    syncs: string[];
    /** Delivers what the leader committed since the last call to the learner. */
    sync: () => void;
  }

  function ensemble(): Ensemble {
    const clock = new TestClock();
    const sink = new RecordingSink();
    const leader = makeServer(clock, sink);
    const revalidations: Array<[bigint, number]> = [];
    const syncs: string[] = [];
    const learner = makeServer(
      clock,
      undefined,
      { sessionServerId: 2 },
      {
        authority: (table, ids): SessionAuthority =>
          new LearnerSessions(ids, table, { revalidate: (id, to) => revalidations.push([id, to]) }),
        // REQUEST: the leader prepares with the auth ids it carries; a sync is the ZAB leader's
        forwarder: {
          forward: (sessionId, cxid, req, authIds) => {
            if (req.op === OpCode.sync) syncs.push(req.path);
            else leader.submitForwarded(sessionId, cxid, req, authIds);
          },
        },
      },
    );
    const sessions = learner.authority;
    assert.ok(sessions instanceof LearnerSessions);
    let seen = 0;
    const sync = (): void => {
      seen = follow(sink, learner, seen);
    };
    return { clock, sink, leader, learner, sessions, revalidations, syncs, sync };
  }

  test('answers its client once the forwarded txns come back committed', () => {
    const e = ensemble();
    const c = new TestClient(e.learner);
    c.connect();
    assert.equal(c.frames.length, 0, 'no ConnectResponse before the createSession txn is committed');
    assert.equal(e.sink.txns[0]?.txn.type, OpCode.createSession);
    e.sync();
    const session = c.connectResponse()?.sessionId;
    assert.ok(session !== undefined);
    assert.equal(BigInt.asUintN(64, session) >> 56n, 2n, "the learner's own server byte");
    assert.equal(e.leader.sessionTable.get(session), 30000);

    const create = c.send(createReq('/f', CreateMode.EPHEMERAL));
    const read = c.send(getDataReq('/f', false));
    assert.equal(c.received().length, 0, 'the read waits behind the write');
    e.sync();
    const created = c.reply(create);
    assert.equal(created?.err, 0);
    assert.equal(created.zxid, e.sink.txns[1]?.header.zxid);
    assert.equal(c.reply(read)?.err, 0);
    assert.equal(e.learner.tree.get('/f')?.ephemeralOwner, session);
    assertSameTree(e.learner.tree, e.leader.tree);

    // touches are recorded for the leader (PING), not expired here
    assert.deepEqual([...e.sessions.takeTouches()], [[session, 30000]]);
    e.clock.now += 120_000;
    e.learner.tick(readNow(e.clock));
    assert.equal(e.sink.txns.length, 2, 'a learner expires nothing');
    e.leader.tick(readNow(e.clock));
    e.sync();
    assert.equal(e.learner.tree.get('/f'), undefined, "the leader's expiry reached the learner");
    assert.equal(c.closed, true, "the expired session's connection is closed");
    assert.equal(e.learner.sessionTable.size, 0);
  });

  test('a txn from another server does not answer a local request with the same cxid', () => {
    const e = ensemble();
    const c = new TestClient(e.learner);
    c.connect();
    e.sync();
    const direct = new TestClient(e.leader);
    direct.connect();
    const xid = c.send(createReq('/mine'));
    direct.send(createReq('/theirs'));
    // the leader's own client's txn (same cxid 1) comes first: not the learner's request
    const mine = e.sink.txns.findIndex((t) => t.txn.type === OpCode.create && t.header.clientId === c.connectResponse()?.sessionId);
    assert.ok(mine > 0);
    e.sync();
    assert.equal(c.reply(xid)?.zxid, e.sink.txns[mine]?.header.zxid);
    assert.deepEqual(
      c.received().map((r) => r.xid),
      [xid],
    );
  });

  test("sends sync to the leader and answers it only once the leader's answer came, in its connection's order", () => {
    const e = ensemble();
    const c = new TestClient(e.learner);
    c.connect();
    e.sync();
    const direct = new TestClient(e.leader);
    direct.connect();
    e.sync();
    direct.send(createReq('/elsewhere'));
    const sync = c.send({ op: OpCode.sync, path: '/' });
    const read = c.send(getDataReq('/elsewhere', false));
    assert.deepEqual(e.syncs, ['/'], 'the sync went to the leader');
    assert.equal(c.received().length, 0, 'no answer before the leader answers the sync');
    e.sync(); // the commit that preceded the leader's SYNC
    e.learner.syncDone();
    assert.equal(c.reply(sync)?.err, 0);
    assert.equal(c.reply(sync)?.zxid, e.leader.lastZxid);
    assert.equal(c.reply(read)?.err, 0, 'the read after the sync sees the write acknowledged before it');
    assert.deepEqual(
      c.received().map((r) => r.xid),
      [sync, read],
    );
  });

  test('re-attaches once the leader says the session is valid; a closeSession goes through the leader', () => {
    const e = ensemble();
    const first = new TestClient(e.learner);
    first.connect();
    e.sync();
    const resp = first.connectResponse();
    assert.ok(resp !== undefined);
    const again = new TestClient(e.learner);
    again.connect(resp.sessionId, resp.passwd, 10000);
    assert.deepEqual(e.revalidations, [[resp.sessionId, 10000]]);
    assert.equal(again.frames.length, 0, 'waits for the leader');
    assert.equal(first.closed, true, 'the previous connection is closed at once');
    e.sessions.onRevalidateAnswer(resp.sessionId, true);
    assert.equal(again.connectResponse()?.sessionId, resp.sessionId);

    const xid = again.send({ op: OpCode.closeSession });
    assert.equal(again.closed, false);
    e.sync();
    assert.equal(again.reply(xid)?.err, 0);
    assert.equal(again.closed, true);
    assert.equal(e.leader.sessionTable.size, 0);
    assert.equal(e.learner.sessionTable.size, 0);
  });
});

describe('sync on a leader', () => {
  test('waits for the txns prepared before it: the leader may lag writes a quorum of followers committed', () => {
    const clock = new TestClock();
    const sink = new RecordingSink();
    const leader = makeServer(clock, sink);
    const [writer, syncer] = [new TestClient(leader), new TestClient(leader)];
    writer.connect();
    syncer.connect();
    sink.hold = true;
    const create = writer.send(createReq('/w'));
    const sync = syncer.send({ op: OpCode.sync, path: '/' });
    assert.equal(syncer.reply(sync), undefined, 'held behind the write another session has in flight');
    sink.release();
    assert.equal(writer.reply(create)?.err, 0);
    assert.equal(syncer.reply(sync)?.err, 0);
    assert.ok((syncer.reply(sync)?.zxid ?? 0) >= (writer.reply(create)?.zxid ?? Infinity), 'answered after the write applied');
    const again = syncer.send({ op: OpCode.sync, path: '/' });
    assert.equal(syncer.reply(again)?.err, 0, 'with nothing in flight, answered at once');
  });
});

describe('globalOutstandingLimit', () => {
  test("stops reading a connection with requests in process once the server has more than the limit, as ZooKeeper 3.8's shouldThrottle", () => {
    const clock = new TestClock();
    const sink = new RecordingSink();
    const server = makeServer(clock, sink, { globalOutstandingLimit: 3 });
    const [a, b, idle] = [new TestClient(server), new TestClient(server), new TestClient(server)];
    for (const c of [a, b, idle]) c.connect();
    sink.hold = true;
    a.send(createReq('/a1'));
    a.send(createReq('/a2'));
    b.send(createReq('/b1'));
    assert.equal(server.requestsInProcess, 3);
    assert.equal(server.shouldThrottle(a.id), false, 'at the limit, not over it');
    a.send(getDataReq('/a1', false));
    assert.equal(server.requestsInProcess, 4, 'a read behind its writes counts too');
    assert.equal(server.shouldThrottle(a.id), true);
    assert.equal(server.shouldThrottle(b.id), true);
    assert.equal(server.shouldThrottle(idle.id), false, 'a connection with nothing in process is read');
    sink.release();
    assert.equal(server.requestsInProcess, 0);
    assert.equal(server.shouldThrottle(a.id), false);
    assert.equal(a.received().length, 3);
  });
});
