import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  CodecError,
  JuteReader,
  JuteWriter,
  PacketType,
  RecordStream,
  SNAP_SIGNATURE,
  SnapTransferReader,
  readQuorumPacket,
  walkQuorumPacket,
  writeQuorumPacket,
  writeSnapTransfer,
  type QuorumPacket,
  type SnapItem,
  type SnapshotBody,
} from '../../../src/codec/index.js';
import { QUORUM_PACKET_BYTES_MAX, SeededRandom } from '../../../src/base/index.js';

const packet = (type: number, zxid: number, data: Buffer | null): QuorumPacket => ({ type, zxid, data, authinfo: null });

function bytesOf(write: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriter();
  write(w);
  return w.toBuffer();
}

/** Cuts `buf` into pieces of 1..maxPiece bytes (seeded). */
function chop(buf: Buffer, rng: SeededRandom, maxPiece: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length;) {
    const n = 1 + rng.int(maxPiece);
    out.push(buf.subarray(at, at + n));
    at += n;
  }
  return out;
}

function readPackets(stream: RecordStream, into: QuorumPacket[]): void {
  while (stream.next((s) => walkQuorumPacket(s), QUORUM_PACKET_BYTES_MAX)) {
    into.push(readQuorumPacket(new JuteReader(stream.buffer, stream.start, stream.end)));
  }
}

function sampleBody(rng: SeededRandom, nodes: number): SnapshotBody {
  const stat = { czxid: 1, mzxid: 2, ctime: 3, mtime: 4, version: 5, cversion: 6, aversion: 7, ephemeralOwner: 0n, pzxid: 8 };
  return {
    sessions: Array.from({ length: 3 }, (_, i) => ({ sessionId: 0x100000000n + BigInt(i), timeoutMs: 4000 + i })),
    acls: [
      { index: 1, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }] },
      {
        index: 2,
        acl: [
          { perms: 1, id: { scheme: 'digest', id: 'u:hash' } },
          { perms: 31, id: { scheme: 'ip', id: '127.0.0.1' } },
        ],
      },
    ],
    nodes: [
      { path: '', data: null, aclIndex: -1, stat },
      ...Array.from({ length: nodes }, (_, i) => ({
        path: `/n${i}`,
        data: rng.int(4) === 0 ? null : Buffer.alloc(rng.int(3000), i & 0xff),
        aclIndex: 1 + (i % 2),
        stat: { ...stat, czxid: i },
      })),
    ],
  };
}

/** Feeds the chunks; reads packets until a SNAP packet, then the transfer, then packets again. */
function readLearnerStream(chunks: Buffer[]): { before: QuorumPacket[]; items: SnapItem[]; after: QuorumPacket[] } {
  const stream = new RecordStream();
  const before: QuorumPacket[] = [];
  const items: SnapItem[] = [];
  const after: QuorumPacket[] = [];
  let snap: SnapTransferReader | null = null;
  for (const chunk of chunks) {
    stream.push(chunk);
    for (;;) {
      if (snap === null) {
        if (!stream.next((s) => walkQuorumPacket(s), QUORUM_PACKET_BYTES_MAX)) break;
        const p = readQuorumPacket(new JuteReader(stream.buffer, stream.start, stream.end));
        (items.length > 0 ? after : before).push(p);
        if (p.type === PacketType.snap) snap = new SnapTransferReader();
      } else {
        const item = snap.next(stream);
        if (item === null) break;
        items.push(item);
        if (item.kind === 'end') snap = null;
      }
    }
  }
  return { before, items, after };
}

function bodyOf(items: SnapItem[]): SnapshotBody {
  const body: SnapshotBody = { sessions: [], acls: [], nodes: [] };
  for (const it of items) {
    if (it.kind === 'session') body.sessions.push(it.session);
    else if (it.kind === 'acl') body.acls.push(it.list);
    else if (it.kind === 'node') body.nodes.push(it.node);
  }
  return body;
}

describe('RecordStream', () => {
  test('packets cut at every byte boundary come out whole and in order', () => {
    const packets = [
      packet(PacketType.ping, 5, null),
      packet(PacketType.proposal, 0x100000001, Buffer.alloc(300, 7)),
      packet(PacketType.commit, 0x100000001, null),
    ];
    const all = Buffer.concat(packets.map((p) => bytesOf((w) => writeQuorumPacket(w, p))));
    for (let cut = 1; cut < all.length; cut++) {
      const stream = new RecordStream();
      const got: QuorumPacket[] = [];
      stream.push(all.subarray(0, cut));
      readPackets(stream, got);
      stream.push(all.subarray(cut));
      readPackets(stream, got);
      assert.deepEqual(got, packets, `cut at ${cut}`);
      assert.equal(stream.buffered, 0);
    }
  });

  test('a large packet arriving in small chunks is found once complete', () => {
    const big = packet(PacketType.proposal, 7, Buffer.alloc(1_500_000, 3));
    const bytes = bytesOf((w) => writeQuorumPacket(w, big));
    const stream = new RecordStream();
    const got: QuorumPacket[] = [];
    const rng = new SeededRandom(1);
    for (const c of chop(bytes, rng, 8192)) {
      readPackets(stream, got);
      stream.push(c);
    }
    readPackets(stream, got);
    assert.equal(got.length, 1);
    assert.deepEqual(got[0], big);
  });

  test('a bogus length is refused before its bytes arrive', () => {
    const stream = new RecordStream();
    const head = Buffer.alloc(16);
    head.writeInt32BE(PacketType.proposal, 0);
    head.writeInt32BE(0x7fffffff, 12); // data length
    stream.push(head);
    assert.throws(() => stream.next((s) => walkQuorumPacket(s), QUORUM_PACKET_BYTES_MAX), CodecError);
  });
});

describe('SnapTransferReader', () => {
  for (let seed = 1; seed <= 20; seed++) {
    test(`seed ${seed}: a SNAP transfer between packets, in random chunks, reads back record by record`, () => {
      const rng = new SeededRandom(seed);
      const body = sampleBody(rng, rng.int(50));
      const bytes = Buffer.concat([
        bytesOf((w) => writeQuorumPacket(w, packet(PacketType.leaderInfo, 0x200000000, Buffer.alloc(4)))),
        bytesOf((w) => writeQuorumPacket(w, packet(PacketType.snap, 0x100000009, null))),
        bytesOf((w) => writeSnapTransfer(w, body)),
        bytesOf((w) => writeQuorumPacket(w, packet(PacketType.newLeader, 0x200000000, null))),
        bytesOf((w) => writeQuorumPacket(w, packet(PacketType.upToDate, 0, null))),
      ]);
      const { before, items, after } = readLearnerStream(chop(bytes, rng, 1 + rng.int(5000)));
      assert.deepEqual(
        before.map((p) => p.type),
        [PacketType.leaderInfo, PacketType.snap],
      );
      assert.equal(items.at(-1)?.kind, 'end');
      assert.deepEqual(bodyOf(items), body);
      assert.deepEqual(
        after.map((p) => p.type),
        [PacketType.newLeader, PacketType.upToDate],
      );
    });
  }

  test('a wrong signature, a negative count and a null ACL list are CodecErrors', () => {
    const rng = new SeededRandom(3);
    const good = bytesOf((w) => writeSnapTransfer(w, sampleBody(rng, 2)));
    const wrongSignature = Buffer.from(good);
    const at = wrongSignature.lastIndexOf(Buffer.from(SNAP_SIGNATURE));
    wrongSignature[at] = 'X'.charCodeAt(0);
    const negativeSessions = Buffer.from(good);
    negativeSessions.writeInt32BE(-2, 0);
    const nullAcl = bytesOf((w) => w.writeInt(0).writeInt(1).writeLong(1).writeInt(-1));
    for (const [label, bytes] of [
      ['signature', wrongSignature],
      ['count', negativeSessions],
      ['null ACL list', nullAcl],
    ] as const) {
      const stream = new RecordStream();
      stream.push(bytes);
      const reader = new SnapTransferReader();
      assert.throws(
        () => {
          while (reader.next(stream) !== null);
        },
        CodecError,
        label,
      );
    }
  });
});
