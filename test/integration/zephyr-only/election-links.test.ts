/**
 * The election port over real sockets on 127.0.0.1 (src/net/election-links.ts): the handshake
 * bytes, one connection per pair with the smaller sid yielding, the send queue of one, the last
 * message re-sent on a new link, and bad input closing only its own connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SeededRandom, ELECTION_MESSAGE_BYTES_MAX } from '../../../src/base/index.js';
import {
  ELECTION_PROTOCOL_V1,
  ELECTION_PROTOCOL_V2,
  JuteReader,
  readInitialMessage,
  type ElectionAddress,
} from '../../../src/codec/index.js';
import {
  closeAll,
  frame,
  initialMessageBytes,
  rawExchange,
  startMember,
  startMembers,
  waitFor,
  type TestMember,
} from '../../support/election-links.js';

const T = { timeout: 20_000 };

/** A plain listener standing in for member `sid`: records each accepted connection's bytes. */
async function recordingPeer(): Promise<{
  address: ElectionAddress;
  connections: Buffer[][];
  sockets: net.Socket[];
  close: () => Promise<void>;
}> {
  const connections: Buffer[][] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    const chunks: Buffer[] = [];
    connections.push(chunks);
    sockets.push(s);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port };
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { address, connections, sockets, close };
}

test('the opener sends the V1 initial message in its first bytes, and keeps the link only to a smaller sid', T, async () => {
  const peer = await recordingPeer();
  const peers = new Map<number, ElectionAddress>();
  const [m] = await startMembers([5], {}, peers);
  try {
    peers.set(9, peer.address);
    peers.set(2, peer.address);
    m!.links.toSend(9, Buffer.from('to-nine'));
    await waitFor('the connection to 9 and its close', () => peer.connections.length === 1 && peer.sockets[0]!.readableEnded);
    const bytes = Buffer.concat(peer.connections[0]!);
    // -65536, sid 5, "127.0.0.1:<port>": nothing more, since 9 > 5 means 9 calls back
    const expected = Buffer.alloc(20);
    expected.writeBigInt64BE(ELECTION_PROTOCOL_V1, 0);
    expected.writeBigInt64BE(5n, 8);
    const addr = `127.0.0.1:${m!.address.port}`;
    expected.writeInt32BE(addr.length, 16);
    assert.deepEqual(bytes, Buffer.concat([expected, Buffer.from(addr)]));

    m!.links.toSend(2, Buffer.from('to-two'));
    await waitFor('the message to 2', () => Buffer.concat(peer.connections[1] ?? []).length >= bytes.length + 4 + 6);
    const kept = Buffer.concat(peer.connections[1]!);
    assert.deepEqual(kept.subarray(bytes.length), frame('to-two'));
    assert.deepEqual(m!.links.linkedSids(), [2]);
  } finally {
    await closeAll([m!]);
    await peer.close();
  }
});

test('V2 announces every address, separated by |', T, async () => {
  const peer = await recordingPeer();
  const peers = new Map<number, ElectionAddress>();
  const announce = [
    { host: '127.0.0.1', port: 1111 },
    { host: '::1', port: 2222 },
  ];
  const [m] = await startMembers([3], { protocolVersion: ELECTION_PROTOCOL_V2, announce }, peers);
  try {
    peers.set(7, peer.address);
    m!.links.toSend(7, Buffer.from('x'));
    await waitFor('the initial message', () => Buffer.concat(peer.connections[0] ?? []).length >= 20);
    await sleep(50);
    const bytes = Buffer.concat(peer.connections[0]!);
    const initial = readInitialMessage(new JuteReader(bytes));
    assert.deepEqual(initial, { protocolVersion: ELECTION_PROTOCOL_V2, sid: 3n, addresses: announce });
    assert.equal(bytes.subarray(20).toString(), '127.0.0.1:1111|[::1]:2222');
  } finally {
    await closeAll([m!]);
    await peer.close();
  }
});

test('one link per pair, opened by the larger sid, whoever sends first; messages both ways', T, async () => {
  for (const firstSender of [1, 2]) {
    const members = await startMembers([1, 2]);
    const [one, two] = members as [TestMember, TestMember];
    try {
      const sender = firstSender === 1 ? one : two;
      const other = firstSender === 1 ? two : one;
      sender.links.toSend(other.sid, Buffer.from(`hello from ${sender.sid}`));
      await waitFor('the first message', () => other.received.length === 1);
      other.links.toSend(sender.sid, Buffer.from(`reply from ${other.sid}`));
      await waitFor('the reply', () => sender.received.length === 1);
      assert.deepEqual(other.received, [[sender.sid, `hello from ${sender.sid}`]]);
      assert.deepEqual(sender.received, [[other.sid, `reply from ${other.sid}`]]);
      assert.deepEqual(one.links.linkedSids(), [2]);
      assert.deepEqual(two.links.linkedSids(), [1]);
      // the smaller sid's own attempt was dropped after its initial message
      if (firstSender === 1) assert.equal(one.log.find('smaller server id').length, 1);
    } finally {
      await closeAll(members);
    }
  }
});

test('both sides sending at once still end with one working link', T, async () => {
  const members = await startMembers([1, 2, 3]);
  try {
    for (const a of members) for (const b of members) if (a !== b) a.links.toSend(b.sid, Buffer.from(`${a.sid}->${b.sid}`));
    await waitFor('every message', () => members.every((m) => m.received.length >= 2));
    await sleep(200);
    for (const m of members) {
      assert.deepEqual(
        m.links.linkedSids(),
        members.filter((o) => o !== m).map((o) => o.sid),
      );
      // a message may arrive twice (the last one is re-sent on a new link), never another one
      const texts = new Set(m.received.map(([from, t]) => `${from}:${t}`));
      assert.deepEqual(
        [...texts].sort(),
        members.filter((o) => o !== m).map((o) => `${o.sid}:${o.sid}->${m.sid}`),
      );
    }
  } finally {
    await closeAll(members);
  }
});

test('a peer that cannot be reached gets only the latest message once it is up; a new link re-sends it', T, async () => {
  const peers = new Map<number, ElectionAddress>();
  // bind 2 once to learn a free port, then let it go: 1 will find nobody there
  const probe = await startMember(2, peers);
  const port = probe.address.port;
  await probe.links.close();
  const [one] = await startMembers([1], {}, peers);
  peers.set(2, { host: '127.0.0.1', port });
  let two: TestMember | undefined;
  try {
    for (const text of ['a', 'b', 'c']) one!.links.toSend(2, Buffer.from(text));
    await waitFor('the failed attempt', () => one!.log.find('cannot open channel').length > 0);
    assert.equal(one!.links.haveDelivered(), false);
    two = await startMember(2, peers, { listen: { host: '127.0.0.1', port } });
    one!.links.connectAll();
    await waitFor('the queued message', () => two!.received.length === 1);
    await sleep(200);
    assert.deepEqual(two.received, [[1, 'c']]);
    assert.equal(one!.links.haveDelivered(), true);

    // the link breaks; the next link (opened by 2, the larger sid) carries 'c' again
    await two.links.close();
    two = await startMember(2, peers, { listen: { host: '127.0.0.1', port } });
    two.links.toSend(1, Buffer.from('back'));
    await waitFor('the re-sent message', () => two!.received.length === 1);
    assert.deepEqual(two.received, [[1, 'c']]);
  } finally {
    await closeAll(two === undefined ? [one!] : [one!, two]);
  }
});

/** Sends `bytes` to member `m` on a fresh connection; it must close it and log `logged`. */
async function expectRefused(m: TestMember, bytes: Buffer, logged: RegExp): Promise<void> {
  const before = m.log.lines.length;
  const { closedByPeer } = await rawExchange(m.address, bytes, 5000);
  assert.ok(closedByPeer, `connection left open after ${bytes.subarray(0, 32).toString('hex')}`);
  const lines = m.log.lines.slice(before).map((l) => `${l.msg} ${JSON.stringify(l.obj)}`);
  assert.ok(
    lines.some((l) => logged.test(l)),
    `no log line ${String(logged)} in ${JSON.stringify(lines)}`,
  );
}

test('bad input on the election port closes that connection with a log line; the member keeps working', T, async () => {
  const peers = new Map<number, ElectionAddress>();
  const members = await startMembers([1, 2], { initialMessageTimeoutMs: 300 }, peers);
  const [one, two] = members as [TestMember, TestMember];
  try {
    const addr = `127.0.0.1:${one.address.port}`;
    const tooLong = Buffer.alloc(4);
    tooLong.writeInt32BE(ELECTION_MESSAGE_BYTES_MAX + 1);
    const cases: Array<[string, Buffer, RegExp]> = [
      // a non-negative first long is a pre-3.5 member's sid, as 3.8 reads it
      ['text', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /refused.*sid 5135603447292250196 outside the ids/],
      ['garbage', Buffer.from('ffeeddccbbaa99887766554433221100', 'hex'), /refused.*unknown election protocol version/],
      ['unknown sid', initialMessageBytes(99, addr), /refused.*unknown sid 99/],
      ['our own sid', initialMessageBytes(2, addr), /refused.*our own sid/],
      [
        'address length over 2048',
        Buffer.concat([initialMessageBytes(3, addr).subarray(0, 16), Buffer.from([0, 0, 8, 1])]),
        /refused.*address length/,
      ],
      ['a malformed address', initialMessageBytes(3, 'nohostport'), /refused.*badly formed/],
      ['nothing within the timeout', Buffer.alloc(0), /refused.*no initial message within 300 ms/],
      ['half an initial message', initialMessageBytes(3, addr).subarray(0, 12), /refused.*no initial message/],
      ['an oversize message', Buffer.concat([initialMessageBytes(3, addr), tooLong]), /invalid message length/],
      ['an empty message', Buffer.concat([initialMessageBytes(3, addr), Buffer.alloc(4)]), /invalid message length/],
      ['a negative length', Buffer.concat([initialMessageBytes(3, addr), Buffer.from([0xff, 0xff, 0xff, 0xfe])]), /invalid message length/],
    ];
    // sid 3 is a member (the bytes, not the sid, are at fault); it is never dialled here
    peers.set(3, { host: '127.0.0.1', port: 1 });
    for (const [name, bytes, logged] of cases) {
      await expectRefused(two, bytes, logged).catch((err: unknown) => {
        throw new Error(`${name}: ${(err as Error).message}`);
      });
      one.links.toSend(2, Buffer.from(`after ${name}`));
      await waitFor(`a message after ${name}`, () => two.received.some(([, t]) => t === `after ${name}`));
    }
    assert.deepEqual(two.links.linkedSids(), [1]);
  } finally {
    await closeAll(members);
  }
});

test('fuzz: random bytes on the election port never stop the member (seeded)', T, async () => {
  const members = await startMembers([1, 2], { initialMessageTimeoutMs: 200 });
  const [one, two] = members as [TestMember, TestMember];
  const rng = new SeededRandom(Number(process.env['ELECTION_FUZZ_SEED'] ?? 7));
  try {
    const addr = `127.0.0.1:${one.address.port}`;
    let closed = 0;
    const rounds = 60;
    for (let i = 0; i < rounds; i++) {
      const random = Buffer.from(Array.from({ length: 1 + rng.int(64) }, () => rng.int(256)));
      // half the time the random bytes follow a valid initial message from a known smaller sid
      const bytes = rng.chance(0.5) ? random : Buffer.concat([initialMessageBytes(1, addr).subarray(0, rng.int(40)), random]);
      const { closedByPeer } = await rawExchange(two.address, bytes, 2000);
      if (closedByPeer) closed += 1;
    }
    assert.equal(closed, rounds, 'every fuzzed connection is closed by the member');
    one.links.toSend(2, Buffer.from('still here'));
    await waitFor('a message after the fuzzing', () => two.received.some(([, t]) => t === 'still here'));
  } finally {
    await closeAll(members);
  }
});
