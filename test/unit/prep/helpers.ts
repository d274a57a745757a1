/** Shared fixtures for the prep tests: a tree + preparer pair and request builders. */
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { OpCode, type ACL, type Id, type RequestOf } from '../../../src/codec/index.js';
import { DataTree, OPEN_ACL_UNSAFE, type ApplyResult, type TreeChange } from '../../../src/tree/index.js';
import { RequestPreparer, type PrepContext, type Prepared, type QuotaExceeded, type Sha1Base64 } from '../../../src/prep/index.js';

export const sha1: Sha1Base64 = (text) => createHash('sha1').update(text).digest('base64');

export const OPEN: ACL[] = [...OPEN_ACL_UNSAFE];
export const S1 = 0x0100000000000001n;
export const S2 = 0x0100000000000002n;

export type CreateReq = RequestOf<typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer>;
export type CreateTtlReq = RequestOf<typeof OpCode.createTTL>;
export type WriteReq =
  | CreateReq
  | CreateTtlReq
  | RequestOf<typeof OpCode.delete | typeof OpCode.check>
  | RequestOf<typeof OpCode.deleteContainer>
  | RequestOf<typeof OpCode.setData>
  | RequestOf<typeof OpCode.setACL>;
export type MultiReq = RequestOf<typeof OpCode.multi>;

export function create(path: string, opts: { flags?: number; acl?: ACL[]; data?: Buffer | null; op?: 1 | 15 | 19 } = {}): CreateReq {
  return {
    op: opts.op ?? OpCode.create,
    path,
    data: opts.data === undefined ? Buffer.from('d') : opts.data,
    acl: opts.acl ?? OPEN,
    flags: opts.flags ?? 0,
  };
}
export function createTtl(path: string, ttl: number, flags = 5, acl: ACL[] = OPEN): CreateTtlReq {
  return { op: OpCode.createTTL, path, data: null, acl, flags, ttl };
}
export const del = (path: string, version = -1): WriteReq => ({ op: OpCode.delete, path, version });
export const delContainer = (path: string): WriteReq => ({ op: OpCode.deleteContainer, path });
export const check = (path: string, version: number): WriteReq => ({ op: OpCode.check, path, version });
export const setData = (path: string, version = -1, data: Buffer | null = Buffer.from('v')): WriteReq => ({
  op: OpCode.setData,
  path,
  data,
  version,
});
export const setAcl = (path: string, acl: ACL[], version = -1): WriteReq => ({ op: OpCode.setACL, path, acl, version });
export const multi = (...ops: WriteReq[]): MultiReq => ({ op: OpCode.multi, ops });

export function digestAcl(user: string, password: string, perms: number): ACL {
  return { perms, id: { scheme: 'digest', id: `${user}:${sha1(`${user}:${password}`)}` } };
}
export function digestAuth(user: string, password: string): Id {
  return { scheme: 'digest', id: `${user}:${sha1(`${user}:${password}`)}` };
}

/** The error code of a prepared txn (0 if it is not an error txn). */
export function errOf(p: Prepared): number {
  return p.txn.type === OpCode.error ? p.txn.err : 0;
}

/** Codes of a prepared multi's sub-txns (0 for non-error sub-txns). */
export function multiCodes(p: Prepared): number[] {
  assert.equal(p.txn.type, OpCode.multi);
  return p.txn.txns.map((t) => (t.type === OpCode.error ? t.err : 0));
}

export class Fixture {
  readonly tree: DataTree;
  readonly prep: RequestPreparer;
  readonly changes: TreeChange[] = [];
  now = 1_000_000;
  cxid = 0;

  /** Every quota limit prep reported as exceeded, in order. */
  readonly quotaReports: QuotaExceeded[] = [];

  constructor(opts: { extendedTypesEnabled?: boolean; skipAcl?: boolean; enforceQuota?: boolean } = {}) {
    const ext = opts.extendedTypesEnabled ?? false;
    this.tree = new DataTree(ext);
    this.prep = new RequestPreparer(this.tree, {
      extendedTypesEnabled: ext,
      skipAcl: opts.skipAcl ?? false,
      enforceQuota: opts.enforceQuota ?? false,
      quotaExceeded: (e) => this.quotaReports.push(e),
    });
  }

  ctx(sessionId: bigint = S1, authIds: readonly Id[] = []): PrepContext {
    return { sessionId, cxid: ++this.cxid, authIds, nowMs: ++this.now };
  }

  prepare(req: WriteReq | MultiReq, sessionId: bigint = S1, authIds: readonly Id[] = []): Prepared {
    return this.prep.prepare(this.ctx(sessionId, authIds), req);
  }

  apply(p: Prepared): ApplyResult {
    const res = this.tree.applyTxn(p.header, p.txn, this.changes);
    this.prep.applied(p.header.zxid);
    return res;
  }

  /** Prepare and apply; returns the error code prep produced and the apply result. */
  run(req: WriteReq | MultiReq, sessionId: bigint = S1, authIds: readonly Id[] = []): { code: number; p: Prepared; res: ApplyResult } {
    const p = this.prepare(req, sessionId, authIds);
    const res = this.apply(p);
    return { code: errOf(p), p, res };
  }

  /** Prepare, apply, and require success. */
  ok(req: WriteReq | MultiReq, sessionId: bigint = S1, authIds: readonly Id[] = []): ApplyResult {
    const { code, res } = this.run(req, sessionId, authIds);
    assert.equal(code, 0, `expected ${JSON.stringify(req, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))} to succeed`);
    assert.equal(res.err, 0);
    return res;
  }

  code(req: WriteReq | MultiReq, sessionId: bigint = S1, authIds: readonly Id[] = []): number {
    return this.run(req, sessionId, authIds).code;
  }
}
