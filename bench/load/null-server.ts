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
 * Not a ZooKeeper server: no state, no ordering beyond TCP's, every request succeeds.
 */
import { createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { FrameDecoder, JuteReader, JuteWriter, OpCode, writeConnectResponse, writeStat, type Stat } from '../../src/codec/index.js';

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

/** The body bench/load expects for `op`, after the reply header; the request's path is at `r`. */
function writeBody(w: JuteWriter, op: number, r: JuteReader): void {
  switch (op) {
    case OpCode.create:
    case OpCode.sync:
      w.writeString(r.readString() ?? '/');
      return;
    case OpCode.getData:
      w.writeBuffer(value);
      writeStat(w, stat);
      return;
    case OpCode.exists:
    case OpCode.setData:
      writeStat(w, stat);
      return;
    case OpCode.getChildren:
      w.writeInt(0);
      return;
    case OpCode.getChildren2:
      w.writeInt(0);
      writeStat(w, stat);
      return;
    default:
      // delete, ping, closeSession, setWatches and the rest: no body
      return;
  }
}

function onSocket(socket: Socket): void {
  const decoder = new FrameDecoder(1 << 20);
  const out = new JuteWriter(1024);
  let connected = false;
  socket.on('error', () => undefined);
  socket.on('data', (chunk: Buffer) => {
    decoder.push(chunk);
    let close = false;
    while (decoder.nextFrame()) {
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
        writeBody(out, op, r);
        if (op === OpCode.closeSession) close = true;
      }
      out.endFrame();
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
