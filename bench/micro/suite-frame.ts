/**
 * FrameDecoder (src/codec/frame.ts), driven as ClientListener drives it: push each socket
 * chunk, then take frames with nextFrame() until it answers false. Figures are per frame.
 */
import { FrameDecoder, OpCode } from '../../src/codec/index.js';
import { JUTE_MAXBUFFER_DEFAULT } from '../../src/base/index.js';
import { sink, type MicroCase, type Suite } from './case.js';
import { SAMPLE_PATH, wireFrame } from './fixtures.js';

/** Frames per chunk: a pipelining client (bench/load keeps 32 in flight per session). */
const FRAMES = 64;
const BIG_CHUNK = 64 * 1024;

/** Push every chunk and drain the decoder after each, as ClientListener's 'data' handler and pump() do. */
function feed(decoder: FrameDecoder, chunks: readonly Buffer[]): void {
  for (const chunk of chunks) {
    decoder.push(chunk);
    while (decoder.nextFrame()) sink.n = decoder.frameEnd;
  }
}

/** `frames` GetData requests back to back, as one buffer. */
function getDataStream(frames: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < frames; i++) parts.push(wireFrame(i + 1, { op: OpCode.getData, path: SAMPLE_PATH, watch: false }));
  return Buffer.concat(parts);
}

/** The stream cut in the middle of every frame: each push leaves half a frame pending. */
function cutMidFrame(stream: Buffer, frames: number): Buffer[] {
  const frameBytes = stream.length / frames;
  const chunks: Buffer[] = [];
  let from = 0;
  for (let i = 0; i < frames; i++) {
    const mid = i * frameBytes + Math.floor(frameBytes / 2);
    chunks.push(stream.subarray(from, mid));
    from = mid;
  }
  chunks.push(stream.subarray(from));
  return chunks;
}

/** One frame of the largest allowed size (jute.maxbuffer), arriving in 64 KiB socket reads. */
function bigFrameChunks(): Buffer[] {
  const frame = Buffer.alloc(4 + JUTE_MAXBUFFER_DEFAULT);
  frame.writeInt32BE(JUTE_MAXBUFFER_DEFAULT, 0);
  const chunks: Buffer[] = [];
  for (let at = 0; at < frame.length; at += BIG_CHUNK) chunks.push(frame.subarray(at, Math.min(frame.length, at + BIG_CHUNK)));
  return chunks;
}

export function frameSuite(): Suite {
  const decoder = new FrameDecoder(JUTE_MAXBUFFER_DEFAULT);
  const stream = getDataStream(FRAMES);
  const whole = [stream];
  const halves = cutMidFrame(stream, FRAMES);
  const big = bigFrameChunks();
  const cases: MicroCase[] = [
    {
      name: `${FRAMES} GetData frames in one chunk`,
      opsPerCall: FRAMES,
      run(n) {
        for (let i = 0; i < n; i++) feed(decoder, whole);
      },
    },
    {
      name: 'GetData frames each split across 2 chunks',
      opsPerCall: FRAMES,
      run(n) {
        for (let i = 0; i < n; i++) feed(decoder, halves);
      },
    },
    {
      name: `1 MiB frame in ${big.length} chunks of 64 KiB`,
      maxBatch: 64,
      maxAllocCalls: 16,
      run(n) {
        for (let i = 0; i < n; i++) feed(decoder, big);
      },
    },
  ];
  return { name: 'frame', source: 'src/codec/frame.ts (FrameDecoder, as ClientListener feeds it)', cases };
}
