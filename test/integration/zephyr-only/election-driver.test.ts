/**
 * The election driver (the pure core over TCP links with real timers): three members on
 * 127.0.0.1 elect the one with the highest (epoch, zxid, sid); a member that starts late learns
 * the leader from the others' replies; the zephyr-election entry point does the same as a process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServerState, type Decision, type LocalState } from '../../../src/quorum/index.js';
import type { ElectionDriver } from '../../../src/server/election-driver.js';
import { RecordingLogger } from '../../support/election-links.js';
import { allocateMembers, electionDriver, serverLines, tempDir, type MemberPorts } from '../../support/zk-ensemble.js';

const T = { timeout: 30_000 };
const ELECTION_BIN = fileURLToPath(new URL('../../../src/bin/zephyr-election.js', import.meta.url));

/** Drivers for `ids` (default every member) of the ensemble `members`, closed after `run`. */
async function withDrivers<R>(
  members: MemberPorts[],
  run: (drivers: Map<number, ElectionDriver>) => Promise<R>,
  ids = members.map((m) => m.id),
): Promise<R> {
  const drivers = new Map(ids.map((id) => [id, electionDriver(id, members, new RecordingLogger())]));
  try {
    await Promise.all([...drivers.values()].map((d) => d.listen()));
    return await run(drivers);
  } finally {
    await Promise.all([...drivers.values()].map((d) => d.close()));
  }
}

const local = (epoch: number, counter: number): LocalState => ({ currentEpoch: epoch, lastLoggedZxid: epoch * 2 ** 32 + counter });

test('three members starting together elect the highest (epoch, zxid, sid)', T, async () => {
  const cases: Array<{ locals: Record<number, LocalState>; leader: number }> = [
    { locals: { 1: local(1, 5), 2: local(1, 5), 3: local(1, 5) }, leader: 3 },
    { locals: { 1: local(1, 9), 2: local(1, 5), 3: local(1, 5) }, leader: 1 },
    { locals: { 1: local(1, 9), 2: local(2, 0), 3: local(1, 5) }, leader: 2 },
  ];
  for (const { locals, leader } of cases) {
    const members = await allocateMembers([1, 2, 3]);
    await withDrivers(members, async (drivers) => {
      const decisions = await Promise.all([...drivers].map(([id, d]) => d.lookForLeader(locals[id]!)));
      for (const [i, d] of decisions.entries()) {
        const id = i + 1;
        assert.equal(d.vote.leader, leader, `member ${id}`);
        assert.equal(d.state, id === leader ? ServerState.leading : ServerState.following);
        assert.equal(d.vote.zxid, locals[leader]!.lastLoggedZxid);
      }
    });
  }
});

test('a member that starts late learns the established leader from the replies', T, async () => {
  const members = await allocateMembers([1, 2, 3]);
  await withDrivers(members, async (drivers) => {
    const [first, second] = await Promise.all([drivers.get(1)!.lookForLeader(local(1, 2)), drivers.get(2)!.lookForLeader(local(1, 2))]);
    assert.equal(first.vote.leader, 2);
    assert.equal(second.state, ServerState.leading);
    drivers.get(2)!.updateElectionVote(2);
    drivers.get(1)!.updateElectionVote(2);
    // the late member has better credentials, but a quorum already follows 2
    const late: Decision = await drivers.get(3)!.lookForLeader(local(1, 7));
    assert.equal(late.state, ServerState.following);
    assert.equal(late.vote.leader, 2);
    assert.equal(late.vote.peerEpoch, 2);
    assert.notEqual(late.path, 'election');
  });
});

test('zephyr-election runs one member from its zoo.cfg and prints its decision', T, async () => {
  const members = await allocateMembers([1, 2, 3]);
  const tmp = tempDir('zephyr-election-');
  try {
    // members 2 and 3 run in this process; member 1 is the process, behind on zxid
    await withDrivers(
      members,
      async (drivers) => {
        await Promise.all([drivers.get(2)!.lookForLeader(local(1, 3)), drivers.get(3)!.lookForLeader(local(1, 3))]);
        const dataDir = path.join(tmp.dir, 'data');
        mkdirSync(dataDir);
        writeFileSync(path.join(dataDir, 'myid'), '1\n');
        const cfg = [
          `tickTime=2000`,
          'initLimit=5',
          'syncLimit=2',
          `dataDir=${dataDir}`,
          `clientPort=${members[0]!.client}`,
          ...serverLines(members),
        ];
        writeFileSync(path.join(tmp.dir, 'zoo.cfg'), cfg.join('\n') + '\n');
        const child = spawn(process.execPath, [ELECTION_BIN, '--config', path.join(tmp.dir, 'zoo.cfg'), '--zxid', String(2 ** 32)], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        try {
          const line = await new Promise<string>((resolve, reject) => {
            child.stdout.on('data', () => {
              if (out.includes('\n')) resolve(out.split('\n')[0]!);
            });
            child.once('exit', (code) => reject(new Error(`zephyr-election exited with ${code}`)));
          });
          const printed = JSON.parse(line) as { state: string; leader: number };
          assert.equal(printed.state, 'FOLLOWING');
          assert.equal(printed.leader, 3);
        } finally {
          child.kill('SIGTERM');
          await new Promise((resolve) => child.once('exit', resolve));
        }
      },
      [2, 3],
    );
  } finally {
    tmp.remove();
  }
});
