/**
 * Local sessions (`localSessionsEnabled`) on a 3-member ensemble: a new session stays on the
 * member it connected to with no createSession txn (the zxid another client sees does not
 * move), reads and writes persistent nodes, and closes or expires with no txn either; its
 * first ephemeral create upgrades it to a global session with a createSession txn first
 * (`localSessionsUpgradingEnabled=true`), or fails with EPHEMERALONLOCALSESSION (upgrading
 * off, the default); re-attached at another member, a local session is expired.
 *
 * Server: ZEPHYR_ENSEMBLE_SERVER=zk|zephyr (see test/support/ensemble-process.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, OpCode } from '../../src/codec/index.js';
import type { Ensemble, Member } from '../support/ensemble-process.js';
import { OPEN_ACL_UNSAFE, RawClient } from '../support/raw-client.js';
import { fourLetterWord, sleep, waitFor } from '../support/server-process.js';
import { connectTo, ensembleForSuite, syncedRead, withClient } from './ensemble-support.js';

const EPHEMERAL = 1;
const SHORT_TIMEOUT_MS = 2000;

/** The zxid `member` has applied once a sync there returns: at least the leader's at the sync. */
async function syncedZxid(watcher: RawClient): Promise<number> {
  assert.equal((await watcher.sync('/')).err, ErrorCode.OK);
  const r = await watcher.exists('/');
  assert.equal(r.err, ErrorCode.OK);
  return r.zxid;
}

let warmUps = 0;

/**
 * The members by role, after a write: until the first txn of its epoch ZooKeeper's leader
 * reports the epoch's zxid 0 and a follower the last zxid it applied, so zxids are compared
 * only after one.
 */
async function roles(ensemble: Ensemble): Promise<{ leader: Member; followers: Member[] }> {
  const leader = ensemble.member(await ensemble.leader());
  const followers = (await ensemble.followers()).map((id) => ensemble.member(id));
  assert.equal(followers.length, 2);
  await withClient(leader, async (c) => assert.equal((await c.create(`/warm-up-${++warmUps}`, null)).err, ErrorCode.OK));
  return { leader, followers };
}

function mntrValue(text: string, key: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${key}\t`));
  assert.ok(line !== undefined, `mntr has ${key}`);
  return Number(line.split('\t')[1]);
}

describe('local sessions, upgrading on', { timeout: 300000 }, () => {
  const getEnsemble = ensembleForSuite({
    config: { tickTime: '1000', localSessionsEnabled: 'true', localSessionsUpgradingEnabled: 'true' },
  });

  test('a new session makes no txn, reads and writes persistent nodes, closes with no txn', async () => {
    const { leader, followers } = await roles(getEnsemble());
    const watcher = await connectTo(leader);
    try {
      const before = await syncedZxid(watcher);
      const local = await connectTo(followers[0]!);
      const onLeader = await connectTo(leader);
      assert.equal(await syncedZxid(watcher), before, 'connecting two sessions made no txn');
      onLeader.destroy();
      const dump = await fourLetterWord(followers[0]!.ports.client, 'dump', '127.0.0.1');
      const localPart = dump.slice(dump.indexOf('Local Session Sets ('), dump.indexOf('Global Sessions('));
      assert.ok(localPart.includes(`\t0x${BigInt.asUintN(64, local.sessionId).toString(16)}\n`), dump);

      const created = await local.create('/ls-persistent', Buffer.from('p'));
      assert.equal(created.err, ErrorCode.OK);
      assert.equal(created.zxid, before + 1, 'the create is the first txn since the connect');
      assert.equal((await local.setData('/ls-persistent', Buffer.from('q'))).err, ErrorCode.OK);
      const read = await local.getData('/ls-persistent');
      assert.equal(read.data?.toString(), 'q');
      assert.equal(read.stat?.ephemeralOwner, 0n);
      assert.deepEqual(await syncedRead(followers[1]!, '/ls-persistent'), { err: ErrorCode.OK, data: 'q', version: 1 });

      const written = await syncedZxid(watcher);
      assert.equal(written, before + 2);
      const closed = await local.close();
      assert.equal(closed.err, ErrorCode.OK);
      assert.ok(closed.serverClosed, 'the member closes the connection');
      assert.equal(await syncedZxid(watcher), written, 'closing a local session made no txn');
    } finally {
      watcher.destroy();
    }
  });

  test('the first ephemeral create upgrades the session to a global one, visible everywhere', async () => {
    const { leader, followers } = await roles(getEnsemble());
    const watcher = await connectTo(leader);
    try {
      const local = await connectTo(followers[0]!);
      const before = await syncedZxid(watcher);
      const eph = await local.create('/ls-ephemeral', Buffer.from('e'), { flags: EPHEMERAL });
      assert.equal(eph.err, ErrorCode.OK);
      assert.equal(eph.zxid, before + 2, 'a createSession txn came before the create');
      const second = await local.create('/ls-ephemeral2', Buffer.from('e'), { flags: EPHEMERAL });
      assert.equal(second.zxid, before + 3, 'a global session is not upgraded again');

      assert.equal((await watcher.sync('/ls-ephemeral')).err, ErrorCode.OK);
      const seen = await watcher.exists('/ls-ephemeral');
      assert.equal(seen.stat?.ephemeralOwner, local.sessionId, 'the ephemeral belongs to the session');
      const mntr = await fourLetterWord(leader.ports.client, 'mntr', '127.0.0.1');
      assert.ok(mntrValue(mntr, 'zk_global_sessions') >= 1);

      // Global now: it survives a move to another member, with its ephemerals.
      local.destroy();
      const moved = await connectTo(followers[1]!, local);
      assert.ok(!moved.expired, 'the upgraded session re-attaches at another member');
      assert.equal((await moved.getEphemerals('/')).paths?.sort().join(','), '/ls-ephemeral,/ls-ephemeral2');
      const closed = await moved.close();
      assert.equal(closed.err, ErrorCode.OK);
      assert.equal(closed.zxid, before + 4, 'closing the global session is a txn');
      assert.equal((await syncedRead(leader, '/ls-ephemeral')).err, ErrorCode.NONODE);
    } finally {
      watcher.destroy();
    }
  });

  test('a multi holding an ephemeral create upgrades the session too', async () => {
    const { leader } = await roles(getEnsemble());
    const local = await connectTo(leader);
    const before = await syncedZxid(local);
    const r = await local.multi([{ op: OpCode.create, path: '/ls-multi', data: Buffer.from('m'), acl: OPEN_ACL_UNSAFE, flags: EPHEMERAL }]);
    assert.equal(r.err, ErrorCode.OK);
    assert.equal(r.zxid, before + 2);
    assert.equal((await local.close()).zxid, before + 3);
  });

  test('a local session re-attaches at its own member, but is expired at another', async () => {
    const { leader, followers } = await roles(getEnsemble());
    const local = await connectTo(followers[0]!);
    assert.equal((await local.create('/ls-move', Buffer.from('m'))).err, ErrorCode.OK);
    local.destroy();
    const again = await connectTo(followers[0]!, local);
    assert.ok(!again.expired, 're-attached at the member that holds it');
    assert.equal(again.sessionId, local.sessionId);
    again.destroy();
    for (const other of [followers[1]!, leader]) {
      const moved = await connectTo(other, local);
      assert.ok(moved.expired, `member ${other.id} does not know the local session`);
      moved.destroy();
    }
  });

  test('a local session expires at its member with no txn; mntr counts local sessions', async () => {
    const { leader, followers } = await roles(getEnsemble());
    const member = followers[1]!;
    const watcher = await connectTo(leader);
    try {
      const local = await RawClient.connect({ host: '127.0.0.1', port: member.ports.client, timeoutMs: SHORT_TIMEOUT_MS });
      assert.equal(local.negotiatedTimeout, SHORT_TIMEOUT_MS);
      assert.ok(mntrValue(await fourLetterWord(member.ports.client, 'mntr', '127.0.0.1'), 'zk_local_sessions') >= 1);
      assert.equal((await local.create('/ls-expiring', Buffer.from('x'))).err, ErrorCode.OK);
      const before = await syncedZxid(watcher);
      const sessions = mntrValue(await fourLetterWord(member.ports.client, 'mntr', '127.0.0.1'), 'zk_local_sessions');
      local.stopKeepAlive();
      const closed = await Promise.race([local.closed, sleep(SHORT_TIMEOUT_MS * 3).then(() => null)]);
      assert.ok(closed?.byServer === true, 'the member closed the expired session');
      // ZooKeeper drops the session from its count just after it closes the connection
      const localSessions = async (): Promise<number> =>
        mntrValue(await fourLetterWord(member.ports.client, 'mntr', '127.0.0.1'), 'zk_local_sessions');
      await waitFor(
        'mntr to count one local session less',
        async () => ((await localSessions()) === sessions - 1 ? true : undefined),
        5000,
      ).catch(() => undefined);
      assert.equal(await localSessions(), sessions - 1);
      const back = await connectTo(member, local);
      assert.ok(back.expired, 'the session is gone');
      back.destroy();
      assert.equal(await syncedZxid(watcher), before, 'expiring a local session made no txn');
      assert.equal((await syncedRead(member, '/ls-expiring')).err, ErrorCode.OK, 'its persistent node stays');
    } finally {
      watcher.destroy();
    }
  });
});

describe('local sessions, upgrading off (the default)', { timeout: 300000 }, () => {
  const getEnsemble = ensembleForSuite({ config: { tickTime: '1000', localSessionsEnabled: 'true' } });

  test('an ephemeral create fails with EPHEMERALONLOCALSESSION on every member', async () => {
    const { leader, followers } = await roles(getEnsemble());
    const watcher = await connectTo(leader);
    try {
      for (const member of [followers[0]!, leader]) {
        const local = await connectTo(member);
        const before = await syncedZxid(watcher);
        const eph = await local.create(`/no-upgrade-${member.id}`, Buffer.from('e'), { flags: EPHEMERAL });
        assert.equal(eph.err, ErrorCode.EPHEMERALONLOCALSESSION, `member ${member.id}`);
        assert.equal(eph.zxid, before + 1, 'the refusal is an error txn');
        const multi = await local.multi([
          { op: OpCode.create, path: `/no-upgrade-m${member.id}`, data: null, acl: OPEN_ACL_UNSAFE, flags: EPHEMERAL },
        ]);
        // Inside a multi the op's own error shows: the leader refuses the ephemeral of its own
        // local session as such, but a follower's reaches the leader as a create from a session
        // it does not know, refused as expired (ZooKeeper's checkGlobalSession).
        const refusal = member === leader ? ErrorCode.EPHEMERALONLOCALSESSION : ErrorCode.SESSIONEXPIRED;
        assert.deepEqual(multi.results, [{ type: OpCode.error, err: refusal }], `member ${member.id}`);
        assert.equal(multi.zxid, before + 2);
        const persistent = await local.create(`/no-upgrade-${member.id}`, Buffer.from('p'));
        assert.equal(persistent.err, ErrorCode.OK);
        const closed = await local.close();
        assert.equal(closed.err, ErrorCode.OK);
        assert.equal(closed.zxid, before + 3, 'the session stayed local: its close is no txn');
      }
    } finally {
      watcher.destroy();
    }
  });
});
