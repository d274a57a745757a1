/**
 * Mixed ensembles: Apache ZooKeeper 3.8.0 members and ZephyrCoord members in one 3-member
 * ensemble, each side once as the leader. They speak only the wire protocol to each other
 * (election notifications, ZAB packets, the SNAP/DIFF sync), so an ensemble that forms and
 * replicates every member's writes to every other member shows that ours is ZooKeeper's.
 *
 * With empty dataDirs every vote ties on (epoch, zxid), so the highest sid leads: the member
 * given id 3 is the one expected to lead. A JVM starts slower than node, so two ZephyrCoord
 * members may elect one of them before ZooKeeper's member 3 is up; then that leader is killed,
 * member 3 (as up to date as member 1, and of higher sid) wins, and the old leader comes back.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Ensemble, type EnsembleServer } from '../../support/ensemble-process.js';
import { syncedRead, withClient } from '../ensemble-support.js';

const T = { timeout: 240_000 };

const CASES: { name: string; servers: EnsembleServer[] }[] = [
  { name: 'ZooKeeper leads two ZephyrCoord followers', servers: ['zephyr', 'zephyr', 'zk'] },
  { name: 'ZephyrCoord leads a ZooKeeper follower and a ZephyrCoord follower', servers: ['zk', 'zephyr', 'zephyr'] },
  { name: 'ZephyrCoord leads two ZooKeeper followers', servers: ['zk', 'zk', 'zephyr'] },
  { name: 'ZooKeeper leads a ZooKeeper follower and a ZephyrCoord follower', servers: ['zephyr', 'zk', 'zk'] },
];

describe('mixed ensembles of Apache ZooKeeper 3.8.0 and ZephyrCoord', () => {
  for (const c of CASES) {
    test(`${c.name}: the ensemble forms, and each member's writes reach every member`, T, async () => {
      const ensemble = await Ensemble.start({ servers: c.servers, proxied: false });
      try {
        const first = await ensemble.leader();
        if (first !== 3) {
          await ensemble.kill9(first);
          assert.equal(await ensemble.leader(), 3, 'member 3 (the highest sid) leads once the early leader is gone');
          assert.equal(await ensemble.restart(first), 'follower');
        }
        const modes = await ensemble.modes();
        assert.deepEqual(
          ensemble.members.map((m) => modes.get(m.id)),
          ['follower', 'follower', 'leader'],
          'srvr Mode of members 1..3',
        );
        for (const writer of ensemble.members) {
          await withClient(writer, async (client) => {
            const created = await client.create(`/by-${writer.id}`, Buffer.from(`${ensemble.serverOf(writer)} ${writer.id}`));
            assert.equal(created.err, 0, `create at member ${writer.id} (${ensemble.serverOf(writer)})`);
          });
        }
        for (const reader of ensemble.members) {
          for (const writer of ensemble.members) {
            const r = await syncedRead(reader, `/by-${writer.id}`);
            assert.equal(r.err, 0, `member ${reader.id} (${ensemble.serverOf(reader)}) reads member ${writer.id}'s write`);
            assert.equal(r.data, `${ensemble.serverOf(writer)} ${writer.id}`);
          }
        }
        // A follower restarted while the others write catches up from the leader (DIFF).
        const follower = ensemble.member(1);
        await ensemble.kill9(1);
        await withClient(ensemble.member(2), async (client) => {
          for (let i = 0; i < 20; i++) assert.equal((await client.create(`/while-1-down-${i}`)).err, 0);
        });
        assert.equal(await ensemble.restart(1), 'follower');
        assert.equal(
          (await syncedRead(follower, '/while-1-down-19')).err,
          0,
          `restarted member 1 (${ensemble.serverOf(follower)}) caught up`,
        );
      } finally {
        await ensemble.close();
      }
    });
  }
});
