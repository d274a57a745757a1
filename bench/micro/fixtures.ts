/** Inputs shared by several suites: wire frames, a Stat, data buffers, fresh path strings. */
import { JuteWriter, writeRequest, type Request, type Stat } from '../../src/codec/index.js';
import { SeededRandom } from '../../src/base/index.js';

/** Value size the figures are stated for. */
export const DATA_BYTES = 100;

/** zxids above 2^32, so both halves of every long are non-zero, as on a server past epoch 1. */
const ZXID_BASE = 0x500000000;

/** A Stat as a node a while into its life shows it (every field non-trivial). */
export const SAMPLE_STAT: Readonly<Stat> = Object.freeze({
  czxid: ZXID_BASE + 0x1234,
  mzxid: ZXID_BASE + 0x5678,
  ctime: 1_700_000_000_000,
  mtime: 1_700_000_123_456,
  version: 42,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: 0n,
  dataLength: DATA_BYTES,
  numChildren: 0,
  pzxid: ZXID_BASE + 0x1234,
});

export const SAMPLE_ZXID = ZXID_BASE + 0x9abc;

/** A typical application path: a couple of levels, a few dozen bytes. */
export const SAMPLE_PATH = '/services/orders/config/node-0000042';

/** `n` bytes of seeded noise (contents matter to Adler-32 only, but keep them realistic). */
export function noise(n: number, seed = 1): Buffer {
  const rnd = new SeededRandom(seed);
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = rnd.int(256);
  return out;
}

/** A request frame body as FrameDecoder hands it to ZkServer.onFrame: RequestHeader + body. */
export function requestBody(xid: number, req: Request): Buffer {
  const w = new JuteWriter(256);
  w.writeInt(xid).writeInt(req.op);
  writeRequest(w, req);
  return Buffer.from(w.toBuffer());
}

/** The same frame as it travels on the wire: with its 4-byte length prefix. */
export function wireFrame(xid: number, req: Request): Buffer {
  const body = requestBody(xid, req);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/**
 * Paths handed out as fresh strings, the way JuteReader.readString makes them from a frame:
 * Buffer#toString gives a new flat string whose hash V8 has not computed yet. A lookup with a
 * string reused across samples would find its hash cached, and a template literal would hand
 * over an unflattened cons string: either would measure something the server does not do.
 * Only call it in untimed prepare steps.
 */
export class PathSource {
  constructor(private readonly name: (i: number) => string) {}

  /** A new string equal to name(i). */
  fresh(i: number): string {
    return Buffer.from(this.name(i), 'utf8').toString('utf8');
  }
}
