import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  CodecError,
  ELECTION_PROTOCOL_V1,
  ELECTION_PROTOCOL_V2,
  FrameLengthError,
  INCOMPLETE,
  electionFrameDecoder,
  JuteReader,
  JuteWriter,
  NO_VOTE_LONG,
  NOTIFICATION_VERSION,
  OBSERVER_SID,
  ServerState,
  measureInitialMessage,
  parseElectionAddress,
  readInitialMessage,
  readNotification,
  writeInitialMessage,
  writeNotification,
  type InitialMessage,
  type Notification,
} from '../../../src/codec/index.js';
import { ELECTION_ADDRESS_BYTES_MAX, ELECTION_MESSAGE_BYTES_MAX } from '../../../src/base/index.js';
import { i32, i64, text } from '../../support/hand-bytes.js';

// Expected bytes are built by hand (hand-bytes.ts), not with the writer under test.

function decodeInitial(bytes: Buffer): InitialMessage {
  const r = new JuteReader(bytes);
  const m = readInitialMessage(r);
  assert.equal(r.remaining, 0);
  return m;
}
function encodeInitial(m: InitialMessage): Buffer {
  const w = new JuteWriter(8);
  writeInitialMessage(w, m);
  return Buffer.from(w.toBuffer());
}

describe('election initial message', () => {
  test('V1: protocol version, sid, one "host:port"', () => {
    const bytes = Buffer.concat([i64(-65536n), i64(3n), text('127.0.0.1:3888')]);
    const m: InitialMessage = { protocolVersion: ELECTION_PROTOCOL_V1, sid: 3n, addresses: [{ host: '127.0.0.1', port: 3888 }] };
    assert.deepEqual(decodeInitial(bytes), m);
    assert.deepEqual(encodeInitial(m), bytes);
    assert.equal(measureInitialMessage(bytes, 0, bytes.length), bytes.length);
  });

  test('V2: "|"-separated addresses, IPv6 in brackets', () => {
    const bytes = Buffer.concat([i64(-65535n), i64(7n), text('[fe80::1%eth0]:3888|10.0.0.7:3889')]);
    const m: InitialMessage = {
      protocolVersion: ELECTION_PROTOCOL_V2,
      sid: 7n,
      addresses: [
        { host: 'fe80::1%eth0', port: 3888 },
        { host: '10.0.0.7', port: 3889 },
      ],
    };
    assert.deepEqual(decodeInitial(bytes), m);
    assert.deepEqual(encodeInitial(m), bytes);
  });

  test('before 3.5: a non-negative first long is the sid and the whole message', () => {
    for (const sid of [0n, 5n, OBSERVER_SID]) {
      const bytes = Buffer.concat([i64(sid), Buffer.from('next')]);
      const r = new JuteReader(bytes);
      assert.deepEqual(readInitialMessage(r), { protocolVersion: null, sid });
      assert.equal(r.offset, 8);
      assert.equal(measureInitialMessage(bytes, 0, bytes.length), 8);
      assert.deepEqual(encodeInitial({ protocolVersion: null, sid }), bytes.subarray(0, 8));
    }
  });

  test('an unknown negative version, or an address length outside [1, 2048], is a CodecError', () => {
    const bad = [
      Buffer.concat([i64(-1n), i64(1n), text('h:1')]),
      Buffer.concat([i64(-65534n), i64(1n), text('h:1')]),
      Buffer.concat([i64(-65536n), i64(1n), i32(0)]),
      Buffer.concat([i64(-65536n), i64(1n), i32(-1)]),
      Buffer.concat([i64(-65536n), i64(1n), i32(ELECTION_ADDRESS_BYTES_MAX + 1), Buffer.alloc(ELECTION_ADDRESS_BYTES_MAX + 1, 0x31)]),
    ];
    for (const bytes of bad) {
      assert.throws(() => decodeInitial(bytes), CodecError);
      assert.throws(() => measureInitialMessage(bytes, 0, bytes.length), CodecError);
    }
    const longest = 'h:1'.padStart(ELECTION_ADDRESS_BYTES_MAX, 'h');
    assert.equal(decodeInitial(Buffer.concat([i64(-65536n), i64(1n), text(longest)])).sid, 1n);
  });

  test('measure says INCOMPLETE for every proper prefix, and refuses a bad length before its bytes arrive', () => {
    const bytes = Buffer.concat([i64(-65536n), i64(3n), text('127.0.0.1:3888')]);
    for (let end = 0; end < bytes.length; end++) assert.equal(measureInitialMessage(bytes, 0, end), INCOMPLETE, `prefix ${end}`);
    const huge = Buffer.concat([i64(-65536n), i64(3n), i32(1 << 30)]);
    assert.throws(() => measureInitialMessage(huge, 0, huge.length), CodecError);
    assert.throws(() => decodeInitial(bytes.subarray(0, bytes.length - 1)), CodecError);
  });

  test('addresses: ConfigUtils.getHostAndPort forms, with a canonical port', () => {
    assert.deepEqual(parseElectionAddress('zk-1.example:3888'), { host: 'zk-1.example', port: 3888 });
    assert.deepEqual(parseElectionAddress('[::1]:0'), { host: '::1', port: 0 });
    assert.deepEqual(parseElectionAddress('h:65535'), { host: 'h', port: 65535 });
    for (const bad of ['h', 'h:', ':3888', 'a:b:3888', '[::1]', '[::1]3888', '[::1:3888', 'h:65536', 'h:08', 'h:+1', 'h:1x', '[]:1']) {
      assert.throws(() => parseElectionAddress(bad), CodecError, bad);
    }
  });
});

// ---------------------------------------------------------------- notifications

const CONFIG = 'server.1=127.0.0.1:2888:3888:participant\nversion=0';

/** A notification in 3.8's form: state, leader, zxid, electionEpoch, peerEpoch, version 2, config. */
function currentForm(config = CONFIG): Buffer {
  return Buffer.concat([i32(1), i64(2n), i64(0x100000005n), i64(3n), i64(1n), i32(2), text(config)]);
}

describe('FastLeaderElection notification', () => {
  test('3.8 form: 44 bytes and the config text', () => {
    const n: Notification = {
      state: ServerState.following,
      leader: 2n,
      zxid: 0x100000005,
      electionEpoch: 3,
      peerEpoch: 1,
      version: NOTIFICATION_VERSION,
      config: CONFIG,
    };
    const bytes = currentForm();
    assert.equal(bytes.length, 44 + CONFIG.length);
    assert.deepEqual(readNotification(bytes), n);
    const w = new JuteWriter(16);
    writeNotification(w, n);
    assert.deepEqual(w.toBuffer(), bytes);
  });

  test('the older forms are told apart by length: 28 bytes (no peer epoch) and 40 bytes (no version read)', () => {
    const v0 = Buffer.concat([i32(0), i64(2n), i64(0x300000009n), i64(4n)]);
    assert.deepEqual(readNotification(v0), {
      state: 0,
      leader: 2n,
      zxid: 0x300000009,
      electionEpoch: 4,
      peerEpoch: 3,
      version: 0,
      config: null,
    });
    // 3.4 wrote version 1 in bytes 36-40; ZooKeeper never reads it from a 40-byte message
    const v1 = Buffer.concat([i32(2), i64(2n), i64(5n), i64(4n), i64(6n), i32(1)]);
    assert.deepEqual(readNotification(v1), { state: 2, leader: 2n, zxid: 5, electionEpoch: 4, peerEpoch: 6, version: 0, config: null });
    const version1Longer = Buffer.concat([v1, Buffer.from([0, 0, 0, 0])]);
    assert.equal(readNotification(version1Longer).version, 1);
    assert.equal(readNotification(version1Longer).config, null);
  });

  test('bytes after the config are ignored, as ZooKeeper ignores them; the range given is honoured', () => {
    const framed = Buffer.concat([Buffer.from('xxxx'), currentForm(), Buffer.from('trailing')]);
    assert.equal(readNotification(framed, 4, framed.length).config, CONFIG);
    assert.equal(readNotification(framed, 4, framed.length - 8).config, CONFIG);
  });

  test("an observer's vote (Long.MIN_VALUE leader, zxid and peer epoch) decodes and re-encodes exactly", () => {
    const min = -(2n ** 63n);
    const bytes = Buffer.concat([i32(0), i64(min), i64(min), i64(1n), i64(min), i32(2), text(CONFIG)]);
    const n = readNotification(bytes);
    assert.deepEqual([n.leader, n.zxid, n.peerEpoch], [min, NO_VOTE_LONG, NO_VOTE_LONG]);
    const w = new JuteWriter(16);
    writeNotification(w, n);
    assert.deepEqual(w.toBuffer(), bytes);
  });

  test('short, cut, unknown-state, bad-config-length and inexact messages are CodecErrors (ZooKeeper skips them)', () => {
    const full = currentForm();
    const bad = [
      full.subarray(0, 27),
      full.subarray(0, 36), // peer epoch, then no room for the version
      full.subarray(0, 42), // version 2, then no room for the config length
      full.subarray(0, full.length - 1), // config cut short
      Buffer.concat([i32(4), full.subarray(4)]),
      Buffer.concat([i32(-1), full.subarray(4)]),
      Buffer.concat([full.subarray(0, 40), i32(-1)]),
      Buffer.concat([full.subarray(0, 40), i32(1 << 30), Buffer.alloc(8)]),
      Buffer.concat([i32(0), i64(1n), i64(2n ** 60n), i64(1n), i64(0n), i32(2), text('')]),
    ];
    for (const bytes of bad) assert.throws(() => readNotification(bytes), CodecError, bytes.toString('hex'));
  });

  test('only the current form is written', () => {
    const n = readNotification(currentForm());
    assert.throws(() => writeNotification(new JuteWriter(8), { ...n, version: 1 }), RangeError);
    assert.throws(() => writeNotification(new JuteWriter(8), { ...n, config: null }), RangeError);
  });

  test('framing: the election frame decoder refuses the empty frame and the over-long one the receiver refuses', () => {
    const d = electionFrameDecoder();
    const body = currentForm();
    d.push(Buffer.concat([i32(body.length), body, i32(0)]));
    assert.deepEqual(d.next(), body);
    assert.throws(
      () => d.next(),
      (e: unknown) => e instanceof FrameLengthError && e.length === 0 && e.min === 1,
    );
    const over = electionFrameDecoder();
    over.push(i32(ELECTION_MESSAGE_BYTES_MAX + 1));
    assert.throws(() => over.next(), FrameLengthError);
  });
});
