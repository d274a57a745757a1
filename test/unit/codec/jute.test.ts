import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError, JuteReader, JuteWriter } from '../../../src/codec/index.js';

const hex = (w: JuteWriter): string => w.toBuffer().toString('hex');
const reader = (h: string): JuteReader => new JuteReader(Buffer.from(h, 'hex'));

function assertCodecError(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof CodecError, `expected CodecError, got ${String(e)}`);
    assert.equal(e.name, 'CodecError');
    if (pattern !== undefined) assert.match(e.message, pattern);
    return true;
  });
}

describe('JuteWriter encodes big-endian primitives', () => {
  test('ints', () => {
    assert.equal(hex(new JuteWriter().writeInt(1)), '00000001');
    assert.equal(hex(new JuteWriter().writeInt(-1)), 'ffffffff');
    assert.equal(hex(new JuteWriter().writeInt(0x12345678)), '12345678');
    assert.equal(hex(new JuteWriter().writeInt(-2147483648)), '80000000');
  });

  test('longs as numbers, including negatives and values above 2^32', () => {
    assert.equal(hex(new JuteWriter().writeLong(0)), '0000000000000000');
    assert.equal(hex(new JuteWriter().writeLong(-1)), 'ffffffffffffffff');
    assert.equal(hex(new JuteWriter().writeLong(2 ** 32 + 5)), '0000000100000005');
    assert.equal(hex(new JuteWriter().writeLong(0x1234_5678_9abc)), '0000123456789abc');
    assert.equal(hex(new JuteWriter().writeLong(-(2 ** 32))), 'ffffffff00000000');
    assert.equal(hex(new JuteWriter().writeLong(Number.MAX_SAFE_INTEGER)), '001fffffffffffff');
  });

  test('bigint longs use all 64 bits', () => {
    assert.equal(hex(new JuteWriter().writeBigLong(-(2n ** 63n))), '8000000000000000');
    assert.equal(hex(new JuteWriter().writeBigLong(0x0100000000000001n)), '0100000000000001');
    // Unsigned inputs wrap to the signed long with the same bits.
    assert.equal(hex(new JuteWriter().writeBigLong(0xff00000000000000n)), 'ff00000000000000');
  });

  test('bools, strings, buffers, vectors, nulls', () => {
    assert.equal(hex(new JuteWriter().writeBool(true).writeBool(false)), '0100');
    assert.equal(hex(new JuteWriter().writeString('/a')), '000000022f61');
    // Length is in UTF-8 bytes, not UTF-16 units.
    assert.equal(hex(new JuteWriter().writeString('é')), '00000002c3a9');
    assert.equal(hex(new JuteWriter().writeString('')), '00000000');
    assert.equal(hex(new JuteWriter().writeString(null)), 'ffffffff');
    assert.equal(hex(new JuteWriter().writeBuffer(Buffer.from([1, 2, 3]))), '00000003010203');
    assert.equal(hex(new JuteWriter().writeBuffer(null)), 'ffffffff');
    assert.equal(hex(new JuteWriter().writeStrings(['a', 'bc'])), '00000002' + '0000000161' + '000000026263');
    assert.equal(hex(new JuteWriter().writeVector(null, () => undefined)), 'ffffffff');
  });

  test('grows past its initial size and tracks length', () => {
    const w = new JuteWriter(1);
    const big = Buffer.alloc(1000, 7);
    w.writeInt(5).writeBuffer(big).writeLong(9);
    assert.equal(w.length, 4 + 4 + 1000 + 8);
    const r = new JuteReader(w.toBuffer());
    assert.equal(r.readInt(), 5);
    assert.deepEqual(r.readBuffer(), big);
    assert.equal(r.readLong(), 9);
    assert.equal(r.remaining, 0);
  });

  test('reserveInt / patchInt fill in a length afterwards', () => {
    const w = new JuteWriter(2);
    const at = w.reserveInt();
    w.writeString('hello');
    w.patchInt(at, w.length - 4);
    assert.equal(hex(w), '00000009' + '00000005' + Buffer.from('hello').toString('hex'));
  });
});

describe('JuteReader', () => {
  test('reads what the writer wrote', () => {
    const w = new JuteWriter()
      .writeInt(-7)
      .writeLong(-123456789012)
      .writeBigLong(-(2n ** 63n))
      .writeBool(true)
      .writeString('zë')
      .writeString(null)
      .writeBuffer(Buffer.from('xy'))
      .writeBuffer(null)
      .writeStrings(['p', 'q']);
    const r = new JuteReader(w.toBuffer());
    assert.equal(r.readInt(), -7);
    assert.equal(r.readLong(), -123456789012);
    assert.equal(r.readBigLong(), -(2n ** 63n));
    assert.equal(r.readBool(), true);
    assert.equal(r.readString(), 'zë');
    assert.equal(r.readString(), null);
    assert.deepEqual(r.readBuffer(), Buffer.from('xy'));
    assert.equal(r.readBuffer(), null);
    assert.deepEqual(r.readStrings(), ['p', 'q']);
    assert.equal(r.remaining, 0);
    assert.equal(r.offset, w.length);
  });

  test('readText maps a null string to ""; readStrings maps a null vector to []', () => {
    assert.equal(reader('ffffffff').readText(), '');
    assert.deepEqual(reader('ffffffff').readStrings(), []);
    assert.deepEqual(reader('00000001ffffffff').readStrings(), ['']);
  });

  test('any non-zero byte is true', () => {
    assert.equal(reader('02').readBool(), true);
    assert.equal(reader('00').readBool(), false);
  });

  test('readBuffer copies out of the frame', () => {
    const src = Buffer.from('0000000261620000', 'hex');
    const out = new JuteReader(src).readBuffer();
    src.fill(0);
    assert.deepEqual(out, Buffer.from('ab'));
  });

  test('honours start and end offsets', () => {
    const buf = Buffer.from('ffff0000000700000008ffff', 'hex');
    const r = new JuteReader(buf, 2, 6);
    assert.equal(r.remaining, 4);
    assert.equal(r.readInt(), 7);
    assertCodecError(() => r.readInt());
  });

  describe('bounds errors are CodecErrors', () => {
    test('truncated primitives', () => {
      assertCodecError(() => reader('000000').readInt(), /truncated/);
      assertCodecError(() => reader('00000000000000').readLong(), /truncated/);
      assertCodecError(() => reader('00000000000000').readBigLong(), /truncated/);
      assertCodecError(() => reader('').readBool(), /truncated/);
    });

    test('string / buffer longer than what is left', () => {
      assertCodecError(() => reader('0000000561').readString(), /truncated/);
      assertCodecError(() => reader('0000000561').readBuffer(), /truncated/);
      assertCodecError(() => reader('7fffffff').readBuffer(), /truncated/);
    });

    test('negative lengths other than -1', () => {
      assertCodecError(() => reader('fffffffe').readString(), /negative string length/);
      assertCodecError(() => reader('80000000').readBuffer(), /negative buffer length/);
      assertCodecError(() => reader('fffffffe').readVector((r) => r.readInt()), /negative vector length/);
    });

    test('vector count larger than the bytes left is rejected before allocating', () => {
      assertCodecError(() => reader('7fffffff').readStrings(), /exceeds/);
      assertCodecError(() => reader('0000000300').readVector((r) => r.readBool()), /exceeds/);
    });

    test('a vector whose items run out', () => {
      assertCodecError(() => reader('00000002000000016100').readStrings(), /truncated/);
    });
  });
});
