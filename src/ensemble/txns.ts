/**
 * Txns and forwarded requests between their server form (TxnHeader and typed Txn, a client
 * request) and their quorum form (ZabTxn bytes, a REQUEST's body), and the newest logged txns a
 * new leader starts its committed window with.
 */
import { assert } from '../base/index.js';
import {
  CodecError,
  JuteReader,
  JuteWriter,
  OpCode,
  readRequest,
  readTxnEntry,
  writeRequest,
  writeTxn,
  writeTxnHeader,
  type Id,
  type Txn,
  type TxnHeader,
} from '../codec/index.js';
import type { ForwardedWrite, ZabTxn } from '../quorum/zab/index.js';
import { WRITE_OPS, type ForwardedRequest } from '../server/zk-server.js';

/** TxnHeader's encoded length (clientId, cxid, zxid, time, type): the body follows it. */
const TXN_HEADER_BYTES = 32;

/** A txn this leader prepared, as a PROPOSAL carries it. */
export function zabTxnFrom(header: TxnHeader, txn: Txn): ZabTxn {
  const w = new JuteWriter(128);
  writeTxnHeader(w, header);
  writeTxn(w, txn);
  const bytes = w.toBuffer();
  return { zxid: header.zxid, sessionId: header.clientId, cxid: header.cxid, type: header.type, bytes };
}

/** A received txn's header and typed body (a reconfig's is its SetDataTxn on /zookeeper/config). */
export function decodeZabTxn(t: ZabTxn): { header: TxnHeader; txn: Txn } {
  const entry = readTxnEntry(new JuteReader(Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength)));
  return { header: entry.header, txn: entry.txn };
}

/** What the log takes for a received txn: its header and the bytes after it (txn and digest) as they came. */
export function logBodyOf(t: ZabTxn): Uint8Array {
  return t.bytes.subarray(TXN_HEADER_BYTES);
}

/** A learner's client request as a REQUEST (createSession carries its timeout, as ZooKeeper's does). */
export function forwardedWrite(sessionId: bigint, cxid: number, req: ForwardedRequest, authIds: readonly Id[]): ForwardedWrite {
  const w = new JuteWriter(64);
  if (req.op === OpCode.createSession) w.writeInt(req.timeoutMs);
  else if (req.op !== OpCode.closeSession) writeRequest(w, req);
  const authinfo = authIds.map((id) => ({ scheme: id.scheme, id: id.id }));
  return { sessionId, cxid, requestType: req.op, body: Buffer.from(w.toBuffer()), authinfo };
}

/** A learner forwards its writes, and sync so that it is answered in line with them. */
const FORWARDABLE: ReadonlySet<number> = new Set<number>([...WRITE_OPS, OpCode.sync, OpCode.reconfig]);

/** A REQUEST as the leader's server takes it; CodecError for anything a learner does not forward. */
export function forwardedRequestOf(w: ForwardedWrite): ForwardedRequest {
  const r = new JuteReader(Buffer.from(w.body.buffer, w.body.byteOffset, w.body.byteLength));
  if (w.requestType === OpCode.createSession) return { op: OpCode.createSession, timeoutMs: r.readInt() };
  if (w.requestType === OpCode.closeSession) return { op: OpCode.closeSession };
  if (!FORWARDABLE.has(w.requestType)) throw new CodecError(`request type ${w.requestType} is not forwarded by learners`);
  return readRequest(w.requestType, r) as ForwardedRequest;
}

export function authIdsOf(w: ForwardedWrite): Id[] {
  return (w.authinfo ?? []).map((a) => ({ scheme: a.scheme, id: a.id }));
}

/**
 * The newest logged txns, oldest first, ending at the last one logged (ZooKeeper's
 * committedLog after a role ends): the committed window a new leader starts with.
 */
export class TxnTail {
  private txns: ZabTxn[] = [];
  constructor(private readonly capacity: number) {}

  add(t: ZabTxn): void {
    const last = this.txns.at(-1);
    assert(last === undefined || t.zxid > last.zxid, 'txn tail: zxids must increase');
    this.txns.push(t);
    if (this.txns.length > this.capacity * 2) this.txns = this.txns.slice(-this.capacity);
  }

  /** After a TRUNC: what is above `zxid` was never committed. */
  truncateAbove(zxid: number): void {
    this.txns = this.txns.filter((t) => t.zxid <= zxid);
  }

  clear(): void {
    this.txns = [];
  }

  /** The tail for a leader whose log ends at `lastZxid` (empty if it does not end there). */
  endingAt(lastZxid: number): ZabTxn[] {
    const tail = this.txns.slice(-this.capacity);
    return tail.at(-1)?.zxid === lastZxid ? tail : [];
  }
}
