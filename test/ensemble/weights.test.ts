/**
 * A 3-member ensemble with a weighted quorum: one group, member 1 weighs 2, member 2 weighs 1,
 * member 3 weighs 0 (group.1=1:2:3, weight.1=2, weight.3=0; a quorum holds more than 3/2).
 *   - Every member's /zookeeper/config is the quorum config text src/config derives from that
 *     member's own zoo.cfg: against ZooKeeper that checks our text byte for byte.
 *   - Member 3 never leads, in any election of the run.
 *   - Without member 1, members 2 and 3 are a majority by count but hold weight 1 of 3: they
 *     stop serving and no write is acknowledged.
 *   - Member 1 alone holds weight 2 of 3: with 2 and 3 down it leads and takes writes.
 *
 * Server: ZEPHYR_ENSEMBLE_SERVER=zk|zephyr, or ZEPHYR_ENSEMBLE_SERVERS=zk,zephyr,zephyr.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode } from '../../src/codec/index.js';
import { decideStartup, parseZooCfg } from '../../src/config/index.js';
import type { Ensemble, Member } from '../support/ensemble-process.js';
import { waitFor } from '../support/server-process.js';
import { connectTo, createUntilAcknowledged, ensembleForSuite, withClient } from './ensemble-support.js';

const WEIGHTS = { 'group.1': '1:2:3', 'weight.1': '2', 'weight.3': '0' };

/** The config text this member's own zoo.cfg gives, read as start-up reads it. */
function expectedConfigText(m: Member): string {
  const file = path.join(m.dir, 'zoo.cfg');
  const parsed = parseZooCfg(readFileSync(file, 'utf8'), file);
  const plan = decideStartup(parsed, file, { path: path.join(m.dir, 'data', 'myid'), text: `${m.id}\n` });
  assert.equal(plan.mode, 'ensemble');
  return plan.ensemble.configText;
}

/** The leader, which must not be member 3. */
async function leaderOf(ensemble: Ensemble, leaders: number[]): Promise<number> {
  const leader = await ensemble.leader(60000);
  leaders.push(leader);
  assert.notEqual(leader, 3, 'member 3 weighs 0 and must never lead');
  return leader;
}

/** True when some member of `members` acknowledges a create of `p` within `ms`. */
async function acknowledgedWithin(members: Member[], p: string, ms: number): Promise<boolean> {
  return createUntilAcknowledged(members, p, ms).then(
    () => true,
    () => false,
  );
}

describe('a weighted quorum: member 1 weighs 2, member 2 weighs 1, member 3 weighs 0', { timeout: 300000 }, () => {
  const getEnsemble = ensembleForSuite({ participants: 3, config: WEIGHTS });
  const leaders: number[] = [];

  test('every member holds its own quorum config text in /zookeeper/config, with the group and weight lines', async () => {
    const ensemble = getEnsemble();
    await leaderOf(ensemble, leaders);
    for (const m of ensemble.members) {
      const text = await withClient(m, async (c) => {
        const r = await c.getData('/zookeeper/config');
        assert.equal(r.err, ErrorCode.OK);
        return r.data?.toString('utf8');
      });
      assert.equal(text, expectedConfigText(m), `member ${m.id} (${ensemble.serverOf(m)})`);
      assert.match(text, /^group\.1=1:2:3\nweight\.1=2\nweight\.2=1\nweight\.3=0\nversion=0$/m);
    }
  });

  test('without member 1, members 2 and 3 (two of three, weight 1 of 3) stop serving and take no write', async () => {
    const ensemble = getEnsemble();
    const rest = [ensemble.member(2), ensemble.member(3)];
    await ensemble.kill9(1);
    await waitFor(
      'members 2 and 3 to stop serving',
      async () => ((await Promise.all(rest.map((m) => m.mode(500)))).every((mode) => mode === undefined) ? true : undefined),
      20000,
    );
    assert.equal(await acknowledgedWithin(rest, '/without-1', 4000), false, 'a write was acknowledged without a weighted quorum');
    assert.deepEqual(await Promise.all(rest.map((m) => m.mode(500))), [undefined, undefined]);

    await ensemble.restart(1);
    const leader = await leaderOf(ensemble, leaders);
    assert.equal(await acknowledgedWithin(ensemble.members, '/with-1', 30000), true);
    await Promise.all(ensemble.members.map((m) => m.waitServing(30000)));
    await withClient(ensemble.member(3), async (c) => {
      assert.equal((await c.sync('/with-1')).err, ErrorCode.OK);
      assert.equal((await c.exists('/with-1')).err, ErrorCode.OK);
      assert.equal((await c.exists('/without-1')).err, ErrorCode.NONODE);
    });
    assert.ok([1, 2].includes(leader));
  });

  test('member 1 alone (one of three, weight 2 of 3) leads and takes writes', async () => {
    const ensemble = getEnsemble();
    await ensemble.kill9(2);
    await ensemble.kill9(3);
    const one = ensemble.member(1);
    assert.equal(await acknowledgedWithin([one], '/only-1', 30000), true);
    assert.equal(await leaderOf(ensemble, leaders), 1);
    const c = await connectTo(one);
    try {
      assert.equal((await c.setData('/only-1', Buffer.from('again'), -1)).err, ErrorCode.OK);
    } finally {
      c.destroy();
    }
    // member 3 comes back as a follower of 1, with what 1 wrote alone
    assert.equal(await ensemble.restart(3), 'follower');
    assert.equal(await leaderOf(ensemble, leaders), 1);
    assert.deepEqual(
      leaders.filter((l) => l === 3),
      [],
    );
  });
});
