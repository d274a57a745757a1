/**
 * Real `zephyr-coord` processes in 3- and 4-member ensembles on 127.0.0.1 (processes.ts), with
 * leader election over the election port, driven by real clients (node-zookeeper-client and the
 * raw protocol client). Run: node --test --test-concurrency=1 dist/test/ensemble/zephyr/
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zookeeper from 'node-zookeeper-client';
import { CreateMode, ErrorCode, OpCode } from '../../../src/codec/index.js';
import { RawClient } from '../../support/raw-client.js';
import { fourLetterWord, sleep, waitFor } from '../../support/server-process.js';
import { ProcessEnsemble } from './processes.js';
import { appendUncommittedTxn, assertBadQuorumInputLogged, observerWriteReachesLeader, sendBadQuorumInput, syncedRead } from './steps.js';

const TIMEOUT = { timeout: 90_000 };

/** A connected node-zookeeper-client on `ports` (it moves between them by itself). */
async function client(ports: readonly number[], sessionTimeout = 4000): Promise<zookeeper.Client> {
  const c = zookeeper.createClient(ports.map((p) => `127.0.0.1:${p}`).join(','), { sessionTimeout, spinDelay: 50, retries: 0 });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no session on ${ports.join(',')}`)), 15000);
    c.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    c.connect();
  });
  return c;
}

function create(c: zookeeper.Client, p: string, data: string, mode: number = zookeeper.CreateMode.PERSISTENT): Promise<string> {
  return new Promise((resolve, reject) =>
    c.create(p, Buffer.from(data), zookeeper.ACL.OPEN_ACL_UNSAFE, mode, (e, r) => (e ? reject(e) : resolve(r))),
  );
}

function getData(c: zookeeper.Client, p: string): Promise<string> {
  return new Promise((resolve, reject) => c.getData(p, null, (e, d) => (e ? reject(e) : resolve((d ?? Buffer.alloc(0)).toString()))));
}

async function formed(
  participants: number,
  observers = 0,
  extra: Record<string, string> = {},
  wrappers: Readonly<Record<number, readonly string[]>> = {},
): Promise<{ e: ProcessEnsemble; leader: number }> {
  const e = await ProcessEnsemble.create(participants, observers, extra);
  e.startAll(wrappers);
  for (const id of e.ids) await e.waitServing(id);
  return { e, leader: await e.waitLeader() };
}

test('a 3-member ensemble forms; a write at any member is read at every member after sync', TIMEOUT, async () => {
  const { e, leader } = await formed(3);
  try {
    const modes = await Promise.all(e.ids.map((id) => e.mode(id)));
    assert.deepEqual(modes.filter((m) => m === 'leader').length, 1);
    assert.deepEqual(modes.filter((m) => m === 'follower').length, 2);
    for (const id of e.ids) {
      const c = e.track(await client([e.port(id)]));
      await create(c, `/from${id}`, `written at ${id}`);
      c.close();
    }
    for (const at of e.ids) for (const id of e.ids) assert.equal(await syncedRead(e.port(at), `/from${id}`), `written at ${id}`);
    const mntr = await fourLetterWord(e.port(leader), 'mntr');
    assert.match(mntr, /zk_server_state\tleader/);
    assert.match(mntr, /zk_synced_followers\t2/);
    assert.match(mntr, /zk_pending_syncs\t0/);
    for (const id of e.ids) assert.ok(e.logged(id, /election finished/).length >= 1, `member ${id} logs the election's end`);
  } finally {
    await e.close();
  }
});

test('kill -9 of the leader: the others elect a new leader and writes resume', TIMEOUT, async (t) => {
  const { e, leader } = await formed(3);
  try {
    const c = e.track(
      await client(
        e.ids.map((id) => e.port(id)),
        6000,
      ),
    );
    await create(c, '/before', 'b');
    const killedAt = Date.now();
    await e.kill(leader, 'SIGKILL');
    const others = e.ids.filter((id) => id !== leader);
    const next = await e.waitLeader(others);
    // the client finds a serving member by itself; the first write that succeeds ends the failover
    await waitFor(
      'a write after the failover',
      async () =>
        (await create(c, '/after', 'a').then(
          () => true,
          () => undefined,
        ))
          ? true
          : undefined,
      30000,
      100,
    );
    const failoverMs = Date.now() - killedAt;
    t.diagnostic(`failover after kill -9 of leader ${leader}: new leader ${next}, first write after ${failoverMs} ms`);
    assert.ok(failoverMs < 30000);
    assert.equal(await getData(c, '/before'), 'b');
    c.close();
    e.start(leader);
    assert.equal(await e.waitServing(leader), 'follower');
    assert.equal(await syncedRead(e.port(leader), '/after'), 'a');
  } finally {
    await e.close();
  }
});

test('a restarted follower catches up by DIFF', TIMEOUT, async () => {
  const { e, leader } = await formed(3);
  try {
    const follower = e.ids.find((id) => id !== leader) ?? 0;
    const c = e.track(await client([e.port(leader)]));
    await create(c, '/first', '1');
    await e.kill(follower, 'SIGKILL');
    for (let i = 0; i < 30; i++) await create(c, `/d${i}`, String(i));
    e.start(follower);
    await e.waitServing(follower);
    const syncs = e.logged(follower, /synchronizing with the leader by/).map((l) => l.msg);
    assert.deepEqual(syncs, ['synchronizing with the leader by DIFF'], 'after the restart');
    assert.equal(await syncedRead(e.port(follower), '/d29'), '29');
    c.close();
  } finally {
    await e.close();
  }
});

test('with a small snapCount, a member far behind gets a SNAP', TIMEOUT, async () => {
  const { e, leader } = await formed(3, 0, { snapCount: '100' });
  try {
    const follower = e.ids.find((id) => id !== leader) ?? 0;
    const c = e.track(await RawClient.connect({ host: '127.0.0.1', port: e.port(leader), timeoutMs: 6000 }));
    assert.equal((await c.create('/first', Buffer.from('1'))).err, 0);
    // the follower's last zxid stays in the leader's log: the txns' size makes it a SNAP
    await waitFor('the follower has /first', async () => ((await syncedRead(e.port(follower), '/first')) === '1' ? true : undefined));
    await e.kill(follower, 'SIGKILL');
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 800; i++) writes.push(c.create(`/s${i}`, Buffer.from(`v${i}`)));
    await Promise.all(writes);
    await c.close();
    e.start(follower);
    await e.waitServing(follower);
    assert.deepEqual(
      e.logged(follower, /synchronizing with the leader by/).map((l) => l.msg),
      ['synchronizing with the leader by SNAP'],
    );
    assert.equal(await syncedRead(e.port(follower), '/s799'), 'v799');
  } finally {
    await e.close();
  }
});

test("a member holding a txn the old leader never committed gets TRUNC to the new leader's history", TIMEOUT, async () => {
  const { e, leader } = await formed(3);
  try {
    const c = e.track(await client([e.port(leader)]));
    await create(c, '/before', 'b');
    c.close();
    await sleep(300); // the closeSession is committed everywhere
    const victim = e.ids.find((id) => id !== leader) ?? 0;
    await e.kill(victim, 'SIGKILL');
    await appendUncommittedTxn(e.member(victim).dir, 3);
    // the leader dies too; it and the third member form a new epoch, without the victim
    await e.kill(leader, 'SIGKILL');
    e.start(leader);
    const next = await e.waitLeader(e.ids.filter((id) => id !== victim));
    e.start(victim);
    await e.waitServing(victim);
    assert.deepEqual(
      e.logged(victim, /synchronizing with the leader by/).map((l) => l.msg),
      ['synchronizing with the leader by TRUNC'],
    );
    const r = e.track(await RawClient.connect({ host: '127.0.0.1', port: e.port(victim), timeoutMs: 4000 }));
    assert.equal((await r.request({ op: OpCode.sync, path: '/' })).header.err, 0);
    assert.equal((await r.exists('/ghost')).err, ErrorCode.NONODE);
    assert.equal((await r.getData('/before')).err, 0);
    await r.close();
    assert.ok(next !== victim);
  } finally {
    await e.close();
  }
});

test('a client moving to another member keeps its session, ephemerals and watches', TIMEOUT, async () => {
  const { e, leader } = await formed(3);
  try {
    const [a, b] = e.ids.filter((id) => id !== leader);
    const first = e.track(await RawClient.connect({ host: '127.0.0.1', port: e.port(a ?? 0), timeoutMs: 4000, keepAliveMs: 1000 }));
    assert.equal((await first.create('/eph', Buffer.from('mine'), { flags: CreateMode.EPHEMERAL })).err, 0);
    assert.equal((await first.create('/watched', Buffer.from('0'))).err, 0);
    const { sessionId, passwd } = first;
    first.destroy();
    const moved = e.track(
      await RawClient.connect({
        host: '127.0.0.1',
        port: e.port(b ?? 0),
        timeoutMs: 4000,
        sessionId,
        passwd,
        keepAliveMs: 1000,
      }),
    );
    assert.equal(moved.sessionId, sessionId);
    await sleep(5000); // longer than the session timeout: the new member's PINGs keep it alive
    assert.equal((await moved.getData('/eph')).err, 0);
    assert.equal((await moved.getData('/watched', true)).err, 0);
    const other = e.track(await RawClient.connect({ host: '127.0.0.1', port: e.port(leader), timeoutMs: 4000 }));
    const since = moved.log.length;
    assert.equal((await other.setData('/watched', Buffer.from('1'))).err, 0);
    await moved.waitForEvent((ev) => ev.path === '/watched', since);
    await moved.close();
    await waitFor('the ephemeral is gone', async () => ((await other.exists('/eph')).err === ErrorCode.NONODE ? true : undefined));
    await other.close();
  } finally {
    await e.close();
  }
});

test('an observer serves reads and forwards writes, and is not needed for a quorum', TIMEOUT, async () => {
  const { e, leader } = await formed(3, 1);
  try {
    assert.equal(await e.mode(4), 'observer');
    await observerWriteReachesLeader(e.port(4), e.port(leader), '/by-observer');
    const o = e.track(await client([e.port(4)]));
    const follower = e.ids.find((id) => id !== leader && id !== 4) ?? 0;
    await e.kill(follower, 'SIGKILL'); // leader + one follower are still a quorum of 3 voters
    await create(o, '/still', 's');
    assert.equal(await getData(o, '/still'), 's');
    o.close();
  } finally {
    await e.close();
  }
});

test('garbage on the quorum port closes that connection only', TIMEOUT, async () => {
  const { e, leader } = await formed(3);
  try {
    await sendBadQuorumInput(e.member(leader).quorumPort);
    // each connection is closed before its log line reaches the member's output file
    const closings = (): string[] => e.logged(leader, /closing/).map((l) => String(l['err']));
    await waitFor('three closings in the log', () => Promise.resolve(closings().length >= 3 ? true : undefined), 10000).catch(
      () => undefined,
    );
    assertBadQuorumInputLogged(closings());
    const c = e.track(await client(e.ids.map((id) => e.port(id))));
    await create(c, '/fine', 'f');
    c.close();
    assert.match(await fourLetterWord(e.port(leader), 'mntr'), /zk_synced_followers\t2/);
    for (const id of e.ids) assert.equal(await syncedRead(e.port(id), '/fine'), 'f');
  } finally {
    await e.close();
  }
});

test('a member that loses its quorum closes its clients and stops serving until it rejoins', TIMEOUT, async () => {
  const { e, leader } = await formed(3);
  try {
    const others = e.ids.filter((id) => id !== leader);
    const c = e.track(await RawClient.connect({ host: '127.0.0.1', port: e.port(leader), timeoutMs: 4000 }));
    for (const id of others) await e.kill(id, 'SIGKILL');
    const closed = await c.closed;
    assert.equal(closed.byServer, true, 'the member closed its client when it lost the quorum');
    await waitFor('not serving', async () => ((await e.mode(leader)) === undefined ? true : undefined), 10000);
    assert.match(await fourLetterWord(e.port(leader), 'srvr'), /not currently serving/);
    for (const id of others) e.start(id);
    await e.waitLeader();
    for (const id of e.ids) await e.waitServing(id);
  } finally {
    await e.close();
  }
});

test('5 members: writes go on with two of them killed, and stop being served with three', TIMEOUT, async () => {
  const { e, leader } = await formed(5);
  try {
    const c = e.track(
      await client(
        e.ids.map((id) => e.port(id)),
        8000,
      ),
    );
    await create(c, '/five', '5');
    const followers = e.ids.filter((id) => id !== leader);
    const [f1, f2, f3] = followers;
    await e.kill(f1 ?? 0, 'SIGKILL');
    await e.kill(leader, 'SIGKILL');
    const next = await e.waitLeader(followers.slice(1));
    await waitFor(
      'a write with 3 of 5',
      async () =>
        (await create(c, '/three-left', '3').then(
          () => true,
          () => undefined,
        ))
          ? true
          : undefined,
      30000,
      100,
    );
    assert.match(await fourLetterWord(e.port(next), 'mntr'), /zk_synced_followers\t2/);
    const another = [f2, f3].find((id) => id !== next) ?? 0;
    await e.kill(another, 'SIGKILL');
    const last = [f2, f3].find((id) => id !== another) ?? 0;
    await waitFor('no member serves with 2 of 5', async () => ((await e.mode(last)) === undefined ? true : undefined), 10000);
  } finally {
    await e.close();
  }
});

test('a member whose disk fails stops with exit code 3 and the ensemble goes on without it', TIMEOUT, async () => {
  // member 1 may grow no file past 256 KiB: its txn log's preallocation fails (EFBIG)
  const { e, leader } = await formed(3, 0, { preAllocSize: '64' }, { 1: ['prlimit', '--fsize=262144', '--'] });
  try {
    assert.notEqual(leader, 1, 'FLE prefers the highest sid when the logs are equal');
    const c = e.track(await RawClient.connect({ host: '127.0.0.1', port: e.port(leader), timeoutMs: 8000 }));
    const data = Buffer.alloc(8192, 120);
    const exited = e.member(1).exited;
    let code: number | null | undefined;
    void exited?.then((x) => (code = x));
    for (let i = 0; i < 200 && code === undefined; i++) assert.equal((await c.create(`/big${i}`, data)).err, 0);
    assert.equal(await waitFor('member 1 exits', () => code, 10000), 3, 'the member stopped on its storage failure');
    assert.ok(e.logged(1, /storage failure/).length >= 1);
    assert.equal((await c.create('/after-failure', Buffer.from('x'))).err, 0, 'the other two still make a quorum');
    const other = e.ids.find((id) => id !== leader && id !== 1) ?? 0;
    assert.equal(await syncedRead(e.port(other), '/after-failure'), 'x');
  } finally {
    await e.close();
  }
});

test(
  'a follower frozen past syncLimit (SIGSTOP) goes back to election when it wakes, and rejoins the established leader',
  TIMEOUT,
  async () => {
    const { e, leader } = await formed(3);
    try {
      const follower = e.ids.find((id) => id !== leader) ?? 0;
      e.signal(follower, 'SIGSTOP');
      await sleep(2000); // 10 ticks: the leader drops it after syncLimit (5)
      e.signal(follower, 'SIGCONT');
      // The others answer its election with the leader and the epoch they follow now.
      assert.equal(await e.waitServing(follower, 10000), 'follower');
      assert.equal(await e.waitLeader(), leader);
      const decided = e.logged(follower, /election: decided/).at(-1);
      assert.equal(decided?.['path'], 'established');
    } finally {
      await e.close();
    }
  },
);
