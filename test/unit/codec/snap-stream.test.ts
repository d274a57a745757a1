import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  CodecError,
  JuteReader,
  JuteWriter,
  OPEN_ACL_UNSAFE_INDEX,
  SNAP_SIGNATURE,
  readSnapTransfer,
  readSnapshotBody,
  writeSnapTransfer,
  writeSnapshotBody,
  type SnapshotBody,
  type StatPersisted,
} from '../../../src/codec/index.js';
import { QUORUM_RECORD_BYTES_MAX } from '../../../src/base/index.js';
import { DataTree } from '../../../src/tree/index.js';
import { encodeSnapshot, LOG_HEADER_BYTES } from '../../../src/storage/index.js';
import { i32, i64, text } from '../../support/hand-bytes.js';

const ZERO_STAT: StatPersisted = {
  czxid: 0,
  mzxid: 0,
  ctime: 0,
  mtime: 0,
  version: 0,
  cversion: 0,
  aversion: 0,
  ephemeralOwner: 0n,
  pzxid: 0,
};
const statBytes = (s: StatPersisted): Buffer =>
  Buffer.concat([
    i64(s.czxid),
    i64(s.mzxid),
    i64(s.ctime),
    i64(s.mtime),
    i32(s.version),
    i32(s.cversion),
    i32(s.aversion),
    i64(s.ephemeralOwner),
    i64(s.pzxid),
  ]);

/** One session, one ACL list, the root and one child, the end marker and the signature, by hand. */
function transferBytes(signature = SNAP_SIGNATURE): Buffer {
  const child: StatPersisted = { ...ZERO_STAT, czxid: 0x100000001, mzxid: 0x100000001, ephemeralOwner: 0x100000abcn, pzxid: 0x100000001 };
  return Buffer.concat([
    i32(1),
    i64(0x100000abcn),
    i32(30000),
    i32(1),
    i64(1),
    i32(1),
    i32(31),
    text('digest'),
    text('u:h='),
    text(''),
    i32(0),
    i64(OPEN_ACL_UNSAFE_INDEX),
    statBytes(ZERO_STAT),
    text('/e'),
    i32(1),
    Buffer.from('x'),
    i64(1),
    statBytes(child),
    text('/'),
    text(signature),
  ]);
}

describe('SNAP transfer', () => {
  test('decodes sessions, the ACL cache and the nodes, and re-encodes byte for byte', () => {
    const bytes = transferBytes();
    const r = new JuteReader(bytes);
    const body = readSnapTransfer(r);
    assert.equal(r.remaining, 0);
    assert.deepEqual(body.sessions, [{ sessionId: 0x100000abcn, timeoutMs: 30000 }]);
    assert.deepEqual(body.acls, [{ index: 1, acl: [{ perms: 31, id: { scheme: 'digest', id: 'u:h=' } }] }]);
    assert.deepEqual(
      body.nodes.map((n) => [n.path, n.data?.toString(), n.aclIndex, n.stat.ephemeralOwner]),
      [
        ['', '', -1, 0n],
        ['/e', 'x', 1, 0x100000abcn],
      ],
    );
    const w = new JuteWriter(64);
    writeSnapTransfer(w, body);
    assert.deepEqual(w.toBuffer(), bytes);
  });

  test('a missing or wrong signature is a CodecError', () => {
    assert.throws(() => readSnapTransfer(new JuteReader(transferBytes('BenWasThere'))), CodecError);
    const noSignature = transferBytes().subarray(0, transferBytes().length - 14);
    assert.throws(() => readSnapTransfer(new JuteReader(noSignature)), CodecError);
    assert.equal(readSnapshotBody(new JuteReader(noSignature)).nodes.length, 2);
  });

  test('bad counts, null strings, null ACL lists and over-long fields are CodecErrors', () => {
    const body = transferBytes();
    const cases = [
      Buffer.concat([i32(-1), body.subarray(4)]),
      Buffer.concat([i32(2 ** 30), body.subarray(4)]),
      Buffer.concat([i32(0), i32(2 ** 30)]),
      Buffer.concat([i32(0), i32(1), i64(1), i32(-1)]), // null ACL vector
      Buffer.concat([i32(0), i32(0), i32(-1)]), // null path
      Buffer.concat([i32(0), i32(0), i32(QUORUM_RECORD_BYTES_MAX + 1)]),
      Buffer.concat([i32(0), i32(0), text('/a'), i32(QUORUM_RECORD_BYTES_MAX + 1)]),
      body.subarray(0, 60),
    ];
    for (const bytes of cases)
      assert.throws(() => readSnapTransfer(new JuteReader(bytes)), CodecError, bytes.subarray(0, 16).toString('hex'));
    assert.throws(() => readSnapshotBody(new JuteReader(Buffer.concat([i32(0), i32(0), text('/a'), i32(9)])), 8), CodecError);
  });

  test('the root is written as "": a node named "/" would end the nodes early', () => {
    const body: SnapshotBody = { sessions: [], acls: [], nodes: [{ path: '/', data: null, aclIndex: -1, stat: ZERO_STAT }] };
    assert.throws(() => writeSnapshotBody(new JuteWriter(8), body), RangeError);
  });

  test('the body of a snapshot file written by storage is a SnapshotBody', () => {
    const tree = new DataTree(false);
    const sessions = new Map([[0x100000abcn, 30000]]);
    const file = encodeSnapshot(tree, sessions);
    const r = new JuteReader(file, LOG_HEADER_BYTES);
    const body = readSnapshotBody(r);
    assert.deepEqual(body.sessions, [{ sessionId: 0x100000abcn, timeoutMs: 30000 }]);
    assert.deepEqual(
      body.nodes.map((n) => n.path),
      ['', '/zookeeper', '/zookeeper/quota', '/zookeeper/config'],
    );
    // what is left is the seal: the Adler32 checksum and "/"
    assert.equal(r.remaining, 8 + 5);
    const w = new JuteWriter(64);
    writeSnapshotBody(w, body);
    assert.deepEqual(w.toBuffer(), file.subarray(LOG_HEADER_BYTES, file.length - 13));
  });
});
