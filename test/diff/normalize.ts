/**
 * Turns server replies into values that two servers can be compared on: zxids relative to the
 * sequence (or by order of first appearance), wall-clock times by the step that made them (see
 * TimeLine), session ids replaced by which slot's session they are, the root path shortened to
 * "~", and lists ZooKeeper gives in no particular order sorted. Error replies are kept byte for
 * byte (hex), as are bytes left over after a decoded body.
 */
import { createHash } from 'node:crypto';
import {
  type ACL,
  type OpResult,
  type Request,
  type Stat,
  type WatcherEvent,
  type ReplyHeader,
  CodecError,
  OpCode,
  opName,
} from '../../src/codec/index.js';
import { sessionPassword } from '../../src/base/index.js';
import { type ReplyBody, decodeReplyBody } from '../support/raw-client.js';
import type { ConnectResponse } from '../../src/codec/index.js';

/**
 * exact: every zxid (reply headers included) as its distance from the zxid that created the
 *   sequence root, so both servers must spend zxids exactly alike (ZooKeeper spends one on
 *   every write request, failed ones too, and on session creation and closing).
 * order: reply-header zxids dropped and Stat zxids numbered by first appearance, so only
 *   equalities between zxids are compared.
 */
export type ZxidMode = 'exact' | 'order';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Data longer than this is shown by length and digest instead of its bytes. */
const DATA_SHOWN_BYTES_MAX = 64;

/**
 * The steps of a sequence as wall-clock windows, so a server's ctime/mtime can be named by the
 * step whose requests made it. The driver starts a step only once the clock has moved past the
 * previous step's end, so windows never share a millisecond: a time in step 7's window was
 * made by step 7's txns and by no other step's. Both servers read the same clock as we do (the
 * machine's wall clock), so a txn's time lies between our sending its request and our reading
 * its reply. Times made by different steps are therefore ordered exactly alike on both
 * servers; times made by one step's different txns may or may not share a millisecond, which
 * is timing and not compared (their order by zxid is, see Normalizer.txnTime).
 */
export class TimeLine {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly labels: string[] = [];

  /** Opens the window of a step; waits until the clock is past the previous window's end. */
  async begin(label: string): Promise<void> {
    const last = this.ends[this.ends.length - 1];
    if (last !== undefined) while (Date.now() <= last) await new Promise<void>((resolve) => setImmediate(resolve));
    this.starts.push(Date.now());
    this.ends.push(Number.POSITIVE_INFINITY);
    this.labels.push(label);
  }

  /** Closes the current window at the current time. */
  end(): void {
    const k = this.ends.length - 1;
    if (k >= 0 && this.ends[k] === Number.POSITIVE_INFINITY) this.ends[k] = Date.now();
  }

  /** The label of the window holding `t`, 'before' for times before the first, else undefined. */
  labelOf(t: number): string | undefined {
    const first = this.starts[0];
    if (first === undefined || t < first) return 'before';
    for (let k = this.starts.length - 1; k >= 0; k--) {
      const start = this.starts[k] ?? 0;
      if (t < start) continue;
      const end = this.ends[k] ?? 0;
      if (t <= (end === Number.POSITIVE_INFINITY ? Date.now() : end)) return this.labels[k];
      return undefined;
    }
    return undefined;
  }
}

export class Normalizer {
  private readonly tokens = new Map<number, string>();
  private readonly sessions = new Map<bigint, string>();
  /** zxid -> the time its txn stamped on the nodes it created or changed. */
  private readonly txnTimes = new Map<number, number>();
  /** Keys of txnTimes in increasing order. */
  private readonly txnZxids: number[] = [];
  /** Actual zxid -> the zxid it is shown as (see remapZxids). */
  private readonly remap = new Map<number, number>();
  base = 0;

  constructor(
    readonly root: string,
    readonly mode: ZxidMode,
    private readonly timeline: TimeLine,
    /** Leave the zxid of notification headers out (ZooKeeper 3.8 sends -1, 3.9 the txn's zxid). */
    private readonly ignoreEventZxid = false,
  ) {}

  nameSession(id: bigint, token: string): void {
    this.sessions.set(id, token);
  }

  /**
   * Shows each zxid of `pairs` ([actual, shown]) as another from then on: after writes of
   * several sessions raced, each server's zxids are renamed into one canonical order.
   */
  remapZxids(pairs: readonly (readonly [number, number])[]): void {
    for (const [actual, shown] of pairs) this.remap.set(actual, shown);
  }

  /**
   * A zxid that names a txn (Stat fields, a write's reply). `point` is for a reply header's
   * zxid read as a point in the log (the last txn applied when a read was answered), which
   * renaming txns does not move.
   */
  zxid(actual: number, point = false): string {
    if (actual === 0) return '0';
    if (actual === -1) return '-1';
    const z = point ? actual : (this.remap.get(actual) ?? actual);
    if (this.mode === 'exact') return z < this.base ? 'before' : `+${z - this.base}`;
    let t = this.tokens.get(z);
    if (t === undefined) {
      t = `z${this.tokens.size}`;
      this.tokens.set(z, t);
    }
    return t;
  }

  path(p: string): string {
    if (p === this.root) return '~';
    // `~/...` below the root; `~.x` for the sibling names system-node ops create under "/".
    if (p.startsWith(`${this.root}/`) || p.startsWith(`${this.root}.`)) return `~${p.slice(this.root.length)}`;
    return p;
  }

  /** A ctime or mtime: the step that made it (see TimeLine). */
  time(t: number): Json {
    if (t === 0) return 0;
    const label = this.timeline.labelOf(t);
    return label === undefined ? `outside-steps:${t}` : label === 'before' ? 'before' : `@${label}`;
  }

  /**
   * Checks that a txn stamped one time on everything it touched, and that times never go back
   * as zxids go up. Returns '' or what is wrong, which then shows in the transcript.
   */
  private txnTime(zxid: number, t: number): string {
    if (zxid <= 0) return t === 0 ? '' : ` !time ${t} for zxid ${zxid}`;
    const known = this.txnTimes.get(zxid);
    if (known !== undefined) return known === t ? '' : ` !txn ${this.zxid(zxid)} stamped ${known} and ${t}`;
    let lo = 0;
    let hi = this.txnZxids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.txnZxids[mid] ?? 0) < zxid) lo = mid + 1;
      else hi = mid;
    }
    const before = this.txnZxids[lo - 1];
    const after = this.txnZxids[lo];
    this.txnTimes.set(zxid, t);
    this.txnZxids.splice(lo, 0, zxid);
    if (before !== undefined && (this.txnTimes.get(before) ?? 0) > t) return ` !earlier than older txn ${this.zxid(before)}`;
    if (after !== undefined && (this.txnTimes.get(after) ?? 0) < t) return ` !later than newer txn ${this.zxid(after)}`;
    return '';
  }

  owner(o: bigint): Json {
    if (o === 0n) return 0;
    return this.sessions.get(o) ?? `0x${BigInt.asUintN(64, o).toString(16)}`;
  }

  stat(s: Stat): Json {
    const ct = this.time(s.ctime);
    const mt = this.time(s.mtime);
    return {
      cz: this.zxid(s.czxid),
      mz: this.zxid(s.mzxid),
      pz: this.zxid(s.pzxid),
      ct: typeof ct === 'string' ? ct + this.txnTime(s.czxid, s.ctime) : ct,
      mt: typeof mt === 'string' ? mt + this.txnTime(s.mzxid, s.mtime) : mt,
      v: s.version,
      cv: s.cversion,
      av: s.aversion,
      eo: this.owner(s.ephemeralOwner),
      dl: s.dataLength,
      nc: s.numChildren,
    };
  }

  data(b: Buffer | null): Json {
    if (b === null) return null;
    if (b.length > DATA_SHOWN_BYTES_MAX) return `bin:${b.length}:${createHash('sha1').update(b).digest('hex').slice(0, 16)}`;
    for (const c of b) if (c < 0x20 || c > 0x7e) return `hex:${b.toString('hex')}`;
    return b.toString('latin1');
  }

  /** ACLs sorted: ZooKeeper expands `auth` ids in the order of a hash set, so order is not a contract. */
  acl(list: readonly ACL[]): Json {
    return list.map((a) => `${a.perms}:${a.id.scheme}:${a.id.id}`).sort();
  }

  /**
   * Children, sorted. Under "/" the roots of the other sequences of the run are counted, not
   * listed: the same on both servers, but long and of no interest.
   */
  children(parent: string, names: readonly string[]): Json {
    if (parent !== '/') return [...names].sort();
    const own = this.root.slice(1);
    const shown: string[] = [];
    let others = 0;
    for (const n of names) {
      if (n === own || n.startsWith(`${own}.`)) shown.push(`~${n.slice(own.length)}`);
      else if (n.startsWith('diff-')) others++;
      else shown.push(n);
    }
    shown.sort();
    if (others > 0) shown.push(`(${others} other sequence roots)`);
    return shown;
  }

  event(header: ReplyHeader, e: WatcherEvent): Json {
    const out: Json[] = [e.type, e.state, this.path(e.path)];
    if (header.zxid !== -1 && !this.ignoreEventZxid) out.push(`hz=${this.zxid(header.zxid)}`);
    if (header.err !== 0) out.push(`herr=${header.err}`);
    return out;
  }

  connect(c: ConnectResponse, token: string): Json {
    const expected = sessionPassword(c.sessionId);
    return {
      sess: c.sessionId === 0n ? '0' : token,
      to: c.timeOut,
      ro: c.readOnly === undefined ? 'absent' : c.readOnly,
      pw: c.passwd.equals(expected) ? 'derived' : c.passwd.every((x) => x === 0) ? `zero${c.passwd.length}` : `other${c.passwd.length}`,
      sidHi: Number(BigInt.asUintN(64, c.sessionId) >> 56n),
    };
  }

  /**
   * A reply: error code, header zxid (exact mode), then the decoded body, or the body's bytes
   * for an error reply (the xid is checked by the client, so with the error code and the
   * normalized zxid this is the whole frame). The header zxid is a point in the log, except
   * for `header: 'txn'` (a write whose zxid may be renamed) and `'raced'` (a read answered
   * while other sessions' writes raced: timing, not compared).
   */
  reply(req: Request, header: ReplyHeader, body: Buffer, zxidIs: 'point' | 'txn' | 'raced' = 'point'): Json {
    const out: { [key: string]: Json } = { err: header.err };
    if (this.mode === 'exact') out['z'] = zxidIs === 'raced' ? 'raced' : this.zxid(header.zxid, zxidIs === 'point');
    if (header.err !== 0) {
      if (body.length > 0) out['body'] = `hex:${body.toString('hex')}`;
      return out;
    }
    let decoded: ReplyBody;
    try {
      decoded = decodeReplyBody(req.op, body);
    } catch (e) {
      out['undecodable'] = e instanceof CodecError ? e.message : String(e);
      out['body'] = `hex:${body.toString('hex')}`;
      return out;
    }
    const b = this.body(decoded, req);
    if (b !== null) out['b'] = b;
    if (decoded.trailing > 0) out['trailing'] = `hex:${body.subarray(body.length - decoded.trailing).toString('hex')}`;
    return out;
  }

  /** The reply to a request sent as raw bytes (unknown or internal opcode): kept byte for byte. */
  rawReply(header: ReplyHeader, body: Buffer): Json {
    const out: { [key: string]: Json } = { err: header.err };
    if (this.mode === 'exact') out['z'] = this.zxid(header.zxid, true);
    if (body.length > 0) out['body'] = this.data(body);
    return out;
  }

  private body(b: ReplyBody, req: Request): Json {
    switch (b.kind) {
      case 'none':
        return null;
      case 'path':
        return this.path(b.path);
      case 'pathStat':
        return { path: this.path(b.path), stat: this.stat(b.stat) };
      case 'stat':
        return this.stat(b.stat);
      case 'data':
        return { data: this.data(b.data), stat: this.stat(b.stat) };
      case 'children':
        return this.children('path' in req ? req.path : '', b.children);
      case 'children2':
        return { children: this.children('path' in req ? req.path : '', b.children), stat: this.stat(b.stat) };
      case 'acl':
        return { acl: this.acl(b.acl), stat: this.stat(b.stat) };
      case 'multi':
        return b.results.map((r, k) => this.opResult(r, req.op === OpCode.multi || req.op === OpCode.multiRead ? req.ops[k] : undefined));
      case 'ephemerals':
        return b.paths.map((p) => this.path(p)).sort();
      case 'count':
        return b.count;
      case 'clients':
        // whoAmI lists the connection's auth ids in hash-set order: sort.
        return b.clients.map((c) => `${c.authScheme}:${c.user}`).sort();
      default:
        return `unhandled body for ${opName(req.op)}`;
    }
  }

  private opResult(r: OpResult, sub: Request | undefined): Json {
    switch (r.type) {
      case OpCode.create:
        return ['create', this.path(r.path)];
      case OpCode.create2:
        return ['create2', this.path(r.path), this.stat(r.stat)];
      case OpCode.delete:
        return ['delete'];
      case OpCode.setData:
        return ['setData', this.stat(r.stat)];
      case OpCode.check:
        return ['check'];
      case OpCode.getData:
        return ['getData', this.data(r.data), this.stat(r.stat)];
      case OpCode.getChildren:
        return ['getChildren', this.children(sub !== undefined && 'path' in sub ? sub.path : '', r.children)];
      case OpCode.error:
        return ['error', r.err];
    }
  }
}

/** A printable, root-shortened rendering of an operation's request(s). */
export function describeRequest(req: Request, norm: Normalizer): string {
  return `${opName(req.op)} ${JSON.stringify(plain(req, norm))}`;
}

function plain(v: unknown, norm: Normalizer): Json {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return norm.data(v);
  if (typeof v === 'bigint') return `0x${v.toString(16)}`;
  if (typeof v === 'string') return norm.path(v);
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map((x) => plain(x, norm));
  if (typeof v === 'object') {
    const out: { [key: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'op') continue;
      out[k] = k === 'ops' && Array.isArray(x) ? x.map((r) => describeRequest(r as Request, norm)) : plain(x, norm);
    }
    return out;
  }
  return `(${typeof v})`;
}
