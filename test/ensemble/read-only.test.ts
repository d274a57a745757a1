/**
 * Read-only mode (`readonlymode.enabled`) of a 3-member ensemble: two members are killed, and the
 * one left, after ZooKeeper's grace period (tickTime, at least 2 s) of looking for a leader,
 * serves clients that asked for read-only: reads from its tree, NOTREADONLY (-119) for every
 * write and sync, `isro` says `ro` (`null` while it only looks), `srvr` says `Mode: read-only`.
 * A client that did not ask for read-only is refused, and so is the re-attach of a global
 * session (ZOOKEEPER-3863). Once a killed member is back, the quorum forms again, the read-only
 * clients are disconnected, and a client reconnecting gets a read-write session.
 *
 * `localSessionsEnabled=true` is set because ZooKeeper 3.8.0 needs it: without it its read-only
 * server answers a new session's ConnectRequest with a bare NOTREADONLY reply header, so no
 * client can connect at all. ZephyrCoord serves read-only sessions either way (README). With
 * upgrading on, the ephemeral makes the first session global, as every session is without
 * local sessions.
 *
 * Server: ZEPHYR_ENSEMBLE_SERVER=zk|zephyr (see test/support/ensemble-process.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, OpCode } from '../../src/codec/index.js';
import type { Member } from '../support/ensemble-process.js';
import { OPEN_ACL_UNSAFE, RawClient, type ConnectOptions } from '../support/raw-client.js';
import { fourLetterWord, sleep, waitFor } from '../support/server-process.js';
import { SESSION_TIMEOUT_MS, ensembleForSuite } from './ensemble-support.js';

const EPHEMERAL = 1;

function connect(member: Member, options: Partial<ConnectOptions>): Promise<RawClient> {
  return RawClient.connect({
    host: '127.0.0.1',
    port: member.ports.client,
    timeoutMs: SESSION_TIMEOUT_MS,
    connectTimeoutMs: 3000,
    requestTimeoutMs: 3000,
    ...options,
  });
}

/** Resumes `client`'s session at `member`, asking for read-only (as kazoo and the Java client do). */
function reattach(member: Member, client: RawClient): Promise<RawClient> {
  return connect(member, { readOnly: true, sessionId: client.sessionId, passwd: client.passwd, lastZxidSeen: client.lastZxid });
}

/** The connect is refused: the server closes the connection without a ConnectResponse. */
async function assertRefused(attempt: Promise<RawClient>, what: string): Promise<void> {
  await assert.rejects(attempt, /closed before the ConnectResponse/, what);
}

function isro(member: Member): Promise<string> {
  return fourLetterWord(member.ports.client, 'isro', '127.0.0.1', 2000).catch(() => 'no answer');
}

describe('read-only mode of a 3-member ensemble', { timeout: 240000 }, () => {
  const getEnsemble = ensembleForSuite({
    participants: 3,
    config: { 'readonlymode.enabled': 'true', localSessionsEnabled: 'true', localSessionsUpgradingEnabled: 'true' },
  });
  let keep: Member;
  /** A session made with the quorum up, global through its ephemeral. */
  let global: RawClient;
  let readOnly: RawClient;
  let zxid: number;

  test('two members down: the one left says isro null while it looks, then serves read-only after the grace period', async (t) => {
    const ensemble = getEnsemble();
    const leader = await ensemble.leader();
    keep = ensemble.participants.find((m) => m.id !== leader)!;
    global = await connect(keep, { readOnly: true, keepAliveMs: 1000 });
    assert.equal(global.connectResponse.readOnly, false, 'a member with a quorum answers read-write');
    assert.equal((await global.create('/ro', Buffer.from('v1'))).err, ErrorCode.OK);
    assert.equal((await global.create('/ro/eph', null, { flags: EPHEMERAL })).err, ErrorCode.OK);
    assert.equal((await isro(keep)).trim(), 'rw');

    const killedAt = Date.now();
    await Promise.all(ensemble.participants.filter((m) => m !== keep).map((m) => ensemble.kill9(m.id)));
    const answers: { ms: number; answer: string }[] = [];
    for (;;) {
      const answer = await isro(keep);
      answers.push({ ms: Date.now() - killedAt, answer });
      if (answer === 'ro') break;
      if (Date.now() - killedAt > 15000) assert.fail(`no read-only mode within 15 s: ${JSON.stringify(answers)}`);
      await sleep(100);
    }
    const firstNull = answers.find((a) => a.answer === 'null');
    const ro = answers[answers.length - 1]!;
    t.diagnostic(`isro: first null ${firstNull?.ms} ms, ro ${ro.ms} ms after the kill`);
    assert.ok(firstNull !== undefined, `isro says null while the member looks: ${JSON.stringify(answers)}`);
    // Before the member notices, it still answers rw, or closes a connection caught in the switch.
    const noticing = answers.filter((a) => a.ms < firstNull.ms);
    assert.ok(
      noticing.every((a) => ['rw', '', 'no answer'].includes(a.answer)),
      `isro before it looks: ${JSON.stringify(noticing)}`,
    );
    const looking = answers.filter((a) => a.ms >= firstNull.ms && a !== ro);
    assert.ok(
      looking.every((a) => a.answer === 'null'),
      `isro says null until read-only: ${JSON.stringify(looking)}`,
    );
    assert.ok(ro.ms - firstNull.ms >= 1500, `read-only only after the 2 s grace period (${ro.ms - firstNull.ms} ms after the first null)`);

    const srvr = await fourLetterWord(keep.ports.client, 'srvr');
    assert.match(srvr, /^READ-ONLY mode; serving only read-only clients$/m);
    assert.match(srvr, /^Mode: read-only$/m);
    assert.match(await fourLetterWord(keep.ports.client, 'mntr'), /^zk_server_state\tread-only$/m);
  });

  test('only read-only clients get a session; reads are served, writes and sync answer NOTREADONLY', async () => {
    await assertRefused(connect(keep, { readOnly: false }), 'a client that did not ask for read-only');
    await assertRefused(connect(keep, {}), 'a client too old to ask (no readOnly byte)');
    await assertRefused(reattach(keep, global), 'the re-attach of a global session');

    readOnly = await connect(keep, { readOnly: true });
    assert.equal(readOnly.connectResponse.readOnly, true);
    assert.ok(readOnly.negotiatedTimeout > 0);
    assert.equal(readOnly.sessionId >> 56n, BigInt(keep.id), "the session id carries the member's id");

    const data = await readOnly.getData('/ro');
    assert.equal(data.err, ErrorCode.OK);
    assert.equal(data.data?.toString(), 'v1');
    zxid = data.zxid;
    assert.deepEqual((await readOnly.getChildren('/ro')).children, ['eph']);
    assert.equal((await readOnly.exists('/ro/eph')).err, ErrorCode.OK);

    const refused: [string, Promise<{ err: number; zxid: number }>][] = [
      ['create', readOnly.create('/ro/new', Buffer.from('x'))],
      ['setData', readOnly.setData('/ro', Buffer.from('v2'), -1)],
      ['delete', readOnly.delete('/ro/eph', -1)],
      ['sync', readOnly.sync('/ro')],
      ['setACL', readOnly.request({ op: OpCode.setACL, path: '/ro', acl: OPEN_ACL_UNSAFE, version: -1 }).then((r) => r.header)],
      ['multi', readOnly.request({ op: OpCode.multi, ops: [{ op: OpCode.check, path: '/ro', version: -1 }] }).then((r) => r.header)],
    ];
    for (const [op, reply] of refused) {
      const r = await reply;
      assert.equal(r.err, ErrorCode.NOTREADONLY, `${op}: NOTREADONLY`);
      assert.equal(r.zxid, zxid, `${op}: the reply carries the member's last zxid`);
    }
    const auth = await readOnly.request({ op: OpCode.auth, type: 0, scheme: 'digest', auth: Buffer.from('user:pw') });
    assert.equal(auth.header.err, ErrorCode.OK, 'auth is no write');
    assert.equal((await readOnly.getData('/ro')).data?.toString(), 'v1', 'nothing changed');
  });

  test('a read-only session re-attaches on the same member, and closes without a txn', async () => {
    readOnly.destroy();
    const again = await reattach(keep, readOnly);
    assert.equal(again.sessionId, readOnly.sessionId);
    assert.equal(again.connectResponse.readOnly, true);
    assert.ok(again.negotiatedTimeout > 0, 'the session is still valid');
    const close = await again.close();
    assert.equal(close.err, ErrorCode.OK);
    assert.equal(close.serverClosed, true, 'the member closes the connection');
    const gone = await reattach(keep, again);
    assert.equal(gone.expired, true, 'a closed session is gone');
    gone.destroy();
    readOnly = await connect(keep, { readOnly: true });
  });

  test('the quorum returns: read-only clients are disconnected and reconnect read-write', async () => {
    const ensemble = getEnsemble();
    const back = ensemble.participants.find((m) => m !== keep)!;
    await ensemble.restart(back.id);
    const closed = await Promise.race([readOnly.closed, sleep(10000).then(() => undefined)]);
    assert.ok(closed?.byServer === true, 'the read-only connection is closed by the member');
    await waitFor('isro to say rw', async () => ((await isro(keep)) === 'rw' ? true : undefined), 30000);
    assert.match(await fourLetterWord(keep.ports.client, 'srvr'), /^Mode: (leader|follower)$/m);

    const renewed = await reattach(keep, global);
    assert.equal(renewed.connectResponse.readOnly, false);
    assert.ok(renewed.negotiatedTimeout > 0, 'the global session lives on with the quorum');
    const fresh = await connect(keep, { readOnly: true });
    try {
      assert.equal(fresh.connectResponse.readOnly, false, 'a read-only client gets a read-write session');
      assert.equal((await fresh.create('/ro/after', null)).err, ErrorCode.OK);
      assert.equal((await fresh.getData('/ro')).data?.toString(), 'v1');
      assert.equal((await renewed.exists('/ro/eph')).err, ErrorCode.OK);
    } finally {
      fresh.destroy();
      renewed.destroy();
      global.destroy();
    }
  });
});
