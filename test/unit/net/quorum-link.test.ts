import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import {
  JuteWriter,
  PacketType,
  writeSnapTransfer,
  type QuorumPacket,
  type SnapItem,
  type SnapshotBody,
} from '../../../src/codec/index.js';
import { QuorumLink, type QuorumLinkHandler, type QuorumLinkSide } from '../../../src/net/quorum-link.js';
import type { Logger } from '../../../src/server/types.js';

const T = { timeout: 10_000 };

interface Recorded {
  packets: QuorumPacket[];
  /** Date.now() when the last packet arrived, and when the link closed. */
  lastPacketMs: number;
  closedMs: number;
  items: SnapItem[];
  closedWith: string | null;
  warnings: string[];
  events: string[];
}

function recorder(): { rec: Recorded; handler: QuorumLinkHandler; log: Logger } {
  const rec: Recorded = { packets: [], lastPacketMs: 0, closedMs: 0, items: [], closedWith: null, warnings: [], events: [] };
  const handler: QuorumLinkHandler = {
    packet: (p) => {
      rec.packets.push(p);
      rec.lastPacketMs = Date.now();
      rec.events.push(`packet ${p.type}`);
    },
    snapItem: (it) => {
      rec.items.push(it);
      rec.events.push(`snap ${it.kind}`);
    },
    closed: (reason) => {
      rec.closedWith = reason;
      rec.closedMs = Date.now();
    },
  };
  const log: Logger = {
    info: () => undefined,
    debug: () => undefined,
    error: (_o, msg) => rec.warnings.push(msg),
    warn: (_o, msg) => rec.warnings.push(msg),
  };
  return { rec, handler, log };
}

/** A connected pair of sockets over 127.0.0.1. */
async function socketPair(): Promise<{ server: Server; accepted: Socket; dialed: Socket }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  const acceptedP = once(server, 'connection') as Promise<[Socket]>;
  const dialed = connect(address.port, '127.0.0.1');
  await once(dialed, 'connect');
  const [accepted] = await acceptedP;
  return { server, accepted, dialed };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const packet = (type: number, zxid: number, data: Buffer | null = null): QuorumPacket => ({ type, zxid, data, authinfo: null });

function link(socket: Socket, side: QuorumLinkSide): { link: QuorumLink; rec: Recorded } {
  const { rec, handler, log } = recorder();
  return { link: new QuorumLink(socket, side, handler, log, side), rec };
}

const stat = { czxid: 0, mzxid: 0, ctime: 0, mtime: 0, version: 0, cversion: 0, aversion: 0, ephemeralOwner: 0n, pzxid: 0 };
const body: SnapshotBody = {
  sessions: [{ sessionId: 0x1234n, timeoutMs: 6000 }],
  acls: [{ index: 1, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }] }],
  nodes: [
    { path: '', data: null, aclIndex: -1, stat },
    ...Array.from({ length: 200 }, (_, i) => ({ path: `/n${i}`, data: Buffer.alloc(1000, i), aclIndex: 1, stat })),
  ],
};

describe('QuorumLink', () => {
  test('leader to learner: packets, a SNAP transfer streamed raw, then packets again, in order', T, async () => {
    const { server, accepted, dialed } = await socketPair();
    try {
      const leader = link(accepted, 'leader');
      const learner = link(dialed, 'learner');
      learner.link.send(packet(PacketType.followerInfo, 0x100000005, Buffer.alloc(20)));
      leader.link.send(packet(PacketType.leaderInfo, 0x200000000, Buffer.alloc(4)));
      leader.link.send(packet(PacketType.snap, 0x100000005));
      const w = new JuteWriter();
      writeSnapTransfer(w, body);
      const transfer = w.toBuffer();
      // In slices, as a leader streams it, waiting for the socket to drain between them.
      for (let at = 0; at < transfer.length; at += 4096) {
        if (!leader.link.sendBytes(transfer.subarray(at, at + 4096))) await leader.link.drained();
      }
      leader.link.send(packet(PacketType.newLeader, 0x200000000));
      leader.link.send(packet(PacketType.upToDate, 0));
      await until(() => learner.rec.packets.length === 4, 'the learner to read 4 packets');
      await until(() => leader.rec.packets.length === 1, 'the leader to read FOLLOWERINFO');
      assert.deepEqual(learner.rec.events.slice(0, 2), [`packet ${PacketType.leaderInfo}`, `packet ${PacketType.snap}`]);
      assert.equal(learner.rec.events.at(-3), 'snap end');
      assert.deepEqual(learner.rec.events.slice(-2), [`packet ${PacketType.newLeader}`, `packet ${PacketType.upToDate}`]);
      const nodes = learner.rec.items.flatMap((it) => (it.kind === 'node' ? [it.node] : []));
      assert.deepEqual(nodes, body.nodes);
      assert.equal(leader.rec.packets[0]?.type, PacketType.followerInfo);
      assert.deepEqual(learner.rec.warnings, []);
      leader.link.close('test over');
      learner.link.close('test over');
    } finally {
      server.close();
    }
  });

  test('a SNAP packet to the leader side is a packet like any other (no transfer is read)', T, async () => {
    const { server, accepted, dialed } = await socketPair();
    try {
      const leader = link(accepted, 'leader');
      const learner = link(dialed, 'learner');
      learner.link.send(packet(PacketType.snap, 1));
      learner.link.send(packet(PacketType.ack, 2));
      await until(() => leader.rec.packets.length === 2, 'two packets');
      assert.deepEqual(leader.rec.items, []);
      leader.link.close('test over');
      learner.link.close('test over');
    } finally {
      server.close();
    }
  });

  test('garbage closes that link with a warning; another link goes on', T, async () => {
    const a = await socketPair();
    const b = await socketPair();
    try {
      const victim = link(a.accepted, 'leader');
      const healthy = link(b.accepted, 'leader');
      const other = link(b.dialed, 'learner');
      const bogus = Buffer.alloc(16);
      bogus.writeInt32BE(PacketType.request, 0);
      bogus.writeInt32BE(0x7ffffff0, 12); // a data length far past any bound
      const dialedClosed = once(a.dialed, 'close');
      a.dialed.write(bogus);
      await until(() => victim.rec.closedWith !== null, 'the link to close');
      assert.match(victim.rec.closedWith ?? '', /malformed data/);
      assert.equal(victim.rec.warnings.length, 1);
      await dialedClosed;
      other.link.send(packet(PacketType.ping, 3));
      await until(() => healthy.rec.packets.length === 1, 'the healthy link to read');
      assert.equal(healthy.rec.closedWith, null);
      healthy.link.close('test over');
      other.link.close('test over');
    } finally {
      a.server.close();
      b.server.close();
    }
  });

  test('the read timeout closes a link that receives nothing, however much it sends; arrivals restart it', T, async () => {
    const { server, accepted, dialed } = await socketPair();
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    // Real timers: the checks are lower bounds (a busy machine only delays the close), and the
    // pings come 20x more often than the timeout, so a slow event loop does not close it early.
    const timeoutMs = 1000;
    try {
      const leader = link(accepted, 'leader');
      const learner = link(dialed, 'learner');
      const setAtMs = Date.now();
      learner.link.setReadTimeout(timeoutMs);
      // pings from the leader keep it open for longer than the timeout
      while (Date.now() - setAtMs < 1.5 * timeoutMs) {
        leader.link.send(packet(PacketType.ping, 1));
        await sleep(50);
      }
      assert.equal(learner.rec.closedWith, null, 'open while the leader speaks');
      // the leader falls silent; the learner keeps sending (forwarded requests, as behind a partition)
      const sending = setInterval(() => learner.link.send(packet(PacketType.request, 1)), 20);
      await until(() => learner.rec.closedWith !== null, 'the read timeout');
      clearInterval(sending);
      assert.equal(learner.rec.closedWith, `nothing received for ${timeoutMs} ms`);
      const silentMs = learner.rec.closedMs - learner.rec.lastPacketMs;
      assert.ok(silentMs >= timeoutMs - 20, `closed ${silentMs} ms after the last packet arrived`);
      leader.link.close('test over');
    } finally {
      server.close();
    }
  });

  test('a paused link does not time out; resumed, it counts again from then', T, async () => {
    const { server, accepted, dialed } = await socketPair();
    try {
      const leader = link(accepted, 'leader');
      const learner = link(dialed, 'learner');
      learner.link.setReadTimeout(150);
      learner.link.pause();
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(learner.rec.closedWith, null, 'paused: not reading, so not timed out');
      const resumedMs = Date.now();
      learner.link.resume();
      await until(() => learner.rec.closedWith !== null, 'the read timeout after resume');
      assert.ok(Date.now() - resumedMs >= 140, 'counted from the resume');
      leader.link.close('test over');
    } finally {
      server.close();
    }
  });

  test('pause holds records back until resume, and none are lost', T, async () => {
    const { server, accepted, dialed } = await socketPair();
    try {
      const leader = link(accepted, 'leader');
      const learner = link(dialed, 'learner');
      leader.link.pause();
      for (let i = 1; i <= 50; i++) learner.link.send(packet(PacketType.ack, i));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(leader.rec.packets.length, 0);
      leader.link.resume();
      await until(() => leader.rec.packets.length === 50, '50 packets');
      assert.deepEqual(
        leader.rec.packets.map((p) => p.zxid),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      leader.link.close('test over');
      learner.link.close('test over');
    } finally {
      server.close();
    }
  });
});
