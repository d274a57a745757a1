import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  AssertionError,
  adler32,
  assert as invariant,
  JavaRandom,
  SeededRandom,
  sessionPassword,
  CONNECT_REQUEST_BYTES_MIN,
  SESSION_PASSWORD_BYTES,
  TTL_MS_MAX,
} from '../../../src/base/index.js';

// Reference values were produced by java.util.Random (OpenJDK) for the same seeds.
describe('JavaRandom matches java.util.Random', () => {
  test('new Random(42).nextInt() sequence', () => {
    const r = new JavaRandom(42n);
    assert.deepEqual([r.nextInt(), r.nextInt(), r.nextInt()], [-1170105035, 234785527, -1360544799]);
  });

  test('new Random(0).nextInt() sequence', () => {
    const r = new JavaRandom(0n);
    assert.equal(r.nextInt(), -1155484576);
    assert.equal(r.nextInt(), -723955400);
  });

  test('negative seeds and seeds beyond 48 bits', () => {
    assert.equal(new JavaRandom(-7n).nextInt(), 1155869324);
    // Only the low 48 bits of the scrambled seed matter: Long.MIN_VALUE behaves like 0.
    assert.equal(new JavaRandom(-(2n ** 63n)).nextInt(), -1155484576);
  });

  test('nextBytes fills little-endian from each nextInt, with a partial last int', () => {
    const out = new Uint8Array(7);
    new JavaRandom(42n).nextBytes(out);
    // Java: [53, -99, 65, -70, -9, -118, -2]
    assert.deepEqual([...out], [53, 157, 65, 186, 247, 138, 254]);
  });

  test('nextBytes on an empty array draws nothing', () => {
    const r = new JavaRandom(42n);
    r.nextBytes(new Uint8Array(0));
    assert.equal(r.nextInt(), -1170105035);
  });
});

describe('sessionPassword', () => {
  test("is 16 bytes and equals ZooKeeper's Random(id ^ 0xB3415C00).nextBytes", () => {
    const cases: [bigint, string][] = [
      [0x0100000000000000n, 'f22acd4a97e69d6d20a49bb638eadb38'],
      [0x01000001a2b3c4d5n, '75f7b92fa39dd98d12e9a0f471d573ff'],
      [-1n, '20f62cb5648dc2d771471c8a2486a9ee'],
      [0x7fffffffffffffffn, '20f62cb5648dc2d771471c8a2486a9ee'],
    ];
    for (const [id, hex] of cases) {
      const pw = sessionPassword(id);
      assert.equal(pw.length, SESSION_PASSWORD_BYTES);
      assert.equal(pw.toString('hex'), hex, `password of 0x${id.toString(16)}`);
    }
  });

  test('is deterministic and differs between ids', () => {
    const id = 0x0100018c2f3a0001n;
    assert.deepEqual(sessionPassword(id), sessionPassword(id));
    assert.notDeepEqual(sessionPassword(id), sessionPassword(id + 1n));
  });

  test('returns a fresh buffer each call', () => {
    const a = sessionPassword(5n);
    a.fill(0);
    assert.notDeepEqual(sessionPassword(5n), a);
  });
});

describe('SeededRandom', () => {
  test('is replayable by seed', () => {
    const a = new SeededRandom(1234);
    const b = new SeededRandom(1234);
    const xs = Array.from({ length: 20 }, () => a.next());
    const ys = Array.from({ length: 20 }, () => b.next());
    assert.deepEqual(xs, ys);
    for (const x of xs) assert.ok(x >= 0 && x < 1);
    assert.notDeepEqual(
      Array.from({ length: 5 }, () => new SeededRandom(1).next()),
      Array.from({ length: 5 }, () => new SeededRandom(2).next()),
    );
  });

  test('int, pick and chance stay in range', () => {
    const r = new SeededRandom(99);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const v = r.int(5);
      assert.ok(Number.isInteger(v) && v >= 0 && v < 5);
      seen.add(v);
    }
    assert.equal(seen.size, 5);
    for (let i = 0; i < 50; i++) assert.ok(['a', 'b'].includes(r.pick(['a', 'b'])));
    assert.equal(r.chance(0), false);
    assert.equal(r.chance(1), true);
  });

  test('pick from an empty list throws RangeError', () => {
    assert.throws(() => new SeededRandom(1).pick([]), RangeError);
  });
});

describe('assert and limits', () => {
  test('assert throws AssertionError with the message only when the condition is falsy', () => {
    assert.equal(new AssertionError('x').name, 'AssertionError');
    invariant(true, 'never');
    invariant(1, 'never');
    assert.throws(
      () => invariant(0, 'broken invariant'),
      (e: unknown) => e instanceof AssertionError && e.message === 'broken invariant',
    );
  });

  test('limits have ZooKeeper values', () => {
    assert.equal(CONNECT_REQUEST_BYTES_MIN, 44);
    assert.equal(SESSION_PASSWORD_BYTES, 16);
    assert.equal(TTL_MS_MAX, 2 ** 40 - 1);
  });
});

describe('adler32 (java.util.zip.Adler32)', () => {
  /** The definition, one byte at a time, without deferred modulo. */
  function reference(buf: Uint8Array, start: number, end: number, seed = 1): number {
    let a = seed & 0xffff;
    let b = seed >>> 16;
    for (let i = start; i < end; i++) {
      a = (a + (buf[i] as number)) % 65521;
      b = (b + a) % 65521;
    }
    return ((b << 16) | a) >>> 0;
  }

  test('known values', () => {
    assert.equal(adler32(Buffer.from('Wikipedia')), 0x11e60398);
    assert.equal(adler32(Buffer.alloc(0)), 1);
  });

  test('every length and offset around the 4-byte rounds, and runs past the modulo interval', () => {
    const rng = new SeededRandom(7);
    const buf = Buffer.alloc(12000);
    for (let i = 0; i < buf.length; i++) buf[i] = i % 3 === 0 ? 0xff : rng.int(256);
    for (let start = 0; start < 5; start++) {
      for (let len = 0; len < 40; len++)
        assert.equal(adler32(buf, start, start + len), reference(buf, start, start + len), `${start}+${len}`);
    }
    for (const len of [5551, 5552, 5553, 11103, 11999]) assert.equal(adler32(buf, 1, 1 + len), reference(buf, 1, 1 + len), `len ${len}`);
    assert.equal(adler32(buf, 10, 500, 0x12345678 % 65521), reference(buf, 10, 500, 0x12345678 % 65521), 'seeded');
  });
});
