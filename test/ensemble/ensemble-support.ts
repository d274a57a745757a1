/**
 * What the ensemble suites share: clients on one member, and retrying a write until the
 * ensemble takes it (which is how a failover is timed).
 */
import { after, before } from 'node:test';
import { ErrorCode } from '../../src/codec/index.js';
import { Ensemble, type EnsembleOptions, type Member } from '../support/ensemble-process.js';
import { RawClient } from '../support/raw-client.js';
import { sleep } from '../support/server-process.js';

export const SESSION_TIMEOUT_MS = 30000;

/** Starts an ensemble before the suite's tests and closes it after them; call the result for it. */
export function ensembleForSuite(options: EnsembleOptions): () => Ensemble {
  let ensemble: Ensemble | undefined;
  before(async () => {
    ensemble = await Ensemble.start(options);
  });
  after(async () => {
    await ensemble?.close();
  });
  return () => {
    if (ensemble === undefined) throw new Error('the ensemble did not start');
    return ensemble;
  };
}

/** A session on `member`, or `resume`'s session moved there (with the zxid it has seen). */
export function connectTo(member: Member, resume?: RawClient, timeoutMs = 5000): Promise<RawClient> {
  return RawClient.connect({
    host: '127.0.0.1',
    port: member.ports.client,
    timeoutMs: SESSION_TIMEOUT_MS,
    keepAliveMs: 1000,
    connectTimeoutMs: timeoutMs,
    requestTimeoutMs: timeoutMs,
    ...(resume === undefined ? {} : { sessionId: resume.sessionId, passwd: resume.passwd, lastZxidSeen: resume.lastZxid }),
  });
}

/** Connects, runs `fn`, closes the session whatever happens. */
export async function withClient<T>(member: Member, fn: (c: RawClient) => Promise<T>): Promise<T> {
  const c = await connectTo(member);
  try {
    return await fn(c);
  } finally {
    await c.close().catch(() => c.destroy());
  }
}

/**
 * Creates `path` through any of `members` in turn until one acknowledges it (OK, or NODEEXISTS
 * when an earlier attempt took effect without its answer), and resolves with the member that
 * did. Throws after `timeoutMs`.
 */
export async function createUntilAcknowledged(members: Member[], path: string, timeoutMs: number): Promise<Member> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no attempt';
  for (let i = 0; ; i++) {
    const member = members[i % members.length]!;
    try {
      const c = await connectTo(member, undefined, 1000);
      try {
        const r = await c.create(path, Buffer.from('x'));
        if (r.err === ErrorCode.OK || r.err === ErrorCode.NODEEXISTS) return member;
        lastError = `member ${member.id}: error ${r.err}`;
      } finally {
        c.destroy();
      }
    } catch (e) {
      lastError = `member ${member.id}: ${(e as Error).message}`;
    }
    if (Date.now() > deadline) throw new Error(`no member acknowledged the create of ${path} within ${timeoutMs} ms (${lastError})`);
    await sleep(20);
  }
}

/** Reads `path` at `member` after a sync, so the answer is at least as new as the leader's state then. */
export async function syncedRead(member: Member, path: string): Promise<{ err: number; data?: string; version?: number }> {
  return withClient(member, async (c) => {
    const s = await c.sync(path);
    if (s.err !== ErrorCode.OK && s.err !== ErrorCode.NONODE) throw new Error(`sync at member ${member.id}: error ${s.err}`);
    const r = await c.getData(path);
    if (r.err !== ErrorCode.OK) return { err: r.err };
    return { err: r.err, data: r.data?.toString('utf8') ?? '', ...(r.stat === undefined ? {} : { version: r.stat.version }) };
  });
}
