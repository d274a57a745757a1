/**
 * The reconfig operation on a 3-member ensemble with reconfigEnabled and a super user, as
 * ZooKeeper 3.8.0 answers it (the same expectations run against it):
 *   - only the super user may reconfig (NOAUTH otherwise, checked after everything else);
 *   - adding a member that is not running yet, sent through a follower: OK while 3 of the 4
 *     voters are synced; the reply holds the new membership and /zookeeper/config's Stat; every
 *     member holds it at the reconfig's zxid, in /zookeeper/config and zoo.cfg.dynamic.<zxid>,
 *     and a getConfig watch set at each member fires;
 *   - fromConfig that is not the current version: BADVERSION; a joiner without its client port:
 *     BADARGUMENTS; two more members that are not running (3 of 6 synced): NEWCONFIGNOQUORUM;
 *     a bulk membership of observers only: MARSHALLINGERROR;
 *     every refusal still takes a zxid (an error txn);
 *   - removing the member again: back to three, and writes go on throughout.
 *
 * Server: ZEPHYR_ENSEMBLE_SERVER=zk|zephyr, or ZEPHYR_ENSEMBLE_SERVERS=zk,zk,zephyr.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, EventType } from '../../src/codec/index.js';
import { parseQuorumConfigText, type QuorumConfig } from '../../src/config/index.js';
import type { Ensemble } from '../support/ensemble-process.js';
import { waitFor } from '../support/server-process.js';
import { freePorts } from '../support/zk-ensemble.js';
import { connectTo, ensembleForSuite, syncedRead, withClient } from './ensemble-support.js';
import { SUPER_DIGEST, reconfig, superClient } from './reconfig-support.js';

/** Every member holds the membership of version `version`, in /zookeeper/config and its dynamic file. */
async function everyMemberHas(ensemble: Ensemble, version: number, ids: number[]): Promise<void> {
  for (const m of ensemble.members) {
    const who = `member ${m.id} (${ensemble.serverOf(m)})`;
    const file = path.join(m.dir, `zoo.cfg.dynamic.${version.toString(16)}`);
    await waitFor(`${who} to write ${file}`, () => Promise.resolve(existsSync(file) ? true : undefined), 20000);
    const node = await syncedRead(m, '/zookeeper/config');
    const qc: QuorumConfig = parseQuorumConfigText(node.data ?? '', who);
    assert.equal(qc.version, version, `${who}: /zookeeper/config's version`);
    assert.deepEqual(
      qc.servers.map((s) => s.id),
      ids,
      who,
    );
    assert.equal(readFileSync(file, 'utf8').split('\n').length, ids.length, `${who}: ${file}`);
  }
}

describe('the reconfig operation', { timeout: 300000 }, () => {
  const getEnsemble = ensembleForSuite({
    participants: 3,
    proxied: false,
    config: { reconfigEnabled: 'true', tickTime: '500', 'zookeeper.DigestAuthenticationProvider.superDigest': SUPER_DIGEST },
  });

  test('adding a member that is not running, removing it again, and the refusals in between', async () => {
    const ensemble = getEnsemble();
    const leader = await ensemble.leader(60000);
    const follower = ensemble.participants.find((m) => m.id !== leader)!;
    const [quorumPort = 0, electionPort = 0, clientPort = 0, q5x = 0, e5x = 0] = await freePorts(5);
    const joiner = `server.4=127.0.0.1:${quorumPort}:${electionPort}:participant;127.0.0.1:${clientPort}`;

    // anyone but the super user: NOAUTH
    await withClient(follower, async (c) => assert.equal((await reconfig(c, { joining: joiner })).err, ErrorCode.NOAUTH));

    const c = await superClient(follower);
    // getConfig with a watch at every member: the reconfig's commit fires it (NodeDataChanged)
    const watchers = await Promise.all(ensemble.members.map((m) => connectTo(m)));
    try {
      for (const w of watchers) assert.equal((await w.getData('/zookeeper/config', true)).err, ErrorCode.OK);
      const initial = parseQuorumConfigText((await syncedRead(follower, '/zookeeper/config')).data ?? '', 'initial').version;
      const added = await reconfig(c, { joining: joiner, fromConfig: initial });
      assert.equal(added.err, ErrorCode.OK, 'adding member 4 while 3 of the 4 voters are synced');
      for (const [i, w] of watchers.entries()) {
        const event = await w.waitForEvent((e) => e.path === '/zookeeper/config', 0, 10000);
        assert.equal(event.type, EventType.NodeDataChanged, `member ${ensemble.members[i]!.id}: the getConfig watch`);
      }
      // GetDataResponse: the membership, then /zookeeper/config's Stat (mzxid = the reconfig's zxid)
      const dataLength = added.body.readInt32BE(0);
      const text = added.body.subarray(4, 4 + dataLength).toString('utf8');
      assert.equal(parseQuorumConfigText(text, 'reply').version, added.zxid);
      assert.match(
        text,
        new RegExp(`^server\\.4=127\\.0\\.0\\.1:${quorumPort}:${electionPort}:participant;127\\.0\\.0\\.1:${clientPort}$`, 'm'),
      );
      assert.equal(Number(added.body.readBigInt64BE(4 + dataLength + 8)), added.zxid, "the Stat's mzxid");
      await everyMemberHas(ensemble, added.zxid, [1, 2, 3, 4]);

      const before = (await c.sync('/')).zxid;
      const stale = await reconfig(c, { leaving: '4', fromConfig: initial });
      assert.deepEqual([stale.err, stale.zxid], [ErrorCode.BADVERSION, before + 1], 'an old fromConfig; the refusal takes a zxid');
      const noClientPort = await reconfig(c, { joining: `server.5=127.0.0.1:${q5x}:${e5x}` });
      assert.equal(noClientPort.err, ErrorCode.BADARGUMENTS, 'a joiner without its client port');
      const [q5, e5, c5, q6, e6, c6] = await freePorts(6);
      const twoMore = `server.5=127.0.0.1:${q5}:${e5};${c5},server.6=127.0.0.1:${q6}:${e6};${c6}`;
      assert.equal((await reconfig(c, { joining: twoMore })).err, ErrorCode.NEWCONFIGNOQUORUM, '3 of 6 voters synced');
      const observersOnly = await reconfig(c, { newMembers: `server.5=127.0.0.1:${q5}:${e5}:observer;${c5}` });
      assert.equal(observersOnly.err, ErrorCode.MARSHALLINGERROR, 'a bulk membership of observers only (ZooKeeper: an unchecked error)');

      assert.equal((await c.create('/between-reconfigs')).err, ErrorCode.OK);
      const removed = await reconfig(c, { leaving: '4', fromConfig: added.zxid });
      assert.equal(removed.err, ErrorCode.OK, 'removing member 4');
      await everyMemberHas(ensemble, removed.zxid, [1, 2, 3]);
      assert.equal((await c.create('/after-reconfigs')).err, ErrorCode.OK);
      for (const m of ensemble.members) assert.equal((await syncedRead(m, '/after-reconfigs')).err, ErrorCode.OK);
      assert.equal(await ensemble.leader(), leader, 'the leader stayed');
    } finally {
      await c.close();
      for (const w of watchers) w.destroy();
    }
  });
});
