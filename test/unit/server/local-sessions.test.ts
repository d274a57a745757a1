/**
 * Local sessions in the server core: a leader and a learner in step (the learner forwards to
 * the leader, the leader's txns are applied on the learner), with `localSessionsEnabled`.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CreateMode, ErrorCode, JuteReader, OpCode, readOpResults, type Request } from '../../../src/codec/index.js';
import { LearnerSessions, type SessionAuthority } from '../../../src/session/index.js';
import type { ServerSettings, ZkServer } from '../../../src/server/zk-server.js';
import { readNow } from '../../../src/server/types.js';
import { runFourLetterWord } from '../../../src/admin/index.js';
import { RecordingSink, TestClient, TestClock, createReq, getDataReq, makeServer } from './harness.js';

interface Pair {
  clock: TestClock;
  sink: RecordingSink;
  leader: ZkServer;
  learner: ZkServer;
  sessions: LearnerSessions;
  /** Applies on the learner what the leader logged since the last call. */
  sync: () => void;
}

function pair(upgrading: boolean): Pair {
  const clock = new TestClock();
  const sink = new RecordingSink();
  const settings: Partial<ServerSettings> = { localSessionsEnabled: true, localSessionsUpgradingEnabled: upgrading };
  const leader = makeServer(clock, sink, settings);
  const learner = makeServer(
    clock,
    undefined,
    { ...settings, sessionServerId: 2 },
    {
      // REVALIDATE: the leader's authority answers, as the leader role asks it
      authority: (table, ids): SessionAuthority => {
        const sessions: LearnerSessions = new LearnerSessions(ids, table, {
          revalidate: (id, timeoutMs) =>
            leader.authority.revalidate(id, timeoutMs, clock.now, { revalidated: (i, valid) => sessions.onRevalidateAnswer(i, valid) }),
        });
        return sessions;
      },
      forwarder: { forward: (sessionId, cxid, req, authIds) => leader.submitForwarded(sessionId, cxid, req, authIds) },
    },
  );
  assert.ok(learner.authority instanceof LearnerSessions);
  let seen = 0;
  const sync = (): void => {
    for (; seen < sink.txns.length; seen++) {
      const t = sink.txns[seen];
      if (t !== undefined) learner.applyCommitted(t.header, t.txn);
    }
  };
  return { clock, sink, leader, learner, sessions: learner.authority, sync };
}

function connected(server: ZkServer, timeOut = 30000): { c: TestClient; sessionId: bigint } {
  const c = new TestClient(server);
  c.connect(0n, new Uint8Array(16), timeOut);
  const sessionId = c.connectResponse()?.sessionId;
  assert.ok(sessionId !== undefined, 'a local session is answered at once');
  return { c, sessionId };
}

const multiOf = (...ops: Request[]): Request => ({ op: OpCode.multi, ops });

function multiErrors(body: Buffer): number[] {
  return readOpResults(new JuteReader(body)).map((r) => (r.type === OpCode.error ? r.err : 0));
}

describe('local sessions', () => {
  test('connect, persistent writes and close make no session txn; mntr counts the session', () => {
    const e = pair(true);
    const { c, sessionId } = connected(e.learner);
    assert.equal(BigInt.asUintN(64, sessionId) >> 56n, 2n);
    assert.equal(e.sink.txns.length, 0);
    assert.match(runFourLetterWord('mntr', e.learner, fourLetterEnv()), /zk_local_sessions\t1\n/);
    const create = c.send(createReq('/p'));
    e.sync();
    assert.equal(c.reply(create)?.err, 0);
    assert.deepEqual(
      e.sink.txns.map((t) => t.txn.type),
      [OpCode.create],
    );
    assert.deepEqual([...e.sessions.takeTouches()], [], 'a local session is not reported to the leader');
    const close = c.send({ op: OpCode.closeSession });
    assert.equal(c.reply(close)?.err, 0);
    assert.ok(c.closed);
    assert.equal(e.sink.txns.length, 1);
    assert.equal(e.learner.localSessions?.count, 0);
  });

  test("a learner's first ephemeral create forwards a createSession first; the session is global after", () => {
    const e = pair(true);
    const { c, sessionId } = connected(e.learner);
    const create = c.send(createReq('/e', CreateMode.EPHEMERAL));
    const read = c.send(getDataReq('/e', false));
    assert.deepEqual([...e.sessions.takeTouches()], [[sessionId, 30000]], 'touches go to the leader from the upgrade on');
    e.sync();
    assert.deepEqual(
      e.sink.txns.map((t) => [t.txn.type, t.header.cxid]),
      [
        [OpCode.createSession, 0],
        [OpCode.create, create],
      ],
    );
    assert.equal(c.reply(create)?.err, 0);
    assert.equal(c.reply(read)?.err, 0);
    assert.equal(e.leader.tree.get('/e')?.ephemeralOwner, sessionId);
    assert.equal(e.learner.sessionTable.get(sessionId), 30000);
    assert.ok(e.leader.authority.isLive(sessionId));
    c.send(createReq('/e2', CreateMode.EPHEMERAL));
    assert.equal(e.sink.txns.length, 3, 'no second upgrade');
    c.send({ op: OpCode.closeSession });
    e.sync();
    assert.equal(e.sink.txns.at(-1)?.txn.type, OpCode.closeSession, 'a global session closes with a txn');
    assert.equal(e.learner.tree.get('/e'), undefined);
  });

  test("a leader's local session upgrades on a multi holding an ephemeral create", () => {
    const e = pair(true);
    const { c, sessionId } = connected(e.leader);
    const multi = c.send(multiOf(createReq('/m', CreateMode.EPHEMERAL)));
    assert.deepEqual(
      e.sink.txns.map((t) => t.txn.type),
      [OpCode.createSession, OpCode.multi],
    );
    assert.equal(c.reply(multi)?.err, 0);
    assert.equal(e.leader.tree.get('/m')?.ephemeralOwner, sessionId);
  });

  test('upgrading off: EPHEMERALONLOCALSESSION, after an error txn; a multi shows the leader its error', () => {
    const e = pair(false);
    const onLeader = connected(e.leader).c;
    const refused = onLeader.send(createReq('/x', CreateMode.EPHEMERAL));
    assert.equal(onLeader.reply(refused)?.err, ErrorCode.EPHEMERALONLOCALSESSION);
    const leaderMulti = onLeader.send(multiOf(createReq('/y', CreateMode.EPHEMERAL)));
    assert.deepEqual(multiErrors(onLeader.reply(leaderMulti)?.body ?? Buffer.alloc(0)), [ErrorCode.EPHEMERALONLOCALSESSION]);

    const onLearner = connected(e.learner).c;
    const forwarded = onLearner.send(createReq('/x', CreateMode.EPHEMERAL));
    const learnerMulti = onLearner.send(multiOf(createReq('/y', CreateMode.EPHEMERAL)));
    const persistent = onLearner.send(createReq('/z'));
    e.sync();
    const last = e.sink.txns.slice(-3).map((t) => t.txn);
    assert.deepEqual(last[0], { type: OpCode.error, err: ErrorCode.SESSIONEXPIRED }, 'the leader does not know the session');
    assert.equal(onLearner.reply(forwarded)?.err, ErrorCode.EPHEMERALONLOCALSESSION, 'the learner answers what it knows');
    assert.deepEqual(multiErrors(onLearner.reply(learnerMulti)?.body ?? Buffer.alloc(0)), [ErrorCode.SESSIONEXPIRED]);
    assert.equal(onLearner.reply(persistent)?.err, 0);
    assert.ok(!e.sink.txns.some((t) => t.txn.type === OpCode.createSession));
  });

  test('a local session expires at its member with no txn; elsewhere it was never known', () => {
    const e = pair(true);
    const { c, sessionId } = connected(e.learner, 4000);
    e.clock.now += 7000;
    e.learner.tick(readNow(e.clock));
    assert.ok(c.closed);
    assert.equal(e.sink.txns.length, 0);
    const back = new TestClient(e.learner);
    back.connect(sessionId, c.connectResponse()?.passwd ?? new Uint8Array(16));
    assert.equal(back.connectResponse()?.timeOut, 0, 'expired');
  });

  test('a local session re-attaches at its member, and is expired at another', () => {
    const e = pair(true);
    const onLeader = connected(e.leader);
    onLeader.c.closed = true;
    e.leader.connectionClosed(onLeader.c);
    const passwd = onLeader.c.connectResponse()?.passwd ?? new Uint8Array(16);
    const again = new TestClient(e.leader);
    again.connect(onLeader.sessionId, passwd);
    assert.equal(again.connectResponse()?.timeOut, 30000, 'valid at its own member');
    const moved = new TestClient(e.learner);
    moved.connect(onLeader.sessionId, passwd);
    assert.equal(moved.connectResponse()?.timeOut, 0, 'the leader answers a REVALIDATE for global sessions only');
  });
});

function fourLetterEnv(): Parameters<typeof runFourLetterWord>[2] {
  return {
    conf: () => [],
    environment: () => [],
    dirSizes: () => ({ dataDir: 0, logDir: 0 }),
    openFileDescriptors: () => 0,
    maxFileDescriptors: () => 0,
    nowMs: () => 0,
  };
}
