/**
 * The ensemble driver in one process, with the leader chosen by the test (in-process.ts): an
 * ensemble forms and serves; a restarted follower catches up by DIFF; a far-behind one gets a
 * SNAP; one holding an uncommitted txn of an old epoch gets TRUNC; a session moves between
 * members; an observer serves reads and forwards writes; garbage on the quorum port closes
 * only that connection. Run: node --test --test-concurrency=1 dist/test/ensemble/zephyr/
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateMode, ErrorCode, OpCode, JuteWriter, PacketType } from '../../../src/codec/index.js';
import { fourLetterWord, sleep, waitFor } from '../../support/server-process.js';
import type { RawClient } from '../../support/raw-client.js';
import { InProcessEnsemble } from './in-process.js';
import {
  appendUncommittedTxn,
  assertBadQuorumInputLogged,
  closedAfter,
  observerWriteReachesLeader,
  quorumPacket,
  sendBadQuorumInput,
  syncedRead,
} from './steps.js';

const TIMEOUT = { timeout: 60_000 };

async function formed(
  participants: number,
  observers = 0,
  extra: Record<string, string> = {},
  leader = participants,
): Promise<InProcessEnsemble> {
  const e = await InProcessEnsemble.create(participants, observers, extra);
  e.leader = leader;
  await e.startAll();
  for (const id of e.ids) await e.waitServing(id);
  return e;
}

async function read(c: RawClient, p: string): Promise<string | null> {
  const r = await c.getData(p);
  return r.err === 0 ? (r.data ?? Buffer.alloc(0)).toString() : null;
}

async function createOk(c: RawClient, p: string, data = '', flags = 0): Promise<void> {
  const r = await c.create(p, Buffer.from(data), { flags });
  assert.equal(r.err, 0, `create ${p}: error ${r.err}`);
}

test('three members form, every member serves, and a write at any member is read at all after sync', TIMEOUT, async () => {
  const e = await formed(3);
  try {
    assert.equal(await e.waitServing(3), 'leader');
    assert.equal(await e.waitServing(1), 'follower');
    const clients = await Promise.all(e.ids.map((id) => e.connect(id)));
    for (const [i, c] of clients.entries()) await createOk(c, `/w${i + 1}`, `from ${i + 1}`);
    for (const c of clients) {
      assert.equal((await c.request({ op: OpCode.sync, path: '/' })).header.err, 0);
      for (const i of [1, 2, 3]) assert.equal(await read(c, `/w${i}`), `from ${i}`);
    }
    const mntr = await fourLetterWord(e.port(3), 'mntr');
    assert.match(mntr, /zk_server_state\tleader/);
    assert.match(mntr, /zk_peer_state\tleading - broadcast/);
    assert.match(mntr, /zk_synced_followers\t2/);
    assert.match(await fourLetterWord(e.port(2), 'mntr'), /zk_peer_state\tfollowing - broadcast/);
    const config = await read(clients[0]!, '/zookeeper/config');
    for (const id of e.ids)
      assert.match(config ?? '', new RegExp(`^server\\.${id}=127\\.0\\.0\\.1:\\d+:\\d+:participant;127\\.0\\.0\\.1:${e.port(id)}$`, 'm'));
    for (const c of clients) await c.close();
  } finally {
    await e.close();
  }
});

test('a restarted follower catches up by DIFF', TIMEOUT, async () => {
  const e = await formed(3);
  try {
    const c = await e.connect(3);
    await createOk(c, '/before-stop');
    await e.stop(1);
    for (let i = 0; i < 20; i++) await createOk(c, `/d${i}`, String(i));
    await e.start(1);
    await e.waitServing(1);
    assert.equal(e.logged(1, /synchronizing with the leader by DIFF/).length, 2, 'the first sync and the one after the restart');
    assert.equal(e.logged(1, /synchronizing with the leader by (SNAP|TRUNC)/).length, 0);
    const f = await e.connect(1);
    for (let i = 0; i < 20; i++) assert.equal(await read(f, `/d${i}`), String(i));
    await f.close();
    await c.close();
  } finally {
    await e.close();
  }
});

test('a member further behind than the committed window gets a SNAP, then serves the same tree', TIMEOUT, async () => {
  const e = await formed(3, 0, { snapCount: '100' });
  try {
    const c = await e.connect(3);
    await createOk(c, '/before-stop');
    // member 1's last zxid is in the leader's log, so only the txns' size makes this a SNAP
    await e.stop(1);
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 700; i++) writes.push(c.create(`/s${i}`, Buffer.from(`v${i}`)));
    await Promise.all(writes);
    await e.start(1);
    await e.waitServing(1);
    assert.equal(e.logged(1, /synchronizing with the leader by SNAP/).length, 1);
    assert.ok(e.logged(3, /synchronizing learner 1 by SNAP/).length === 1);
    const f = await e.connect(1);
    for (const i of [0, 350, 699]) assert.equal(await read(f, `/s${i}`), `v${i}`);
    await createOk(f, '/after-snap', 'x');
    assert.equal(await read(c, '/after-snap'), 'x');
    await f.close();
    await c.close();
    // The snapshot was made durable: after a restart the member recovers it and DIFFs.
    await e.stop(1);
    await e.start(1);
    await e.waitServing(1);
    const g = await e.connect(1);
    assert.equal(await read(g, '/s699'), 'v699');
    await g.close();
  } finally {
    await e.close();
  }
});

test('a member holding a txn of an old epoch that was never committed gets TRUNC and loses it', TIMEOUT, async () => {
  const e = await formed(3);
  try {
    const c = await e.connect(3);
    await createOk(c, '/before', 'b');
    await c.close();
    await e.stop(1);
    await appendUncommittedTxn(e.dirOf(1), 2);
    // a new leader in a new epoch, without member 1 (and no txn of the new epoch yet: a txn of
    // a later epoch after the old one's last makes the leader SNAP rather than TRUNC across epochs)
    await e.stop(3);
    e.leader = 2;
    await e.start(3);
    await e.waitServing(2);
    await e.start(1);
    await e.waitServing(1);
    assert.equal(e.logged(1, /synchronizing with the leader by TRUNC/).length, 1);
    const l = await e.connect(2);
    await createOk(l, '/new-epoch', 'n');
    const f = await e.connect(1);
    assert.equal((await f.request({ op: OpCode.sync, path: '/' })).header.err, 0);
    assert.equal(await read(f, '/ghost'), null);
    assert.equal(await read(f, '/before'), 'b');
    assert.equal(await read(f, '/new-epoch'), 'n');
    await f.close();
    await l.close();
  } finally {
    await e.close();
  }
});

test('a client that moves to another member within its timeout keeps its session and ephemerals', TIMEOUT, async () => {
  const e = await formed(3);
  try {
    const a = await e.connect(1, { timeoutMs: 4000, keepAliveMs: 1000 });
    await createOk(a, '/eph', 'mine', CreateMode.EPHEMERAL);
    const { sessionId, passwd } = a;
    a.destroy();
    const b = await e.connect(2, { sessionId, passwd, timeoutMs: 4000, keepAliveMs: 1000 });
    assert.equal(b.sessionId, sessionId, 'member 2 revalidated the session with the leader');
    await sleep(5000); // past the session timeout: member 2's PING touches keep it alive at the leader
    assert.equal(await read(b, '/eph'), 'mine');
    const watcher = await e.connect(3);
    assert.equal((await watcher.exists('/eph')).err, 0);
    await b.close();
    await waitFor('ephemeral gone', async () => ((await watcher.exists('/eph')).err === ErrorCode.NONODE ? true : undefined));
    await watcher.close();
  } finally {
    await e.close();
  }
});

test('an observer serves reads, forwards writes and is not counted in the quorum', TIMEOUT, async () => {
  const e = await formed(3, 1);
  try {
    assert.equal(await e.waitServing(4), 'observer');
    await observerWriteReachesLeader(e.port(4), e.port(3), '/from-observer');
    const o = await e.connect(4);
    const l = await e.connect(3);
    await createOk(l, '/from-leader', 'l');
    assert.equal((await o.request({ op: OpCode.sync, path: '/' })).header.err, 0);
    assert.equal(await read(o, '/from-leader'), 'l');
    const mntr = await fourLetterWord(e.port(3), 'mntr');
    assert.match(mntr, /zk_learners\t3/);
    assert.match(mntr, /zk_followers\t2/);
    await o.close();
    await l.close();
  } finally {
    await e.close();
  }
});

test('garbage, a bad server id or a wrong first packet on the quorum port closes that connection only', TIMEOUT, async () => {
  const e = await formed(3);
  try {
    const c = await e.connect(1);
    await sendBadQuorumInput(e.peer(3).ensemble.self.quorumPort);
    assertBadQuorumInputLogged(e.logged(3, /closing/).map((l) => String(l.obj['err'])));
    await createOk(c, '/still-working', 'yes');
    assert.equal(await syncedRead(e.port(2), '/still-working'), 'yes');
    assert.match(await fourLetterWord(e.port(3), 'mntr'), /zk_synced_followers\t2/);
    await c.close();
  } finally {
    await e.close();
  }
});

test('the leader stops: a new leader is chosen and writes resume; the old one rejoins as a follower', TIMEOUT, async () => {
  const e = await formed(3);
  try {
    const c = await e.connect(1);
    await createOk(c, '/x1');
    c.destroy();
    await e.stop(3);
    e.leader = 2;
    await waitFor('member 2 leads', async () => ((await e.waitServing(2).catch(() => '')) === 'leader' ? true : undefined), 15000);
    const d = await e.connect(1);
    await createOk(d, '/x2');
    await e.start(3);
    assert.equal(await e.waitServing(3), 'follower');
    const f = await e.connect(3);
    assert.equal((await f.request({ op: OpCode.sync, path: '/' })).header.err, 0);
    assert.equal((await f.exists('/x2')).err, 0);
    await f.close();
    await d.close();
  } finally {
    await e.close();
  }
});

test('a learner that sends a packet out of turn, or an oversized one, is dropped; the member rejoins later', TIMEOUT, async () => {
  const e = await formed(3);
  try {
    await e.stop(1);
    const quorumPort = e.peer(3).ensemble.self.quorumPort;
    // member 1's FOLLOWERINFO, then an ACK where ACKEPOCH belongs
    const info = new JuteWriter(32);
    info.writeLong(1).writeInt(0x10000).writeLong(0);
    const acceptedEpoch = 2 ** 32; // epoch 1
    await closedAfter(
      quorumPort,
      Buffer.concat([
        quorumPacket(PacketType.followerInfo, acceptedEpoch, Buffer.from(info.toBuffer())),
        quorumPacket(PacketType.ack, 5, null),
      ]),
    );
    const dropped = e.logged(3, /dropping learner/);
    assert.equal(dropped.length, 1);
    assert.match(String(dropped[0]?.obj['reason']), /ACK 0x5 during leaderInfo/);
    // a PROPOSAL announcing 200 MB of data: refused from its length, not read
    const huge = new JuteWriter(32);
    huge.writeInt(PacketType.proposal).writeLong(1).writeInt(200_000_000);
    await closedAfter(quorumPort, Buffer.from(huge.toBuffer()));
    assert.ok(e.logged(3, /malformed data on the quorum port/).length >= 1);
    const c = await e.connect(2);
    await createOk(c, '/after-bad-learners');
    await e.start(1);
    assert.equal(await e.waitServing(1), 'follower');
    const f = await e.connect(1);
    assert.equal((await f.request({ op: OpCode.sync, path: '/' })).header.err, 0);
    assert.equal((await f.exists('/after-bad-learners')).err, 0);
    await f.close();
    await c.close();
  } finally {
    await e.close();
  }
});
