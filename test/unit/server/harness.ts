/** In-process ZkServer instances and clients for the server's unit tests (no sockets). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  JuteReader,
  JuteWriter,
  OpCode,
  writeConnectRequest,
  writeRequest,
  type Request,
  type Txn,
  type TxnHeader,
} from '../../../src/codec/index.js';
import type { Prepared } from '../../../src/prep/index.js';
import type { DataTree } from '../../../src/tree/index.js';
import type { OnDurable } from '../../../src/storage/index.js';
import { ZkServer, type ServerRole, type ServerSettings, type TxnSink } from '../../../src/server/zk-server.js';
import { readNow, silentLogger, type ClientConnection, type Clock, type Outbox } from '../../../src/server/types.js';
import { takeFrames } from '../../support/outbox.js';

export const SETTINGS: ServerSettings = {
  tickTimeMs: 2000,
  minSessionTimeoutMs: 4000,
  maxSessionTimeoutMs: 40000,
  extendedTypesEnabled: true,
  skipAcl: false,
  enforceQuota: false,
  superDigest: undefined,
  containerMaxPerMinute: 10000,
  containerMaxNeverUsedIntervalMs: 0,
  containerCheckIntervalMs: 60000,
  sessionServerId: 1,
  globalOutstandingLimit: 1000,
};

export const sha1 = (text: string): string => createHash('sha1').update(text).digest('base64');

export class TestClock implements Clock {
  now = 1_700_000_000_000;
  wallMs(): number {
    return this.now;
  }
  monoMs(): number {
    return this.now;
  }
}

/** A frame a client received after its ConnectResponse: a reply, or a notification (xid -1). */
export interface Received {
  xid: number;
  zxid: number;
  err: number;
  body: Buffer;
}

let nextConnectionId = 1;

/** The clock each server of makeServer runs on: its clients' inputs are given its time. */
const clocks = new WeakMap<ZkServer, Clock>();

/**
 * One client connection to an in-process server; frames go straight to onFrame, stamped with the
 * server's clock, and the server's output is taken as soon as it is ready.
 */
export class TestClient implements ClientConnection {
  readonly id = nextConnectionId++;
  readonly remoteAddress = '10.0.0.9';
  readonly remotePort = 40000 + this.id;
  readonly frames: Buffer[] = [];
  closed = false;
  private nextXid = 1;
  private readonly outbox: Outbox;
  private readonly clock: Clock;

  constructor(readonly server: ZkServer) {
    const clock = clocks.get(server);
    assert(clock !== undefined, 'a TestClient needs a server from makeServer');
    this.clock = clock;
    this.outbox = server.connectionOpened(this, readNow(clock));
  }

  outputReady(): void {
    this.frames.push(...takeFrames(this.outbox));
    if (this.outbox.closeReason !== null) this.closed = true;
  }

  /** `readOnly`: the handshake's flag; undefined sends none, as clients older than 3.4. */
  connect(sessionId = 0n, passwd: Uint8Array = new Uint8Array(16), timeOut = 30000, readOnly: boolean | undefined = false): void {
    const w = new JuteWriter(64);
    writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0, timeOut, sessionId, passwd: Buffer.from(passwd), readOnly });
    this.server.onFrame(this, readNow(this.clock), Buffer.from(w.toBuffer()));
  }

  /** The ConnectResponse (the first frame), if it came. */
  connectResponse(): { timeOut: number; sessionId: bigint; passwd: Buffer; readOnly: boolean | undefined } | undefined {
    const f = this.frames[0];
    if (f === undefined) return undefined;
    const r = new JuteReader(f);
    r.readInt();
    const timeOut = r.readInt();
    const sessionId = r.readBigLong();
    const passwd = r.readBuffer() ?? Buffer.alloc(0);
    return { timeOut, sessionId, passwd, readOnly: r.remaining > 0 ? r.readBool() : undefined };
  }

  send(req: Request): number {
    const xid = this.nextXid++;
    const w = new JuteWriter(128);
    w.writeInt(xid).writeInt(req.op);
    writeRequest(w, req);
    this.server.onFrame(this, readNow(this.clock), Buffer.from(w.toBuffer()));
    return xid;
  }

  /** Replies and notifications after the ConnectResponse, in order. */
  received(): Received[] {
    return this.frames.slice(1).map((f) => {
      const r = new JuteReader(f);
      const xid = r.readInt();
      const zxid = r.readLong();
      const err = r.readInt();
      return { xid, zxid, err, body: f.subarray(r.offset) };
    });
  }

  reply(xid: number): Received | undefined {
    return this.received().find((x) => x.xid === xid);
  }

  /** Watch notifications as "type path", in order. */
  events(): string[] {
    return this.received()
      .filter((x) => x.xid === -1)
      .map((x) => {
        const r = new JuteReader(x.body);
        const type = r.readInt();
        r.readInt();
        return `${type} ${r.readString()}`;
      });
  }
}

/** A sink that keeps every txn in order and lets it apply at once, or when released. */
export class RecordingSink implements TxnSink {
  readonly txns: Array<{ header: TxnHeader; txn: Txn }> = [];
  private readonly held: OnDurable[] = [];
  hold = false;

  append(prepared: Prepared, done: OnDurable): void {
    this.txns.push({ header: prepared.header, txn: prepared.txn });
    if (this.hold) this.held.push(done);
    else done.durable();
  }

  release(): void {
    for (const d of this.held.splice(0)) d.durable();
  }
}

export function makeServer(
  clock: Clock,
  sink?: TxnSink,
  settings: Partial<ServerSettings> = {},
  role: ServerRole = {},
  database?: { tree: DataTree; sessions: ReadonlyMap<bigint, number> },
): ZkServer {
  const server = new ZkServer({ ...SETTINGS, ...settings }, clock, sha1, silentLogger, sink, database?.tree, database?.sessions, role);
  clocks.set(server, clock);
  return server;
}

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

export const createReq = (path: string, flags = 0, data = 'd'): Request => ({
  op: OpCode.create,
  path,
  data: Buffer.from(data),
  acl: OPEN,
  flags,
});
export const setDataReq = (path: string, data: string): Request => ({ op: OpCode.setData, path, data: Buffer.from(data), version: -1 });
export const deleteReq = (path: string): Request => ({ op: OpCode.delete, path, version: -1 });
export const getDataReq = (path: string, watch: boolean): Request => ({ op: OpCode.getData, path, watch });
export const childrenReq = (path: string, watch: boolean): Request => ({ op: OpCode.getChildren, path, watch });
export const existsReq = (path: string, watch: boolean): Request => ({ op: OpCode.exists, path, watch });
