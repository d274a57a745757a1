/**
 * The quorum codec against bytes captured from a real Apache ZooKeeper 3.8.0 ensemble
 * (test/golden/quorum, see its README). Every captured record must decode and re-encode to its
 * own bytes; the decoded records must then say what the capture's other sources say: the zoo.cfg
 * files written, what each member logged about the notifications it received, and the sessions,
 * requests and replies of the clients that drove the ensemble.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { adler32 } from '../../../src/base/index.js';
import {
  ELECTION_PROTOCOL_V1,
  ELECTION_PROTOCOL_V2,
  JuteReader,
  JuteWriter,
  OpCode,
  PacketType,
  ServerState,
  ZAB_PROTOCOL_VERSION,
  decodeLeaderMessage,
  decodeLearnerMessage,
  encodeLeaderMessage,
  encodeLearnerMessage,
  readForwardedRequest,
  readInitialMessage,
  readNotification,
  readQuorumPacket,
  readSnapTransfer,
  writeInitialMessage,
  writeNotification,
  writeQuorumPacket,
  writeSnapTransfer,
  writeSnapshotBody,
  type InitialMessage,
  type LeaderMessage,
  type LearnerMessage,
  type Notification,
  type SnapshotBody,
  type TxnEntry,
} from '../../../src/codec/index.js';
import { parseSnapshot, SNAP_MAGIC } from '../../../src/storage/index.js';
import {
  readManifest,
  readStream,
  splitStream,
  type ConnectionInfo,
  type Direction,
  type MemberInfo,
  type StreamRecord,
} from '../../golden/quorum/fixtures.js';

type Decoded =
  | { kind: 'initialMessage'; value: InitialMessage }
  | { kind: 'notification'; value: Notification }
  | { kind: 'leader'; value: LeaderMessage }
  | { kind: 'learner'; value: LearnerMessage }
  | { kind: 'snapTransfer'; value: SnapshotBody };

interface DecodedStream {
  conn: ConnectionInfo;
  direction: Direction;
  /** The member that wrote these bytes. */
  sender: number;
  records: Decoded[];
}

const manifest = readManifest();
const members = new Map(manifest.members.map((m) => [m.id, m]));
const TWO_32 = 2 ** 32;

/** Decodes a record and checks that encoding the decoded value gives back the very same bytes. */
function decodeRecord(port: ConnectionInfo['port'], direction: Direction, rec: StreamRecord, bytes: Buffer): Decoded {
  const raw = bytes.subarray(rec.start, rec.end);
  const w = new JuteWriter(raw.length);
  let decoded: Decoded;
  switch (rec.kind) {
    case 'initialMessage': {
      const r = new JuteReader(raw);
      decoded = { kind: 'initialMessage', value: readInitialMessage(r) };
      assert.equal(r.remaining, 0);
      writeInitialMessage(w, decoded.value);
      break;
    }
    case 'electionFrame':
      decoded = { kind: 'notification', value: readNotification(raw, 4) };
      w.beginFrame();
      writeNotification(w, decoded.value);
      w.endFrame();
      break;
    case 'quorumPacket': {
      const packet = readQuorumPacket(new JuteReader(raw));
      const fromLeader = (port === 'quorum') === (direction === 'backward');
      if (fromLeader) {
        decoded = { kind: 'leader', value: decodeLeaderMessage(packet) };
        writeQuorumPacket(w, encodeLeaderMessage(decoded.value));
      } else {
        decoded = { kind: 'learner', value: decodeLearnerMessage(packet) };
        writeQuorumPacket(w, encodeLearnerMessage(decoded.value));
      }
      break;
    }
    case 'snapTransfer':
      decoded = { kind: 'snapTransfer', value: readSnapTransfer(new JuteReader(raw)) };
      writeSnapTransfer(w, decoded.value);
      break;
  }
  assert.deepEqual(w.toBuffer(), raw, `${rec.kind} at ${rec.start} re-encodes to its own bytes`);
  return decoded;
}

let decodedStreams: DecodedStream[] | undefined;
function streams(): DecodedStream[] {
  decodedStreams ??= manifest.connections.flatMap((conn) =>
    (['forward', 'backward'] as const).map((direction) => {
      const bytes = readStream(conn, direction);
      const split = splitStream(conn.port, direction, bytes);
      assert.equal(split.complete, direction === 'forward' ? conn.forwardComplete : conn.backwardComplete, `${conn.name} ${direction}`);
      const records = split.records.map((rec) => decodeRecord(conn.port, direction, rec, bytes));
      return { conn, direction, sender: direction === 'forward' ? conn.from : conn.to, records };
    }),
  );
  return decodedStreams;
}

function member(id: number): MemberInfo {
  const m = members.get(id);
  assert.ok(m, `member ${id} in the manifest`);
  return m;
}

/** Member `id`'s quorum config as QuorumMaj.toString prints it, from the zoo.cfg the capture wrote. */
function expectedConfig(id: number): string {
  const self = member(id);
  const lines = manifest.members.map((k) => {
    const role = k.observer ? 'observer' : 'participant';
    if (k.id === id) {
      const own = k.quorumPorts.map((q, i) => `127.0.0.1:${q}:${k.electionPorts[i] ?? '?'}`).join('|');
      return `server.${k.id}=${own}:${role}`;
    }
    const proxy = self.proxyPorts[String(k.id)];
    assert.ok(proxy);
    return `server.${k.id}=127.0.0.1:${proxy.quorum}:${proxy.election}:${role}`;
  });
  return [...lines, 'version=0'].join('\n');
}

/**
 * A multi-address member's line, as a set: QuorumServer.toString takes its quorum and its election
 * addresses from two hash sets, sorts each by host alone and pairs them by position, so with all
 * addresses on one host a quorum port can come out beside another address's election port.
 */
function normalizeConfig(config: string): string {
  return config
    .split('\n')
    .map((line) => {
      const m = /^(server\.\d+=)(.*):(participant|observer)$/.exec(line);
      if (m === null) return line;
      const parts = (m[2] ?? '').split('|').map((a) => a.split(':'));
      const column = (i: number): string =>
        parts
          .map((p) => `${p[0] ?? ''}:${p[i] ?? ''}`)
          .sort()
          .join(',');
      return `${m[1] ?? ''}quorum ${column(1)} election ${column(2)} ${m[3] ?? ''}`;
    })
    .join('\n');
}

function leaderMessages(s: DecodedStream): LeaderMessage[] {
  return s.records.flatMap((d) => (d.kind === 'leader' ? [d.value] : []));
}
function learnerMessages(s: DecodedStream): LearnerMessage[] {
  return s.records.flatMap((d) => (d.kind === 'learner' ? [d.value] : []));
}
function quorumStreams(direction: Direction): DecodedStream[] {
  return streams().filter((s) => s.conn.port === 'quorum' && s.direction === direction);
}
function sessionId(name: string): bigint {
  const s = manifest.sessions.find((x) => x.name === name);
  assert.ok(s, `session ${name}`);
  return BigInt(s.sessionId);
}
function sessionName(id: bigint): string {
  const s = manifest.sessions.find((x) => BigInt(x.sessionId) === id);
  assert.ok(s, `session ${id} is one the clients made`);
  return s.name;
}

const WRITE_TYPES = new Set<number>([OpCode.create, OpCode.setData, OpCode.delete, OpCode.multi, OpCode.closeSession]);

describe('quorum golden bytes from ZooKeeper 3.8.0', () => {
  test('were captured from 3.8.0, and hold every record kind the capture set out to get', () => {
    assert.equal(manifest.zookeeper, '3.8.0');
    const kinds = new Set<string>();
    for (const s of streams()) {
      for (const d of s.records) kinds.add(d.kind === 'leader' || d.kind === 'learner' ? `${d.kind}:${d.value.type}` : d.kind);
    }
    const fromLeaders: number[] = [PacketType.leaderInfo, PacketType.diff, PacketType.snap, PacketType.newLeader, PacketType.upToDate];
    fromLeaders.push(PacketType.proposal, PacketType.commit, PacketType.inform, PacketType.ping, PacketType.revalidate, PacketType.sync);
    const fromLearners: number[] = [PacketType.followerInfo, PacketType.observerInfo, PacketType.ackEpoch, PacketType.ack];
    fromLearners.push(PacketType.ping, PacketType.request, PacketType.revalidate);
    const expected = [
      'initialMessage',
      'notification',
      'snapTransfer',
      ...fromLeaders.map((t) => `leader:${t}`),
      ...fromLearners.map((t) => `learner:${t}`),
    ];
    assert.deepEqual(
      expected.filter((k) => !kinds.has(k)),
      [],
    );
  });

  test('every stream splits into whole records that re-encode to their own bytes', () => {
    let records = 0;
    for (const s of streams()) records += s.records.length;
    // the capture holds about 200 records; an empty split would pass the loop above
    assert.ok(records >= 100, `${records} records`);
  });

  test('an election connection opens with the sid and election address(es) of the member that opened it', () => {
    const opened = streams().filter((s) => s.conn.port === 'election' && s.direction === 'forward');
    assert.ok(opened.length > 0);
    for (const s of opened) {
      const first = s.records[0];
      assert.equal(first?.kind, 'initialMessage', s.conn.name);
      const m = member(s.conn.from);
      // a multi-address member's addresses come out of a hash set: compare them sorted
      const sortByPort = (a: { port: number }, b: { port: number }): number => a.port - b.port;
      const addresses = m.electionPorts.map((port) => ({ host: '127.0.0.1', port })).sort(sortByPort);
      assert.ok(first.value.protocolVersion !== null);
      assert.deepEqual(
        { ...first.value, addresses: [...first.value.addresses].sort(sortByPort) },
        { protocolVersion: m.multiAddress ? ELECTION_PROTOCOL_V2 : ELECTION_PROTOCOL_V1, sid: BigInt(m.id), addresses },
        s.conn.name,
      );
      assert.ok(s.records.slice(1).every((d) => d.kind === 'notification'));
    }
  });

  test("notifications carry their sender's config and decode to what the receiver logged", () => {
    const stateNames = new Map<number, string>(Object.entries(ServerState).map(([k, v]) => [v, k.toUpperCase()]));
    const received = new Map<string, object[]>();
    for (const s of streams().filter((x) => x.conn.port === 'election')) {
      const receiver = s.direction === 'forward' ? s.conn.to : s.conn.from;
      for (const d of s.records) {
        if (d.kind !== 'notification') continue;
        const n = d.value;
        assert.equal(normalizeConfig(n.config ?? ''), normalizeConfig(expectedConfig(s.sender)), `config sent by ${s.sender}`);
        const configVersion = parseInt(/\nversion=(\w+)$/.exec(n.config ?? '')?.[1] ?? 'NaN', 16);
        const { state, leader, electionEpoch, peerEpoch, zxid, version } = n;
        const key = `${receiver}<-${s.sender}`;
        const list = received.get(key) ?? [];
        list.push({ state: stateNames.get(state), leader: leader.toString(), electionEpoch, peerEpoch, zxid, version, configVersion });
        received.set(key, list);
      }
    }
    // ZooKeeper logs notifications from voters only: the observer's are checked for their config alone
    const logged = new Map<string, object[]>();
    for (const n of manifest.notifications) {
      if (n.sender === n.receiver) continue; // a member's own vote never goes on the wire
      const { receiver, sender, ...fields } = n;
      const list = logged.get(`${receiver}<-${sender}`) ?? [];
      list.push(fields);
      logged.set(`${receiver}<-${sender}`, list);
    }
    assert.ok(logged.size > 0);
    for (const [key, list] of logged) assert.deepEqual(received.get(key), list, key);
    const observerVotes = [...received.entries()].filter(([key]) => key.endsWith(`<-${manifest.members.find((m) => m.observer)?.id ?? 0}`));
    assert.ok(observerVotes.length > 0, "the observer's notifications were captured");
  });

  test("a learner registers: INFO with its sid, LEADERINFO, ACKEPOCH, then DIFF or SNAP, NEWLEADER with the leader's config, UPTODATE", () => {
    const pairs = quorumStreams('forward').map((f) => {
      const b = quorumStreams('backward').find((x) => x.conn === f.conn);
      assert.ok(b);
      return { learner: learnerMessages(f), leader: leaderMessages(b), conn: f.conn };
    });
    assert.ok(pairs.length >= 3);
    for (const { learner, leader, conn } of pairs) {
      const [info, ackEpoch] = learner;
      const [leaderInfo, sync] = leader;
      assert.ok(info?.type === PacketType.followerInfo || info?.type === PacketType.observerInfo, conn.name);
      assert.equal(info.type, member(conn.from).observer ? PacketType.observerInfo : PacketType.followerInfo);
      assert.deepEqual(info.info, { serverId: BigInt(conn.from), protocolVersion: ZAB_PROTOCOL_VERSION, configVersion: 0 });
      assert.ok(leaderInfo?.type === PacketType.leaderInfo);
      assert.equal(leaderInfo.protocolVersion, ZAB_PROTOCOL_VERSION);
      // every zxid the clients saw is of the first epoch: the one this leader announces
      assert.equal(leaderInfo.zxid, 1 * TWO_32);
      assert.ok(ackEpoch?.type === PacketType.ackEpoch);
      // a learner that had already accepted the epoch says so with -1 (Learner.registerWithLeader)
      const acceptedAlready = Math.floor(info.zxid / TWO_32) === leaderInfo.zxid / TWO_32;
      assert.equal(ackEpoch.currentEpoch, acceptedAlready ? -1 : 0, conn.name);
      assert.ok(sync?.type === PacketType.diff || sync?.type === PacketType.snap, conn.name);
      const newLeader = leader.find((m) => m.type === PacketType.newLeader);
      assert.ok(newLeader?.type === PacketType.newLeader);
      assert.equal(newLeader.zxid, leaderInfo.zxid);
      assert.equal(newLeader.config, expectedConfig(conn.to));
      const upToDate = leader.find((m) => m.type === PacketType.upToDate);
      assert.equal(upToDate?.zxid, -1);
      // the learner ACKs NEWLEADER and UPTODATE with the new epoch's first zxid
      assert.equal(learner.filter((m) => m.type === PacketType.ack && m.zxid === leaderInfo.zxid).length, 2, conn.name);
    }
  });

  test("a REQUEST forwards the client's request as it was sent, with the session's auth ids", () => {
    const digest = createHash('sha1').update('golden:secret').digest('base64');
    const requests = quorumStreams('forward').flatMap((s) =>
      learnerMessages(s).flatMap((m) => (m.type === PacketType.request ? [{ m, via: s.conn.from }] : [])),
    );
    const expected = manifest.ops.filter((op) => members.get(op.via) !== undefined && op.via !== leaderId());
    assert.ok(expected.length > 0);
    for (const op of expected) {
      const found = requests.find(
        ({ m }) => m.sessionId === sessionId(op.session) && m.cxid === op.cxid && m.requestType === op.requestType,
      );
      assert.ok(found, `REQUEST for ${op.session} cxid ${op.cxid}`);
      assert.equal(found.via, op.via);
      assert.equal(found.m.zxid, -1);
      assert.equal(found.m.body.toString('hex'), op.body);
      assert.deepEqual(found.m.authinfo, [
        { scheme: 'digest', id: `golden:${digest}` },
        { scheme: 'ip', id: '127.0.0.1' },
      ]);
    }
    // the follower a session was created at forwards its createSession, with the timeout as its body
    const created = requests.filter(({ m }) => m.requestType === OpCode.createSession);
    assert.deepEqual(
      created.map(({ m }) => [sessionName(m.sessionId), m.cxid, readForwardedRequest(m.requestType, m.body)]),
      [['A', 0, { op: OpCode.createSession, timeOutMs: 30000 }]],
    );
    assert.equal(requests.length, expected.length + created.length, 'no REQUEST the clients did not cause');
  });

  test('PROPOSALs and INFORMs carry each write as its txn, with a digest; each is committed, and followers ACK them', () => {
    const entries = new Map<number, TxnEntry>();
    for (const s of quorumStreams('backward')) {
      const msgs = leaderMessages(s);
      for (const [i, m] of msgs.entries()) {
        if (m.type !== PacketType.proposal && m.type !== PacketType.inform) continue;
        assert.equal(m.entry.header.zxid, m.zxid);
        assert.equal(m.entry.digest?.version, 2);
        entries.set(m.zxid, m.entry);
        if (m.type === PacketType.proposal) {
          assert.ok(
            msgs.slice(i + 1).some((c) => c.type === PacketType.commit && c.zxid === m.zxid),
            `COMMIT of ${m.zxid}`,
          );
        }
      }
    }
    for (const op of manifest.ops.filter((o) => WRITE_TYPES.has(o.requestType))) {
      const entry = entries.get(op.zxid);
      assert.ok(entry, `txn of ${op.session} cxid ${op.cxid}`);
      assert.deepEqual(
        { clientId: entry.header.clientId, cxid: entry.header.cxid, type: entry.header.type },
        { clientId: sessionId(op.session), cxid: op.cxid, type: op.requestType },
      );
      checkTxnMatchesRequest(entry, readForwardedRequest(op.requestType, Buffer.from(op.body, 'hex')));
    }
    // a follower ACKs every proposal it gets after it started following
    for (const f of quorumStreams('forward').filter((s) => !member(s.conn.from).observer)) {
      const b = quorumStreams('backward').find((x) => x.conn === f.conn);
      assert.ok(b);
      const acked = new Set(learnerMessages(f).flatMap((m) => (m.type === PacketType.ack ? [m.zxid] : [])));
      for (const m of leaderMessages(b)) if (m.type === PacketType.proposal) assert.ok(acked.has(m.zxid), `ACK of ${m.zxid}`);
    }
  });

  test('a learner answers each PING with its zxid and the sessions it has seen, with their timeouts', () => {
    let touched = 0;
    for (const f of quorumStreams('forward')) {
      const b = quorumStreams('backward').find((x) => x.conn === f.conn);
      assert.ok(b);
      // the leader pings from NEWLEADER on; a learner drops a PING that comes before UPTODATE
      const fromLeader = leaderMessages(b);
      const upToDate = fromLeader.findIndex((m) => m.type === PacketType.upToDate);
      assert.ok(upToDate > 0, f.conn.name);
      const asked = fromLeader.slice(upToDate).flatMap((m) => (m.type === PacketType.ping ? [m.zxid] : []));
      const answers = learnerMessages(f).flatMap((m) => (m.type === PacketType.ping ? [m] : []));
      assert.ok(asked.length > 0, f.conn.name);
      // the last ping may have found the learner stopping
      assert.ok(answers.length === asked.length || answers.length === asked.length - 1, f.conn.name);
      assert.deepEqual(
        answers.map((a) => a.zxid),
        asked.slice(0, answers.length),
      );
      for (const t of answers.flatMap((a) => a.touches)) {
        const s = manifest.sessions.find((x) => BigInt(x.sessionId) === t.sessionId);
        assert.equal(t.timeoutMs, s?.timeoutMs);
        touched++;
      }
    }
    assert.ok(touched > 0);
  });

  test('REVALIDATE: a session re-attached at a follower is checked with the leader; SYNC answers a forwarded sync', () => {
    const asks = quorumStreams('forward').flatMap((s) => learnerMessages(s).filter((m) => m.type === PacketType.revalidate));
    const verdicts = quorumStreams('backward').flatMap((s) => leaderMessages(s).filter((m) => m.type === PacketType.revalidate));
    assert.deepEqual(asks, [{ type: PacketType.revalidate, zxid: -1, sessionId: sessionId('A'), timeoutMs: 30000 }]);
    assert.deepEqual(verdicts, [{ type: PacketType.revalidate, zxid: -1, sessionId: sessionId('A'), valid: true }]);
    const syncs = quorumStreams('backward').flatMap((s) => leaderMessages(s).filter((m) => m.type === PacketType.sync));
    assert.deepEqual(syncs, [{ type: PacketType.sync, zxid: 0 }]);
  });

  test("the SNAP transfer holds the sessions and znodes the clients made, and is a snapshot file's body", () => {
    const snaps = quorumStreams('backward').flatMap((s) => {
      const snapAt = s.records.findIndex((d) => d.kind === 'leader' && d.value.type === PacketType.snap);
      const packet = s.records[snapAt];
      const body = s.records[snapAt + 1];
      return packet?.kind === 'leader' && body?.kind === 'snapTransfer' ? [{ zxid: packet.value.zxid, body: body.value }] : [];
    });
    const withData = snaps.find((s) => s.body.sessions.length > 0);
    assert.ok(withData, 'a SNAP sent after the clients wrote');
    const lastZxid = Math.max(...withData.body.nodes.flatMap((n) => [n.stat.czxid, n.stat.mzxid, n.stat.pzxid]));
    assert.equal(withData.zxid, lastZxid, 'SNAP names the last zxid its database holds');
    assert.ok(manifest.ops.some((op) => op.zxid === lastZxid && WRITE_TYPES.has(op.requestType)));
    assert.deepEqual(new Set(withData.body.sessions.map((s) => sessionName(s.sessionId))), new Set(['A', 'B']));
    const node = (p: string) => withData.body.nodes.find((n) => n.path === p);
    assert.equal(node('/golden/a')?.data?.toString(), 'beta');
    assert.equal(node('/golden/e')?.stat.ephemeralOwner, sessionId('A'));
    const aclOfA = withData.body.acls.find((l) => l.index === node('/golden/a')?.aclIndex)?.acl;
    assert.equal(aclOfA?.[0]?.id.scheme, 'digest');
    assert.equal(node('')?.stat.czxid, 0);

    // wrapped in a snapshot file's header and seal, the transfer is what storage reads as a snapshot
    const w = new JuteWriter(1024);
    w.writeInt(SNAP_MAGIC).writeInt(2).writeLong(-1);
    writeSnapshotBody(w, withData.body);
    const file = w.toBuffer();
    const seal = new JuteWriter(16).writeLong(adler32(file)).writeString('/');
    const { tree, sessions } = parseSnapshot(Buffer.concat([file, seal.toBuffer()]), true);
    assert.equal(tree.get('/golden/b')?.dataLatin1, 'from the leader');
    assert.equal(sessions.get(sessionId('B')), 30000);
  });
});

function leaderId(): number {
  const info = quorumStreams('forward')[0];
  assert.ok(info);
  return info.conn.to;
}

/** The txn a leader made of a client request names the same path(s) and data. */
function checkTxnMatchesRequest(entry: TxnEntry, request: ReturnType<typeof readForwardedRequest>): void {
  const txn = entry.txn;
  if (request.op === OpCode.multi) {
    assert.ok(txn.type === OpCode.multi);
    assert.deepEqual(
      txn.txns.map((t) => ('path' in t ? t.path : null)),
      request.ops.map((o) => ('path' in o ? o.path : null)),
    );
    return;
  }
  if (request.op === OpCode.closeSession) {
    assert.equal(txn.type, OpCode.closeSession);
    return;
  }
  assert.ok('path' in txn && 'path' in request);
  assert.equal(txn.path, request.path);
  if ('data' in request) assert.deepEqual('data' in txn ? txn.data : undefined, request.data);
}
