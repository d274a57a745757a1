/**
 * Steps the in-process (driver.test.ts) and the process (processes.test.ts) ensembles both
 * take: an observer's write reaching the leader, bad input on a leader's quorum port, and an
 * uncommitted txn planted in a stopped member's log.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import path from 'node:path';
import { JuteWriter, OpCode, PacketType, writeQuorumPacket } from '../../../src/codec/index.js';
import { nodeFileSystem } from '../../../src/runtime/node-file-system.js';
import { TxnLog, lastLoggedZxid } from '../../../src/storage/index.js';
import { RawClient } from '../../support/raw-client.js';
import { fourLetterWord } from '../../support/server-process.js';

/** `p`'s data as the member on `port` has it after a sync; fails if `p` is missing. */
export async function syncedRead(port: number, p: string): Promise<string> {
  const c = await RawClient.connect({ host: '127.0.0.1', port, timeoutMs: 4000 });
  try {
    assert.equal((await c.request({ op: OpCode.sync, path: p })).header.err, 0);
    const r = await c.getData(p);
    assert.equal(r.err, 0, `${p} at ${port}`);
    return (r.data ?? Buffer.alloc(0)).toString();
  } finally {
    await c.close();
  }
}

/** A write at the observer reaches the leader, which counts the observer as synced. */
export async function observerWriteReachesLeader(observerPort: number, leaderPort: number, p: string): Promise<void> {
  const o = await RawClient.connect({ host: '127.0.0.1', port: observerPort, timeoutMs: 4000 });
  try {
    const r = await o.create(p, Buffer.from('by observer'), { flags: 0 });
    assert.equal(r.err, 0, `create ${p} at the observer: error ${r.err}`);
  } finally {
    await o.close();
  }
  assert.equal(await syncedRead(leaderPort, p), 'by observer');
  assert.match(await fourLetterWord(leaderPort, 'mntr'), /zk_synced_observers\t1/);
  assert.match(await fourLetterWord(observerPort, 'srvr'), /Mode: observer/);
}

export function quorumPacket(type: number, zxid: number, data: Buffer | null): Buffer {
  const w = new JuteWriter(64);
  writeQuorumPacket(w, { type, zxid, data, authinfo: null });
  return Buffer.from(w.toBuffer());
}

/** Sends `bytes` to the port and resolves once the member closes the connection. */
export function closedAfter(port: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.write(bytes));
    const timer = setTimeout(() => reject(new Error('the member kept the connection')), 1000);
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * A server id no member can have. (A FOLLOWERINFO from an id the membership does not list is
 * taken, as ZooKeeper takes it: a member a reconfig removed, or one that joins.)
 */
const BAD_SID = -1;

/** Garbage, a FOLLOWERINFO with a negative server id, and an ACK as the first packet. */
export async function sendBadQuorumInput(quorumPort: number): Promise<void> {
  await closedAfter(quorumPort, Buffer.from('GET / HTTP/1.1\r\n\r\n'.repeat(4)));
  const info = new JuteWriter(32);
  info.writeLong(BAD_SID).writeInt(0x10000).writeLong(0);
  await closedAfter(quorumPort, quorumPacket(PacketType.followerInfo, 0, Buffer.from(info.toBuffer())));
  await closedAfter(quorumPort, quorumPacket(PacketType.ack, 5, null));
}

/** The reasons the member logged for closing each of sendBadQuorumInput's connections. */
export function assertBadQuorumInputLogged(reasons: readonly string[]): void {
  assert.equal(reasons.length, 3, `each is logged: ${JSON.stringify(reasons)}`);
  assert.match(reasons[1] ?? '', new RegExp(`learner sid ${BAD_SID} out of range`));
  assert.match(reasons[2] ?? '', /not FOLLOWERINFO/);
}

/**
 * Appends to a stopped member's log a create of /ghost that no leader committed: what a
 * follower holds when it logged a proposal just before its leader died.
 */
export async function appendUncommittedTxn(dataDir: string, parentCVersion: number): Promise<void> {
  const logDir = path.join(dataDir, 'version-2');
  const last = await lastLoggedZxid(nodeFileSystem, logDir, 1 << 20);
  const log = new TxnLog(nodeFileSystem, logDir, { preAllocBytes: 4096, forceSync: true, lastZxid: last }, (err) => {
    throw err;
  });
  await new Promise<void>((resolve) =>
    log.append(
      { clientId: 0n, cxid: 0, zxid: last + 1, time: Date.now(), type: OpCode.create },
      {
        type: OpCode.create,
        path: '/ghost',
        data: Buffer.from('never committed'),
        acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
        ephemeral: false,
        parentCVersion,
      },
      { durable: resolve },
    ),
  );
  await log.close();
}
