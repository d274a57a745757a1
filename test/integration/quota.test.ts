/**
 * Quotas over the wire, driven with RawClient the way zkCli's setquota / delquota write them:
 * /zookeeper/quota/<path>/zookeeper_limits and .../zookeeper_stats, which the server keeps
 * counting. Expectations are Apache ZooKeeper 3.8.0's, and the suite also runs against it
 * (ZEPHYR_IT_SERVER=zk). The warnings our log gives: zephyr-only/quota-log.test.ts.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, OpCode, type OpResult, type Request, type Stat } from '../../src/codec/index.js';
import { OPEN_ACL_UNSAFE, RawClient } from '../support/raw-client.js';
import { startServer, waitFor, type ServerProcess } from '../support/server-process.js';
import { B, delQuota, limitsPath, setQuota, statsPath, statsText, uniq } from './quota-support.js';

const TIMEOUT = { timeout: 30000 };
function createOp(path: string, data: string): Request {
  return { op: OpCode.create, path, data: B(data), acl: OPEN_ACL_UNSAFE, flags: 0 };
}

function codes(results: OpResult[] | undefined): number[] {
  return (results ?? []).map((r) => (r.type === OpCode.error ? r.err : 0));
}

/** Connects clients to `server()` and closes them after each test. */
function clients(server: () => ServerProcess): { client: () => Promise<RawClient>; closeAll: () => void } {
  const open: RawClient[] = [];
  return {
    client: async () => {
      const s = server();
      const c = await RawClient.connect({ host: s.host, port: s.port, timeoutMs: 30000, readOnly: false });
      open.push(c);
      return c;
    },
    closeAll: () => {
      for (const c of open.splice(0)) c.destroy();
    },
  };
}

describe('quota stats (any server, soft limits)', { timeout: 120000 }, () => {
  let server: ServerProcess;
  const { client, closeAll } = clients(() => server);
  before(async () => {
    server = await startServer();
  });
  afterEach(closeAll);
  after(async () => {
    await server.stop();
  });

  test('setquota counts the subtree; writes below keep it counted; the stats Stat never moves', TIMEOUT, async () => {
    const c = await client();
    const r = uniq('count');
    assert.equal((await c.create(r, B('12'))).err, 0);
    assert.equal((await c.create(`${r}/a`, B('xy'))).err, 0);
    await setQuota(c, r, { count: 2 });
    assert.equal(await statsText(c, r), 'count=2,bytes=4');
    const created = (await c.exists(statsPath(r))).stat as Stat;
    assert.equal((await c.create(`${r}/b`, B('abc'))).err, 0);
    assert.equal((await c.setData(`${r}/a`, B('q'))).err, 0);
    assert.equal(await statsText(c, r), 'count=3,bytes=6');
    assert.equal((await c.delete(`${r}/b`)).err, 0);
    const m = await c.multi([
      createOp(`${r}/m1`, 'aaaa'),
      createOp(`${r}/m2`, ''),
      { op: OpCode.setData, path: r, data: null, version: -1 },
    ]);
    assert.deepEqual(codes(m.results), [0, 0, 0]);
    // Over the soft count limit (2): only a warning in the server's log.
    assert.equal(await statsText(c, r), 'count=4,bytes=5');
    const now = (await c.exists(statsPath(r))).stat as Stat;
    assert.deepEqual({ ...now, dataLength: 0 }, { ...created, dataLength: 0 });
    assert.equal(now.dataLength, 'count=4,bytes=5'.length);
    const data = await c.getData(statsPath(r));
    assert.deepEqual(data.stat, now);
  });

  test('ephemerals deleted by a session close leave the stats', TIMEOUT, async () => {
    const c = await client();
    const owner = await client();
    const r = uniq('eph');
    assert.equal((await c.create(r, null)).err, 0);
    await setQuota(c, r, { count: 10, bytes: 100 });
    assert.equal((await owner.create(`${r}/e1`, B('one'), { flags: 1 })).err, 0);
    assert.equal((await owner.create(`${r}/e2`, B('two!'), { flags: 3 })).err, 0);
    assert.equal(await statsText(c, r), 'count=3,bytes=7');
    await owner.close();
    assert.equal(await statsText(c, r), 'count=1,bytes=0');
  });

  test('container and TTL reaps leave the stats', TIMEOUT, async () => {
    const c = await client();
    const r = uniq('reap');
    assert.equal((await c.create(r, null)).err, 0);
    await setQuota(c, r, { count: 10 });
    assert.equal((await c.createContainer(`${r}/c`, B('cc'))).err, 0);
    assert.equal((await c.create(`${r}/c/k`, B('k'))).err, 0);
    assert.equal((await c.createTTL(`${r}/t`, B('ttl'), 1)).err, 0);
    assert.equal(await statsText(c, r), 'count=4,bytes=6');
    assert.equal((await c.delete(`${r}/c/k`)).err, 0);
    // Both servers sweep every second here (znode.container.checkIntervalMs=1000).
    const reaped = await waitFor(
      'the container and the TTL node to be reaped',
      async () => ((await c.getChildren(r)).children?.length === 0 ? true : undefined),
      10000,
      100,
    );
    assert.ok(reaped);
    assert.equal(await statsText(c, r), 'count=1,bytes=0');
  });

  test('nested quotas: only the deepest root counts; delquota on it hands writes back to the outer one', TIMEOUT, async () => {
    const c = await client();
    const r = uniq('nested');
    assert.equal((await c.create(r, B('1'))).err, 0);
    assert.equal((await c.create(`${r}/m`, B('22'))).err, 0);
    await setQuota(c, r, { count: 100 });
    // zkCli refuses a quota under another one; the server does not.
    await setQuota(c, `${r}/m`, { bytes: 100 });
    assert.equal((await c.create(`${r}/m/k`, B('333'))).err, 0);
    assert.equal(await statsText(c, r), 'count=2,bytes=3');
    assert.equal(await statsText(c, `${r}/m`), 'count=2,bytes=5');
    await delQuota(c, `${r}/m`);
    assert.equal((await c.exists(`/zookeeper/quota${r}/m`)).err, ErrorCode.NONODE);
    assert.equal((await c.create(`${r}/m/k2`, B('4444'))).err, 0);
    assert.equal(await statsText(c, r), 'count=3,bytes=7');
  });

  test('a limits node alone counts nothing; the stats node, once created, counts the subtree', TIMEOUT, async () => {
    const c = await client();
    const r = uniq('order');
    assert.equal((await c.create(r, B('1'))).err, 0);
    assert.equal((await c.create(`/zookeeper/quota${r}`, null)).err, 0);
    assert.equal((await c.create(limitsPath(r), B('count=5'))).err, 0);
    assert.equal((await c.create(`${r}/x`, B('22'))).err, 0);
    // Whatever a client writes into a new stats node, the server recounts it.
    assert.equal((await c.create(statsPath(r), B('anything=1'))).err, 0);
    assert.equal(await statsText(c, r), 'count=2,bytes=3');
    assert.equal((await c.create(`${r}/y`, B('333'))).err, 0);
    assert.equal(await statsText(c, r), 'count=3,bytes=6');
    // A stats node a client rewrote is read as ZooKeeper reads it; unknown keys stay.
    assert.equal((await c.setData(statsPath(r), B('bytes=+5,count=0007;note=3'))).err, 0);
    assert.equal((await c.create(`${r}/z`, B('333'))).err, 0);
    assert.equal(await statsText(c, r), 'count=8,bytes=8=;note=3');
  });
});

describe('hard quotas (zookeeper.enforceQuota=true)', { timeout: 120000 }, () => {
  let server: ServerProcess;
  const { client, closeAll } = clients(() => server);
  before(async () => {
    server = await startServer({ config: { 'zookeeper.enforceQuota': 'true' } });
  });
  afterEach(closeAll);
  after(async () => {
    await server.stop();
  });

  test('creates and setData over a hard limit fail with QUOTAEXCEEDED; soft limits do not refuse', TIMEOUT, async () => {
    const c = await client();
    const r = uniq('hard');
    assert.equal((await c.create(r, null)).err, 0);
    await setQuota(c, r, { count: 1, countHard: 2, bytesHard: 5 });
    assert.equal((await c.create(`${r}/a`, B('123'))).err, 0);
    assert.equal((await c.create(`${r}/b`, B('1'))).err, ErrorCode.QUOTAEXCEEDED);
    assert.equal((await c.setData(`${r}/a`, B('12345'))).err, 0);
    assert.equal((await c.setData(`${r}/a`, B('123456'))).err, ErrorCode.QUOTAEXCEEDED);
    // The quota is checked after the ACL and before the version.
    assert.equal((await c.setData(`${r}/a`, B('123456'), 77)).err, ErrorCode.QUOTAEXCEEDED);
    assert.equal((await c.setData(`${r}/a`, B('1'), 77)).err, ErrorCode.BADVERSION);
    assert.equal((await c.create(`${r}/a`, B('1'))).err, ErrorCode.NODEEXISTS);
    assert.equal(await statsText(c, r), 'count=2,bytes=5');
    // Deletes are never refused.
    assert.equal((await c.delete(`${r}/a`)).err, 0);
    assert.equal(await statsText(c, r), 'count=1,bytes=0');
  });

  test('multi: each op is checked against the stats before the multi; a refused op fails the multi', TIMEOUT, async () => {
    const c = await client();
    const r = uniq('multi');
    assert.equal((await c.create(r, null)).err, 0);
    await setQuota(c, r, { countHard: 2 });
    const both = await c.multi([createOp(`${r}/m1`, ''), createOp(`${r}/m2`, '')]);
    assert.equal(both.err, 0);
    assert.deepEqual(codes(both.results), [0, 0]);
    assert.equal(await statsText(c, r), 'count=3,bytes=0');
    const refused = await c.multi([
      { op: OpCode.setData, path: r, data: B('x'), version: -1 },
      createOp(`${r}/m3`, ''),
      createOp('/x', ''),
    ]);
    assert.deepEqual(codes(refused.results), [0, ErrorCode.QUOTAEXCEEDED, ErrorCode.RUNTIMEINCONSISTENCY]);
    assert.equal((await c.getData(r)).data, null);
  });

  test('limits text the server cannot parse: MARSHALLINGERROR, for a multi as a whole', TIMEOUT, async () => {
    const c = await client();
    const r = uniq('unparsable');
    assert.equal((await c.create(r, null)).err, 0);
    await setQuota(c, r, { count: 5 });
    assert.equal((await c.setData(limitsPath(r), B('count=5,bogus'))).err, 0);
    assert.equal((await c.create(`${r}/a`, B('1'))).err, ErrorCode.MARSHALLINGERROR);
    const m = await c.multi([createOp(`${r}/b`, '')]);
    assert.equal(m.err, ErrorCode.MARSHALLINGERROR);
    assert.equal((await c.exists(`${r}/b`)).err, ErrorCode.NONODE);
    assert.equal(await statsText(c, r), 'count=1,bytes=0');
  });
});

describe('quota stats across restarts', { timeout: 120000 }, () => {
  test('log replay retraces the stats; a snapshot load recounts them, as ZooKeeper 3.8.0 does', TIMEOUT, async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'zephyr-quota-it-'));
    const connect = (s: ServerProcess): Promise<RawClient> =>
      RawClient.connect({ host: s.host, port: s.port, timeoutMs: 30000, readOnly: false });
    let server = await startServer({ config: { dataDir } });
    let c = await connect(server);
    const restart = async (): Promise<void> => {
      c.destroy();
      await server.stop();
      server = await startServer({ config: { dataDir } });
      c = await connect(server);
    };
    try {
      assert.equal((await c.create('/n', B('1'))).err, 0);
      assert.equal((await c.create('/n/m', B('22'))).err, 0);
      await setQuota(c, '/n', { count: 100 });
      await setQuota(c, '/n/m', { count: 100 });
      assert.equal((await c.create('/n/m/k', B('333'))).err, 0);
      assert.equal((await c.delete(limitsPath('/n/m'))).err, 0);
      assert.equal((await c.create('/n/m/k2', B('4444'))).err, 0);
      // /n did not count /n/m/k: /n/m was a root of its own then.
      assert.equal(await statsText(c, '/n'), 'count=3,bytes=7');
      // Only the empty start-up snapshot exists: the whole log is replayed, which retraces
      // the live stats; start-up then writes a snapshot of the recovered tree.
      await restart();
      assert.equal(await statsText(c, '/n'), 'count=3,bytes=7');
      // Loading that snapshot recounts /n over its whole subtree; /n/m, no longer a root, stays.
      await restart();
      assert.equal(await statsText(c, '/n'), 'count=4,bytes=10');
      assert.equal(await statsText(c, '/n/m'), 'count=2,bytes=5');
      assert.equal((await c.create('/n/z', B('z'))).err, 0);
      assert.equal(await statsText(c, '/n'), 'count=5,bytes=11');
    } finally {
      c.destroy();
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
