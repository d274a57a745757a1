/**
 * Sessions and observers on a 3-participant + 1-observer ensemble: a session that moves to
 * another member keeps its ephemerals and, re-armed with setWatches as clients do on
 * reconnect, its watches (a change made while it was away fires at once); an observer serves
 * reads and forwards writes to the leader.
 *
 * Server: ZEPHYR_ENSEMBLE_SERVER=zk|zephyr (see test/support/ensemble-process.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, EventType } from '../../src/codec/index.js';
import { ensembleForSuite, connectTo, syncedRead, withClient } from './ensemble-support.js';

const EPHEMERAL = 1;

describe('sessions and observers in an ensemble', { timeout: 300000 }, () => {
  const getEnsemble = ensembleForSuite({ participants: 3, observers: 1 });

  test('a session moving between members keeps its ephemerals and watches', async () => {
    const ensemble = getEnsemble();
    const [a, b, c] = ensemble.participants;
    const observer = ensemble.observers[0]!;
    await withClient(c!, async (w) => {
      assert.equal((await w.create('/watched', Buffer.from('v0'))).err, ErrorCode.OK);
      assert.equal((await w.create('/missed', Buffer.from('v0'))).err, ErrorCode.OK);
    });
    const first = await connectTo(a!);
    assert.equal((await first.create('/mine', Buffer.from('e'), { flags: EPHEMERAL })).err, ErrorCode.OK);
    assert.equal((await first.getData('/watched', true)).err, ErrorCode.OK);
    assert.equal((await first.getData('/missed', true)).err, ErrorCode.OK);
    const seenZxid = first.lastZxid;
    first.destroy();

    // Changed while the session is between members: setWatches with the zxid it had seen fires it.
    await withClient(c!, async (w) => assert.equal((await w.setData('/missed', Buffer.from('v1'))).err, ErrorCode.OK));

    const moved = await connectTo(b!, first);
    assert.equal(moved.sessionId, first.sessionId);
    assert.ok(moved.negotiatedTimeout > 0, 'the session is still alive at the other member');
    const since = moved.log.length;
    assert.equal((await moved.setWatches(seenZxid, ['/watched', '/missed'], [], [])).err, ErrorCode.OK);
    const missed = await moved.waitForEvent((e) => e.path === '/missed', since, 10000);
    assert.equal(missed.type, EventType.NodeDataChanged);

    const mine = await withClient(observer, async (r) => {
      await r.sync('/mine');
      return r.exists('/mine');
    });
    assert.equal(mine.err, ErrorCode.OK, 'the ephemeral outlived the move');
    assert.equal(mine.stat?.ephemeralOwner, moved.sessionId);

    await withClient(c!, async (w) => assert.equal((await w.setData('/watched', Buffer.from('v1'))).err, ErrorCode.OK));
    const changed = await moved.waitForEvent((e) => e.path === '/watched', since, 10000);
    assert.equal(changed.type, EventType.NodeDataChanged);

    await moved.close();
    assert.equal((await syncedRead(c!, '/mine')).err, ErrorCode.NONODE, 'closing the moved session removes its ephemeral');
  });

  test('an observer serves reads and forwards writes', async () => {
    const ensemble = getEnsemble();
    const observer = ensemble.observers[0]!;
    assert.equal(await observer.mode(), 'observer');
    const leader = ensemble.member(await ensemble.leader());
    await withClient(leader, async (w) => assert.equal((await w.create('/from-leader', Buffer.from('L'))).err, ErrorCode.OK));
    assert.deepEqual(await syncedRead(observer, '/from-leader'), { err: ErrorCode.OK, data: 'L', version: 0 });

    await withClient(observer, async (o) => {
      assert.equal((await o.create('/from-observer', Buffer.from('O'))).err, ErrorCode.OK);
      assert.equal((await o.setData('/from-leader', Buffer.from('L2'), 0)).err, ErrorCode.OK);
      assert.equal((await o.setData('/from-leader', Buffer.from('L3'), 0)).err, ErrorCode.BADVERSION);
    });
    for (const m of ensemble.participants) {
      assert.deepEqual(await syncedRead(m, '/from-observer'), { err: ErrorCode.OK, data: 'O', version: 0 }, `member ${m.id}`);
      assert.deepEqual(await syncedRead(m, '/from-leader'), { err: ErrorCode.OK, data: 'L2', version: 1 }, `member ${m.id}`);
    }
  });
});
