/** zkCli's quota writes (setquota, delquota) and reads over a RawClient, for the quota suites. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ErrorCode } from '../../src/codec/index.js';
import { formatStatsTrack } from '../../src/tree/index.js';
import type { RawClient } from '../support/raw-client.js';

export const B = (s: string): Buffer => Buffer.from(s, 'latin1');

export function uniq(name: string): string {
  return `/quota-${name}-${randomBytes(4).toString('hex')}`;
}

export interface Limits {
  count?: number;
  bytes?: number;
  countHard?: number;
  bytesHard?: number;
}

/** The limits text zkCli's setquota writes (-n, -b, -N, -B; the rest -1). */
export function limitsText(l: Limits): string {
  return formatStatsTrack(
    new Map([
      ['count', BigInt(l.count ?? -1)],
      ['bytes', BigInt(l.bytes ?? -1)],
      ['countHardLimit', BigInt(l.countHard ?? -1)],
      ['byteHardLimit', BigInt(l.bytesHard ?? -1)],
    ]),
  );
}

export const statsPath = (root: string): string => `/zookeeper/quota${root}/zookeeper_stats`;
export const limitsPath = (root: string): string => `/zookeeper/quota${root}/zookeeper_limits`;

/** zkCli's createQuota: the /zookeeper/quota path node by node, the limits, then zeroed stats. */
export async function setQuota(c: RawClient, root: string, limits: Limits): Promise<void> {
  let p = '/zookeeper/quota';
  for (const part of root.split('/').slice(1)) {
    p += `/${part}`;
    if ((await c.exists(p)).err === ErrorCode.NONODE) assert.equal((await c.create(p, null)).err, 0, p);
  }
  assert.equal((await c.create(limitsPath(root), B(limitsText(limits)))).err, 0);
  assert.equal((await c.create(statsPath(root), B('count=0,bytes=0'))).err, 0);
}

/** zkCli's delquota without flags: the quota node's children, then the emptied path upwards. */
export async function delQuota(c: RawClient, root: string): Promise<void> {
  let p = `/zookeeper/quota${root}`;
  for (const child of (await c.getChildren(p)).children ?? []) assert.equal((await c.delete(`${p}/${child}`)).err, 0);
  while (p !== '/zookeeper/quota' && ((await c.getChildren(p)).children ?? []).length === 0) {
    assert.equal((await c.delete(p)).err, 0);
    p = p.slice(0, p.lastIndexOf('/'));
  }
}

export async function statsText(c: RawClient, root: string): Promise<string> {
  const r = await c.getData(statsPath(root));
  assert.equal(r.err, 0, `getData ${statsPath(root)}`);
  return r.data?.toString('latin1') ?? 'null';
}
