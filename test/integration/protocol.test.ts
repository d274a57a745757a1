/**
 * Wire-level behaviour of the real server process, driven with RawClient over TCP: handshake,
 * session re-attach, setWatches, watch/reply ordering, pipelining, multi, the 3.6+ opcodes, TTL
 * and container reaping, and session close/expiry. Expectations are Apache ZooKeeper 3.8's.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  AddWatchMode,
  CreateMode,
  ErrorCode,
  EventType,
  JuteWriter,
  OpCode,
  WatcherType,
  type OpResult,
  type Request,
} from '../../src/codec/index.js';
import {
  OPEN_ACL_UNSAFE,
  RawClient,
  type ConnectOptions,
  type CreateResult,
  type ReplyBase,
  type StatResult,
} from '../support/raw-client.js';
import { startServer, waitFor, type ServerProcess } from '../support/server-process.js';
import { Wire } from './wire.js';

const TIMEOUT = { timeout: 30000 };

function uniq(name: string): string {
  return `/proto-${name}-${randomBytes(4).toString('hex')}`;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

/** Index in `c.log` of the reply with this xid. */
function replyIndex(c: RawClient, xid: number): number {
  return c.log.findIndex((e) => e.kind === 'reply' && e.xid === xid);
}

function eventList(c: RawClient, from = 0, to = c.log.length): Array<[number, string]> {
  return c.eventsBetween(from, to).map((e) => [e.type, e.path]);
}

function createOp(path: string, data = '', flags = 0): Request {
  return { op: OpCode.create, path, data: Buffer.from(data), acl: OPEN_ACL_UNSAFE, flags };
}

describe('protocol (RawClient against the server process)', { timeout: 60000 }, () => {
  let server: ServerProcess;
  const clients: RawClient[] = [];
  const wires: Wire[] = [];

  async function client(opts: Partial<ConnectOptions> = {}): Promise<RawClient> {
    const c = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 30000, readOnly: false, ...opts });
    clients.push(c);
    return c;
  }

  before(async () => {
    server = await startServer();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
    for (const w of wires.splice(0)) w.destroy();
  });
  after(async () => {
    await server.stop();
  });

  test('handshake: 37-byte ConnectResponse with the readOnly byte, 36 bytes (readOnly undefined) for old clients', TIMEOUT, async () => {
    const modern = await Wire.connected(server.port, { readOnly: false });
    wires.push(modern.wire);
    assert.equal(modern.frameBytes, 37);
    assert.equal(modern.response.readOnly, false);
    assert.equal(modern.response.protocolVersion, 0);
    assert.notEqual(modern.response.sessionId, 0n);
    assert.equal(modern.response.passwd.length, 16);

    const old = await Wire.connected(server.port, { readOnly: undefined });
    wires.push(old.wire);
    assert.equal(old.frameBytes, 36);
    assert.equal(old.response.readOnly, undefined);
    assert.notEqual(old.response.sessionId, 0n);

    const c = await client({ readOnly: undefined });
    assert.equal(c.connectResponse.readOnly, undefined);
    const m = await client({ readOnly: false });
    assert.equal(m.connectResponse.readOnly, false);
    assert.notEqual(c.sessionId, m.sessionId);

    // The old client's session is a normal one.
    const base = uniq('old');
    assert.equal((await c.create(base, Buffer.from('old client'))).err, 0);
    const got = await c.getData(base);
    assert.equal(got.err, 0);
    assert.equal(got.data?.toString(), 'old client');
  });

  test('session timeout is clamped to [2*tickTime, 20*tickTime] = [4000, 40000]', TIMEOUT, async () => {
    const cases: Array<[number, number]> = [
      [0, 4000],
      [1, 4000],
      [3999, 4000],
      [4000, 4000],
      [15000, 15000],
      [40000, 40000],
      [40001, 40000],
      [600000, 40000],
    ];
    const got = await Promise.all(cases.map(([asked]) => client({ timeoutMs: asked }).then((c) => c.negotiatedTimeout)));
    assert.deepEqual(
      got,
      cases.map(([, want]) => want),
    );
  });

  test(
    're-attach with a wrong password: timeOut 0 / sessionId 0 reply and close; the original connection is closed too; the session lives on',
    TIMEOUT,
    async () => {
      const base = uniq('badpw');
      const owner = await client({ timeoutMs: 30000 });
      assert.equal((await owner.create(base)).err, 0);
      const eph = `${base}/eph`;
      assert.equal((await owner.create(eph, Buffer.from('mine'), { flags: CreateMode.EPHEMERAL })).err, 0);

      const wrong = Buffer.from(owner.passwd);
      wrong[0] = (wrong[0] ?? 0) ^ 0xff;
      const intruder = await client({ sessionId: owner.sessionId, passwd: wrong });
      assert.equal(intruder.negotiatedTimeout, 0);
      assert.equal(intruder.sessionId, 0n);
      assert.ok(intruder.expired);
      assert.deepEqual(intruder.passwd, Buffer.alloc(16));
      assert.equal((await withTimeout(intruder.closed, 3000, 'server closes the refused connection')).byServer, true);
      assert.equal((await withTimeout(owner.closed, 3000, 'server closes the original connection')).byServer, true);

      // Closing the connection did not end the session: the right password gets it back, ephemeral included.
      const again = await client({ sessionId: owner.sessionId, passwd: owner.passwd, lastZxidSeen: owner.lastZxid });
      assert.equal(again.sessionId, owner.sessionId);
      assert.equal(again.negotiatedTimeout, 30000);
      const st = await again.exists(eph);
      assert.equal(st.err, 0);
      assert.equal(st.stat?.ephemeralOwner, owner.sessionId);
      assert.deepEqual((await again.getEphemerals(base)).paths, [eph]);
    },
  );

  test('re-attach with the right password after a dropped connection keeps the ephemerals', TIMEOUT, async () => {
    const base = uniq('reattach');
    const c1 = await client({ timeoutMs: 20000 });
    assert.equal((await c1.create(base)).err, 0);
    assert.equal((await c1.create(`${base}/e`, null, { flags: CreateMode.EPHEMERAL })).err, 0);
    const seq = await c1.create(`${base}/s-`, null, { flags: CreateMode.EPHEMERAL_SEQUENTIAL });
    assert.equal(seq.err, 0);
    assert.match(seq.path ?? '', /\/s-\d{10}$/);
    c1.destroy();

    const c2 = await client({ sessionId: c1.sessionId, passwd: c1.passwd, lastZxidSeen: c1.lastZxid, timeoutMs: 20000 });
    assert.equal(c2.sessionId, c1.sessionId);
    assert.deepEqual(c2.passwd, c1.passwd);
    assert.equal(c2.negotiatedTimeout, 20000);
    const mine = await c2.getEphemerals(base);
    assert.equal(mine.err, 0);
    assert.deepEqual([...(mine.paths ?? [])].sort(), [`${base}/e`, seq.path].sort());

    const other = await client();
    const st = await other.exists(`${base}/e`);
    assert.equal(st.stat?.ephemeralOwner, c1.sessionId);
  });

  test('setWatches with an old relativeZxid fires the missed events before its reply, then arms the rest', TIMEOUT, async () => {
    const base = uniq('setwatches');
    const w = await client();
    const p = (s: string): string => `${base}/${s}`;
    for (const path of [base, p('data'), p('gone'), p('parent'), p('same'), p('quiet')]) {
      assert.equal((await w.create(path, Buffer.from('v0'))).err, 0);
    }
    const rel = w.lastZxid;
    assert.equal((await w.setData(p('data'), Buffer.from('v1'))).err, 0);
    assert.equal((await w.delete(p('gone'))).err, 0);
    assert.equal((await w.create(p('new'))).err, 0);
    assert.equal((await w.create(p('parent/kid'))).err, 0);

    const c = await client();
    const r = await c.setWatches(rel, [p('data'), p('gone'), p('same')], [p('new'), p('absent')], [p('parent'), p('quiet')]);
    assert.equal(r.err, 0);
    assert.equal(r.xid, -8);
    const at = c.log.findIndex((e) => e.kind === 'reply' && e.op === OpCode.setWatches);
    assert.ok(at >= 0);
    assert.deepEqual(eventList(c, 0, at), [
      [EventType.NodeDataChanged, p('data')],
      [EventType.NodeDeleted, p('gone')],
      [EventType.NodeCreated, p('new')],
      [EventType.NodeChildrenChanged, p('parent')],
    ]);
    assert.deepEqual(eventList(c, at), []);

    // The watches whose nodes had not changed are now armed.
    assert.equal((await w.setData(p('same'), Buffer.from('v1'))).err, 0);
    await c.waitForEvent((e) => e.path === p('same') && e.type === EventType.NodeDataChanged, at);
    assert.equal((await w.create(p('absent'))).err, 0);
    await c.waitForEvent((e) => e.path === p('absent') && e.type === EventType.NodeCreated, at);
    assert.equal((await w.create(p('quiet/k'))).err, 0);
    await c.waitForEvent((e) => e.path === p('quiet') && e.type === EventType.NodeChildrenChanged, at);
    // The ones that fired during setWatches were one-shot and are spent.
    assert.equal((await w.setData(p('data'), Buffer.from('v2'))).err, 0);
    assert.equal((await c.exists('/')).err, 0);
    assert.equal(eventList(c, at).filter(([, path]) => path === p('data')).length, 0);
  });

  test('a watch event reaches the session before the reply of the read that follows the change', TIMEOUT, async () => {
    const base = uniq('order');
    const c = await client();
    assert.equal((await c.create(base, Buffer.from('v1'))).err, 0);

    // Same session: watch, then a pipelined write + read.
    assert.equal((await c.getData(base, true)).err, 0);
    const [set, get] = await Promise.all([c.setData(base, Buffer.from('v2')), c.getData(base)]);
    assert.equal(set.err, 0);
    assert.equal(get.data?.toString(), 'v2');
    const ev = c.log.findIndex((e) => e.kind === 'event' && e.event.path === base);
    assert.ok(ev >= 0, 'NodeDataChanged delivered');
    assert.ok(ev < replyIndex(c, set.xid), 'event before the reply to the write that caused it');
    assert.ok(replyIndex(c, set.xid) < replyIndex(c, get.xid));

    // Across sessions: the watcher sees the event before it can read the new value.
    const watcher = await client();
    const writer = await client();
    assert.equal((await watcher.getData(base, true)).err, 0);
    assert.equal((await watcher.getChildren(base, true)).err, 0);
    assert.equal((await writer.setData(base, Buffer.from('v3'))).err, 0);
    assert.equal((await writer.create(`${base}/child`)).err, 0);
    const read = await watcher.getData(base);
    const kids = await watcher.getChildren(base);
    assert.equal(read.data?.toString(), 'v3');
    assert.deepEqual(kids.children, ['child']);
    const dataEv = watcher.log.findIndex((e) => e.kind === 'event' && e.event.type === EventType.NodeDataChanged);
    const childEv = watcher.log.findIndex((e) => e.kind === 'event' && e.event.type === EventType.NodeChildrenChanged);
    assert.ok(dataEv >= 0 && dataEv < replyIndex(watcher, read.xid));
    assert.ok(childEv >= 0 && childEv < replyIndex(watcher, kids.xid));
  });

  test('pipelined requests are answered in order; writes get increasing zxids; reads see earlier writes', TIMEOUT, async () => {
    const base = uniq('pipeline');
    const c = await client();
    assert.equal((await c.create(base)).err, 0);
    const sent: Array<Promise<ReplyBase>> = [];
    const kinds: string[] = [];
    for (let i = 0; i < 30; i++) {
      sent.push(c.create(`${base}/n${i}`, Buffer.from(String(i))));
      kinds.push('create');
      sent.push(c.getData(`${base}/n${i}`));
      kinds.push('get');
      sent.push(c.exists(`${base}/n${i}`));
      kinds.push('exists');
    }
    for (let i = 0; i < 10; i++) {
      sent.push(c.create(`${base}/seq-`, null, { flags: CreateMode.PERSISTENT_SEQUENTIAL }));
      kinds.push('seq');
    }
    const replies = await Promise.all(sent);
    assert.ok(replies.every((r) => r.err === 0));
    for (let i = 1; i < replies.length; i++) assert.ok(replies[i]!.xid > replies[i - 1]!.xid, 'xids in send order');
    // The log holds the replies in arrival order: it must be send order.
    const logged = c.log.flatMap((e) => (e.kind === 'reply' ? [e.xid] : []));
    assert.deepEqual(
      logged.slice(-replies.length),
      replies.map((r) => r.xid),
    );

    let lastWrite = 0;
    replies.forEach((r, i) => {
      if (kinds[i] === 'create' || kinds[i] === 'seq') {
        assert.ok(r.zxid > lastWrite, `write ${i} zxid ${r.zxid} > ${lastWrite}`);
        lastWrite = r.zxid;
      } else {
        assert.ok(r.zxid >= lastWrite, `read ${i} zxid ${r.zxid} >= last write ${lastWrite}`);
      }
    });
    const seqNames = replies.filter((_, i) => kinds[i] === 'seq').map((r) => (r as { path?: string }).path);
    assert.deepEqual(
      seqNames,
      Array.from({ length: 10 }, (_, i) => `${base}/seq-${String(30 + i).padStart(10, '0')}`),
    );
  });

  test('pipelined writes to one node: each reply carries the Stat its own write left', TIMEOUT, async () => {
    // Writes read in one go share a group commit; each reply must still show the node as its
    // own txn left it, not as a later txn of the batch did (or after a later delete).
    const path = uniq('stat-per-write');
    const c = await client();
    const sent: Array<{ who: string; reply: Promise<StatResult | CreateResult | ReplyBase> }> = [];
    sent.push({ who: 'create2', reply: c.create2(path, Buffer.from('c')) });
    for (let i = 0; i < 20; i++) sent.push({ who: `set ${i}`, reply: c.setData(path, Buffer.alloc(i + 1, 120)) });
    sent.push({ who: 'delete', reply: c.delete(path) });
    sent.push({ who: 'create2 again', reply: c.create2(path, Buffer.from('again')) });
    const replies = await Promise.all(sent.map((s) => s.reply));
    replies.forEach((r, i) => assert.equal(r.err, 0, `${sent[i]?.who}: err ${r.err}`));
    const first = replies[0] as CreateResult;
    assert.ok(first.stat !== undefined);
    assert.equal(first.stat.version, 0);
    assert.equal(first.stat.dataLength, 1);
    for (let i = 0; i < 20; i++) {
      const r = replies[i + 1] as StatResult;
      assert.ok(r.stat !== undefined, `set ${i}: a Stat`);
      assert.equal(r.stat.version, i + 1, `set ${i}: version`);
      assert.equal(r.stat.dataLength, i + 1, `set ${i}: dataLength`);
      assert.equal(r.stat.mzxid, r.zxid, `set ${i}: mzxid is the reply's zxid`);
      assert.equal(r.stat.czxid, first.zxid, `set ${i}: czxid`);
    }
    const again = replies[22] as CreateResult;
    assert.ok(again.stat !== undefined);
    assert.equal(again.stat.version, 0);
    assert.equal(again.stat.dataLength, 5);
    assert.equal(again.stat.czxid, again.zxid);
  });

  test('multi: success shares one zxid; failure reports 0 / code / -2 per op, changes nothing and uses one zxid', TIMEOUT, async () => {
    const base = uniq('multi');
    const c = await client();
    assert.equal((await c.create(base)).err, 0);
    assert.equal((await c.create(`${base}/a`, Buffer.from('a0'))).err, 0);

    const ok = await c.multi([
      createOp(`${base}/m1`, 'x'),
      { op: OpCode.setData, path: `${base}/a`, data: Buffer.from('a1'), version: 0 },
      { op: OpCode.check, path: `${base}/a`, version: 1 },
      createOp(`${base}/gone`),
      { op: OpCode.delete, path: `${base}/gone`, version: -1 },
    ]);
    assert.equal(ok.err, 0);
    const results = ok.results ?? [];
    assert.deepEqual(
      results.map((r) => r.type),
      [OpCode.create, OpCode.setData, OpCode.check, OpCode.create, OpCode.delete],
    );
    const first = results[0] as Extract<OpResult, { type: typeof OpCode.create }>;
    assert.equal(first.path, `${base}/m1`);
    const setRes = results[1] as Extract<OpResult, { type: typeof OpCode.setData }>;
    assert.equal(setRes.stat.version, 1);
    assert.equal(setRes.stat.mzxid, ok.zxid);
    assert.equal((await c.exists(`${base}/m1`)).stat?.czxid, ok.zxid);
    assert.equal((await c.exists(`${base}/gone`)).err, ErrorCode.NONODE);

    const before = (await c.exists(`${base}/a`)).stat;
    const bad = await c.multi([
      createOp(`${base}/m2`),
      createOp(`${base}/a`),
      { op: OpCode.setData, path: `${base}/a`, data: Buffer.from('never'), version: -1 },
    ]);
    assert.equal(bad.err, 0, 'a failed multi is reported in its results, not the header');
    assert.deepEqual(bad.results, [
      { type: OpCode.error, err: 0 },
      { type: OpCode.error, err: ErrorCode.NODEEXISTS },
      { type: OpCode.error, err: ErrorCode.RUNTIMEINCONSISTENCY },
    ]);
    assert.ok(bad.zxid > ok.zxid);
    assert.equal((await c.exists(`${base}/m2`)).err, ErrorCode.NONODE);
    const afterFail = await c.getData(`${base}/a`);
    assert.equal(afterFail.data?.toString(), 'a1');
    assert.deepEqual(afterFail.stat, before);
    const next = await c.create(`${base}/next`);
    assert.equal(next.zxid, bad.zxid + 1, 'the failed multi took exactly one zxid');

    const check = await c.multi([{ op: OpCode.check, path: `${base}/a`, version: 7 }, createOp(`${base}/m3`)]);
    assert.deepEqual(check.results, [
      { type: OpCode.error, err: ErrorCode.BADVERSION },
      { type: OpCode.error, err: ErrorCode.RUNTIMEINCONSISTENCY },
    ]);
  });

  test('getEphemerals, getAllChildrenNumber and whoAmI', TIMEOUT, async () => {
    const base = uniq('newops');
    const c = await client();
    const other = await client();
    assert.equal((await c.create(base)).err, 0);
    assert.equal((await c.create(`${base}/e1`, null, { flags: CreateMode.EPHEMERAL })).err, 0);
    assert.equal((await c.create(`${base}/sub`)).err, 0);
    assert.equal((await c.create(`${base}/sub/e2`, null, { flags: CreateMode.EPHEMERAL })).err, 0);
    const es = await c.create(`${base}/es-`, null, { flags: CreateMode.EPHEMERAL_SEQUENTIAL });
    assert.equal((await other.create(`${base}/o1`, null, { flags: CreateMode.EPHEMERAL })).err, 0);

    const mine = await c.getEphemerals(base);
    assert.equal(mine.err, 0);
    assert.deepEqual([...(mine.paths ?? [])].sort(), [`${base}/e1`, es.path ?? '', `${base}/sub/e2`].sort());
    assert.deepEqual((await c.getEphemerals(`${base}/sub`)).paths, [`${base}/sub/e2`]);
    assert.deepEqual((await other.getEphemerals(base)).paths, [`${base}/o1`]);
    const all = new Set((await c.getEphemerals('/')).paths);
    for (const p of mine.paths ?? []) assert.ok(all.has(p));
    assert.ok(!all.has(`${base}/o1`));

    assert.deepEqual(await c.getAllChildrenNumber(base).then((r) => [r.err, r.count]), [0, 5]);
    assert.deepEqual(await c.getAllChildrenNumber(`${base}/sub`).then((r) => [r.err, r.count]), [0, 1]);
    assert.deepEqual(await c.getAllChildrenNumber(`${base}/sub/e2`).then((r) => [r.err, r.count]), [0, 0]);
    assert.equal((await c.getAllChildrenNumber(`${base}/missing`)).err, ErrorCode.NONODE);

    const anon = await c.whoAmI();
    assert.equal(anon.err, 0);
    assert.deepEqual(anon.clients, [{ authScheme: 'ip', user: '127.0.0.1' }]);
    assert.equal((await c.addAuth('digest', 'bob:pw')).err, 0);
    // ZooKeeper keeps a connection's ids in a hash set: the order is unspecified.
    const ids = ((await c.whoAmI()).clients ?? []).map((i) => `${i.authScheme}:${i.user}`).sort();
    assert.deepEqual(ids, ['digest:bob', 'ip:127.0.0.1']);
  });

  test('addWatch persistent and persistent-recursive; removeWatches answers NoWatcher (-121)', TIMEOUT, async () => {
    const base = uniq('addwatch');
    const w = await client();
    const c = await client();
    assert.equal((await w.create(base)).err, 0);
    const p = `${base}/p`;
    const r = `${base}/r`;
    assert.equal((await c.addWatch(p, AddWatchMode.PERSISTENT)).err, 0);
    assert.equal((await c.addWatch(r, AddWatchMode.PERSISTENT_RECURSIVE)).err, 0);
    const from = c.log.length;

    for (const op of [
      () => w.create(p),
      () => w.setData(p, Buffer.from('a')),
      () => w.setData(p, Buffer.from('b')),
      () => w.create(`${p}/k`),
      () => w.delete(`${p}/k`),
      () => w.delete(p),
      () => w.create(p),
      () => w.create(r),
      () => w.create(`${r}/x`),
      () => w.create(`${r}/x/y`),
      () => w.setData(`${r}/x/y`, Buffer.from('d')),
      () => w.delete(`${r}/x/y`),
      () => w.setData(r, Buffer.from('d')),
    ]) {
      assert.equal((await op()).err, 0);
    }
    // Events are written before the replies that follow them: one round trip flushes them.
    assert.equal((await c.exists('/')).err, 0);
    assert.deepEqual(eventList(c, from), [
      [EventType.NodeCreated, p],
      [EventType.NodeDataChanged, p],
      [EventType.NodeDataChanged, p],
      [EventType.NodeChildrenChanged, p],
      [EventType.NodeChildrenChanged, p],
      [EventType.NodeDeleted, p],
      [EventType.NodeCreated, p],
      [EventType.NodeCreated, r],
      [EventType.NodeCreated, `${r}/x`],
      [EventType.NodeCreated, `${r}/x/y`],
      [EventType.NodeDataChanged, `${r}/x/y`],
      [EventType.NodeDeleted, `${r}/x/y`],
      [EventType.NodeDataChanged, r],
    ]);

    assert.equal((await c.removeWatches(`${base}/nothing`, WatcherType.Any)).err, ErrorCode.NOWATCHER);
    assert.equal((await c.removeWatches(`${base}/nothing`, WatcherType.Data)).err, ErrorCode.NOWATCHER);
    assert.equal((await c.removeWatches(base, WatcherType.Children)).err, ErrorCode.NOWATCHER);
    assert.equal((await c.getData(base, true)).err, 0);
    assert.equal((await c.removeWatches(base, WatcherType.Children)).err, ErrorCode.NOWATCHER);
    assert.equal((await c.removeWatches(base, WatcherType.Data)).err, 0);
    assert.equal((await c.removeWatches(base, WatcherType.Data)).err, ErrorCode.NOWATCHER);
    const mark = c.log.length;
    assert.equal((await w.setData(base, Buffer.from('no one listens'))).err, 0);
    assert.equal((await c.exists('/')).err, 0);
    assert.deepEqual(eventList(c, mark), [], 'a removed watch does not fire');
  });

  test('watches on delete and create: NodeDeleted once per session, NodeChildrenChanged on the parent', TIMEOUT, async () => {
    const base = uniq('triggers');
    const w = await client();
    const c = await client();
    const rel = (from: number): string[] => eventList(c, from).map(([type, path]) => `${type}:${path.slice(base.length) || '/'}`);
    for (const p of [base, `${base}/n`, `${base}/n/k`]) assert.equal((await w.create(p)).err, 0);

    let from = c.log.length;
    // Two data watches, an exists watch and a child watch on /n, a child watch on the base.
    assert.equal((await c.getData(`${base}/n`, true)).err, 0);
    assert.equal((await c.getData(`${base}/n`, true)).err, 0);
    assert.equal((await c.exists(`${base}/n`, true)).err, 0);
    assert.equal((await c.getChildren(`${base}/n`, true)).err, 0);
    assert.equal((await c.getChildren(base, true)).err, 0);
    assert.equal((await w.delete(`${base}/n/k`)).err, 0);
    assert.equal((await c.exists('/')).err, 0);
    assert.deepEqual(rel(from), ['4:/n']);

    from = c.log.length;
    assert.equal((await c.getChildren(`${base}/n`, true)).err, 0);
    assert.equal((await w.delete(`${base}/n`)).err, 0);
    assert.equal((await c.exists('/')).err, 0);
    assert.deepEqual(rel(from), ['2:/n', '4:/'], 'one NodeDeleted for data + exists + child watches, then the parent');

    from = c.log.length;
    assert.equal((await c.exists(`${base}/n`, true)).err, ErrorCode.NONODE);
    assert.equal((await c.getChildren(base, true)).err, 0);
    assert.equal((await w.create(`${base}/n`)).err, 0);
    assert.equal((await c.exists('/')).err, 0);
    assert.deepEqual(rel(from), ['1:/n', '4:/']);

    // A session's ephemerals deleted by closeSession fire like deletes.
    from = c.log.length;
    const e = await client();
    assert.equal((await e.create(`${base}/e1`, null, { flags: CreateMode.EPHEMERAL })).err, 0);
    assert.equal((await e.create(`${base}/e2`, null, { flags: CreateMode.EPHEMERAL })).err, 0);
    assert.equal((await c.exists(`${base}/e1`, true)).err, 0);
    assert.equal((await c.getData(`${base}/e2`, true)).err, 0);
    assert.equal((await c.getChildren(base, true)).err, 0);
    assert.equal((await e.close()).err, 0);
    assert.equal((await c.exists('/')).err, 0);
    assert.deepEqual(rel(from).sort(), ['2:/e1', '2:/e2', '4:/'], 'one NodeChildrenChanged for the parent');
  });

  test('error codes for bad paths, ACLs, flags and versions', TIMEOUT, async () => {
    const base = uniq('errors');
    const c = await client();
    const anyone = OPEN_ACL_UNSAFE;
    assert.equal((await c.create(base, Buffer.from('b'))).err, 0);
    assert.equal((await c.create(`${base}/e`, null, { flags: CreateMode.EPHEMERAL })).err, 0);
    assert.equal((await c.create(`${base}/p`)).err, 0);
    assert.equal((await c.create(`${base}/p/k`)).err, 0);
    const cases: Array<[string, Promise<ReplyBase>, number]> = [
      ['create /', c.create('/'), ErrorCode.NODEEXISTS],
      ['create ""', c.create(''), ErrorCode.BADARGUMENTS],
      ['create relative', c.create('relative'), ErrorCode.BADARGUMENTS],
      ['create trailing slash', c.create(`${base}/`), ErrorCode.BADARGUMENTS],
      ['create empty segment', c.create(`${base}//x`), ErrorCode.NONODE],
      ['create "."', c.create(`${base}/.`), ErrorCode.BADARGUMENTS],
      ['create ".."', c.create(`${base}/..`), ErrorCode.BADARGUMENTS],
      ['create NUL', c.create(`${base}/a\u0000b`), ErrorCode.BADARGUMENTS],
      ['create control char', c.create(`${base}/\u0001`), ErrorCode.BADARGUMENTS],
      ['create /zookeeper', c.create('/zookeeper'), ErrorCode.NODEEXISTS],
      ['create empty ACL', c.create(`${base}/a1`, null, { acl: [] }), ErrorCode.INVALIDACL],
      [
        'create unknown scheme',
        c.create(`${base}/a2`, null, { acl: [{ perms: 31, id: { scheme: 'nope', id: 'x' } }] }),
        ErrorCode.INVALIDACL,
      ],
      [
        'create bad ip',
        c.create(`${base}/a3`, null, { acl: [{ perms: 31, id: { scheme: 'ip', id: 'not-an-ip' } }] }),
        ErrorCode.INVALIDACL,
      ],
      [
        'create digest without colon',
        c.create(`${base}/a4`, null, { acl: [{ perms: 31, id: { scheme: 'digest', id: 'nocolon' } }] }),
        ErrorCode.INVALIDACL,
      ],
      [
        'create auth ACL unauthenticated',
        c.create(`${base}/a5`, null, { acl: [{ perms: 31, id: { scheme: 'auth', id: '' } }] }),
        ErrorCode.INVALIDACL,
      ],
      ['create flags 7', c.create(`${base}/f7`, null, { flags: 7 }), ErrorCode.BADARGUMENTS],
      ['create flags -1', c.create(`${base}/fm`, null, { flags: -1 }), ErrorCode.BADARGUMENTS],
      ['create TTL flags without TTL op', c.create(`${base}/t`, null, { flags: CreateMode.PERSISTENT_WITH_TTL }), ErrorCode.BADARGUMENTS],
      ['createTTL with non-TTL flags', c.create(`${base}/t2`, null, { flags: 0, op: OpCode.createTTL, ttl: 100 }), ErrorCode.BADARGUMENTS],
      ['create under ephemeral', c.create(`${base}/e/k`), ErrorCode.NOCHILDRENFOREPHEMERALS],
      [
        'create sequential under ephemeral',
        c.create(`${base}/e/k`, null, { flags: CreateMode.PERSISTENT_SEQUENTIAL }),
        ErrorCode.NOCHILDRENFOREPHEMERALS,
      ],
      ['create missing parent', c.create(`${base}/none/k`), ErrorCode.NONODE],
      ['delete non-empty', c.delete(`${base}/p`), ErrorCode.NOTEMPTY],
      ['delete bad version', c.delete(`${base}/p/k`, 3), ErrorCode.BADVERSION],
      ['delete missing', c.delete(`${base}/missing`), ErrorCode.NONODE],
      ['delete /', c.delete('/'), ErrorCode.BADARGUMENTS],
      ['delete /zookeeper', c.delete('/zookeeper'), ErrorCode.BADARGUMENTS],
      ['delete /zookeeper/quota', c.delete('/zookeeper/quota'), ErrorCode.BADARGUMENTS],
      ['setData missing', c.setData(`${base}/missing`, Buffer.from('x')), ErrorCode.NONODE],
      ['setData bad version', c.setData(`${base}/p`, Buffer.from('x'), 7), ErrorCode.BADVERSION],
      ['setACL empty', c.setACL(`${base}/p`, []), ErrorCode.INVALIDACL],
      ['setACL bad version', c.setACL(`${base}/p`, anyone, 3), ErrorCode.BADVERSION],
      ['getACL missing', c.getACL(`${base}/missing`), ErrorCode.NONODE],
      ['exists relative', c.exists('relative'), ErrorCode.NONODE],
      ['getData trailing slash', c.getData(`${base}/`), ErrorCode.NONODE],
      [
        'reconfig',
        c
          .request({ op: OpCode.reconfig, joiningServers: '', leavingServers: '', newMembers: '', curConfigId: -1 })
          .then((r) => ({ err: r.header.err, zxid: r.header.zxid, xid: r.header.xid, bodyBytes: r.body.length })),
        ErrorCode.RECONFIGDISABLED,
      ],
    ];
    const got = await Promise.all(cases.map(async ([label, p, want]) => [label, (await p).err, want] as const));
    assert.deepEqual(
      got.filter(([, err, want]) => err !== want).map(([label, err, want]) => `${label}: got ${err}, ZooKeeper answers ${want}`),
      [],
    );
    // Nothing above changed the tree.
    assert.deepEqual(((await c.getChildren(base)).children ?? []).sort(), ['e', 'p']);
    assert.equal((await c.getData('/zookeeper/config')).err, 0, '/zookeeper/config exists, as in 3.5+');
  });

  test('removeWatches with an unknown watcher type and addWatch with an unknown mode answer MARSHALLINGERROR (-5)', TIMEOUT, async () => {
    // ZooKeeper 3.8 fails to map the int to its enum in FinalRequestProcessor and answers MARSHALLINGERROR.
    const c = await client();
    assert.equal((await c.removeWatches('/', 9)).err, ErrorCode.MARSHALLINGERROR);
    assert.equal((await c.addWatch('/', 5)).err, ErrorCode.MARSHALLINGERROR);
    assert.equal((await c.addWatch('/', -1)).err, ErrorCode.MARSHALLINGERROR);
    assert.equal((await c.exists('/')).err, 0, 'the connection stays usable');
  });

  test(
    'ACLs: auth-scheme expansion, READ for getData/getChildren/getACL but not exists, CREATE and DELETE on the parent, ip ACLs',
    TIMEOUT,
    async () => {
      const base = uniq('acl');
      const alice = await client();
      const other = await client();
      assert.equal((await alice.addAuth('digest', 'alice:pw')).err, 0);
      assert.equal((await alice.create(base)).err, 0);
      assert.equal((await alice.create(`${base}/x`, Buffer.from('d'), { acl: [{ perms: 31, id: { scheme: 'auth', id: '' } }] })).err, 0);
      const acl = await alice.getACL(`${base}/x`);
      assert.deepEqual(acl.acl, [{ perms: 31, id: { scheme: 'digest', id: 'alice:V55/p2T0OpjQ+low3NVAH4aLvm0=' } }]);
      assert.equal((await other.getACL(`${base}/x`)).err, ErrorCode.NOAUTH);
      assert.equal((await other.getData(`${base}/x`)).err, ErrorCode.NOAUTH);
      assert.equal((await other.getChildren(`${base}/x`)).err, ErrorCode.NOAUTH);
      assert.equal((await other.exists(`${base}/x`)).err, 0, 'exists needs no permission');
      assert.equal((await other.setData(`${base}/x`, Buffer.from('q'), 5)).err, ErrorCode.NOAUTH, 'ACL is checked before the version');

      // READ for everyone, ALL for a digest id: a reader without ADMIN sees the digest redacted.
      const hidden = 'X'.repeat(27) + '=';
      assert.equal(
        (
          await alice.create(`${base}/ra`, null, {
            acl: [
              { perms: 1, id: { scheme: 'world', id: 'anyone' } },
              { perms: 31, id: { scheme: 'digest', id: `alice:${hidden}` } },
            ],
          })
        ).err,
        0,
      );
      assert.deepEqual((await other.getACL(`${base}/ra`)).acl, [
        { perms: 1, id: { scheme: 'world', id: 'anyone' } },
        { perms: 31, id: { scheme: 'digest', id: 'alice:x' } },
      ]);

      assert.equal(
        (await alice.create(`${base}/nodel`, null, { acl: [{ perms: 31 & ~8, id: { scheme: 'world', id: 'anyone' } }] })).err,
        0,
      );
      assert.equal((await alice.create(`${base}/nodel/k`)).err, 0);
      assert.equal((await other.delete(`${base}/nodel/k`)).err, ErrorCode.NOAUTH, 'delete needs DELETE on the parent');
      assert.equal((await other.create(`${base}/nodel/k2`)).err, 0);
      assert.equal(
        (await alice.create(`${base}/nocreate`, null, { acl: [{ perms: 31 & ~4, id: { scheme: 'world', id: 'anyone' } }] })).err,
        0,
      );
      assert.equal((await other.create(`${base}/nocreate/k`)).err, ErrorCode.NOAUTH, 'create needs CREATE on the parent');
      assert.equal((await other.create(`${base}/nocreate/k/deep`)).err, ErrorCode.NONODE);

      assert.equal((await alice.create(`${base}/ip10`, null, { acl: [{ perms: 31, id: { scheme: 'ip', id: '10.0.0.0/8' } }] })).err, 0);
      assert.equal((await other.getData(`${base}/ip10`)).err, ErrorCode.NOAUTH);
      assert.equal((await alice.create(`${base}/ip127`, null, { acl: [{ perms: 31, id: { scheme: 'ip', id: '127.0.0.0/8' } }] })).err, 0);
      assert.equal((await other.getData(`${base}/ip127`)).err, 0);

      // An unknown auth scheme is AUTHFAILED and ends the connection.
      const bad = await client();
      assert.equal((await bad.addAuth('nosuch', 'x')).err, ErrorCode.AUTHFAILED);
      assert.equal((await withTimeout(bad.closed, 3000, 'connection closed after AUTHFAILED')).byServer, true);
    },
  );

  test('multiRead, sync, getChildren2, checkWatches and ping', TIMEOUT, async () => {
    const base = uniq('reads');
    const c = await client();
    assert.equal((await c.create(base, Buffer.from('root'))).err, 0);
    assert.equal((await c.create(`${base}/k`, Buffer.from('kid'))).err, 0);
    const mr = await c.multiRead([
      { op: OpCode.getData, path: base, watch: false },
      { op: OpCode.getChildren, path: base, watch: false },
      { op: OpCode.getData, path: `${base}/missing`, watch: false },
    ]);
    assert.equal(mr.err, 0);
    const [d, ch, miss] = mr.results ?? [];
    assert.ok(d?.type === OpCode.getData);
    assert.equal(d.data?.toString(), 'root');
    assert.deepEqual(ch, { type: OpCode.getChildren, children: ['k'] });
    assert.deepEqual(miss, { type: OpCode.error, err: ErrorCode.NONODE });

    const s = await c.sync(base);
    assert.deepEqual([s.err, s.path], [0, base]);
    const g2 = await c.getChildren2(base);
    assert.deepEqual(g2.children, ['k']);
    assert.deepEqual([g2.stat?.numChildren, g2.stat?.cversion, g2.stat?.dataLength], [1, 1, 4]);
    assert.equal(g2.stat?.pzxid, (await c.exists(`${base}/k`)).stat?.czxid);

    assert.equal((await c.checkWatches(base, WatcherType.Any)).err, ErrorCode.NOWATCHER);
    assert.equal((await c.getData(base, true)).err, 0);
    assert.equal((await c.checkWatches(base, WatcherType.Data)).err, 0);
    assert.equal((await c.checkWatches(base, WatcherType.Children)).err, ErrorCode.NOWATCHER);
    assert.equal((await c.checkWatches(base, WatcherType.Any)).err, 0);

    const last = (await c.exists(base)).zxid;
    const ping = await c.ping();
    assert.deepEqual([ping.err, ping.xid, ping.zxid], [0, -2, last]);
  });

  test('a multiRead of writes only answers MARSHALLINGERROR with an empty result list; mixed ops, without a body', TIMEOUT, async () => {
    // ZooKeeper 3.8 reads a multiRead's ops as a multi's: writes only make a valid record whose
    // answer fails at its first op, after the empty MultiResponse was started; a mix of reads
    // and writes fails to decode, with no response record.
    const base = uniq('mrw');
    const c = await client();
    assert.equal((await c.create(base)).err, 0);
    const last = (await c.exists(base)).zxid;
    const writesOnly = await c.request({
      op: OpCode.multiRead,
      ops: [{ op: OpCode.delete, path: base, version: -1 }, createOp(`${base}/x`)],
    });
    assert.deepEqual([writesOnly.header.err, writesOnly.header.zxid], [ErrorCode.MARSHALLINGERROR, last]);
    assert.equal(writesOnly.body.toString('hex'), 'ffffffff01ffffffff', 'MultiHeader {-1, done, -1}');
    const mixed = await c.request({
      op: OpCode.multiRead,
      ops: [
        { op: OpCode.getData, path: base, watch: false },
        { op: OpCode.delete, path: base, version: -1 },
      ],
    });
    assert.deepEqual([mixed.header.err, mixed.body.length], [ErrorCode.MARSHALLINGERROR, 0]);
    assert.equal((await c.exists(base)).err, 0, 'nothing was deleted');
  });

  test('deleteContainer (20) from a client answers BADARGUMENTS after an error txn; reconfig spends a zxid too', TIMEOUT, async () => {
    // ZooKeeper takes opcode 20 from clients but reads the path from the whole frame, header
    // included: never a valid path. Both refusals come from its prep stage, after a zxid.
    const base = uniq('dc');
    const c = await client();
    assert.equal((await c.createContainer(base)).err, 0);
    assert.equal((await c.create(`${base}/k`)).err, 0);
    assert.equal((await c.delete(`${base}/k`)).err, 0);
    const bodies = [new JuteWriter(64).writeString(base).toBuffer(), Buffer.from(base), Buffer.alloc(0)];
    for (const body of bodies) {
      const before = (await c.sync('/')).zxid;
      const r = await c.requestRaw(OpCode.deleteContainer, body);
      assert.deepEqual([r.header.err, r.header.zxid, r.body.length], [ErrorCode.BADARGUMENTS, before + 1, 0]);
    }
    const before = (await c.sync('/')).zxid;
    const rc = await c.request({ op: OpCode.reconfig, joiningServers: '', leavingServers: '', newMembers: '', curConfigId: -1 });
    assert.deepEqual([rc.header.err, rc.header.zxid], [ErrorCode.RECONFIGDISABLED, before + 1]);
    assert.equal(c.isClosed, false, 'the connection stays open');
  });

  test('TTL nodes are reaped after their ttl; ttl 0 is BadArguments', TIMEOUT, async () => {
    const base = uniq('ttl');
    const c = await client();
    assert.equal((await c.create(base)).err, 0);
    const t = await c.createTTL(`${base}/t`, Buffer.from('short'), 500);
    assert.equal(t.err, 0);
    assert.equal(t.path, `${base}/t`);
    // ZooKeeper keeps the TTL in the persisted ephemeralOwner but shows clients 0 for TTL and container nodes.
    assert.equal(t.stat?.ephemeralOwner, 0n);
    assert.equal((await c.exists(`${base}/t`)).stat?.ephemeralOwner, 0n);
    const ts = await c.createTTL(`${base}/ts-`, null, 500, { flags: CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL });
    assert.equal(ts.err, 0);
    assert.match(ts.path ?? '', /\/ts-\d{10}$/);
    const long = await c.createTTL(`${base}/long`, null, 600000);
    assert.equal(long.err, 0);
    assert.equal((await c.createTTL(`${base}/zero`, null, 0)).err, ErrorCode.BADARGUMENTS);

    const started = Date.now();
    await waitFor(
      'TTL nodes to be reaped',
      async () =>
        (await c.exists(`${base}/t`)).err === ErrorCode.NONODE && (await c.exists(ts.path ?? '')).err === ErrorCode.NONODE
          ? true
          : undefined,
      8000,
      100,
    );
    assert.ok(Date.now() - started >= 300, 'not reaped before its ttl');
    assert.equal((await c.exists(`${base}/long`)).err, 0, 'a TTL node whose ttl has not passed stays');
  });

  test('a container is reaped after its last child is deleted; an unused one stays', TIMEOUT, async () => {
    const base = uniq('container');
    const c = await client();
    const watcher = await client();
    assert.equal((await c.create(base)).err, 0);
    const made = await c.createContainer(`${base}/c`, Buffer.from('box'));
    assert.equal(made.err, 0);
    assert.equal(made.path, `${base}/c`);
    assert.equal(made.stat?.ephemeralOwner, 0n, 'clients see ephemeralOwner 0 for containers');
    assert.equal((await c.createContainer(`${base}/unused`)).err, 0);
    assert.equal((await c.create(`${base}/c/k`)).err, 0);
    assert.equal((await watcher.exists(`${base}/c`, true)).err, 0);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    assert.equal((await c.exists(`${base}/c`)).err, 0, 'a container with a child is kept');

    assert.equal((await c.delete(`${base}/c/k`)).err, 0);
    const mark = watcher.log.length;
    await watcher.waitForEvent((e) => e.type === EventType.NodeDeleted && e.path === `${base}/c`, mark, 8000);
    assert.equal((await c.exists(`${base}/c`)).err, ErrorCode.NONODE);
    assert.equal((await c.exists(`${base}/unused`)).err, 0, 'a container that never had a child is not reaped');
  });

  test(
    'create / create2 with the CONTAINER flag (4) make a persistent node: only createContainer (19) makes a container',
    TIMEOUT,
    async () => {
      // ZooKeeper 3.8 picks the txn by opcode: create/create2 log a CreateTxn (a persistent node)
      // whatever the flags say; only OpCode.createContainer logs a CreateContainerTxn.
      const base = uniq('containerflag');
      const c = await client();
      assert.equal((await c.create(base)).err, 0);
      const viaCreate = await c.create(`${base}/op1`, null, { flags: CreateMode.CONTAINER });
      assert.deepEqual([viaCreate.err, viaCreate.path], [0, `${base}/op1`]);
      const viaCreate2 = await c.create2(`${base}/op15`, null, { flags: CreateMode.CONTAINER });
      assert.deepEqual([viaCreate2.err, viaCreate2.path], [0, `${base}/op15`]);
      const real = await c.createContainer(`${base}/op19`);
      assert.equal(real.err, 0);
      for (const p of ['op1', 'op15', 'op19']) {
        assert.equal((await c.create(`${base}/${p}/k`)).err, 0);
        assert.equal((await c.delete(`${base}/${p}/k`)).err, 0);
      }
      await waitFor(
        'the real container to be reaped',
        async () => ((await c.exists(`${base}/op19`)).err === ErrorCode.NONODE ? true : undefined),
        8000,
        100,
      );
      await new Promise((resolve) => setTimeout(resolve, 1100)); // one more reaper pass
      assert.equal((await c.exists(`${base}/op1`)).err, 0, 'create + CONTAINER flag is not reaped');
      assert.equal((await c.exists(`${base}/op15`)).err, 0, 'create2 + CONTAINER flag is not reaped');
    },
  );

  test('closeSession deletes the session ephemerals, fires their watches and closes the connection', TIMEOUT, async () => {
    const base = uniq('close');
    const owner = await client();
    const watcher = await client();
    assert.equal((await owner.create(base)).err, 0);
    assert.equal((await owner.create(`${base}/e`, null, { flags: CreateMode.EPHEMERAL })).err, 0);
    assert.equal((await owner.create(`${base}/p`)).err, 0);
    assert.equal((await watcher.exists(`${base}/e`, true)).err, 0);
    assert.equal((await watcher.getChildren(base, true)).err, 0);
    const mark = watcher.log.length;

    const closed = await owner.close();
    assert.equal(closed.err, 0);
    assert.equal(closed.serverClosed, true);
    await watcher.waitForEvent((e) => e.type === EventType.NodeDeleted && e.path === `${base}/e`, mark);
    await watcher.waitForEvent((e) => e.type === EventType.NodeChildrenChanged && e.path === base, mark);
    assert.equal((await watcher.exists(`${base}/e`)).err, ErrorCode.NONODE);
    assert.equal((await watcher.exists(`${base}/p`)).err, 0, 'persistent nodes stay');

    // A closed session cannot be re-attached.
    const back = await client({ sessionId: owner.sessionId, passwd: owner.passwd });
    assert.equal(back.negotiatedTimeout, 0);
    assert.equal((await withTimeout(back.closed, 3000, 'refused re-attach closed')).byServer, true);
  });
});

describe('session expiry (tickTime=100)', { timeout: 30000 }, () => {
  let server: ServerProcess;
  const clients: RawClient[] = [];
  before(async () => {
    server = await startServer({ config: { tickTime: '100' } });
  });
  after(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await server.stop();
  });

  test('a silent session expires: its ephemerals go, watchers hear NodeDeleted, re-attach gets timeOut 0', TIMEOUT, async () => {
    const connect = async (opts: Partial<ConnectOptions>): Promise<RawClient> => {
      const c = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 2000, readOnly: false, ...opts });
      clients.push(c);
      return c;
    };
    const doomed = await connect({ timeoutMs: 200 });
    assert.equal(doomed.negotiatedTimeout, 200);
    const watcher = await connect({ timeoutMs: 2000, keepAliveMs: 300 });
    assert.equal((await doomed.create('/expiring', null, { flags: CreateMode.EPHEMERAL })).err, 0);
    assert.equal((await watcher.exists('/expiring', true)).err, 0);
    const mark = watcher.log.length;
    const started = Date.now();
    doomed.destroy();
    await watcher.waitForEvent((e) => e.type === EventType.NodeDeleted && e.path === '/expiring', mark, 5000);
    assert.ok(Date.now() - started >= 150, 'not expired before its timeout');
    assert.equal((await watcher.exists('/expiring')).err, ErrorCode.NONODE);
    assert.equal(watcher.isClosed, false, 'a pinging session survives');

    const back = await connect({ sessionId: doomed.sessionId, passwd: doomed.passwd });
    assert.equal(back.negotiatedTimeout, 0);
    assert.equal(back.sessionId, 0n);
    assert.equal((await withTimeout(back.closed, 3000, 'expired re-attach closed')).byServer, true);
  });

  // ZooKeeper touches a session with the timeout negotiated on its current connection
  // (touchSession(id, cnxn.getSessionTimeout())), so a re-attach that negotiates a new timeout changes
  // when the session expires. (Checked against 3.8.0: created with 40 s, re-attached with 4 s,
  // dropped -> expired after ~5 s.)
  test('a re-attach that negotiates a longer timeout keeps the session alive under that timeout', TIMEOUT, async () => {
    const first = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 200, readOnly: false });
    clients.push(first);
    assert.equal(first.negotiatedTimeout, 200);
    assert.equal((await first.create('/retimed-long', null, { flags: CreateMode.EPHEMERAL })).err, 0);
    first.destroy();
    // A real client pings at about a third of the negotiated timeout.
    const back = await RawClient.connect({
      host: server.host,
      port: server.port,
      timeoutMs: 2000,
      readOnly: false,
      sessionId: first.sessionId,
      passwd: first.passwd,
      keepAliveMs: 600,
    });
    clients.push(back);
    assert.equal(back.negotiatedTimeout, 2000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(back.isClosed, false, 'the session did not expire between pings 600 ms apart');
    const st = await back.exists('/retimed-long');
    assert.equal(st.stat?.ephemeralOwner, first.sessionId);
    assert.equal((await back.close()).err, 0);
  });

  test('a re-attach that negotiates a shorter timeout makes the silent session expire sooner', TIMEOUT, async () => {
    const first = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 2000, readOnly: false });
    clients.push(first);
    assert.equal((await first.create('/retimed-short', null, { flags: CreateMode.EPHEMERAL })).err, 0);
    first.destroy();
    const back = await RawClient.connect({
      host: server.host,
      port: server.port,
      timeoutMs: 200,
      readOnly: false,
      sessionId: first.sessionId,
      passwd: first.passwd,
    });
    clients.push(back);
    assert.equal(back.negotiatedTimeout, 200);
    back.destroy();
    const started = Date.now();
    const watcher = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 2000, readOnly: false, keepAliveMs: 300 });
    clients.push(watcher);
    await waitFor(
      'the ephemeral of the expired session to go',
      async () => ((await watcher.exists('/retimed-short')).err === ErrorCode.NONODE ? true : undefined),
      5000,
      50,
    );
    const took = Date.now() - started;
    assert.ok(took < 1200, `expired after ${took} ms: the 200 ms timeout applies, not the original 2000 ms`);
  });
});

describe('super digest (zookeeper.DigestAuthenticationProvider.superDigest)', { timeout: 30000 }, () => {
  let server: ServerProcess;
  const clients: RawClient[] = [];
  before(async () => {
    // super:test
    server = await startServer({ config: { 'zookeeper.DigestAuthenticationProvider.superDigest': 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=' } });
  });
  after(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await server.stop();
  });

  test('the super user passes every ACL; whoAmI lists it', TIMEOUT, async () => {
    const connect = async (): Promise<RawClient> => {
      const c = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 10000, readOnly: false });
      clients.push(c);
      return c;
    };
    const alice = await connect();
    const root = await connect();
    const nobody = await connect();
    assert.equal((await alice.addAuth('digest', 'alice:pw')).err, 0);
    assert.equal((await alice.create('/private', Buffer.from('mine'), { acl: [{ perms: 31, id: { scheme: 'auth', id: '' } }] })).err, 0);
    assert.equal((await nobody.getData('/private')).err, ErrorCode.NOAUTH);
    assert.equal((await root.addAuth('digest', 'super:wrong')).err, 0);
    assert.equal((await root.getData('/private')).err, ErrorCode.NOAUTH, 'a wrong super password is just another digest user');
    const su = await connect();
    assert.equal((await su.addAuth('digest', 'super:test')).err, 0);
    assert.equal((await su.getData('/private')).data?.toString(), 'mine');
    assert.equal((await su.setACL('/private', OPEN_ACL_UNSAFE)).err, 0);
    assert.equal((await nobody.getData('/private')).data?.toString(), 'mine');
    const ids = ((await su.whoAmI()).clients ?? []).map((i) => `${i.authScheme}:${i.user}`).sort();
    assert.deepEqual(ids, ['digest:super', 'ip:127.0.0.1', 'super:']);
  });
});

describe('container reaper order (a server of its own: the order depends on every container it holds)', { timeout: 60000 }, () => {
  test('one pass deletes its candidates in the order ZooKeeper 3.8 does', TIMEOUT, async () => {
    // The order OpenJDK 17's HashSet gives these nine paths in ZooKeeper's pass (see
    // test/unit/base/java-hash-order.test.ts): it decides which deletion gets which zxid.
    const java = ['/app/t0', '/app/c0', '/app/t1', '/app/c1', '/app/t2', '/app/c2', '/app/t3', '/app/c3', '/app/c4'];
    const server = await startServer();
    const c = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 30000 });
    const watcher = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 30000 });
    try {
      assert.equal((await c.create('/app')).err, 0);
      // Each kept by a child, so that one multi makes all nine candidates of the same pass.
      for (let i = 0; i < 5; i++) assert.equal((await c.createContainer(`/app/c${i}`)).err, 0);
      for (let i = 0; i < 4; i++) assert.equal((await c.createTTL(`/app/t${i}`, null, 1)).err, 0);
      for (const p of java) assert.equal((await c.create(`${p}/k`)).err, 0);
      for (const p of java) assert.equal((await watcher.exists(p, true)).err, 0);
      const emptied = await c.multi(java.map((p) => ({ op: OpCode.delete, path: `${p}/k`, version: -1 })));
      assert.equal(emptied.err, 0);
      const from = watcher.log.length;
      await waitFor('the reaper to delete all nine', () => (watcher.eventsBetween(from).length >= 9 ? true : undefined), 8000, 50);
      assert.deepEqual(
        watcher.eventsBetween(from).map((e) => [e.type, e.path]),
        java.map((p) => [EventType.NodeDeleted, p]),
      );
    } finally {
      c.destroy();
      watcher.destroy();
      await server.stop();
    }
  });
});
