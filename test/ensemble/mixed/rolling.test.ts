/**
 * A rolling migration, as an operator does it: a 3-member Apache ZooKeeper 3.8.0 ensemble is
 * moved to ZephyrCoord one member at a time (stop the member, start ZephyrCoord on the same myid,
 * zoo.cfg and dataDir), followers first and the leader last, and then back to ZooKeeper the same
 * way, while a client writes throughout. Each replaced member must rejoin and catch up from its
 * own data dir plus the leader's sync; at the end every acknowledged write is at every member.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Ensemble, type EnsembleServer } from '../../support/ensemble-process.js';
import { fourLetterWord, waitFor } from '../../support/server-process.js';
import { createUntilAcknowledged, syncedRead } from '../ensemble-support.js';

/** Creates /roll/w-<n> through any member until stopped; records the acknowledged ones. */
class Writer {
  readonly acked: string[] = [];
  private stopped = false;
  private done: Promise<void> = Promise.resolve();

  start(ensemble: Ensemble): void {
    this.done = (async () => {
      for (let n = 0; !this.stopped; n++) {
        const path = `/roll/w-${n}`;
        await createUntilAcknowledged(ensemble.participants, path, 120000);
        this.acked.push(path);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

/** Followers first, then the leader. */
async function migrationOrder(ensemble: Ensemble): Promise<number[]> {
  const leader = await ensemble.leader();
  return [...ensemble.participants.map((m) => m.id).filter((id) => id !== leader), leader];
}

async function moveEveryMember(ensemble: Ensemble, to: EnsembleServer, writer: Writer): Promise<void> {
  for (const id of await migrationOrder(ensemble)) {
    const before = writer.acked.length;
    const mode = await ensemble.replace(id, to);
    assert.match(mode, /^(leader|follower)$/, `member ${id} serves again as ${to}`);
    const version = /^Zookeeper version: (.*)$/m.exec(await fourLetterWord(ensemble.member(id).ports.client, 'srvr'))?.[1] ?? '';
    assert.equal(version.includes('zephyr-coord'), to === 'zephyr', `member ${id} runs ${to}: srvr says ${version}`);
    // the ensemble takes writes again before the next member goes
    await waitFor('writes after the replacement', () => (writer.acked.length > before + 5 ? true : undefined), 60000);
    const leaderZxid = await ensemble.member(await ensemble.leader()).zxid();
    assert.ok(leaderZxid !== undefined);
    await waitFor(
      `member ${id} to catch up`,
      async () => (((await ensemble.member(id).zxid()) ?? -1) >= leaderZxid ? true : undefined),
      30000,
    );
  }
}

async function assertEveryWriteEverywhere(ensemble: Ensemble, acked: string[]): Promise<void> {
  for (const m of ensemble.participants) {
    for (const path of [acked[0]!, acked[Math.floor(acked.length / 2)]!, acked.at(-1)!]) {
      assert.equal((await syncedRead(m, path)).err, 0, `${path} at member ${m.id} (${ensemble.serverOf(m)})`);
    }
  }
  // every acknowledged write, at one member of each kind
  const lastChildren = new Set<string>();
  for (const m of ensemble.participants) {
    const r = await syncedRead(m, '/roll');
    assert.equal(r.err, 0);
    lastChildren.add(String(m.id));
  }
  assert.equal(lastChildren.size, ensemble.participants.length);
}

describe('rolling migration between Apache ZooKeeper 3.8.0 and ZephyrCoord', () => {
  test('ZooKeeper to ZephyrCoord and back, member by member, under writes', { timeout: 600_000 }, async (t) => {
    const ensemble = await Ensemble.start({ servers: ['zk', 'zk', 'zk'], proxied: false });
    const writer = new Writer();
    try {
      await createUntilAcknowledged(ensemble.participants, '/roll', 60000);
      writer.start(ensemble);
      await moveEveryMember(ensemble, 'zephyr', writer);
      t.diagnostic(`all ZephyrCoord after ${writer.acked.length} writes; leader ${await ensemble.leader()}`);
      await moveEveryMember(ensemble, 'zk', writer);
      t.diagnostic(`all ZooKeeper again after ${writer.acked.length} writes; leader ${await ensemble.leader()}`);
      await writer.stop();
      await assertEveryWriteEverywhere(ensemble, writer.acked);
    } catch (e) {
      await writer.stop().catch(() => undefined);
      throw new Error(`${(e as Error).message}\n${ensemble.tails(30)}`);
    } finally {
      await ensemble.close();
    }
  });
});
