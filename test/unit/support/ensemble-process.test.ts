import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ELECTION_PROTOCOL_V1,
  ELECTION_PROTOCOL_V2,
  JuteReader,
  JuteWriter,
  readInitialMessage,
  writeInitialMessage,
  type InitialMessage,
} from '../../../src/codec/index.js';
import { initialMessageRewriter } from '../../support/ensemble-process.js';

function bytes(m: InitialMessage): Buffer {
  const w = new JuteWriter(64);
  writeInitialMessage(w, m);
  return Buffer.from(w.toBuffer());
}

describe('the election proxies rewrite the initial message', () => {
  const rewrite = initialMessageRewriter(() => 4242);
  const notification = Buffer.from([0, 0, 0, 4, 1, 2, 3, 4]);

  test('a V1 message names the proxy of the way back; what follows it is untouched', () => {
    const first = bytes({ protocolVersion: ELECTION_PROTOCOL_V1, sid: 3n, addresses: [{ host: '127.0.0.1', port: 31000 }] });
    const r = rewrite(Buffer.concat([first, notification]));
    assert.ok(r !== undefined);
    assert.equal(r.consumed, first.length);
    assert.deepEqual(readInitialMessage(new JuteReader(r.replacement)), {
      protocolVersion: ELECTION_PROTOCOL_V1,
      sid: 3n,
      addresses: [{ host: '127.0.0.1', port: 4242 }],
    });
  });

  test('a V2 message with several addresses keeps its version and sid, with the one address', () => {
    const first = bytes({
      protocolVersion: ELECTION_PROTOCOL_V2,
      sid: 7n,
      addresses: [
        { host: '127.0.0.1', port: 31000 },
        { host: '127.0.0.2', port: 31001 },
      ],
    });
    const r = rewrite(first);
    assert.deepEqual(readInitialMessage(new JuteReader(r!.replacement)), {
      protocolVersion: ELECTION_PROTOCOL_V2,
      sid: 7n,
      addresses: [{ host: '127.0.0.1', port: 4242 }],
    });
  });

  test('an incomplete message waits for more bytes; a pre-3.5 one (the sid alone) passes as it is', () => {
    const first = bytes({ protocolVersion: ELECTION_PROTOCOL_V1, sid: 3n, addresses: [{ host: '127.0.0.1', port: 31000 }] });
    for (const cut of [0, 7, 8, 19, 20, first.length - 1]) assert.equal(rewrite(first.subarray(0, cut)), undefined, `${cut} bytes`);
    const old = bytes({ protocolVersion: null, sid: 2n });
    assert.deepEqual(rewrite(old), { consumed: 8, replacement: old });
  });

  test('bytes that cannot start an initial message are refused (the proxy then resets the connection)', () => {
    const bad = Buffer.alloc(24);
    bad.writeBigInt64BE(-5n, 0);
    assert.throws(() => rewrite(bad));
  });
});
