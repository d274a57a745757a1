import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError, JuteReader, JuteWriter, readStat, STAT_BYTES, writeStat, type Stat } from '../../../src/codec/index.js';

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

  test('writeStat writes the 68 bytes of a Stat as its fields one by one would', () => {
    // big zxids and times, negative versions, an ephemeral owner with the top bit set
    const stat: Stat = {
      czxid: 2 ** 40 + 5,
      mzxid: 2 ** 33 + 1,
      ctime: 1_700_000_000_123,
      mtime: 1_700_000_000_456,
      version: -1,
      cversion: -3,
      aversion: 7,
      ephemeralOwner: -2n,
      dataLength: 100,
      numChildren: 12,
      pzxid: 2 ** 45 + 9,
    };
    const each = new JuteWriter(8).writeInt(0x01020304);
    each.writeLong(stat.czxid).writeLong(stat.mzxid).writeLong(stat.ctime).writeLong(stat.mtime);
    each.writeInt(stat.version).writeInt(stat.cversion).writeInt(stat.aversion).writeBigLong(stat.ephemeralOwner);
    each.writeInt(stat.dataLength).writeInt(stat.numChildren).writeLong(stat.pzxid);
    // a writer that must grow for the Stat's reserved block, after one int
    const once = new JuteWriter(8).writeInt(0x01020304);
    writeStat(once, stat);
    assert.equal(once.length, 4 + STAT_BYTES);
    assert.equal(hex(once), hex(each));
    assert.deepEqual(readStat(new JuteReader(once.toBuffer(), 4)), stat);
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

describe('JuteWriter strings', () => {
  test('short ASCII, short non-ASCII and long strings all carry their UTF-8 byte length', () => {
    for (const s of ['/zk/a-b_c.1', 'x'.repeat(64), 'x'.repeat(65), '/naïve', '/日本', '/a' + '€'.repeat(40), 'y'.repeat(300)]) {
      const w = new JuteWriter(8).writeInt(7).writeString(s).writeInt(8);
      const utf8 = Buffer.from(s, 'utf8');
      const expected = Buffer.alloc(4 + 4 + utf8.length + 4);
      expected.writeInt32BE(7, 0);
      expected.writeInt32BE(utf8.length, 4);
      utf8.copy(expected, 8);
      expected.writeInt32BE(8, 8 + utf8.length);
      assert.deepEqual(w.toBuffer(), expected, s);
    }
  });

  test('a short string whose ASCII attempt fails midway leaves no stray bytes', () => {
    const w = new JuteWriter(4);
    w.writeString('abc\u00ffdef').writeString('ok');
    const r = new JuteReader(w.toBuffer());
    assert.equal(r.readString(), 'abc\u00ffdef');
    assert.equal(r.readString(), 'ok');
    assert.equal(r.remaining, 0);
  });
});

describe('JuteWriter as a connection output queue', () => {
  const frameOf = (text: string): string =>
    Buffer.from([0, 0, 0, 4 + text.length, 0, 0, 0, text.length]).toString('hex') + Buffer.from(text).toString('hex');

  test('beginFrame / endFrame prefix each frame with its length; frames follow one another', () => {
    const w = new JuteWriter(4);
    w.beginFrame().writeString('ab');
    w.endFrame();
    assert.equal(w.frameStart, 0);
    w.beginFrame().writeString('cde');
    w.endFrame();
    assert.equal(w.frameStart, 10);
    assert.equal(hex(w), frameOf('ab') + frameOf('cde'));
  });

  test('dropFrame removes only the frame begun last', () => {
    const w = new JuteWriter(64);
    w.beginFrame().writeString('keep');
    w.endFrame();
    w.beginFrame().writeString('drop');
    w.dropFrame();
    assert.equal(hex(w), frameOf('keep'));
  });

  test('handOff returns each batch once, and growth never rewrites handed-off bytes', () => {
    const w = new JuteWriter(16);
    w.beginFrame().writeString('first');
    w.endFrame();
    const sent = w.handOff();
    const sentCopy = Buffer.from(sent);
    assert.equal(sent.toString('hex'), frameOf('first'));
    assert.equal(w.unsentBytes, 0);
    // A frame begun before growth and finished after it: its length prefix moves with it.
    w.beginFrame().writeString('second');
    w.writeString('x'.repeat(100));
    w.endFrame();
    assert.deepEqual(sent, sentCopy, 'the socket still holds the first batch: it must be unchanged');
    const next = w.handOff();
    assert.equal(next.readInt32BE(0), next.length - 4);
    const r = new JuteReader(next, 4);
    assert.equal(r.readString(), 'second');
    assert.equal(r.readString(), 'x'.repeat(100));
    assert.equal(w.handOff().length, 0);
  });

  test('reuseHandedOff writes the next frames from the start of the same buffer', () => {
    const w = new JuteWriter(64);
    w.beginFrame().writeString('first');
    w.endFrame();
    const sent = w.handOff();
    w.reuseHandedOff();
    assert.equal(w.length, 0);
    w.beginFrame().writeString('again');
    w.endFrame();
    assert.equal(sent.toString('hex'), frameOf('again'), 'the same bytes of the same buffer were written over');
    assert.equal(w.handOff().toString('hex'), frameOf('again'));
    w.writeInt(1);
    assert.throws(() => w.reuseHandedOff(), /4 bytes are not handed off yet/);
  });

  test('growth after a handOff keeps only the unsent bytes and honours growBytes', () => {
    const w = new JuteWriter(32);
    w.growBytes = 64;
    w.writeString('a'.repeat(20));
    w.handOff();
    w.writeInt(1).writeInt(2);
    w.writeBuffer(Buffer.alloc(40, 9)); // does not fit behind the handed-off bytes: moves
    assert.equal(w.length, 8 + 4 + 40, 'offsets restart from the unsent bytes');
    assert.equal(w.view().length, 64);
    const r = new JuteReader(w.handOff());
    assert.equal(r.readInt(), 1);
    assert.equal(r.readInt(), 2);
    assert.deepEqual(r.readBuffer(), Buffer.alloc(40, 9));
  });

  test('a burst of writes with a small growBytes grows geometrically, not by what each write needs', () => {
    const w = new JuteWriter(16);
    w.growBytes = 16;
    w.writeInt(0);
    w.handOff();
    const sizes = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      w.writeLong(i);
      sizes.add(w.view().length);
    }
    assert.ok(sizes.size <= 11, `${sizes.size} buffers for 8000 bytes`);
    const r = new JuteReader(w.handOff());
    for (let i = 0; i < 1000; i++) assert.equal(r.readLong(), i);
  });

  test('reset is refused once bytes were handed off (they may still be in a socket)', () => {
    const w = new JuteWriter(8).writeInt(1);
    w.handOff();
    assert.throws(() => w.reset(), /handed off/);
  });

  test('patchInt outside what was written is refused', () => {
    const w = new JuteWriter(64).writeInt(1);
    assert.throws(() => w.patchInt(2, 5), RangeError);
    assert.throws(() => w.patchUint(-1, 5), RangeError);
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

describe('JuteReader for peer input', () => {
  test('readSafeLong takes every exact long and refuses one a number would round', () => {
    for (const v of [0, -1, 2 ** 53 - 1, -(2 ** 53 - 1), 0x100000005]) {
      assert.equal(new JuteReader(Buffer.from(new JuteWriter().writeLong(v).toBuffer())).readSafeLong(), v);
    }
    assertCodecError(() => reader('0020000000000000').readSafeLong(), /exact/); // 2^53
    assertCodecError(() => reader('8000000000000000').readSafeLong(), /exact/);
    assertCodecError(() => reader('00000000000000').readSafeLong(), /truncated/);
  });

  test('peekInt reads the next int without consuming it', () => {
    const r = reader('0000000700000008');
    assert.equal(r.peekInt(), 7);
    assert.equal(r.readInt(), 7);
    assert.equal(r.peekInt(), 8);
    assert.equal(r.offset, 4);
    r.readInt();
    assertCodecError(() => r.peekInt(), /truncated/);
  });
});
