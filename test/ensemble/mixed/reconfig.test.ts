/**
 * A reconfig committed by an Apache ZooKeeper 3.8.0 leader reaches its ZephyrCoord followers:
 * 3 members (ZephyrCoord 1 and 2, ZooKeeper 3 leading) with reconfigEnabled; a client adds a
 * fourth member (not running: 3 of 4 voters are synced, so ZooKeeper takes it) through the
 * leader. Our followers get the reconfig as a PROPOSAL (written as `.dynamic.next`) and its
 * COMMITANDACTIVATE: they go on following and serving, /zookeeper/config holds the new
 * membership at the reconfig's zxid, and `zoo.cfg.dynamic.<that zxid>` is written, as on the
 * ZooKeeper member. (Acting on a new membership while running is not built yet: a ZephyrCoord
 * member runs it from its next start.)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, OpCode } from '../../../src/codec/index.js';
import { parseQuorumConfigText } from '../../../src/config/index.js';
import { Ensemble } from '../../support/ensemble-process.js';
import { freePorts } from '../../support/zk-ensemble.js';
import { waitFor } from '../../support/server-process.js';
import { syncedRead, withClient } from '../ensemble-support.js';

describe('a reconfig in a mixed ensemble', { timeout: 240_000 }, () => {
  test('committed by a ZooKeeper leader, it is committed by the ZephyrCoord followers too', async () => {
    const ensemble = await Ensemble.start({
      servers: ['zephyr', 'zephyr', 'zk'],
      proxied: false,
      config: { reconfigEnabled: 'true', 'zookeeper.skipACL': 'yes', tickTime: '500' },
    });
    try {
      const first = await ensemble.leader();
      if (first !== 3) {
        await ensemble.kill9(first);
        assert.equal(await ensemble.leader(), 3, 'ZooKeeper member 3 leads once the early leader is gone');
        assert.equal(await ensemble.restart(first), 'follower');
      }
      const [quorumPort, electionPort, clientPort] = await freePorts(3);
      const joiner = `server.4=127.0.0.1:${quorumPort}:${electionPort}:participant;127.0.0.1:${clientPort}`;
      const version = await withClient(ensemble.member(3), async (c) => {
        const r = await c.request({ op: OpCode.reconfig, joiningServers: joiner, leavingServers: null, newMembers: null, curConfigId: -1 });
        assert.equal(r.header.err, ErrorCode.OK, 'ZooKeeper takes the reconfig');
        return r.header.zxid;
      });
      for (const m of ensemble.members) {
        const who = `member ${m.id} (${ensemble.serverOf(m)})`;
        const dynamic = path.join(m.dir, `zoo.cfg.dynamic.${version.toString(16)}`);
        await waitFor(`${who} to write ${dynamic}`, () => Promise.resolve(existsSync(dynamic) ? true : undefined), 20000);
        assert.match(readFileSync(dynamic, 'utf8'), new RegExp(`^${joiner.replace(/[.]/g, '\\.')}$`, 'm'), who);
        const node = await syncedRead(m, '/zookeeper/config');
        assert.equal(node.err, ErrorCode.OK, who);
        const qc = parseQuorumConfigText(node.data ?? '', who);
        assert.equal(qc.version, version, `${who}: /zookeeper/config holds the reconfig's membership`);
        assert.deepEqual(
          qc.servers.map((s) => s.id),
          [1, 2, 3, 4],
          who,
        );
      }
      // everyone still serves and replicates
      assert.deepEqual([...(await ensemble.modes()).values()].sort(), ['follower', 'follower', 'leader']);
      await withClient(ensemble.member(1), async (c) => assert.equal((await c.create('/after-reconfig')).err, ErrorCode.OK));
      for (const m of ensemble.members) assert.equal((await syncedRead(m, '/after-reconfig')).err, ErrorCode.OK);
    } finally {
      await ensemble.close();
    }
  });
});
