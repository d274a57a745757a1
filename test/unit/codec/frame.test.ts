import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, FrameLengthError } from '../../../src/codec/index.js';
import { JUTE_MAXBUFFER_DEFAULT } from '../../../src/base/index.js';

function frame(body: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function drain(d: FrameDecoder): Buffer[] {
  const out: Buffer[] = [];
  for (let f = d.next(); f !== null; f = d.next()) out.push(Buffer.from(f));
  return out;
}

describe('FrameDecoder', () => {
  test('one whole frame, then nothing', () => {
    const d = new FrameDecoder(100);
    d.push(frame(Buffer.from('hello')));
    assert.deepEqual(d.next(), Buffer.from('hello'));
    assert.equal(d.next(), null);
    assert.equal(d.buffered, 0);
  });

  test('several frames in one chunk, including an empty frame', () => {
    const d = new FrameDecoder(100);
    d.push(Buffer.concat([frame(Buffer.from('a')), frame(Buffer.alloc(0)), frame(Buffer.from('bcd'))]));
    assert.deepEqual(drain(d), [Buffer.from('a'), Buffer.alloc(0), Buffer.from('bcd')]);
  });

  test('frames split at every possible boundary, one byte at a time', () => {
    const bodies = [Buffer.from('first'), Buffer.alloc(0), Buffer.from('x'), Buffer.alloc(300, 9)];
    const stream = Buffer.concat(bodies.map(frame));
    // Byte at a time.
    const d1 = new FrameDecoder(1000);
    const got1: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) {
      d1.push(stream.subarray(i, i + 1));
      got1.push(...drain(d1));
    }
    assert.deepEqual(got1, bodies);
    // Every two-way split.
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new FrameDecoder(1000);
      d.push(stream.subarray(0, cut));
      const got = drain(d);
      d.push(stream.subarray(cut));
      got.push(...drain(d));
      assert.deepEqual(got, bodies, `split at ${cut}`);
      assert.equal(d.buffered, 0);
    }
  });

  test('a partial frame waits and reports its buffered bytes', () => {
    const d = new FrameDecoder(100);
    const f = frame(Buffer.from('abcdef'));
    d.push(f.subarray(0, 3));
    assert.equal(d.next(), null);
    assert.equal(d.buffered, 3);
    d.push(f.subarray(3, 8));
    assert.equal(d.next(), null);
    assert.equal(d.buffered, 8);
    d.push(f.subarray(8));
    assert.deepEqual(d.next(), Buffer.from('abcdef'));
    assert.equal(d.buffered, 0);
  });

  test('frames already returned stay intact when more data arrives', () => {
    const d = new FrameDecoder(100);
    const chunk = Buffer.concat([frame(Buffer.from('one')), frame(Buffer.from('two')).subarray(0, 5)]);
    d.push(chunk);
    const first = d.next();
    assert.deepEqual(first, Buffer.from('one'));
    d.push(frame(Buffer.from('two')).subarray(5));
    assert.deepEqual(d.next(), Buffer.from('two'));
    assert.deepEqual(first, Buffer.from('one'));
  });

  test('nextFrame locates frames in place: no copy, body bounds inside frameBuffer', () => {
    const d = new FrameDecoder(100);
    const chunk = Buffer.concat([frame(Buffer.from('one')), frame(Buffer.from('')), frame(Buffer.from('three'))]);
    d.push(chunk);
    const bodies: string[] = [];
    while (d.nextFrame()) {
      assert.equal(d.frameBuffer, chunk, 'a frame inside one chunk is read from that chunk');
      bodies.push(d.frameBuffer.toString('latin1', d.frameStart, d.frameEnd));
    }
    assert.deepEqual(bodies, ['one', '', 'three']);
    assert.equal(d.buffered, 0);
    // a frame split across chunks is joined once, then located the same way
    const f = frame(Buffer.from('split'));
    d.push(f.subarray(0, 6));
    assert.equal(d.nextFrame(), false);
    d.push(f.subarray(6));
    assert.equal(d.nextFrame(), true);
    assert.equal(d.frameBuffer.toString('latin1', d.frameStart, d.frameEnd), 'split');
  });

  test('a length equal to the limit is accepted', () => {
    const d = new FrameDecoder(4);
    d.push(frame(Buffer.from('abcd')));
    assert.deepEqual(d.next(), Buffer.from('abcd'));
  });

  test('a length over the limit throws FrameLengthError as soon as the length is known', () => {
    assert.equal(new FrameLengthError(5, 4).name, 'FrameLengthError');
    const d = new FrameDecoder(4);
    d.push(Buffer.from('00000005', 'hex'));
    assert.throws(
      () => d.next(),
      (e: unknown) => e instanceof FrameLengthError && e.length === 5 && e.limit === 4,
    );
  });

  test('a negative length throws FrameLengthError', () => {
    const d = new FrameDecoder(JUTE_MAXBUFFER_DEFAULT);
    d.push(Buffer.from('ffffffff00', 'hex'));
    assert.throws(
      () => d.next(),
      (e: unknown) => e instanceof FrameLengthError && e.length === -1 && e.limit === JUTE_MAXBUFFER_DEFAULT,
    );
    const d2 = new FrameDecoder(JUTE_MAXBUFFER_DEFAULT);
    d2.push(Buffer.from('80000000', 'hex'));
    assert.throws(() => d2.next(), FrameLengthError);
  });

  test('a bad length after good frames is reported after those frames', () => {
    const d = new FrameDecoder(10);
    d.push(Buffer.concat([frame(Buffer.from('ok')), Buffer.from('7fffffff', 'hex')]));
    assert.deepEqual(d.next(), Buffer.from('ok'));
    assert.throws(() => d.next(), FrameLengthError);
  });

  describe('peekWord', () => {
    test('null until 4 bytes are buffered, then the four letters', () => {
      const d = new FrameDecoder(100);
      assert.equal(d.peekWord(), null);
      d.push(Buffer.from('ru'));
      assert.equal(d.peekWord(), null);
      d.push(Buffer.from('ok'));
      assert.equal(d.peekWord(), 'ruok');
      // peeking does not consume
      assert.equal(d.buffered, 4);
      assert.equal(d.peekWord(), 'ruok');
    });

    test('looks at the bytes after the frames already taken', () => {
      const d = new FrameDecoder(100);
      d.push(Buffer.concat([frame(Buffer.from('z')), Buffer.from('stat')]));
      assert.equal(d.peekWord(), '\u0000\u0000\u0000\u0001');
      assert.deepEqual(d.next(), Buffer.from('z'));
      assert.equal(d.peekWord(), 'stat');
    });
  });
});
