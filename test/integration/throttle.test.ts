/**
 * Throttled reading over TCP: a client that pipelines more writes than globalOutstandingLimit
 * (and than one connection may have queued) is no longer read while they wait for the disk, and
 * is read again as their answers leave. Every request must be answered, in order; a connection
 * that is never read again leaves the client waiting for ever.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CONNECTION_PENDING_REQUESTS_MAX } from '../../src/base/index.js';
import { OpCode, writeRequest } from '../../src/codec/index.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { Wire, frame } from './wire.js';

const LIMIT = 10;
/** More than one connection may have queued, so both throttles hold it back. */
const REQUESTS = CONNECTION_PENDING_REQUESTS_MAX * 2 + 100;

describe('throttled reading', { timeout: 60000 }, () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer({ config: { globalOutstandingLimit: String(LIMIT) } });
  });
  after(async () => {
    await server.stop();
  });

  test('a client with more writes in flight than the limits gets every answer, in order', async () => {
    const { wire } = await Wire.connected(server.port);
    try {
      const path = '/throttled';
      wire.send(
        frame((w) =>
          writeRequest(w.writeInt(1).writeInt(OpCode.create), { op: OpCode.create, path, data: Buffer.from('0'), acl: OPEN, flags: 0 }),
        ),
      );
      const writes = [];
      for (let xid = 2; xid < REQUESTS + 2; xid++) {
        const data = Buffer.from(String(xid));
        writes.push(frame((w) => writeRequest(w.writeInt(xid).writeInt(OpCode.setData), { op: OpCode.setData, path, data, version: -1 })));
      }
      // one write: the server has them all buffered and must stop and go on reading by itself
      wire.send(Buffer.concat(writes));
      const last = await wire.headerAt(REQUESTS + 1, 30000);
      assert.equal(last.xid, REQUESTS + 1);
      for (let i = 1; i <= REQUESTS + 1; i++) {
        const h = await wire.headerAt(i);
        assert.equal(h.xid, i, `reply ${i} in request order`);
        assert.equal(h.err, 0, `reply ${i} succeeded`);
      }
    } finally {
      wire.destroy();
    }
  });
});

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
