/**
 * Turns server replies into values that two servers can be compared on: zxids relative to the
 * sequence (or by order of first appearance), wall-clock times checked for plausibility only,
 * session ids replaced by which slot's session they are, the root path shortened to "~", and
 * lists ZooKeeper gives in no particular order sorted.
 */
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

export class Normalizer {
  private readonly tokens = new Map<number, string>();
  private readonly sessions = new Map<bigint, string>();
  base = 0;

  constructor(
    readonly root: string,
    readonly mode: ZxidMode,
    private readonly startMs: number,
    /** Leave the zxid of notification headers out (ZooKeeper 3.8 sends -1, 3.9 the txn's zxid). */
    private readonly ignoreEventZxid = false,
  ) {}

  nameSession(id: bigint, token: string): void {
    this.sessions.set(id, token);
  }

  zxid(z: number): string {
    if (z === 0) return '0';
    if (z === -1) return '-1';
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
    if (p.startsWith(`${this.root}/`)) return `~${p.slice(this.root.length)}`;
    return p;
  }

  time(t: number): Json {
    if (t === 0) return 0;
    return t >= this.startMs - 5000 && t <= Date.now() + 5000 ? 't' : `implausible:${t}`;
  }

  owner(o: bigint): Json {
    if (o === 0n) return 0;
    return this.sessions.get(o) ?? `0x${BigInt.asUintN(64, o).toString(16)}`;
  }

  stat(s: Stat): Json {
    return {
      cz: this.zxid(s.czxid),
      mz: this.zxid(s.mzxid),
      pz: this.zxid(s.pzxid),
      ct: this.time(s.ctime),
      mt: s.mtime >= s.ctime ? this.time(s.mtime) : `mtime<ctime:${s.mtime - s.ctime}`,
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
    for (const c of b) if (c < 0x20 || c > 0x7e) return `hex:${b.toString('hex')}`;
    return b.toString('latin1');
  }

  /** ACLs sorted: ZooKeeper expands `auth` ids in the order of a hash set, so order is not a contract. */
  acl(list: readonly ACL[]): Json {
    return list.map((a) => `${a.perms}:${a.id.scheme}:${a.id.id}`).sort();
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

  /** A reply: error code, header zxid (exact mode), decoded body. */
  reply(req: Request, header: ReplyHeader, body: Buffer): Json {
    const out: { [key: string]: Json } = { err: header.err };
    if (this.mode === 'exact') out['z'] = this.zxid(header.zxid);
    if (header.err !== 0) {
      if (body.length > 0) out['unexpectedBody'] = body.length;
      return out;
    }
    let decoded: ReplyBody;
    try {
      decoded = decodeReplyBody(req.op, body);
    } catch (e) {
      out['undecodable'] = e instanceof CodecError ? e.message : String(e);
      return out;
    }
    const b = this.body(decoded, req);
    if (b !== null) out['b'] = b;
    if (decoded.trailing > 0) out['trailing'] = decoded.trailing;
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
        return [...b.children].sort();
      case 'children2':
        return { children: [...b.children].sort(), stat: this.stat(b.stat) };
      case 'acl':
        return { acl: this.acl(b.acl), stat: this.stat(b.stat) };
      case 'multi':
        return b.results.map((r) => this.opResult(r));
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

  private opResult(r: OpResult): Json {
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
        return ['getChildren', [...r.children].sort()];
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
