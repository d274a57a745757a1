/**
 * The real server process driven by node-zookeeper-client (a pure-JS ZooKeeper client with its
 * own jute codec): node modes, versions, watches, ACLs and digest auth, transactions, session
 * close and session re-attach.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import zookeeper from 'node-zookeeper-client';
import { startServer, type ServerProcess } from '../support/server-process.js';

type Client = zookeeper.Client;
type Stat = zookeeper.Stat;
type ZkEvent = zookeeper.Event;

const { ACL, CreateMode, Event, Exception, Id, Permission, State } = zookeeper;
const TIMEOUT = { timeout: 30000 };

function uniq(name: string): string {
  return `/nzk-${name}-${randomBytes(4).toString('hex')}`;
}

/** Runs a callback-style call; resolves with its result or rejects with its error. */
function call<T>(fn: (cb: (error: Error | null | undefined, result: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((error, result) => {
      if (error !== null && error !== undefined) reject(error);
      else resolve(result);
    });
  });
}

/** The ZooKeeper error code a call failed with (fails the test if it succeeded or failed otherwise). */
async function codeOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    if (e instanceof Exception) return e.getCode();
    throw e;
  }
  assert.fail('expected the call to fail with a ZooKeeper error');
}

function create(
  c: Client,
  path: string,
  data: Buffer | null = null,
  mode: number = CreateMode.PERSISTENT,
  acls = ACL.OPEN_ACL_UNSAFE,
): Promise<string> {
  return call<string>((cb) => c.create(path, data, acls, mode, cb));
}
function exists(c: Client, path: string, watcher: zookeeper.Watcher | null = null): Promise<Stat | null> {
  return call<Stat | null>((cb) => c.exists(path, watcher, cb));
}
function getData(c: Client, path: string, watcher: zookeeper.Watcher | null = null): Promise<{ data: Buffer | null; stat: Stat }> {
  return new Promise((resolve, reject) => {
    c.getData(path, watcher, (error, data, stat) => {
      if (error !== null && error !== undefined) reject(error);
      else resolve({ data, stat });
    });
  });
}
function setData(c: Client, path: string, data: Buffer, version = -1): Promise<Stat> {
  return call<Stat>((cb) => c.setData(path, data, version, cb));
}
function getChildren(c: Client, path: string, watcher: zookeeper.Watcher | null = null): Promise<string[]> {
  return new Promise((resolve, reject) => {
    c.getChildren(path, watcher, (error, children) => {
      if (error !== null && error !== undefined) reject(error);
      else resolve(children);
    });
  });
}
function remove(c: Client, path: string, version = -1): Promise<void> {
  return new Promise((resolve, reject) => {
    c.remove(path, version, (error) => {
      if (error !== null && error !== undefined) reject(error);
      else resolve();
    });
  });
}
function getACL(c: Client, path: string): Promise<{ acls: zookeeper.ACL[]; stat: Stat }> {
  return new Promise((resolve, reject) => {
    c.getACL(path, (error, acls, stat) => {
      if (error !== null && error !== undefined) reject(error);
      else resolve({ acls, stat });
    });
  });
}
function setACL(c: Client, path: string, acls: zookeeper.ACL[], version = -1): Promise<Stat> {
  return call<Stat>((cb) => c.setACL(path, acls, version, cb));
}
function commit(
  t: zookeeper.Transaction,
): Promise<{ error: Error | null | undefined; results: zookeeper.TransactionResult[] | undefined }> {
  return new Promise((resolve) => {
    t.commit((error, results) => resolve({ error, results }));
  });
}

/** A one-shot watcher and the promise of its event. */
function watch(timeoutMs = 5000): { watcher: zookeeper.Watcher; event: Promise<ZkEvent> } {
  let fire!: (e: ZkEvent) => void;
  const event = new Promise<ZkEvent>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no watch event within ${timeoutMs} ms`)), timeoutMs);
    fire = (e) => {
      clearTimeout(timer);
      resolve(e);
    };
  });
  return { watcher: (e) => fire(e), event };
}

function long(b: Buffer): bigint {
  return b.readBigInt64BE(0);
}

function digest(userPassword: string): string {
  const user = userPassword.slice(0, userPassword.indexOf(':'));
  return `${user}:${createHash('sha1').update(userPassword).digest('base64')}`;
}

describe('node-zookeeper-client against the server process', { timeout: 60000 }, () => {
  let server: ServerProcess;
  const clients: Client[] = [];

  function connect(options: zookeeper.ClientOptions = {}): Promise<Client> {
    const c = zookeeper.createClient(`${server.host}:${server.port}`, { sessionTimeout: 10000, spinDelay: 100, retries: 0, ...options });
    clients.push(c);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('node-zookeeper-client did not connect within 5 s')), 5000);
      c.once('connected', () => {
        clearTimeout(timer);
        resolve(c);
      });
      c.once('expired', () => {
        clearTimeout(timer);
        reject(new Error('session expired while connecting'));
      });
      c.connect();
    });
  }

  /** close() sends closeSession; resolves when the server has dropped the connection. */
  function closeClient(c: Client): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('client not disconnected within 5 s of close()')), 5000);
      c.once('disconnected', () => {
        clearTimeout(timer);
        resolve();
      });
      c.close();
    });
  }

  /** Drops the TCP connection without closing the session, and keeps the library from reconnecting. */
  function abandon(c: Client): void {
    c.connectionManager.state = -1; // ConnectionManager STATES.CLOSING: no reconnect on socket close
    c.connectionManager.socket?.destroy();
  }

  before(async () => {
    server = await startServer();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) {
      if (c.getState() === State.SYNC_CONNECTED) c.close();
      else abandon(c);
    }
  });
  after(async () => {
    await server.stop();
  });

  test('connects and reports the negotiated session', TIMEOUT, async () => {
    const c = await connect({ sessionTimeout: 12000 });
    assert.equal(c.getState(), State.SYNC_CONNECTED);
    assert.equal(c.getSessionTimeout(), 12000);
    assert.equal(c.getSessionId().length, 8);
    assert.notEqual(long(c.getSessionId()), 0n);
    assert.equal(c.getSessionPassword().length, 16);
    const other = await connect({ sessionTimeout: 1000 });
    assert.equal(other.getSessionTimeout(), 4000, 'clamped up to 2 * tickTime');
    assert.notDeepEqual(other.getSessionId(), c.getSessionId());
  });

  test('creates persistent, ephemeral, sequential and ephemeral-sequential nodes', TIMEOUT, async () => {
    const base = uniq('modes');
    const c = await connect();
    assert.equal(await create(c, base), base);
    assert.equal(await create(c, `${base}/p`, Buffer.from('p')), `${base}/p`);
    assert.equal(await create(c, `${base}/e`, Buffer.from('e'), CreateMode.EPHEMERAL), `${base}/e`);
    const s1 = await create(c, `${base}/s-`, null, CreateMode.PERSISTENT_SEQUENTIAL);
    const s2 = await create(c, `${base}/s-`, null, CreateMode.PERSISTENT_SEQUENTIAL);
    assert.equal(s1, `${base}/s-0000000002`);
    assert.equal(s2, `${base}/s-0000000003`);
    const es = await create(c, `${base}/es-`, null, CreateMode.EPHEMERAL_SEQUENTIAL);
    assert.equal(es, `${base}/es-0000000004`);

    const session = long(c.getSessionId());
    assert.equal(long((await exists(c, `${base}/p`))!.ephemeralOwner), 0n);
    assert.equal(long((await exists(c, `${base}/e`))!.ephemeralOwner), session);
    assert.equal(long((await exists(c, es))!.ephemeralOwner), session);
    assert.equal(long((await exists(c, s1))!.ephemeralOwner), 0n);
    assert.deepEqual((await getChildren(c, base)).sort(), ['e', 'es-0000000004', 'p', 's-0000000002', 's-0000000003']);

    assert.equal(await codeOf(create(c, `${base}/p`)), Exception.NODE_EXISTS);
    assert.equal(await codeOf(create(c, `${base}/none/child`)), Exception.NO_NODE);
    assert.equal(await codeOf(create(c, `${base}/e/child`)), Exception.NO_CHILDREN_FOR_EPHEMERALS);
    assert.equal(await call<string>((cb) => c.mkdirp(`${base}/deep/er/path`, cb)), `${base}/deep/er/path`);
    assert.notEqual(await exists(c, `${base}/deep/er`), null);
  });

  test('container mode: the library sends it as a plain create (opcode 1), which ZooKeeper stores as persistent', TIMEOUT, async () => {
    // node-zookeeper-client has no CONTAINER in CreateMode and always uses OpCode.create; ZooKeeper
    // 3.8 turns create + container flag into an ordinary persistent node (ephemeralOwner 0, never reaped).
    const base = uniq('container');
    const c = await connect();
    assert.equal(await create(c, base, null, 4), base);
    const st = await exists(c, base);
    assert.notEqual(st, null);
    assert.equal(long(st!.ephemeralOwner), 0n);
    assert.equal(await create(c, `${base}/k`), `${base}/k`);
    await remove(c, `${base}/k`);
    // znode.container.checkIntervalMs=1000: a real container would be gone after two passes.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.notEqual(await exists(c, base), null, 'a create (opcode 1) with the container flag is not a container: not reaped');
  });

  test('getData / setData with versions; BadVersion on a stale version', TIMEOUT, async () => {
    const path = uniq('versions');
    const c = await connect();
    await create(c, path, Buffer.from('v0'));
    const first = await getData(c, path);
    assert.equal(first.data?.toString(), 'v0');
    assert.equal(first.stat.version, 0);
    assert.equal(first.stat.dataLength, 2);

    const s1 = await setData(c, path, Buffer.from('v1'), 0);
    assert.equal(s1.version, 1);
    assert.ok(long(s1.mzxid) > long(first.stat.mzxid));
    assert.equal(await codeOf(setData(c, path, Buffer.from('stale'), 0)), Exception.BAD_VERSION);
    const s2 = await setData(c, path, Buffer.from('v2'), -1);
    assert.equal(s2.version, 2);
    assert.equal((await getData(c, path)).data?.toString(), 'v2');

    const empty = await setData(c, path, Buffer.alloc(0), 2);
    assert.equal(empty.dataLength, 0);
    assert.equal(await codeOf(remove(c, path, 1)), Exception.BAD_VERSION);
    await remove(c, path, 3);
    assert.equal(await exists(c, path), null);
    assert.equal(await codeOf(getData(c, path)), Exception.NO_NODE);
    assert.equal(await codeOf(setData(c, path, Buffer.from('x'))), Exception.NO_NODE);
  });

  test('getChildren with a watcher fires NODE_CHILDREN_CHANGED once', TIMEOUT, async () => {
    const base = uniq('children');
    const c = await connect();
    const writer = await connect();
    await create(c, base);
    const w = watch();
    assert.deepEqual(await getChildren(c, base, w.watcher), []);
    await create(writer, `${base}/a`);
    const e = await w.event;
    assert.equal(e.getType(), Event.NODE_CHILDREN_CHANGED);
    assert.equal(e.getPath(), base);
    assert.deepEqual(await getChildren(c, base), ['a']);
  });

  test('exists / getData watchers: NODE_CREATED, NODE_DATA_CHANGED, NODE_DELETED', TIMEOUT, async () => {
    const path = uniq('exists');
    const c = await connect();
    const writer = await connect();

    const created = watch();
    assert.equal(await exists(c, path, created.watcher), null);
    await create(writer, path, Buffer.from('x'));
    const ce = await created.event;
    assert.deepEqual([ce.getType(), ce.getPath()], [Event.NODE_CREATED, path]);

    const changed = watch();
    assert.equal((await getData(c, path, changed.watcher)).data?.toString(), 'x');
    await setData(writer, path, Buffer.from('y'));
    const de = await changed.event;
    assert.deepEqual([de.getType(), de.getPath()], [Event.NODE_DATA_CHANGED, path]);

    const deleted = watch();
    assert.notEqual(await exists(c, path, deleted.watcher), null);
    await remove(writer, path);
    const xe = await deleted.event;
    assert.deepEqual([xe.getType(), xe.getPath()], [Event.NODE_DELETED, path]);
  });

  test('getACL / setACL with versions; a read-only ACL refuses writes', TIMEOUT, async () => {
    const path = uniq('acl');
    const c = await connect();
    await create(c, path, Buffer.from('open'));
    const open = await getACL(c, path);
    assert.deepEqual(
      open.acls.map((a) => [a.permission, a.id.scheme, a.id.id]),
      [[Permission.ALL, 'world', 'anyone']],
    );
    assert.equal(open.stat.aversion, 0);

    assert.equal(await codeOf(setACL(c, path, ACL.READ_ACL_UNSAFE, 3)), Exception.BAD_VERSION);
    const st = await setACL(c, path, ACL.READ_ACL_UNSAFE, 0);
    assert.equal(st.aversion, 1);
    assert.equal(st.version, 0, 'setACL bumps aversion only');
    assert.deepEqual(
      (await getACL(c, path)).acls.map((a) => [a.permission, a.id.scheme, a.id.id]),
      [[Permission.READ, 'world', 'anyone']],
    );
    assert.equal((await getData(c, path)).data?.toString(), 'open');
    assert.equal(await codeOf(setData(c, path, Buffer.from('nope'))), Exception.NO_AUTH);
    // ZooKeeper checks ADMIN before the version: a stale version on a node we may not administer is NoAuth.
    assert.equal(await codeOf(setACL(c, path, ACL.OPEN_ACL_UNSAFE, 0)), Exception.NO_AUTH);
    assert.equal(await codeOf(setACL(c, path, ACL.OPEN_ACL_UNSAFE, 1)), Exception.NO_AUTH);
    assert.equal(await codeOf(create(c, `${path}/child`)), Exception.NO_AUTH);
  });

  test('digest auth: an ACL for alice denies others (NoAuth) and admits alice', TIMEOUT, async () => {
    const path = uniq('digest');
    const alice = await connect();
    alice.addAuthInfo('digest', Buffer.from('alice:secret'));
    await create(alice, path, Buffer.from('for alice'), CreateMode.PERSISTENT, ACL.CREATOR_ALL_ACL);
    const acl = await getACL(alice, path);
    assert.deepEqual(
      acl.acls.map((a) => [a.permission, a.id.scheme, a.id.id]),
      [[Permission.ALL, 'digest', digest('alice:secret')]],
    );

    const anon = await connect();
    assert.equal(await codeOf(getData(anon, path)), Exception.NO_AUTH);
    assert.equal(await codeOf(setData(anon, path, Buffer.from('x'))), Exception.NO_AUTH);
    assert.notEqual(await exists(anon, path), null, 'exists needs no permission');
    // CREATOR_ALL_ACL needs an authenticated creator.
    assert.equal(await codeOf(create(anon, `${path}-x`, null, CreateMode.PERSISTENT, ACL.CREATOR_ALL_ACL)), Exception.INVALID_ACL);

    const mallory = await connect();
    mallory.addAuthInfo('digest', Buffer.from('alice:wrong'));
    assert.equal(await codeOf(getData(mallory, path)), Exception.NO_AUTH);

    const alice2 = await connect();
    alice2.addAuthInfo('digest', Buffer.from('alice:secret'));
    assert.equal((await getData(alice2, path)).data?.toString(), 'for alice');
    assert.equal((await setData(alice2, path, Buffer.from('still alice'))).version, 1);

    // An explicit digest ACL built from the hash works the same way.
    const bobAcl = [new ACL(Permission.READ | Permission.WRITE, new Id('digest', digest('bob:pw')))];
    await create(alice, `${path}-bob`, Buffer.from('bob'), CreateMode.PERSISTENT, bobAcl);
    assert.equal(await codeOf(getData(alice2, `${path}-bob`)), Exception.NO_AUTH);
    const bob = await connect();
    bob.addAuthInfo('digest', Buffer.from('bob:pw'));
    assert.equal((await getData(bob, `${path}-bob`)).data?.toString(), 'bob');
  });

  test('transaction(): a committed multi reports per-op results; a failed one reports the failing op and rolls back', TIMEOUT, async () => {
    const base = uniq('txn');
    const c = await connect();
    // The library sends `version || -1`: a version of 0 goes out as -1 (any). Non-zero versions are sent as given.
    const ok = await commit(
      c
        .transaction()
        .create(base)
        .create(`${base}/1`, Buffer.from('one'))
        .setData(`${base}/1`, Buffer.from('uno'))
        .check(`${base}/1`, 1)
        .setData(`${base}/1`, Buffer.from('uno'), 1)
        .create(`${base}/2`)
        .remove(`${base}/2`),
    );
    assert.equal(ok.error, null);
    const results = ok.results ?? [];
    assert.deepEqual(
      results.map((r) => r.type),
      [1, 1, 5, 13, 5, 1, 2],
    );
    assert.equal(results[0]?.path, base);
    assert.equal(results[1]?.path, `${base}/1`);
    assert.equal(results[2]?.stat?.version, 1);
    assert.equal(results[4]?.stat?.version, 2);
    assert.deepEqual(results[4].stat.mzxid, results[2].stat.mzxid, 'one zxid for the whole multi');
    assert.equal((await getData(c, `${base}/1`)).data?.toString(), 'uno');
    assert.equal(await exists(c, `${base}/2`), null);

    const bad = await commit(c.transaction().create(`${base}/3`).check(`${base}/1`, 7).setData(`${base}/1`, Buffer.from('never')));
    assert.ok(bad.error instanceof Exception);
    assert.equal(bad.error.getCode(), Exception.BAD_VERSION);
    assert.deepEqual(bad.results, [
      { type: -1, err: 0 },
      { type: -1, err: Exception.BAD_VERSION },
      { type: -1, err: -2 },
    ]);
    assert.equal(await exists(c, `${base}/3`), null);
    assert.equal((await getData(c, `${base}/1`)).data?.toString(), 'uno');

    const noNode = await commit(c.transaction().remove(`${base}/missing`).create(`${base}/4`));
    assert.ok(noNode.error instanceof Exception);
    assert.equal(noNode.error.getCode(), Exception.NO_NODE);
    assert.deepEqual(noNode.results, [
      { type: -1, err: Exception.NO_NODE },
      { type: -1, err: -2 },
    ]);
  });

  test('closing a session deletes its ephemerals and another client sees NODE_DELETED', TIMEOUT, async () => {
    const base = uniq('close');
    const owner = await connect();
    const watcher = await connect();
    await create(owner, base);
    await create(owner, `${base}/eph`, Buffer.from('bye'), CreateMode.EPHEMERAL);
    const seq = await create(owner, `${base}/seq-`, null, CreateMode.EPHEMERAL_SEQUENTIAL);
    const gone = watch();
    const kids = watch();
    assert.notEqual(await exists(watcher, `${base}/eph`, gone.watcher), null);
    assert.equal((await getChildren(watcher, base, kids.watcher)).length, 2);

    await closeClient(owner);
    const e = await gone.event;
    assert.deepEqual([e.getType(), e.getPath()], [Event.NODE_DELETED, `${base}/eph`]);
    const k = await kids.event;
    assert.deepEqual([k.getType(), k.getPath()], [Event.NODE_CHILDREN_CHANGED, base]);
    assert.equal(await exists(watcher, `${base}/eph`), null);
    assert.equal(await exists(watcher, seq), null);
    assert.deepEqual(await getChildren(watcher, base), []);

    // The closed session is gone for good: re-attaching to it reports expiry.
    const ghost = zookeeper.createClient(`${server.host}:${server.port}`, {
      sessionTimeout: 10000,
      sessionId: owner.getSessionId(),
      sessionPassword: owner.getSessionPassword(),
    });
    clients.push(ghost);
    const expired = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no expired state within 5 s')), 5000);
      ghost.once('expired', () => {
        clearTimeout(timer);
        resolve();
      });
      ghost.once('connected', () => {
        clearTimeout(timer);
        reject(new Error('re-attached to a closed session'));
      });
    });
    ghost.connect();
    await expired;
  });

  test('a new client re-attaches a session by id and password and keeps its ephemerals', TIMEOUT, async () => {
    const base = uniq('reattach');
    const first = await connect({ sessionTimeout: 15000 });
    await create(first, base);
    await create(first, `${base}/eph`, Buffer.from('kept'), CreateMode.EPHEMERAL);
    const id = first.getSessionId();
    const pw = first.getSessionPassword();
    abandon(first);

    const second = await connect({ sessionTimeout: 15000, sessionId: id, sessionPassword: pw });
    assert.deepEqual(second.getSessionId(), id);
    assert.equal(second.getSessionTimeout(), 15000);
    const st = await exists(second, `${base}/eph`);
    assert.notEqual(st, null);
    assert.equal(st!.ephemeralOwner.toString('hex'), id.toString('hex'));
    assert.equal((await getData(second, `${base}/eph`)).data?.toString(), 'kept');
    // The re-attached session owns the node: it can create more ephemerals and closing it removes all.
    await create(second, `${base}/eph2`, null, CreateMode.EPHEMERAL);
    const observer = await connect();
    await closeClient(second);
    assert.deepEqual(await getChildren(observer, base), []);
  });
});
