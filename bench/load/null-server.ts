/**
 * A do-nothing ZooKeeper endpoint: the floor of a Node.js server on this machine. It speaks
 * just enough of the protocol for bench/load (connect, close, and canned OK replies with the
 * bodies the generator reads), keeps no tree, logs nothing to disk and fsyncs nothing. What it
 * costs per op is Node's own socket work (accept, stream objects, reads, writes, close), so
 * bench/load against it shows the best any Node.js server could do with this generator, for
 * example how many sessions per second the `session` workload can churn at all.
 *
 *   node dist/bench/load/null-server.js [--port 2181] [--value-size 100]
 *
 * It also keeps one-shot data watches, so the `watch` workload has a floor too: a getData with
 * the watch flag arms one, and a setData of that path sends each armed connection a
 * NodeDataChanged notification, written to the others' buffers and sent, as ZephyrCoord sends
 * them, in one write per connection per event-loop iteration.
 *
 * With --sync-dir DIR it is a durable floor: what a Node.js server that group-commits its
 * writes can do here. Each connect, create, delete, setData and closeSession is acknowledged only
 * once its request bytes were written to DIR/log with O_DSYNC (a file extended sparsely, as
 * ZooKeeper pads its log), one write in flight at a time: the writes that arrive during it
 * form the next. Replies of a connection leave in its order (later ones wait behind its
 * unwritten writes), and a setData's watches fire when it is written, as servers fire them
 * when they apply the txn. Everything else is still canned.
 *
 * Not a ZooKeeper server: no other state, no ordering beyond TCP's, every request succeeds.
 */
import { constants, ftruncateSync, mkdirSync, openSync, write as fsWrite } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  EventType,
  FrameDecoder,
  JuteReader,
  JuteWriter,
  OpCode,
  writeConnectResponse,
  writeStat,
  type Stat,
} from '../../src/codec/index.js';
import { writeNotification } from '../../src/server/reply-frames.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '2181' },
    'value-size': { type: 'string', default: '100' },
    'sync-dir': { type: 'string' },
  },
});
const port = Number(values.port);
const value = Buffer.alloc(Number(values['value-size']), 0x61);
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`--port: not a port: ${values.port}`);

const stat: Stat = {
  czxid: 1,
  mzxid: 1,
  ctime: 0,
  mtime: 0,
  version: 0,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: 0n,
  dataLength: value.length,
  numChildren: 0,
  pzxid: 1,
};
const PASSWORD = Buffer.alloc(16);
let nextSession = 1n;
let zxid = 1;

/** A connection's unsent bytes; notifications for it are written here by other connections. */
interface Peer {
  socket: Socket;
  out: JuteWriter;
  dirty: boolean;
  /** (--sync-dir) Replies waiting for a log write, oldest first. */
  held: Held[];
  /** (--sync-dir) Replies whose log write is done, for the next flush (after `out`). */
  ready: Buffer[];
  /** (--sync-dir) Its closeSession was written: the connection ends after the next flush. */
  ending: boolean;
}

/** A reply held back until the log write of batch `batch` (its own, or an earlier write's) is done. */
interface Held {
  frame: Buffer;
  batch: number;
  /** The path of a setData, whose watches fire when it is written. */
  changed: string | null;
  close: boolean;
}

/** The durable log of --sync-dir: preallocated sparsely, written with O_DSYNC, one batch at a time. */
class SyncLog {
  private readonly fd: number;
  private position = 0;
  /** Request bytes of the batch being collected, and its number. */
  private readonly open = new JuteWriter(64 * 1024);
  private openBatch = 1;
  private writing = false;
  /** Connections with held replies. */
  readonly holding = new Set<Peer>();

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    const { O_WRONLY, O_CREAT, O_TRUNC, O_DSYNC } = constants;
    this.fd = openSync(join(dir, 'log'), O_WRONLY | O_CREAT | O_TRUNC | O_DSYNC, 0o644);
    ftruncateSync(this.fd, 64 * 1024 * 1024);
  }

  /**
   * Holds `frame` until `record` (a write's request) is durable, or behind the peer's earlier
   * replies: those still held, or those released and waiting for the iteration's flush.
   */
  hold(peer: Peer, frame: Buffer, record: Buffer | null, changed: string | null, close: boolean): void {
    if (record === null && peer.held.length === 0) {
      peer.ready.push(frame);
      return;
    }
    let batch: number;
    if (record !== null) {
      this.open.writeBuffer(record);
      batch = this.openBatch;
    } else batch = (peer.held[peer.held.length - 1] as Held).batch;
    peer.held.push({ frame, batch, changed, close });
    this.holding.add(peer);
  }

  /** Writes the collected batch unless a write is in flight (its completion starts the next). */
  kick(): void {
    if (this.writing || this.open.unsentBytes === 0) return;
    this.writing = true;
    const batch = this.openBatch++;
    const data = this.open.handOff();
    const at = this.position;
    this.position += data.length;
    fsWrite(this.fd, data, 0, data.length, at, (err) => {
      if (err !== null) throw err;
      this.writing = false;
      this.release(batch);
      this.kick();
    });
  }

  private release(batch: number): void {
    for (const peer of this.holding) {
      let n = 0;
      for (; n < peer.held.length; n++) {
        const h = peer.held[n] as Held;
        if (h.batch > batch) break;
        if (h.changed !== null) fire(h.changed, null);
        peer.ready.push(h.frame);
        if (h.close) peer.ending = true;
      }
      if (n === 0) continue;
      peer.held.splice(0, n);
      if (peer.held.length === 0) this.holding.delete(peer);
      markDirty(peer);
    }
  }
}

const syncLog = values['sync-dir'] === undefined ? null : new SyncLog(values['sync-dir']);
/** Where replies that must wait are encoded: each is handed off whole, so it may be held. */
const scratch = new JuteWriter(64 * 1024);

/** Writes what `out` holds; its buffer is reused if the kernel took it all at once (as ZephyrCoord's flush). */
function send(socket: Socket, out: JuteWriter): void {
  socket.write(out.handOff());
  if (socket.writableLength === 0) out.reuseHandedOff();
}

/** One-shot data watches: path -> the connections that armed one. */
const watches = new Map<string, Peer[]>();
/** Connections with notifications waiting for this iteration's flush. */
let dirtyPeers: Peer[] = [];

function flushPeers(): void {
  const peers = dirtyPeers;
  dirtyPeers = [];
  for (const p of peers) {
    p.dirty = false;
    if (p.socket.destroyed) continue;
    if (p.ready.length === 0) {
      if (p.out.unsentBytes > 0) send(p.socket, p.out);
      continue;
    }
    // one writev for the notifications and the released replies
    p.socket.cork();
    if (p.out.unsentBytes > 0) p.socket.write(p.out.handOff());
    for (const frame of p.ready) p.socket.write(frame);
    p.ready.length = 0;
    p.socket.uncork();
    if (p.ending) p.socket.end();
  }
}

function markDirty(p: Peer): void {
  if (p.dirty) return;
  p.dirty = true;
  if (dirtyPeers.push(p) === 1) setImmediate(flushPeers);
}

/**
 * setData of `path`: every connection watching it hears NodeDataChanged, once. `self` (the
 * setData's own connection, when it fires from its data callback) sends its bytes at the end of
 * that callback.
 */
function fire(path: string, self: Peer | null): void {
  const armed = watches.get(path);
  if (armed === undefined) return;
  watches.delete(path);
  for (const p of armed) {
    if (p.socket.destroyed) continue;
    writeNotification(p.out, EventType.NodeDataChanged, path);
    if (p !== self) markDirty(p);
  }
}

/** Ops that change state: acknowledged only when durable under --sync-dir. */
const WRITES = new Set<number>([
  OpCode.create,
  OpCode.delete,
  OpCode.setData,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.closeSession,
]);

function arm(path: string, peer: Peer): void {
  const armed = watches.get(path);
  if (armed === undefined) watches.set(path, [peer]);
  else if (!armed.includes(peer)) armed.push(peer);
}

/**
 * The body bench/load expects for `op`, after the reply header; the request's path is at `r`.
 * Returns the path a setData changed (its watches fire once the reply's frame is complete).
 */
function writeBody(w: JuteWriter, op: number, r: JuteReader, peer: Peer): string | null {
  switch (op) {
    case OpCode.create:
    case OpCode.sync:
      w.writeString(r.readString() ?? '/');
      return null;
    case OpCode.getData: {
      const path = r.readString() ?? '/';
      if (r.readBool()) arm(path, peer);
      w.writeBuffer(value);
      writeStat(w, stat);
      return null;
    }
    case OpCode.setData:
      writeStat(w, stat);
      return r.readString() ?? '/';
    case OpCode.exists:
      writeStat(w, stat);
      return null;
    case OpCode.getChildren:
      w.writeInt(0);
      return null;
    case OpCode.getChildren2:
      w.writeInt(0);
      writeStat(w, stat);
      return null;
    default:
      // delete, ping, closeSession, setWatches and the rest: no body
      return null;
  }
}

function onSocket(socket: Socket): void {
  const decoder = new FrameDecoder(1 << 20);
  const out = new JuteWriter(1024);
  const peer: Peer = { socket, out, dirty: false, held: [], ready: [], ending: false };
  let connected = false;
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    decoder.push(chunk);
    let close = false;
    while (decoder.nextFrame()) {
      let changed: string | null = null;
      const r = new JuteReader(decoder.frameBuffer, decoder.frameStart, decoder.frameEnd);
      // a session's creation is a txn too; a request's op follows its xid
      const write = !connected || WRITES.has(decoder.frameBuffer.readInt32BE(decoder.frameStart + 4));
      // under --sync-dir a reply that waits for the log is encoded on its own, to be held
      const w = syncLog !== null && (write || peer.held.length > 0 || peer.ready.length > 0) ? scratch : out;
      w.beginFrame();
      if (!connected) {
        connected = true;
        r.readInt(); // protocolVersion
        r.readLong(); // lastZxidSeen
        const timeOut = r.readInt();
        writeConnectResponse(w, { protocolVersion: 0, timeOut, sessionId: nextSession++, passwd: PASSWORD, readOnly: false });
      } else {
        const xid = r.readInt();
        const op = r.readInt();
        w.writeInt(xid).writeLong(zxid++).writeInt(0);
        changed = writeBody(w, op, r, peer);
        if (op === OpCode.closeSession) close = true;
      }
      w.endFrame();
      if (w === scratch && syncLog !== null) {
        const record = write ? decoder.frameBuffer.subarray(decoder.frameStart, decoder.frameEnd) : null;
        syncLog.hold(peer, scratch.handOff(), record, changed, close);
        close = false;
      } else if (changed !== null) fire(changed, peer);
    }
    if (out.unsentBytes > 0) send(socket, out);
    if (close) socket.end();
    syncLog?.kick();
  });
}

const server = createServer({ noDelay: true }, onSocket);
server.listen(port, () => {
  const addr = server.address();
  process.stdout.write(`null server on port ${typeof addr === 'object' && addr !== null ? addr.port : port}\n`);
});
