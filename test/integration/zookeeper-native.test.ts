/**
 * The real server process driven by the `zookeeper` npm package: a native binding of Apache
 * ZooKeeper's C client (its single-threaded async API, promisified). CRUD, ephemeral and
 * sequential nodes, one-shot watches, mkdirp, ACLs with digest auth, container/TTL create modes
 * and session re-attach. The package has no multi/transaction API, so that is not covered here.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import ZooKeeper from 'zookeeper';
import { CreateMode } from '../../src/codec/index.js';
import { RawClient } from '../support/raw-client.js';
import { startServer, waitFor, type ServerProcess } from '../support/server-process.js';

/** The binding's stat object (lib/typedeclarations.d.ts types it loosely; this is what node-zk.cpp builds). */
interface NativeStat {
  czxid: number;
  mzxid: number;
  pzxid: number;
  ctime: Date;
  mtime: Date;
  version: number;
  cversion: number;
  aversion: number;
  /** Hex, no leading zeros. */
  ephemeralOwner: string;
  dataLength: number;
  numChildren: number;
  createdInThisSession: boolean;
}
interface NativeAcl {
  perms: number;
  scheme: string;
  auth: string;
}
type WatchCb = (type: number, state: number, path: string) => void;

/** A typed view of ZooKeeperPromise: the methods used here, with the shapes the binding returns. */
interface NativeZk extends EventEmitter {
  init(config: object): NativeZk;
  close(): void;
  readonly client_id: string;
  readonly client_password: string;
  readonly timeout: number;
  create(path: string, data: string | Buffer, flags: number, ttl?: number): Promise<string>;
  exists(path: string, watch: boolean): Promise<NativeStat>;
  pathExists(path: string, watch: boolean): Promise<boolean>;
  w_exists(path: string, watchCb: WatchCb): Promise<NativeStat>;
  get(path: string, watch: boolean): Promise<[NativeStat, Buffer]>;
  w_get(path: string, watchCb: WatchCb): Promise<[NativeStat, Buffer]>;
  get_children(path: string, watch: boolean): Promise<string[]>;
  w_get_children(path: string, watchCb: WatchCb): Promise<string[]>;
  get_children2(path: string, watch: boolean): Promise<[string[], NativeStat]>;
  set(path: string, data: string | Buffer, version: number): Promise<NativeStat>;
  delete_(path: string, version: number): Promise<unknown>;
  get_acl(path: string): Promise<[NativeAcl[], NativeStat]>;
  set_acl(path: string, version: number, acl: NativeAcl[]): Promise<unknown>;
  mkdirp(path: string, cb: (error: Error | null, created?: boolean) => void): void;
  add_auth(scheme: string, auth: string, cb: (rc: number, error: string) => void): void;
}

const C = ZooKeeper.constants;
const TIMEOUT = { timeout: 30000 };

function uniq(name: string): string {
  return `/native-${name}-${randomBytes(4).toString('hex')}`;
}

/** The binding rejects with Error("<rc> <message>"): the ZooKeeper error code. */
async function rcOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    const m = /^(-?\d+) /.exec((e as Error).message);
    if (m !== null) return Number(m[1]);
    throw e;
  }
  assert.fail('expected the call to fail with a ZooKeeper error');
}

/** Collects watch callbacks; `next()` resolves with the next one. */
class WatchLog {
  readonly events: Array<[number, number, string]> = [];
  private waiting: Array<() => void> = [];
  readonly cb: WatchCb = (type, state, path) => {
    this.events.push([type, state, path]);
    for (const w of this.waiting.splice(0)) w();
  };
  async nth(n: number, timeoutMs = 5000): Promise<[number, number, string]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length <= n) {
      if (Date.now() > deadline) throw new Error(`watch event #${n} not delivered within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiting.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.events[n]!;
  }
}

describe('zookeeper (native C client) against the server process', { timeout: 60000 }, () => {
  let server: ServerProcess;
  const open: NativeZk[] = [];
  const raws: RawClient[] = [];

  function connect(extra: Record<string, string | number | boolean> = {}): Promise<NativeZk> {
    const zk = new ZooKeeper({
      connect: `${server.host}:${server.port}`,
      timeout: 10000,
      debug_level: C.ZOO_LOG_LEVEL_ERROR,
      host_order_deterministic: true,
      ...extra,
    }) as unknown as NativeZk;
    open.push(zk);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('native client did not connect within 5 s')), 5000);
      zk.once('connect', () => {
        clearTimeout(timer);
        resolve(zk);
      });
      zk.init({});
    });
  }

  function closeZk(zk: NativeZk): void {
    const i = open.indexOf(zk);
    if (i >= 0) open.splice(i, 1);
    zk.close();
  }

  before(async () => {
    server = await startServer();
  });
  afterEach(() => {
    for (const zk of open.splice(0)) zk.close();
    for (const r of raws.splice(0)) r.destroy();
  });
  after(async () => {
    await server.stop();
  });

  test('connects with the requested session timeout and a session id', TIMEOUT, async () => {
    const zk = await connect({ timeout: 12000 });
    assert.equal(zk.timeout, 12000);
    assert.match(zk.client_id, /^[0-9a-f]+$/);
    assert.notEqual(BigInt(`0x${zk.client_id}`), 0n);
    assert.match(zk.client_password, /^[0-9A-F]{32}$/);
  });

  test('create / get / set / delete / get_children with versions and error codes', TIMEOUT, async () => {
    const base = uniq('crud');
    const zk = await connect();
    assert.equal(await zk.create(base, 'root', C.ZOO_PERSISTENT), base);
    assert.equal(await zk.create(`${base}/a`, Buffer.from([0, 1, 2, 255]), C.ZOO_PERSISTENT), `${base}/a`);
    assert.equal(await zk.create(`${base}/b`, '', C.ZOO_PERSISTENT), `${base}/b`);

    const [stat, data] = await zk.get(`${base}/a`, false);
    assert.deepEqual(data, Buffer.from([0, 1, 2, 255]));
    assert.equal(stat.version, 0);
    assert.equal(stat.dataLength, 4);
    assert.equal(stat.ephemeralOwner, '0');

    const s1 = await zk.set(`${base}/a`, 'v1', 0);
    assert.equal(s1.version, 1);
    assert.ok(s1.mzxid > stat.mzxid);
    assert.equal(await rcOf(zk.set(`${base}/a`, 'stale', 0)), C.ZBADVERSION);
    assert.equal((await zk.get(`${base}/a`, false))[1].toString(), 'v1');

    assert.deepEqual((await zk.get_children(base, false)).sort(), ['a', 'b']);
    const [kids, parent] = await zk.get_children2(base, false);
    assert.deepEqual(kids.sort(), ['a', 'b']);
    assert.equal(parent.numChildren, 2);
    assert.equal(parent.cversion, 2);

    assert.equal(await rcOf(zk.create(`${base}/a`, '', C.ZOO_PERSISTENT)), C.ZNODEEXISTS);
    assert.equal(await rcOf(zk.create(`${base}/x/y`, '', C.ZOO_PERSISTENT)), C.ZNONODE);
    assert.equal(await rcOf(zk.delete_(base, -1)), C.ZNOTEMPTY);
    assert.equal(await rcOf(zk.delete_(`${base}/a`, 0)), C.ZBADVERSION);
    await zk.delete_(`${base}/a`, 1);
    await zk.delete_(`${base}/b`, -1);
    assert.equal(await rcOf(zk.get(`${base}/a`, false)), C.ZNONODE);
    assert.equal(await zk.pathExists(`${base}/b`, false), false);
    assert.deepEqual(await zk.get_children(base, false), []);
  });

  test('ephemeral and sequential nodes; close() removes the ephemerals', TIMEOUT, async () => {
    const base = uniq('eph');
    const zk = await connect();
    const observer = await connect();
    await zk.create(base, '', C.ZOO_PERSISTENT);
    assert.equal(await zk.create(`${base}/e`, 'e', C.ZOO_EPHEMERAL), `${base}/e`);
    const ps = await zk.create(`${base}/ps-`, '', C.ZOO_PERSISTENT_SEQUENTIAL);
    const es = await zk.create(`${base}/es-`, '', C.ZOO_EPHEMERAL_SEQUENTIAL);
    assert.equal(ps, `${base}/ps-0000000001`);
    assert.equal(es, `${base}/es-0000000002`);

    const st = await observer.exists(`${base}/e`, false);
    assert.equal(st.ephemeralOwner, zk.client_id);
    assert.equal(st.createdInThisSession, false);
    assert.equal((await zk.exists(es, false)).createdInThisSession, true);
    assert.equal((await zk.exists(ps, false)).ephemeralOwner, '0');
    assert.equal(await rcOf(zk.create(`${base}/e/kid`, '', C.ZOO_PERSISTENT)), C.ZNOCHILDRENFOREPHEMERALS);

    const watch = new WatchLog();
    await observer.w_exists(`${base}/e`, watch.cb);
    closeZk(zk);
    assert.deepEqual(await watch.nth(0), [C.ZOO_DELETED_EVENT, C.ZOO_CONNECTED_STATE, `${base}/e`]);
    assert.deepEqual(await observer.get_children(base, false), ['ps-0000000001']);
  });

  test('w_get / w_exists / w_get_children watches fire once with type, state and path', TIMEOUT, async () => {
    const base = uniq('watch');
    const zk = await connect();
    const writer = await connect();
    await writer.create(base, 'v0', C.ZOO_PERSISTENT);

    const data = new WatchLog();
    assert.equal((await zk.w_get(base, data.cb))[1].toString(), 'v0');
    const children = new WatchLog();
    assert.deepEqual(await zk.w_get_children(base, children.cb), []);
    const created = new WatchLog();
    // exists on a missing node fails with ZNONODE but leaves the watch set.
    assert.equal(await rcOf(zk.w_exists(`${base}/later`, created.cb)), C.ZNONODE);

    await writer.set(base, 'v1', -1);
    assert.deepEqual(await data.nth(0), [C.ZOO_CHANGED_EVENT, C.ZOO_CONNECTED_STATE, base]);
    await writer.create(`${base}/later`, '', C.ZOO_PERSISTENT);
    assert.deepEqual(await created.nth(0), [C.ZOO_CREATED_EVENT, C.ZOO_CONNECTED_STATE, `${base}/later`]);
    assert.deepEqual(await children.nth(0), [C.ZOO_CHILD_EVENT, C.ZOO_CONNECTED_STATE, base]);

    const deleted = new WatchLog();
    await zk.w_get(`${base}/later`, deleted.cb);
    await writer.delete_(`${base}/later`, -1);
    assert.deepEqual(await deleted.nth(0), [C.ZOO_DELETED_EVENT, C.ZOO_CONNECTED_STATE, `${base}/later`]);

    // One-shot: more changes after a round trip bring nothing new.
    await writer.set(base, 'v2', -1);
    await zk.get(base, false);
    assert.equal(data.events.length, 1);
    assert.equal(children.events.length, 1);
    assert.equal(created.events.length, 1);
  });

  test('mkdirp creates every missing level and tolerates existing ones', TIMEOUT, async () => {
    const base = uniq('mkdirp');
    const zk = await connect();
    const mkdirp = (path: string): Promise<boolean | undefined> =>
      new Promise((resolve, reject) => {
        zk.mkdirp(path, (error, created) => {
          if (error !== null) reject(error);
          else resolve(created);
        });
      });
    assert.equal(await mkdirp(`${base}/a/b/c`), true);
    assert.deepEqual(await zk.get_children(`${base}/a/b`, false), ['c']);
    assert.equal(await mkdirp(`${base}/a/b/d`), true);
    assert.deepEqual((await zk.get_children(`${base}/a/b`, false)).sort(), ['c', 'd']);
  });

  test('set_acl with a digest id, NoAuth without it, access after add_auth', TIMEOUT, async () => {
    const path = uniq('acl');
    const owner = await connect();
    const stranger = await connect();
    await owner.create(path, 'secret', C.ZOO_PERSISTENT);
    const id = `alice:${createHash('sha1').update('alice:secret').digest('base64')}`;
    await owner.set_acl(path, 0, [{ perms: C.ZOO_PERM_ALL, scheme: 'digest', auth: id }]);
    assert.equal(await rcOf(owner.get(path, false)), C.ZNOAUTH);
    assert.equal(await rcOf(stranger.set(path, 'x', -1)), C.ZNOAUTH);
    assert.equal((await stranger.exists(path, false)).aversion, 1);

    const rc = await new Promise<number>((resolve) => stranger.add_auth('digest', 'alice:secret', (r) => resolve(r)));
    assert.equal(rc, C.ZOK);
    assert.equal((await stranger.get(path, false))[1].toString(), 'secret');
    const [acl] = await stranger.get_acl(path);
    assert.deepEqual(acl, [{ perms: C.ZOO_PERM_ALL, scheme: 'digest', auth: id }]);
  });

  test('container and TTL create modes are reaped by the server', TIMEOUT, async () => {
    const base = uniq('reap');
    const zk = await connect();
    await zk.create(base, '', C.ZOO_PERSISTENT);
    assert.equal(await zk.create(`${base}/box`, '', C.ZOO_CONTAINER), `${base}/box`);
    await zk.create(`${base}/box/item`, '', C.ZOO_PERSISTENT);
    assert.equal(await zk.create(`${base}/ttl`, '', C.ZOO_PERSISTENT_WITH_TTL, 300), `${base}/ttl`);
    await zk.delete_(`${base}/box/item`, -1);
    await waitFor(
      'container and TTL node reaped',
      async () => ((await zk.get_children(base, false)).length === 0 ? true : undefined),
      8000,
      100,
    );
  });

  test('re-attaches (client_id / client_password) to a session another client left, keeping its ephemerals', TIMEOUT, async () => {
    const base = uniq('reattach');
    const raw = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 15000, readOnly: false });
    raws.push(raw);
    assert.equal((await raw.create(base)).err, 0);
    assert.equal((await raw.create(`${base}/e`, Buffer.from('kept'), { flags: CreateMode.EPHEMERAL })).err, 0);
    raw.destroy();

    const hexId = BigInt.asUintN(64, raw.sessionId).toString(16);
    const zk = await connect({ client_id: hexId, client_password: raw.passwd.toString('hex').toUpperCase(), timeout: 15000 });
    assert.equal(zk.client_id, hexId);
    const [st, data] = await zk.get(`${base}/e`, false);
    assert.equal(data.toString(), 'kept');
    assert.equal(st.ephemeralOwner, hexId);
    assert.equal(st.createdInThisSession, true);
  });
});
