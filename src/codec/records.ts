/**
 * Client-protocol records (zookeeper.jute), with a reader and a writer for each, so the
 * server decodes requests / encodes replies and our test clients do the reverse.
 */
import { CodecError, putBigLong, putLong, type JuteReader, type JuteWriter } from './jute.js';
import { OpCode } from './codes.js';

export interface Id {
  readonly scheme: string;
  readonly id: string;
}
export interface ACL {
  readonly perms: number;
  readonly id: Id;
}
export interface Stat {
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: number;
}

export function readAcl(r: JuteReader): ACL {
  const perms = r.readInt();
  const scheme = r.readText();
  const id = r.readText();
  return { perms, id: { scheme, id } };
}
export function writeAcl(w: JuteWriter, acl: ACL): void {
  w.writeInt(acl.perms).writeString(acl.id.scheme).writeString(acl.id.id);
}
export function readAclList(r: JuteReader): ACL[] | null {
  return r.readVector(readAcl);
}
export function writeAclList(w: JuteWriter, acl: readonly ACL[] | null): void {
  w.writeVector(acl, writeAcl);
}

export function readStat(r: JuteReader): Stat {
  return {
    czxid: r.readLong(),
    mzxid: r.readLong(),
    ctime: r.readLong(),
    mtime: r.readLong(),
    version: r.readInt(),
    cversion: r.readInt(),
    aversion: r.readInt(),
    ephemeralOwner: r.readBigLong(),
    dataLength: r.readInt(),
    numChildren: r.readInt(),
    pzxid: r.readLong(),
  };
}
/** Bytes of a Stat record: 4 longs, 3 ints, a long, 2 ints and a long. */
export const STAT_BYTES = 68;

/** Stat in one reserved block (one bounds check); ZNode.writeClientStat writes the same layout. */
export function writeStat(w: JuteWriter, s: Stat): void {
  const at = w.reserve(STAT_BYTES);
  const dv = w.dataView;
  putLong(dv, at, s.czxid);
  putLong(dv, at + 8, s.mzxid);
  putLong(dv, at + 16, s.ctime);
  putLong(dv, at + 24, s.mtime);
  dv.setInt32(at + 32, s.version);
  dv.setInt32(at + 36, s.cversion);
  dv.setInt32(at + 40, s.aversion);
  putBigLong(dv, at + 44, s.ephemeralOwner);
  dv.setInt32(at + 52, s.dataLength);
  dv.setInt32(at + 56, s.numChildren);
  putLong(dv, at + 60, s.pzxid);
}

/** Stat as ZooKeeper stores it (snapshots): no dataLength / numChildren, raw cversion. */
export interface StatPersisted {
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  pzxid: number;
}

export function readStatPersisted(r: JuteReader): StatPersisted {
  return {
    czxid: r.readLong(),
    mzxid: r.readLong(),
    ctime: r.readLong(),
    mtime: r.readLong(),
    version: r.readInt(),
    cversion: r.readInt(),
    aversion: r.readInt(),
    ephemeralOwner: r.readBigLong(),
    pzxid: r.readLong(),
  };
}
export function writeStatPersisted(w: JuteWriter, s: StatPersisted): void {
  w.writeLong(s.czxid).writeLong(s.mzxid).writeLong(s.ctime).writeLong(s.mtime);
  w.writeInt(s.version).writeInt(s.cversion).writeInt(s.aversion);
  w.writeBigLong(s.ephemeralOwner).writeLong(s.pzxid);
}

// ---------------------------------------------------------------- headers and handshake

export interface RequestHeader {
  xid: number;
  type: number;
}
export interface ReplyHeader {
  xid: number;
  zxid: number;
  err: number;
}
export function readReplyHeader(r: JuteReader): ReplyHeader {
  return { xid: r.readInt(), zxid: r.readLong(), err: r.readInt() };
}
export function writeReplyHeader(w: JuteWriter, h: ReplyHeader): void {
  w.writeInt(h.xid).writeLong(h.zxid).writeInt(h.err);
}

export interface ConnectRequest {
  protocolVersion: number;
  lastZxidSeen: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer;
  /** Absent for old clients that do not send the byte. */
  readOnly: boolean | undefined;
}
export function readConnectRequest(r: JuteReader): ConnectRequest {
  const protocolVersion = r.readInt();
  const lastZxidSeen = r.readLong();
  const timeOut = r.readInt();
  const sessionId = r.readBigLong();
  const passwd = r.readBuffer() ?? Buffer.alloc(0);
  const readOnly = r.remaining > 0 ? r.readBool() : undefined;
  return { protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly };
}
export function writeConnectRequest(w: JuteWriter, c: ConnectRequest): void {
  w.writeInt(c.protocolVersion).writeLong(c.lastZxidSeen).writeInt(c.timeOut).writeBigLong(c.sessionId);
  w.writeBuffer(c.passwd);
  if (c.readOnly !== undefined) w.writeBool(c.readOnly);
}

export interface ConnectResponse {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer;
  readOnly: boolean | undefined;
}
export function readConnectResponse(r: JuteReader): ConnectResponse {
  const protocolVersion = r.readInt();
  const timeOut = r.readInt();
  const sessionId = r.readBigLong();
  const passwd = r.readBuffer() ?? Buffer.alloc(0);
  const readOnly = r.remaining > 0 ? r.readBool() : undefined;
  return { protocolVersion, timeOut, sessionId, passwd, readOnly };
}
export function writeConnectResponse(w: JuteWriter, c: ConnectResponse): void {
  w.writeInt(c.protocolVersion).writeInt(c.timeOut).writeBigLong(c.sessionId).writeBuffer(c.passwd);
  if (c.readOnly !== undefined) w.writeBool(c.readOnly);
}

export interface WatcherEvent {
  type: number;
  state: number;
  path: string;
}
export function readWatcherEvent(r: JuteReader): WatcherEvent {
  return { type: r.readInt(), state: r.readInt(), path: r.readText() };
}
export function writeWatcherEvent(w: JuteWriter, e: WatcherEvent): void {
  w.writeInt(e.type).writeInt(e.state).writeString(e.path);
}

// ---------------------------------------------------------------- request bodies

/** A decoded client request body, tagged with its opcode. */
export type Request =
  | {
      op: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer;
      path: string;
      data: Buffer | null;
      acl: ACL[];
      flags: number;
    }
  | { op: typeof OpCode.createTTL; path: string; data: Buffer | null; acl: ACL[]; flags: number; ttl: number }
  | { op: typeof OpCode.delete; path: string; version: number }
  | { op: typeof OpCode.deleteContainer; path: string }
  | { op: typeof OpCode.check; path: string; version: number }
  | { op: typeof OpCode.setData; path: string; data: Buffer | null; version: number }
  | { op: typeof OpCode.setACL; path: string; acl: ACL[]; version: number }
  | {
      op: typeof OpCode.exists | typeof OpCode.getData | typeof OpCode.getChildren | typeof OpCode.getChildren2;
      path: string;
      watch: boolean;
    }
  | { op: typeof OpCode.getACL | typeof OpCode.sync | typeof OpCode.getAllChildrenNumber; path: string }
  | { op: typeof OpCode.getEphemerals; prefixPath: string }
  | { op: typeof OpCode.addWatch; path: string; mode: number }
  | { op: typeof OpCode.checkWatches | typeof OpCode.removeWatches; path: string; type: number }
  | { op: typeof OpCode.multi | typeof OpCode.multiRead; ops: Request[] }
  | {
      op: typeof OpCode.setWatches | typeof OpCode.setWatches2;
      relativeZxid: number;
      dataWatches: string[];
      existWatches: string[];
      childWatches: string[];
      persistentWatches: string[];
      persistentRecursiveWatches: string[];
    }
  | { op: typeof OpCode.auth; type: number; scheme: string; auth: Buffer }
  /** Null lists are absent (jute's null string): a null `newMembers` makes an incremental reconfig. */
  | {
      op: typeof OpCode.reconfig;
      joiningServers: string | null;
      leavingServers: string | null;
      newMembers: string | null;
      curConfigId: number;
    }
  | { op: typeof OpCode.sasl; token: Buffer }
  | { op: typeof OpCode.ping | typeof OpCode.closeSession | typeof OpCode.whoAmI };

/** The request variant(s) for opcode(s) `O`, narrowed to exactly those opcodes. */
export type RequestOf<O extends Request['op']> = Request extends infer R
  ? R extends { op: infer P }
    ? [Extract<P, O>] extends [never]
      ? never
      : Omit<R, 'op'> & { op: Extract<P, O> }
    : never
  : never;

const MULTI_WRITE_OPS = new Set<number>([
  OpCode.create,
  OpCode.create2,
  OpCode.createTTL,
  OpCode.createContainer,
  OpCode.delete,
  OpCode.setData,
  OpCode.check,
]);
const MULTI_READ_OPS = new Set<number>([OpCode.getData, OpCode.getChildren]);

/** Opcodes a client may send (internal ones such as deleteContainer excluded). */
const CLIENT_OPCODES = new Set<number>([
  OpCode.create,
  OpCode.delete,
  OpCode.exists,
  OpCode.getData,
  OpCode.setData,
  OpCode.getACL,
  OpCode.setACL,
  OpCode.getChildren,
  OpCode.sync,
  OpCode.ping,
  OpCode.getChildren2,
  OpCode.check,
  OpCode.multi,
  OpCode.create2,
  OpCode.reconfig,
  OpCode.checkWatches,
  OpCode.removeWatches,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.multiRead,
  OpCode.auth,
  OpCode.setWatches,
  OpCode.sasl,
  OpCode.getEphemerals,
  OpCode.getAllChildrenNumber,
  OpCode.setWatches2,
  OpCode.addWatch,
  OpCode.whoAmI,
  OpCode.closeSession,
]);

export function isClientOpcode(op: number): boolean {
  return CLIENT_OPCODES.has(op);
}

/** Decodes the body of a request of opcode `op`. Throws CodecError on malformed input or an unknown opcode. */
export function readRequest(op: number, r: JuteReader): Request {
  switch (op) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      return { op, path: r.readText(), data: r.readBufferView(), acl: readAclList(r) ?? [], flags: r.readInt() };
    case OpCode.createTTL:
      return { op, path: r.readText(), data: r.readBufferView(), acl: readAclList(r) ?? [], flags: r.readInt(), ttl: r.readLong() };
    case OpCode.delete:
    case OpCode.check:
      return { op, path: r.readText(), version: r.readInt() };
    case OpCode.deleteContainer:
      return { op, path: r.readText() };
    case OpCode.setData:
      return { op, path: r.readText(), data: r.readBufferView(), version: r.readInt() };
    case OpCode.setACL:
      return { op, path: r.readText(), acl: readAclList(r) ?? [], version: r.readInt() };
    case OpCode.exists:
    case OpCode.getData:
    case OpCode.getChildren:
    case OpCode.getChildren2:
      return { op, path: r.readText(), watch: r.readBool() };
    case OpCode.getACL:
    case OpCode.sync:
    case OpCode.getAllChildrenNumber:
      return { op, path: r.readText() };
    case OpCode.getEphemerals:
      return { op, prefixPath: r.readText() };
    case OpCode.addWatch:
      return { op, path: r.readText(), mode: r.readInt() };
    case OpCode.checkWatches:
    case OpCode.removeWatches:
      return { op, path: r.readText(), type: r.readInt() };
    case OpCode.multi:
    case OpCode.multiRead:
      return { op, ops: readMultiOps(r, op === OpCode.multi ? MULTI_WRITE_OPS : MULTI_READ_OPS) };
    case OpCode.setWatches:
    case OpCode.setWatches2: {
      const relativeZxid = r.readLong();
      const dataWatches = r.readStrings();
      const existWatches = r.readStrings();
      const childWatches = r.readStrings();
      const persistentWatches = op === OpCode.setWatches2 ? r.readStrings() : [];
      const persistentRecursiveWatches = op === OpCode.setWatches2 ? r.readStrings() : [];
      return { op, relativeZxid, dataWatches, existWatches, childWatches, persistentWatches, persistentRecursiveWatches };
    }
    case OpCode.auth:
      return { op, type: r.readInt(), scheme: r.readText(), auth: r.readBuffer() ?? Buffer.alloc(0) };
    case OpCode.reconfig:
      return { op, joiningServers: r.readString(), leavingServers: r.readString(), newMembers: r.readString(), curConfigId: r.readLong() };
    case OpCode.sasl:
      return { op, token: r.readBuffer() ?? Buffer.alloc(0) };
    case OpCode.ping:
    case OpCode.closeSession:
    case OpCode.whoAmI:
      return { op };
    default:
      throw new CodecError(`unknown opcode ${op}`);
  }
}

function readMultiOps(r: JuteReader, allowed: ReadonlySet<number>): Request[] {
  const ops: Request[] = [];
  for (;;) {
    const type = r.readInt();
    const done = r.readBool();
    r.readInt(); // err: unused in requests
    if (done) return ops;
    if (!allowed.has(type)) throw new CodecError(`invalid op type ${type} in multi`);
    ops.push(readRequest(type, r));
  }
}

export function writeRequest(w: JuteWriter, req: Request): void {
  switch (req.op) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      w.writeString(req.path).writeBuffer(req.data);
      writeAclList(w, req.acl);
      w.writeInt(req.flags);
      return;
    case OpCode.createTTL:
      w.writeString(req.path).writeBuffer(req.data);
      writeAclList(w, req.acl);
      w.writeInt(req.flags).writeLong(req.ttl);
      return;
    case OpCode.delete:
    case OpCode.check:
      w.writeString(req.path).writeInt(req.version);
      return;
    case OpCode.deleteContainer:
    case OpCode.getACL:
    case OpCode.sync:
    case OpCode.getAllChildrenNumber:
      w.writeString(req.path);
      return;
    case OpCode.setData:
      w.writeString(req.path).writeBuffer(req.data).writeInt(req.version);
      return;
    case OpCode.setACL:
      w.writeString(req.path);
      writeAclList(w, req.acl);
      w.writeInt(req.version);
      return;
    case OpCode.exists:
    case OpCode.getData:
    case OpCode.getChildren:
    case OpCode.getChildren2:
      w.writeString(req.path).writeBool(req.watch);
      return;
    case OpCode.getEphemerals:
      w.writeString(req.prefixPath);
      return;
    case OpCode.addWatch:
      w.writeString(req.path).writeInt(req.mode);
      return;
    case OpCode.checkWatches:
    case OpCode.removeWatches:
      w.writeString(req.path).writeInt(req.type);
      return;
    case OpCode.multi:
    case OpCode.multiRead:
      for (const op of req.ops) {
        w.writeInt(op.op).writeBool(false).writeInt(-1);
        writeRequest(w, op);
      }
      w.writeInt(-1).writeBool(true).writeInt(-1);
      return;
    case OpCode.setWatches:
    case OpCode.setWatches2:
      w.writeLong(req.relativeZxid).writeStrings(req.dataWatches).writeStrings(req.existWatches).writeStrings(req.childWatches);
      if (req.op === OpCode.setWatches2) w.writeStrings(req.persistentWatches).writeStrings(req.persistentRecursiveWatches);
      return;
    case OpCode.auth:
      w.writeInt(req.type).writeString(req.scheme).writeBuffer(req.auth);
      return;
    case OpCode.reconfig:
      w.writeString(req.joiningServers).writeString(req.leavingServers).writeString(req.newMembers).writeLong(req.curConfigId);
      return;
    case OpCode.sasl:
      w.writeBuffer(req.token);
      return;
    case OpCode.ping:
    case OpCode.closeSession:
    case OpCode.whoAmI:
      return;
  }
}

// ---------------------------------------------------------------- response bodies

export interface ClientInfo {
  authScheme: string;
  user: string;
}

/** One result of a multi / multiRead, as the server reports it. */
export type OpResult =
  | { type: typeof OpCode.create; path: string }
  | { type: typeof OpCode.create2; path: string; stat: Stat }
  | { type: typeof OpCode.delete }
  | { type: typeof OpCode.setData; stat: Stat }
  | { type: typeof OpCode.check }
  | { type: typeof OpCode.getData; data: Buffer | null; stat: Stat }
  | { type: typeof OpCode.getChildren; children: string[] }
  | { type: typeof OpCode.error; err: number };

export function writeOpResults(w: JuteWriter, results: readonly OpResult[]): void {
  for (const res of results) {
    w.writeInt(res.type)
      .writeBool(false)
      .writeInt(res.type === OpCode.error ? res.err : 0);
    switch (res.type) {
      case OpCode.create:
        w.writeString(res.path);
        break;
      case OpCode.create2:
        w.writeString(res.path);
        writeStat(w, res.stat);
        break;
      case OpCode.setData:
        writeStat(w, res.stat);
        break;
      case OpCode.getData:
        w.writeBuffer(res.data);
        writeStat(w, res.stat);
        break;
      case OpCode.getChildren:
        w.writeStrings(res.children);
        break;
      case OpCode.error:
        w.writeInt(res.err);
        break;
      case OpCode.delete:
      case OpCode.check:
        break;
    }
  }
  w.writeInt(-1).writeBool(true).writeInt(-1);
}

export function readOpResults(r: JuteReader): OpResult[] {
  const out: OpResult[] = [];
  for (;;) {
    const type = r.readInt();
    const done = r.readBool();
    r.readInt();
    if (done) return out;
    switch (type) {
      case OpCode.create:
        out.push({ type, path: r.readText() });
        break;
      case OpCode.create2:
      case OpCode.createTTL:
      case OpCode.createContainer:
        out.push({ type: OpCode.create2, path: r.readText(), stat: readStat(r) });
        break;
      case OpCode.setData:
        out.push({ type, stat: readStat(r) });
        break;
      case OpCode.getData:
        out.push({ type, data: r.readBufferView(), stat: readStat(r) });
        break;
      case OpCode.getChildren:
        out.push({ type, children: r.readStrings() });
        break;
      case OpCode.error:
        out.push({ type, err: r.readInt() });
        break;
      case OpCode.delete:
      case OpCode.check:
        out.push({ type });
        break;
      default:
        throw new CodecError(`unknown multi result type ${type}`);
    }
  }
}
