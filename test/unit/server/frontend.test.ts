/**
 * The client front end takes each input's time from its driver and leaves its output in the
 * connection's Outbox: here the server's clock stands still (and says so if read on the client
 * path), while the times given with the inputs move.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  ErrorCode,
  JuteReader,
  JuteWriter,
  OpCode,
  Xid,
  readStat,
  writeConnectRequest,
  writeRequest,
  type Request,
} from '../../../src/codec/index.js';
import type { ClientConnection, Clock, Now, Outbox } from '../../../src/server/types.js';
import type { ZkServer } from '../../../src/server/zk-server.js';
import { takeFrames } from '../../support/outbox.js';
import { createReq, makeServer } from './harness.js';

const START_MS = 1_700_000_000_000;

/** A clock that counts its reads: the client path must make none. */
class CountingClock implements Clock {
  reads = 0;
  wallMs(): number {
    this.reads++;
    return START_MS;
  }
  monoMs(): number {
    this.reads++;
    return START_MS;
  }
}

/** A driver that takes the output only when the test says so. */
class ManualClient implements ClientConnection {
  static nextId = 1000;
  readonly id = ManualClient.nextId++;
  readonly remoteAddress = '10.0.0.3';
  readonly remotePort = 41000;
  wakes = 0;
  readonly outbox: Outbox;
  private xid = 1;

  constructor(
    readonly server: ZkServer,
    now: Now,
  ) {
    this.outbox = server.connectionOpened(this, now);
  }

  outputReady(): void {
    this.wakes++;
  }

  connect(now: Now, timeOut = 30000): void {
    const w = new JuteWriter(64);
    writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0, timeOut, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false });
    this.server.onFrame(this, now, Buffer.from(w.toBuffer()));
  }

  send(req: Request, now: Now): number {
    const xid = this.xid++;
    const w = new JuteWriter(128);
    w.writeInt(xid).writeInt(req.op);
    writeRequest(w, req);
    this.server.onFrame(this, now, Buffer.from(w.toBuffer()));
    return xid;
  }

  /** The frames taken now, read as replies (a ConnectResponse reads as xid 0). */
  take(): Array<{ xid: number; err: number; body: Buffer }> {
    return takeFrames(this.outbox).map((f) => {
      const r = new JuteReader(f);
      const xid = r.readInt();
      r.readLong();
      const err = r.readInt();
      return { xid, err, body: f.subarray(r.offset) };
    });
  }
}

const at = (ms: number): Now => ({ wallMs: START_MS + ms, monoMs: START_MS + ms });

describe('the client front end', () => {
  test("a write's txn carries its input's time; the client path reads no clock", () => {
    const clock = new CountingClock();
    const server = makeServer(clock);
    const c = new ManualClient(server, at(0));
    c.connect(at(1));
    c.outbox.take();
    const readsBefore = clock.reads;
    const xid = c.send({ op: OpCode.create2, path: '/t', data: Buffer.from('x'), acl: OPEN, flags: 0 }, at(5000));
    const reply = c.take().find((f) => f.xid === xid);
    assert.equal(reply?.err, 0);
    const r = new JuteReader(reply.body);
    r.readString();
    assert.equal(readStat(r).ctime, START_MS + 5000, 'ctime is the time the request came with');
    c.send({ op: OpCode.getData, path: '/t', watch: false }, at(5001));
    c.send({ op: OpCode.exists, path: '/t', watch: true }, at(5002));
    // the in-memory sink's durable() is the one input without a time: one read for the create
    assert.equal(clock.reads - readsBefore, 1, 'only the durable callback read the clock');
  });

  test('outputs wait in the outbox: one wake-up until the driver takes them, then the frames in order', () => {
    const server = makeServer(new CountingClock());
    const c = new ManualClient(server, at(0));
    c.connect(at(0));
    c.send(createReq('/a'), at(1));
    const get = c.send({ op: OpCode.getData, path: '/a', watch: false }, at(2));
    const ping = c.send({ op: OpCode.ping }, at(3));
    assert.equal(c.wakes, 1, 'the driver is woken once for everything before its take');
    const frames = c.take();
    assert.deepEqual(
      frames.map((f) => f.xid),
      [0, 1, get, ping],
      'ConnectResponse (no reply header: its first int is 0), create, getData, ping',
    );
    c.send({ op: OpCode.getData, path: '/a', watch: false }, at(4));
    assert.equal(c.wakes, 2, 'a new output after a take wakes the driver again');
  });

  test('closing is an output: the reply first, then the close; later input is ignored', () => {
    const server = makeServer(new CountingClock());
    const c = new ManualClient(server, at(0));
    c.connect(at(0));
    c.take();
    c.send({ op: OpCode.auth, type: 0, scheme: 'nosuchscheme', auth: Buffer.from('x') }, at(1));
    assert.equal(c.outbox.closeReason, 'authentication failed');
    const frames = c.take();
    assert.deepEqual(
      frames.map((f) => [f.xid, f.err]),
      [[Xid.auth, ErrorCode.AUTHFAILED]],
    );
    c.send({ op: OpCode.ping }, at(2));
    assert.equal(c.take().length, 0, 'nothing more for a closing connection');
  });

  test('sessions expire by the time tick is given, not by the server clock', () => {
    const server = makeServer(new CountingClock());
    const c = new ManualClient(server, at(0));
    c.connect(at(0), 4000);
    c.take();
    server.tick(at(3000));
    assert.equal(c.outbox.closeReason, null, 'alive within its timeout');
    server.tick(at(20000));
    assert.equal(c.outbox.closeReason, 'session expired');
  });
});

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
