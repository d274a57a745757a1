/**
 * The jute codec on the request path, through the functions the server itself uses: the
 * request decode of ZkServer.onFrame (repeated here: it is inline there) from a frame inside a
 * bigger chunk, as FrameDecoder.nextFrame finds it, and the reply and notification framing of
 * src/server/reply-frames.ts with DataTree's data/Stat writers, appended to a connection's
 * output writer as ZkServer does (handed off every 32 KiB, as a socket flush would, and the
 * buffer reused, as after a write the kernel took at once).
 * Not included: dispatch and the ACL check.
 */
import {
  CodecError,
  EventType,
  JuteReader,
  JuteWriter,
  OpCode,
  isClientOpcode,
  readRequest,
  writeStat,
  type Request,
} from '../../src/codec/index.js';
import { finishReply, startReply, writeNotification } from '../../src/server/reply-frames.js';
import { DataTree, OPEN_ACL_UNSAFE, ZNode } from '../../src/tree/index.js';
import { sink, type MicroCase, type Suite } from './case.js';
import { DATA_BYTES, SAMPLE_PATH, SAMPLE_STAT, SAMPLE_ZXID, noise, requestBody } from './fixtures.js';

/** ZkServer.onFrame after the handshake: RequestHeader, opcode check, body. */
function decodeRequest(frame: Buffer): Request {
  const r = new JuteReader(frame, 0, frame.length);
  const xid = r.readInt();
  const type = r.readInt();
  if (!isClientOpcode(type)) throw new CodecError(`unknown opcode ${type}`);
  sink.n = xid; // the server keeps the xid for its reply
  return readRequest(type, r);
}

/** Where a request body's path string starts: after xid, opcode and the string's length. */
const PATH_AT = 12;

/** A connection's outbox writer (Outbox.frames). */
const out = new JuteWriter(64 * 1024);
out.growBytes = 64 * 1024;
const FLUSH_BYTES = 32 * 1024;

/**
 * Outbox.frameDone and the listener's flush (take, write, reuse): bytes go to the socket in big
 * batches, which the kernel takes at once (the common case), so the buffer is reused.
 */
function frameWritten(): JuteWriter {
  if (out.unsentBytes >= FLUSH_BYTES) {
    sink.value = out.handOff();
    out.reuseHandedOff();
  }
  return out;
}

/** ZkServer.answerRead for getData: header, data and Stat written from the node. */
function encodeGetDataReply(tree: DataTree, node: ZNode, xid: number): JuteWriter {
  startReply(out, xid, SAMPLE_ZXID);
  tree.writeData(out, node);
  tree.writeStat(out, node);
  finishReply(out, 0);
  return frameWritten();
}

export function juteSuite(): Suite {
  const data = noise(DATA_BYTES);
  const tree = new DataTree();
  const st = SAMPLE_STAT;
  const node = tree.newNode(
    data.toString('latin1'),
    OPEN_ACL_UNSAFE,
    st.czxid,
    st.mzxid,
    st.ctime,
    st.mtime,
    st.version,
    0,
    0,
    0n,
    st.pzxid,
  );
  const getData = requestBody(17, { op: OpCode.getData, path: SAMPLE_PATH, watch: true });
  const setData = requestBody(18, { op: OpCode.setData, path: SAMPLE_PATH, data, version: 41 });
  const create = requestBody(19, { op: OpCode.create, path: SAMPLE_PATH, data, acl: [...OPEN_ACL_UNSAFE], flags: 0 });
  const dataText = data.toString('latin1');
  const scratch = Buffer.alloc(DATA_BYTES);
  // Stat encode writes into one writer sized for the whole sample, so only writeStat is timed.
  let statWriter = new JuteWriter(16);

  const cases: MicroCase[] = [
    {
      name: 'GetData request decode',
      run(n) {
        for (let i = 0; i < n; i++) sink.value = decodeRequest(getData);
      },
    },
    {
      name: 'GetData response encode (100 B + Stat)',
      run(n) {
        for (let i = 0; i < n; i++) sink.value = encodeGetDataReply(tree, node, i);
      },
    },
    {
      name: 'GetData request decode + response encode',
      target: { ns: 150, label: 'GetData decode+encode <= 150 ns' },
      run(n) {
        for (let i = 0; i < n; i++) {
          sink.value = decodeRequest(getData);
          sink.value = encodeGetDataReply(tree, node, sink.n); // sink.n: the xid just decoded
        }
      },
    },
    {
      // The platform's floor for the case above: only the two calls into Buffer's native code
      // it cannot do without (the path decoded to a string, the 100 value bytes written out).
      name: 'baseline: path toString + 100 B latin1 write, nothing else',
      run(n) {
        const pathEnd = PATH_AT + SAMPLE_PATH.length;
        for (let i = 0; i < n; i++) {
          sink.value = getData.toString('utf8', PATH_AT, pathEnd);
          sink.n = scratch.write(dataText, 0, dataText.length, 'latin1');
        }
      },
    },
    {
      name: 'SetData request decode (100 B)',
      run(n) {
        for (let i = 0; i < n; i++) sink.value = decodeRequest(setData);
      },
    },
    {
      name: 'Create request decode (100 B, open ACL)',
      run(n) {
        for (let i = 0; i < n; i++) sink.value = decodeRequest(create);
      },
    },
    {
      name: 'Create response encode (path)',
      run(n) {
        const path = SAMPLE_PATH;
        for (let i = 0; i < n; i++) {
          // ZkServer.reply with writeBodyFor(create)'s body: the created path
          startReply(out, i, SAMPLE_ZXID);
          out.writeString(path);
          finishReply(out, 0);
          sink.value = frameWritten();
        }
      },
    },
    {
      name: 'watcher event notification encode',
      run(n) {
        for (let i = 0; i < n; i++) {
          writeNotification(out, EventType.NodeDataChanged, SAMPLE_PATH);
          sink.value = frameWritten();
        }
      },
    },
    {
      name: 'Stat encode (writeStat)',
      prepare(n) {
        statWriter = new JuteWriter(n * 68 + 16);
      },
      run(n) {
        const w = statWriter;
        for (let i = 0; i < n; i++) writeStat(w, SAMPLE_STAT);
        sink.value = w;
      },
    },
  ];
  return { name: 'jute', source: 'src/codec (as ZkServer.onFrame / reply / sendEvent call it)', cases };
}
