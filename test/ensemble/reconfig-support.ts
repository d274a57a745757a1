/**
 * What the reconfiguration suites share: the super user ZooKeeper's digest provider knows (the
 * reconfig operation is the super user's), a raw reconfig request, and reading the membership a
 * member holds.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ErrorCode, OpCode } from '../../src/codec/index.js';
import { parseQuorumConfigText, type QuorumConfig } from '../../src/config/index.js';
import type { Member } from '../support/ensemble-process.js';
import type { RawClient } from '../support/raw-client.js';
import { connectTo, syncedRead } from './ensemble-support.js';

export const SUPER_SECRET = 'super:reconfig-test';
/** zookeeper.DigestAuthenticationProvider.superDigest for SUPER_SECRET. */
export const SUPER_DIGEST = `super:${createHash('sha1').update(SUPER_SECRET).digest('base64')}`;

export interface Reconfig {
  joining?: string;
  leaving?: string;
  /** A bulk reconfig: the whole new membership. */
  newMembers?: string;
  fromConfig?: number;
}

export async function reconfig(c: RawClient, r: Reconfig): Promise<{ err: number; zxid: number; body: Buffer }> {
  const reply = await c.request({
    op: OpCode.reconfig,
    joiningServers: r.joining ?? null,
    leavingServers: r.leaving ?? null,
    newMembers: r.newMembers ?? null,
    curConfigId: r.fromConfig ?? -1,
  });
  return { err: reply.header.err, zxid: reply.header.zxid, body: reply.body };
}

/** The membership text in a reconfig's reply (a GetDataResponse: data, then Stat). */
export function replyText(body: Buffer): string {
  return body.subarray(4, 4 + body.readInt32BE(0)).toString('utf8');
}

export async function superClient(m: Member): Promise<RawClient> {
  const c = await connectTo(m);
  assert.equal((await c.addAuth('digest', SUPER_SECRET)).err, ErrorCode.OK);
  return c;
}

/** The membership `m` holds in /zookeeper/config after a sync (its text too). */
export async function membershipAt(m: Member): Promise<QuorumConfig & { raw: string }> {
  const node = await syncedRead(m, '/zookeeper/config');
  assert.equal(node.err, ErrorCode.OK, `member ${m.id}: /zookeeper/config`);
  const raw = node.data ?? '';
  return { ...parseQuorumConfigText(raw, `member ${m.id}'s /zookeeper/config`), raw };
}
