/**
 * Our election driver as one member of an ensemble whose other members are Apache ZooKeeper 3.8.0
 * (Debian's package, QuorumPeerMain). Run by hand or in CI after a build:
 *   node --test --test-concurrency=1 dist/test/compat/election/
 *
 * - ZooKeeper members elect among themselves and serve; ours starts late, with a smaller and with
 *   a larger sid (so both sides of the "smaller sid yields" rule carry the links), and must name
 *   the leader `srvr` reports, learned from their replies.
 * - All start together, ZooKeeper's credentials best (one has currentEpoch 1): ours decides as
 *   they do.
 * - All start together, ours best: ZooKeeper members decide to follow ours, which shows in their
 *   log and in the FOLLOWERINFO each then sends to our quorum port; their logs show our
 *   notifications decoded field by field as we sent them.
 * - Bad input on our election port while ZooKeeper members are linked: closed and logged, and
 *   ours still learns the leader in a new round.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import {
  JuteReader,
  PacketType,
  decodeLearnerMessage,
  measureQuorumPacket,
  readQuorumPacket,
  INCOMPLETE,
} from '../../../src/codec/index.js';
import { ServerState, type LocalState } from '../../../src/quorum/index.js';
import type { ElectionDriver } from '../../../src/server/election-driver.js';
import { RecordingLogger, initialMessageBytes, rawExchange } from '../../support/election-links.js';
import { allocateMembers, electionDriver, tempDir, ZkMember, type MemberPorts } from '../../support/zk-ensemble.js';

const T = { timeout: 120_000 };
const FRESH: LocalState = { lastLoggedZxid: 0, currentEpoch: 0 };

/** ZooKeeper members for `zkIds` and our driver for `ourId`, stopped and removed after `run`. */
async function withEnsemble(
  ourId: number,
  zkIds: number[],
  run: (ctx: { zk: Map<number, ZkMember>; ours: ElectionDriver; log: RecordingLogger; members: MemberPorts[] }) => Promise<void>,
): Promise<void> {
  const members = await allocateMembers([...zkIds, ourId].sort((a, b) => a - b));
  const tmp = tempDir('election-compat-');
  const zk = new Map(
    zkIds.map((id) => [
      id,
      new ZkMember(
        members.find((m) => m.id === id)!,
        members,
        tmp.dir,
      ),
    ]),
  );
  const log = new RecordingLogger();
  const ours = electionDriver(ourId, members, log, { initialMessageTimeoutMs: 1000 });
  let failed = true;
  try {
    await ours.listen();
    await run({ zk, ours, log, members });
    failed = false;
  } finally {
    await ours.close();
    await Promise.all([...zk.values()].map((m) => m.stop()));
    if (failed) for (const m of zk.values()) console.log(`--- ZooKeeper ${m.id} log tail\n${m.log().slice(-4000)}`);
    tmp.remove();
  }
}

/** Lines in which ZooKeeper reports trouble with what a member sent on the election port. */
const ELECTION_ERRORS =
  /Initial message parsing error|Exception reading or writing challenge|invalid packet|malformed response|Something went wrong while processing config/;

function assertNoElectionErrors(zk: Iterable<ZkMember>): void {
  for (const m of zk) assert.doesNotMatch(m.log(), ELECTION_ERRORS, `ZooKeeper ${m.id} complained`);
}

/** The leader and followers `srvr` reports, once both ZooKeeper members serve. */
async function zkModes(zk: Map<number, ZkMember>): Promise<Map<number, string>> {
  const modes = new Map<number, string>();
  for (const [id, m] of zk) modes.set(id, await m.waitForMode());
  return modes;
}

for (const { ourId, zkIds } of [
  { ourId: 1, zkIds: [2, 3] },
  { ourId: 3, zkIds: [1, 2] },
]) {
  test(`a late member (sid ${ourId}) learns the leader ZooKeeper members ${zkIds.join(' and ')} elected`, T, async () => {
    await withEnsemble(ourId, zkIds, async ({ zk, ours }) => {
      for (const m of zk.values()) m.start();
      const modes = await zkModes(zk);
      const leader = [...modes].find(([, mode]) => mode === 'leader')?.[0];
      assert.notEqual(leader, undefined, `modes: ${JSON.stringify([...modes])}`);
      const decision = await ours.lookForLeader(FRESH);
      assert.equal(decision.state, ServerState.following);
      assert.equal(decision.vote.leader, leader);
      assert.notEqual(decision.path, 'election', 'learned from FOLLOWING/LEADING replies');
      assert.deepEqual(ours.linkedSids, zkIds);
      // ZooKeeper answered our LOOKING notifications: it decoded them
      for (const m of zk.values())
        await m.waitForLog(new RegExp(`Notification: my state:(FOLLOWING|LEADING); n\\.sid:${ourId}, n\\.state:LOOKING`));
      assertNoElectionErrors(zk.values());
    });
  });
}

test('all starting together, ZooKeeper members with the better vote: ours decides as they do', T, async () => {
  await withEnsemble(1, [2, 3], async ({ zk, ours }) => {
    // member 2 has taken epoch 1 before (the epoch files live in the snapshot dir, version-2/):
    // its vote beats 3's despite the smaller sid
    zk.get(2)!.start({ 'version-2/currentEpoch': '1', 'version-2/acceptedEpoch': '1' });
    zk.get(3)!.start();
    const decision = await ours.lookForLeader(FRESH);
    const modes = await zkModes(zk);
    assert.deepEqual([...modes].sort(), [
      [2, 'leader'],
      [3, 'follower'],
    ]);
    assert.equal(decision.state, ServerState.following);
    assert.equal(decision.vote.leader, 2);
    assertNoElectionErrors(zk.values());
  });
});

/** Our quorum port: records each connection's first packet (a learner's FOLLOWERINFO). */
async function quorumPortRecorder(port: number): Promise<{ infos: Array<{ type: number; sid: bigint }>; close: () => Promise<void> }> {
  const infos: Array<{ type: number; sid: bigint }> = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    let buf = Buffer.alloc(0);
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const length = measureQuorumPacket(buf, 0, buf.length);
      if (length === INCOMPLETE) return;
      const message = decodeLearnerMessage(readQuorumPacket(new JuteReader(buf, 0, length)));
      if (message.type === PacketType.followerInfo || message.type === PacketType.observerInfo) {
        infos.push({ type: message.type, sid: message.info.serverId });
      }
      s.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    infos,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

test('all starting together, ours with the better vote: ZooKeeper members follow ours', T, async () => {
  await withEnsemble(1, [2, 3], async ({ zk, ours, members }) => {
    const recorder = await quorumPortRecorder(members.find((m) => m.id === 1)!.quorum);
    try {
      for (const m of zk.values()) m.start();
      const ourVote: LocalState = { currentEpoch: 1, lastLoggedZxid: 2 ** 32 + 5 };
      const decision = await ours.lookForLeader(ourVote);
      assert.equal(decision.state, ServerState.leading);
      for (const m of zk.values()) {
        await m.waitForLog(/ - FOLLOWING\n/);
        // what ZooKeeper decoded from our bytes: every field as sent
        await m.waitForLog(
          /Notification: my state:LOOKING; n\.sid:1, n\.state:LOOKING, n\.leader:1, n\.round:0x1, n\.peerEpoch:0x1, n\.zxid:0x100000005, message format version:0x2, n\.config version:0x0/,
        );
      }
      // a follower retries its connection to the leader: each may come several times
      const learners = (): string[] => [...new Set(recorder.infos.map((i) => `${i.type}:${i.sid}`))].sort();
      const deadline = Date.now() + 30_000;
      while (learners().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(learners(), [`${PacketType.followerInfo}:2`, `${PacketType.followerInfo}:3`]);
      assertNoElectionErrors(zk.values());
    } finally {
      await recorder.close();
    }
  });
});

test('bad input on our election port is closed and logged; ours still learns the leader afterwards', T, async () => {
  await withEnsemble(1, [2, 3], async ({ zk, ours, log, members }) => {
    for (const m of zk.values()) m.start();
    const modes = await zkModes(zk);
    const leader = [...modes].find(([, mode]) => mode === 'leader')![0];
    assert.equal((await ours.lookForLeader(FRESH)).vote.leader, leader);
    const address = { host: '127.0.0.1', port: members[0]!.election };
    const tooLong = Buffer.alloc(4);
    tooLong.writeInt32BE(512 * 1024 + 1);
    const inputs: Array<[string, Buffer, RegExp]> = [
      ['garbage', Buffer.from('deadbeefdeadbeefdeadbeef', 'hex'), /unknown election protocol version/],
      ['an unknown sid', initialMessageBytes(42, '127.0.0.1:1'), /unknown sid 42/],
      ['half an initial message', initialMessageBytes(3, '127.0.0.1:1').subarray(0, 10), /no initial message within/],
      // sid 3 is larger than ours, so this connection replaces ZooKeeper 3's link until it closes
      [
        'an oversize message',
        Buffer.concat([initialMessageBytes(3, `127.0.0.1:${members[2]!.election}`), tooLong]),
        /invalid message length/,
      ],
    ];
    for (const [name, bytes, logged] of inputs) {
      const before = log.lines.length;
      const { closedByPeer } = await rawExchange(address, bytes, 5000);
      assert.ok(closedByPeer, `${name}: left open`);
      const lines = log.lines.slice(before).map((l) => `${l.msg} ${JSON.stringify(l.obj)}`);
      assert.ok(
        lines.some((l) => logged.test(l)),
        `${name}: ${JSON.stringify(lines)}`,
      );
    }
    // a new round connects again and learns the same leader from the replies
    const again = await ours.lookForLeader(FRESH);
    assert.equal(again.state, ServerState.following);
    assert.equal(again.vote.leader, leader);
    assert.ok([...zk.values()].every((m) => m.alive()));
    assertNoElectionErrors(zk.values());
  });
});
