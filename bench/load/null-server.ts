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
 * Not a ZooKeeper server: no other state, no ordering beyond TCP's, every request succeeds.
 */
import { createServer, type Socket } from 'node:net';
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
  options: { port: { type: 'string', default: '2181' }, 'value-size': { type: 'string', default: '100' } },
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
    if (p.out.unsentBytes > 0 && !p.socket.destroyed) p.socket.write(p.out.handOff());
  }
}

/** setData of `path`: every connection watching it hears NodeDataChanged, once. */
function fire(path: string, self: Peer): void {
  const armed = watches.get(path);
  if (armed === undefined) return;
  watches.delete(path);
  for (const p of armed) {
    if (p.socket.destroyed) continue;
    writeNotification(p.out, EventType.NodeDataChanged, path);
    // the setData's own connection sends its bytes at the end of its data callback
    if (p === self || p.dirty) continue;
    p.dirty = true;
    if (dirtyPeers.push(p) === 1) setImmediate(flushPeers);
  }
}

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
  const peer: Peer = { socket, out, dirty: false };
  let connected = false;
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    decoder.push(chunk);
    let close = false;
    while (decoder.nextFrame()) {
      let changed: string | null = null;
      const r = new JuteReader(decoder.frameBuffer, decoder.frameStart, decoder.frameEnd);
      out.beginFrame();
      if (!connected) {
        connected = true;
        r.readInt(); // protocolVersion
        r.readLong(); // lastZxidSeen
        const timeOut = r.readInt();
        writeConnectResponse(out, { protocolVersion: 0, timeOut, sessionId: nextSession++, passwd: PASSWORD, readOnly: false });
      } else {
        const xid = r.readInt();
        const op = r.readInt();
        out.writeInt(xid).writeLong(zxid++).writeInt(0);
        changed = writeBody(out, op, r, peer);
        if (op === OpCode.closeSession) close = true;
      }
      out.endFrame();
      if (changed !== null) fire(changed, peer);
    }
    if (out.unsentBytes > 0) socket.write(out.handOff());
    if (close) socket.end();
  });
}

const server = createServer({ noDelay: true }, onSocket);
server.listen(port, () => {
  const addr = server.address();
  process.stdout.write(`null server on port ${typeof addr === 'object' && addr !== null ? addr.port : port}\n`);
});
