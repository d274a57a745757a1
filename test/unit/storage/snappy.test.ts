import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../../src/base/index.js';
import { SnappyError, isSnappyJavaStream, snappyJavaCompress, snappyJavaUncompress } from '../../../src/storage/snappy.js';

/** A snappy-java stream around one raw block (as SnappyOutputStream frames it). */
function stream(block: number[]): Buffer {
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const len = Buffer.alloc(4);
  len.writeInt32BE(block.length, 0);
  return Buffer.concat([header, len, Buffer.from(block)]);
}

describe('snappy-java stream format', () => {
  test('round trips random, repetitive and multi-block inputs', () => {
    const rng = new SeededRandom(7);
    for (const size of [0, 1, 60, 61, 4096, 32768, 32769, 100000]) {
      const raw = Buffer.alloc(size);
      for (let i = 0; i < size; i++) raw[i] = i % 3 === 0 ? rng.int(256) : 0x61 + (i % 7);
      const packed = snappyJavaCompress(raw);
      assert.ok(isSnappyJavaStream(packed));
      assert.deepEqual(snappyJavaUncompress(packed), raw);
    }
  });

  test('repetitive data actually shrinks', () => {
    const raw = Buffer.alloc(100000, 'abcdefgh');
    assert.ok(snappyJavaCompress(raw).length < raw.length / 4);
  });

  test('decodes every element kind, including the 1- and 4-byte-offset copies our encoder never emits', () => {
    // length 13: literal "abcd", copy-1 (len 4, offset 4), copy-4 (len 5, offset 8)
    const block = [13, (4 - 1) << 2, 0x61, 0x62, 0x63, 0x64, 0x01 | ((4 - 4) << 2), 4, 0x03 | ((5 - 1) << 2), 8, 0, 0, 0];
    assert.equal(snappyJavaUncompress(stream(block)).toString(), 'abcdabcdabcda');
  });

  test('rejects a bad magic, truncated blocks and references before the start', () => {
    assert.throws(() => snappyJavaUncompress(Buffer.alloc(32)), SnappyError);
    const good = snappyJavaCompress(Buffer.from('hello hello hello hello'));
    assert.throws(() => snappyJavaUncompress(good.subarray(0, good.length - 3)), SnappyError);
    assert.throws(() => snappyJavaUncompress(stream([4, 0x02 | ((4 - 1) << 2), 9, 0])), SnappyError);
  });
});
