import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import { JuteWriter, OpCode, PacketType, writeQuorumPacket, type QuorumPacket } from '../../../src/codec/index.js';
import { QuorumLink } from '../../../src/net/quorum-link.js';
import { DataTree, OPEN_ACL_UNSAFE, type TreeChange } from '../../../src/tree/index.js';
import { encodeSnapshot, type SlicePacer } from '../../../src/storage/index.js';
import { EventLoopPacer } from '../../../src/runtime/index.js';
import { SlicedSnapLoad } from '../../../src/ensemble/snap-load.js';
import { silentLogger } from '../../../src/server/types.js';

const T = { timeout: 30_000 };
const SNAP_ZXID = 0x100000000 + 7;

/** A tree of `n` znodes under /p0../p9, with data. */
function treeOf(n: number): DataTree {
  const tree = new DataTree(false);
  const changes: TreeChange[] = [];
  let zxid = 0;
  const create = (path: string): void => {
    zxid++;
    const header = { clientId: 0n, cxid: 0, zxid, time: 1700000000000, type: OpCode.create };
    const txn = {
      type: OpCode.create,
      path,
      data: Buffer.from(`v${zxid}`),
      acl: [...OPEN_ACL_UNSAFE],
      ephemeral: false,
      parentCVersion: -1,
    };
    tree.applyTxn(header, txn, changes);
    changes.length = 0;
  };
  for (let p = 0; p < 10; p++) create(`/p${p}`);
  for (let i = 0; tree.size < n; i++) create(`/p${i % 10}/n${i}`);
  return tree;
}

const packet = (type: number, zxid: number): QuorumPacket => ({ type, zxid, data: Buffer.from([1, 2, 3]), authinfo: null });

/** What a leader sends to a learner it syncs by SNAP, in one write: SNAP, the transfer, then the packets that follow it. */
function snapSync(tree: DataTree): { bytes: Buffer; after: number[] } {
  const after = [PacketType.proposal, PacketType.commit, PacketType.newLeader, PacketType.upToDate];
  const head = new JuteWriter(64);
  writeQuorumPacket(head, { type: PacketType.snap, zxid: SNAP_ZXID, data: null, authinfo: null });
  const tail = new JuteWriter(256);
  after.forEach((type, i) => writeQuorumPacket(tail, packet(type, SNAP_ZXID + 1 + i)));
  return { bytes: Buffer.concat([head.toBuffer(), encodeSnapshot(tree, new Map([[5n, 30000]]), 'transfer'), tail.toBuffer()]), after };
}

/** A pacer whose slices are `perSlice` records long, each on its own event-loop turn. */
function countingPacer(perSlice: number): SlicePacer & { slices: number } {
  let inSlice = 0;
  const pacer = {
    slices: 0,
    nextSlice: (): Promise<void> =>
      new Promise<void>((resolve) =>
        setImmediate(() => {
          pacer.slices++;
          inSlice = 0;
          resolve();
        }),
      ),
    sliceDone: (): boolean => ++inSlice >= perSlice,
    endSlice: (): void => undefined,
  };
  return pacer;
}

interface Seen {
  events: string[];
  /** The event-loop turn each transfer record was handed over in. */
  recordTurns: Set<number>;
  loadedNodes: number;
  sessions: number;
}

/**
 * The learner's end of a quorum connection with every byte the leader sent already received:
 * one 'data' event holds them all, so only the link's pause can spread their handling over
 * several event-loop turns.
 */
class ReceivedBytes extends EventEmitter {
  destroyed = false;
  writableNeedDrain = false;
  setNoDelay(): void {}
  pause(): void {}
  resume(): void {}
  write(): boolean {
    return true;
  }
  end(): void {}
  destroySoon(): void {
    this.destroyed = true;
  }
}

/** Hands `bytes` to a learner-side link that loads the transfer with `pacer`; resolves after the last packet. */
async function receive(bytes: Buffer, pacer: SlicePacer, lastType: number): Promise<Seen> {
  const socket = new ReceivedBytes();
  const seen: Seen = { events: [], recordTurns: new Set(), loadedNodes: 0, sessions: 0 };
  let turn = 0;
  let turning = true;
  const nextTurn = (): void => {
    turn++;
    if (turning) setImmediate(nextTurn);
  };
  setImmediate(nextTurn);
  let loading: SlicedSnapLoad | null = null;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const link: QuorumLink = new QuorumLink(
    socket as unknown as Socket,
    'learner',
    {
      packet: (p) => {
        seen.events.push(`packet ${p.type}`);
        if (p.type === PacketType.snap) loading = new SlicedSnapLoad(p.zxid, false, link, pacer);
        if (p.type === lastType) done();
      },
      snapItem: (item) => {
        seen.recordTurns.add(turn);
        const loaded = loading?.item(item) ?? null;
        if (loaded === null) return;
        seen.events.push('loaded');
        seen.loadedNodes = loaded.tree.size;
        seen.sessions = loaded.sessions.size;
      },
      closed: () => done(),
    },
    silentLogger,
    'leader',
  );
  socket.emit('data', bytes);
  try {
    await finished;
  } finally {
    turning = false;
    link.close('test over');
  }
  return seen;
}

describe('SlicedSnapLoad: a learner loads a SNAP transfer in slices', () => {
  test('the load takes several event-loop turns, and the packets after the transfer come after it, in order', T, async () => {
    const tree = treeOf(20_000);
    const { bytes, after } = snapSync(tree);
    const pacer = countingPacer(1000);
    const seen = await receive(bytes, pacer, PacketType.upToDate);
    assert.deepEqual(seen.events, [`packet ${PacketType.snap}`, 'loaded', ...after.map((t) => `packet ${t}`)]);
    assert.equal(seen.loadedNodes, tree.size);
    assert.equal(seen.sessions, 1);
    // records (about 20 000 nodes, a session, the ACL list, the end) in slices of 1000
    assert.ok(pacer.slices >= 20, `only ${pacer.slices} slices`);
    assert.ok(seen.recordTurns.size >= 20, `records handed over in only ${seen.recordTurns.size} event-loop turns`);
  });

  test('with the event-loop pacer a large transfer is loaded in more than one slice', T, async () => {
    const tree = treeOf(100_000);
    const { bytes } = snapSync(tree);
    const pacer = new EventLoopPacer(2);
    const seen = await receive(bytes, pacer, PacketType.upToDate);
    assert.equal(seen.loadedNodes, tree.size);
    assert.equal(seen.events.indexOf('loaded'), 1);
    const { slices } = pacer.report() as { slices: number };
    assert.ok(slices > 1, `${slices} slice(s)`);
    assert.ok(seen.recordTurns.size > 1);
  });
});
