/**
 * Power-loss simulation (DESIGN: with the file-system layer injected, a simulated power cut
 * drops everything not yet fsynced and may tear the last write; at least 500 seeded runs per
 * CI run; recovery must hold the same invariants; a failing seed is printed).
 *
 * One run (one seed): a fresh SimFs; then 1-3 epochs of
 *   boot (recover + DurableStore + ZkServer, as StandaloneServer.start does, including its
 *   clean snapshot) -> check invariants -> sequential creates on the recovered tree ->
 *   a random mix of writes from 2-3 sessions, interleaved with file-system steps ->
 *   power cut at a random moment (sometimes during boot itself)
 * and a final boot + check. The invariants checked after every boot:
 *  - recovery does not throw (a power cut only loses or tears unsynced data);
 *  - lastProcessedZxid >= every acknowledged zxid, and >= the previous boot's;
 *  - the recovered tree is exactly the prefix of the txn history up to lastProcessedZxid
 *    (a reference DataTree fed the same txns), so no txn is lost from the middle and no multi
 *    is half-applied; the recovered sessions hold every session alive at that zxid;
 *  - client view: for each path whose latest write was acknowledged, the recovered node has
 *    that write's result (data, existence, ephemeral owner); paths nobody touched keep their
 *    recovered-at-boot state;
 *  - each multi (a new parent plus children) is all there or not at all (all if acknowledged);
 *  - sequential suffixes: a suffix acknowledged once is never handed out again, and creates
 *    after recovery get suffixes above every acknowledged or recovered one;
 *  - no snapshot that recovery can see is invalid (they are published by fsync + rename).
 * The op mix: creates (persistent, ephemeral, sequential), setData (small, empty, null, up to
 * ~5 KB), deletes, multis (sometimes failing as a whole), failing ops, closeSession, a
 * background purge (autopurge), and expiry of the sessions restored at boot.
 *
 * A second test arms one fault (the n-th write or fsync fails with ENOSPC) for one epoch:
 * a failure in the txn log must be fatal (onFatal once, no more log I/O), one in a snapshot
 * must not; after a power cut and reboot the same invariants hold.
 *
 * SIM_RUNS=n (default 500; the fault test runs n/5) runs seeds 1..n; SIM_SEED=n runs only
 * seed n (in both tests) and prints its log; SIM_KEEP_GOING=1 reports up to 5 failing seeds.
 * A failing run prints SEED=<n>, its op list, the last file-system steps and the disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { SeededRandom } from '../../src/base/index.js';
import {
  ErrorCode,
  JuteReader,
  JuteWriter,
  OpCode,
  readConnectResponse,
  readReplyHeader,
  writeConnectRequest,
  writeRequest,
  type Request,
  type Txn,
  type TxnHeader,
} from '../../src/codec/index.js';
import { DataTree, type TreeChange } from '../../src/tree/index.js';
import { DurableStore, purge, recover, writeSnapshot, type SlicePacer, type StorageError } from '../../src/storage/index.js';
import { ZkServer, type ServerSettings, type TxnSink } from '../../src/server/zk-server.js';
import { silentLogger, type ClientConnection, type Now, type Outbox } from '../../src/server/types.js';
import { takeFrames } from '../support/outbox.js';
import { decodeReplyBody, OPEN_ACL_UNSAFE } from '../support/raw-client.js';
import { SimFs, SimScheduler, settle, type PowerCutStats, type SimFaults } from './sim-fs.js';

const RUNS = Number(process.env.SIM_RUNS ?? 500);
const FAULT_RUNS = Math.max(1, Math.floor(RUNS / 5));
const ONLY_SEED = process.env.SIM_SEED === undefined ? undefined : Number(process.env.SIM_SEED);
const MAX_ENTRY_BYTES = 0xfffff + 1024 * 1024;
const EXTENDED_TYPES = true;

const SETTINGS: ServerSettings = {
  tickTimeMs: 2000,
  minSessionTimeoutMs: 4000,
  maxSessionTimeoutMs: 40000,
  extendedTypesEnabled: EXTENDED_TYPES,
  skipAcl: false,
  enforceQuota: false,
  superDigest: undefined,
  containerMaxPerMinute: 10000,
  containerMaxNeverUsedIntervalMs: 0,
  containerCheckIntervalMs: 60000,
  sessionServerId: 1,
  globalOutstandingLimit: 1000,
};
const sha1 = (text: string): string => createHash('sha1').update(text).digest('base64');

class RunFailure extends Error {}

function fail(message: string): never {
  throw new RunFailure(message);
}

// ---------------------------------------------------------------- client side

type OpKind = 'create' | 'seq' | 'set' | 'del' | 'multi' | 'bad' | 'close' | 'expire' | 'read';

interface IssuedOp {
  seq: number;
  epoch: number;
  client: number;
  session: bigint;
  kind: OpKind;
  desc: string;
  xid: number;
  op: number;
  acked: boolean;
  err: number;
  zxid: number;
  /** create / seq: the path the reply names. */
  path?: string;
  /** multi: the nodes it creates, and whether it succeeded. */
  multiPaths?: string[];
  multiOk?: boolean;
}

class SimClient implements ClientConnection {
  readonly remoteAddress = '10.0.0.7';
  readonly remotePort: number;
  sessionId: bigint | null = null;
  /** The server closed the connection. */
  closed = false;
  /** We sent closeSession: no more requests. */
  closing = false;
  nextXid = 1;
  readonly pending: IssuedOp[] = [];

  constructor(
    readonly id: number,
    private readonly onSend: (c: SimClient, frame: Buffer) => void,
  ) {
    this.remotePort = 30000 + id;
  }

  get usable(): boolean {
    return this.sessionId !== null && !this.closed && !this.closing;
  }

  outbox: Outbox | null = null;

  outputReady(): void {
    if (this.outbox === null) return;
    for (const frame of takeFrames(this.outbox)) this.onSend(this, frame);
    if (this.outbox.closeReason !== null) this.closed = true;
  }
}

function requestFrame(xid: number, req: Request): Buffer {
  const w = new JuteWriter(128);
  w.writeInt(xid).writeInt(req.op);
  writeRequest(w, req);
  return Buffer.from(w.toBuffer());
}

function connectFrame(): Buffer {
  const w = new JuteWriter(64);
  writeConnectRequest(w, { protocolVersion: 0, lastZxidSeen: 0, timeOut: 30000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false });
  return Buffer.from(w.toBuffer());
}

function seqSuffix(path: string): number {
  return Number(path.slice(-10));
}

// ---------------------------------------------------------------- the client-level model

type PathState = { kind: 'unknown' } | { kind: 'absent' } | { kind: 'exists'; data: Buffer | null; owner: bigint | undefined };

interface PathOp {
  op: IssuedOp;
  effect: 'create' | 'set' | 'del' | 'close';
  data?: Buffer | null;
  ephemeral?: boolean;
}

function sameData(a: Buffer | null, b: Buffer | null): boolean {
  if (a === null || b === null) return a === b;
  return a.equals(b);
}

function showData(d: Buffer | null): string {
  if (d === null) return 'null';
  return d.length > 12 ? `<${d.length} bytes ${d.subarray(0, 6).toString('hex')}..>` : `<${d.toString('hex')}>`;
}

function showState(s: PathState): string {
  if (s.kind !== 'exists') return s.kind;
  return `exists ${showData(s.data)} owner=${s.owner === undefined ? '?' : `0x${s.owner.toString(16)}`}`;
}

function next(state: PathState, p: PathOp): PathState {
  const { op } = p;
  if (p.effect === 'close') {
    const keep = state.kind === 'absent' || (state.kind === 'exists' && state.owner !== undefined && state.owner !== op.session);
    if (keep) return state;
    if (!op.acked) return { kind: 'unknown' };
    if (state.kind === 'exists' && state.owner === op.session) return { kind: 'absent' };
    return { kind: 'unknown' };
  }
  if (!op.acked) return { kind: 'unknown' };
  if (op.err !== 0) return state;
  switch (p.effect) {
    case 'create':
      return { kind: 'exists', data: p.data ?? null, owner: p.ephemeral === true ? op.session : 0n };
    case 'set':
      return { kind: 'exists', data: p.data ?? null, owner: state.kind === 'exists' ? state.owner : undefined };
    case 'del':
      return { kind: 'absent' };
  }
}

// ---------------------------------------------------------------- one run

interface Server {
  core: ZkServer;
  store: DurableStore;
  sessions: Map<bigint, number>;
  /** The snapshot recovery loaded. */
  snapshotName: string;
  fatal: StorageError[];
  warnings: string[];
}

interface RunStats {
  epochs: number;
  cuts: number;
  bootCuts: number;
  acked: number;
  issued: number;
  tornTails: number;
  cut: PowerCutStats;
  fatal: number;
  faultsHit: number;
  /** Snapshots written in the background, and those of them during whose walk txns applied. */
  snapshots: number;
  fuzzySnapshots: number;
  /** Boots that loaded a fuzzy snapshot and replayed the log over it. */
  fuzzyRecoveries: number;
}

class Run {
  readonly rng: SeededRandom;
  readonly lines: string[] = [];
  fs: SimFs;
  now = 1_700_000_000_000;
  /** The simulated time, as the server's inputs carry it. */
  time(): Now {
    return { wallMs: this.now, monoMs: this.now };
  }
  readonly snapDir = '/zk/data/version-2';
  readonly logDir: string;
  readonly snapCount: number;
  readonly compression: '' | 'gz';
  readonly preAllocBytes: number;
  readonly ops: IssuedOp[] = [];
  /** Every txn prepared, in zxid order; cut back to the recovered zxid after each recovery. */
  history: Array<{ header: TxnHeader; txn: Txn }> = [];
  /** The reference: the history applied to a plain DataTree, plus recovery's dead-session cleanup. */
  readonly ref = new DataTree(EXTENDED_TYPES);
  /** Every session id a createSession txn was prepared for. */
  readonly preparedSessions = new Set<bigint>();
  maxAckedZxid = 0;
  lastBootZxid = 0;
  /** Sequential suffixes acknowledged so far, per parent. */
  readonly ackedSuffixes = new Map<string, Set<number>>();
  readonly multis: IssuedOp[] = [];
  epoch = 0;
  /** The tree at the last boot (path -> data, owner) and the writes issued since, per path. */
  baseline = new Map<string, { data: Buffer | null; owner: bigint }>();
  pathOps = new Map<string, PathOp[]>();
  server: Server | null = null;
  clients: SimClient[] = [];
  nextConnId = 1;
  multiCounter = 0;
  purging = false;
  readonly stats: RunStats = {
    epochs: 0,
    cuts: 0,
    bootCuts: 0,
    acked: 0,
    issued: 0,
    tornTails: 0,
    cut: { unsyncedOpsKept: 0, unsyncedOpsLost: 0, tornWrites: 0, garbageWrites: 0, dirOpsKept: 0, dirOpsLost: 0 },
    fatal: 0,
    faultsHit: 0,
    snapshots: 0,
    fuzzySnapshots: 0,
    fuzzyRecoveries: 0,
  };
  /** Snapshots written while txns applied (their walk ended past their zxid). */
  readonly fuzzySnapshotNames = new Set<string>();

  constructor(
    readonly seed: number,
    faults: SimFaults = {},
  ) {
    this.rng = new SeededRandom(seed * 7919 + 17);
    // Half the runs on a disk without O_DSYNC: the txn log then pipelines write + fsync.
    const syncWrites = this.rng.chance(0.5);
    this.fs = new SimFs(new SimScheduler(this.rng), faults, syncWrites);
    this.logDir = this.rng.chance(0.5) ? this.snapDir : '/zk/log/version-2';
    this.snapCount = 5 + this.rng.int(11);
    this.compression = this.rng.chance(0.1) ? 'gz' : '';
    // Half the runs grow the log in steps of 4 KiB, so nearly every batch grows it first; the
    // others in 64 KiB steps, so that with synced writes most batches take the txn log's
    // one-callback path. (From the seed, not the generator: each seed keeps the scenario it
    // had before this choice existed.)
    this.preAllocBytes = Math.floor(seed / 2) % 2 === 0 ? 4096 : 64 * 1024;
    this.note(
      `config: snapCount=${this.snapCount} logDir=${this.logDir} compression=${this.compression || 'none'} syncWrites=${syncWrites} preAllocBytes=${this.preAllocBytes}`,
    );
  }

  note(line: string): void {
    this.lines.push(line);
  }

  tick(ms = 1 + this.rng.int(20)): void {
    this.now += ms;
  }

  // -------------------------------------------------------------- boot

  /** StandaloneServer.start over the SimFs: recover, store, core, clean snapshot. */
  private async startServer(): Promise<Server> {
    const fs = this.fs;
    const warnings: string[] = [];
    const fatal: StorageError[] = [];
    const recovered = await recover(fs, {
      snapDir: this.snapDir,
      logDir: this.logDir,
      extendedTypesEnabled: EXTENDED_TYPES,
      maxEntryBytes: MAX_ENTRY_BYTES,
      compression: this.compression,
      warn: (msg, details) => warnings.push(`${msg} ${JSON.stringify(details)}`),
    });
    const store = new DurableStore(fs, {
      snapDir: this.snapDir,
      logDir: this.logDir,
      snapCount: this.snapCount,
      preAllocBytes: this.preAllocBytes,
      forceSync: true,
      compression: this.compression,
      random: (n) => this.rng.int(n),
      pacer: () => this.slicePacer(fs),
      onFatal: (e) => fatal.push(e),
      info: (msg, details) => this.onStoreInfo(msg, details),
      lastZxid: recovered.tree.lastProcessedZxid,
      maxEntryBytes: MAX_ENTRY_BYTES,
    });
    const sink: TxnSink = {
      append: (prepared, done) => {
        this.history.push({ header: prepared.header, txn: prepared.txn });
        if (prepared.txn.type === OpCode.createSession) this.preparedSessions.add(prepared.header.clientId);
        store.append(prepared, done);
      },
      applied: (zxid) => store.applied(zxid),
    };
    const clock = { wallMs: () => this.now, monoMs: () => this.now };
    const core = new ZkServer(SETTINGS, clock, sha1, silentLogger, sink, recovered.tree, recovered.sessions);
    store.attach(core.tree, () => core.sessionTimeouts());
    store.log.roll();
    await writeSnapshot(fs, this.snapDir, core.tree, core.sessionTimeouts(), this.compression);
    return { core, store, sessions: recovered.sessions, snapshotName: recovered.snapshotName, fatal, warnings };
  }

  /**
   * A background snapshot's slices end at random nodes (each node ends one with chance 1/k)
   * and each slice is a scheduler step, so txns apply between them: the snapshot is fuzzy, and
   * the power may be cut in the middle of it.
   */
  private slicePacer(fs: SimFs): SlicePacer {
    const k = 1 + this.rng.int(6);
    return {
      nextSlice: () => fs.sched.submit('snapshot slice', () => undefined),
      sliceDone: () => this.rng.int(k) === 0,
      endSlice: () => undefined,
    };
  }

  private onStoreInfo(msg: string, details: object): void {
    if (msg !== 'snapshot written') return;
    const d = details as { file: string; zxid: number; walkEndZxid: number };
    this.stats.snapshots++;
    const fuzzy = d.walkEndZxid > d.zxid;
    if (fuzzy) {
      this.stats.fuzzySnapshots++;
      this.fuzzySnapshotNames.add(d.file);
    } else {
      // a zxid a power cut took back may name a later snapshot again
      this.fuzzySnapshotNames.delete(d.file);
    }
    this.note(`snapshot written: ${d.file}${fuzzy ? ` (fuzzy: txns up to 0x${d.walkEndZxid.toString(16)} applied during its walk)` : ''}`);
  }

  /**
   * Steps the scheduler until `p` settles, or until `budget` steps ran (then null: the power
   * is cut there). Rejections come back as thrown errors.
   */
  private async drive<T>(p: Promise<T>, budget: number): Promise<T | null> {
    const state: { outcome: { ok: true; value: T } | { ok: false; error: unknown } | null } = { outcome: null };
    p.then(
      (value) => {
        state.outcome = { ok: true, value };
      },
      (error: unknown) => {
        state.outcome = { ok: false, error };
      },
    );
    await settle();
    for (let steps = 0; state.outcome === null; steps++) {
      if (steps >= budget) return null;
      if (!this.fs.sched.step()) fail(`stalled: nothing to run while waiting (after ${steps} steps)`);
      await settle();
    }
    const o = state.outcome;
    if (!o.ok) throw o.error;
    return o.value;
  }

  /** Boots; null if the power is cut during boot (after `cutAfter` steps). */
  async boot(cutAfter = Infinity): Promise<Server | null> {
    this.tick(60_000);
    let server: Server | null;
    try {
      server = await this.drive(this.startServer(), cutAfter);
    } catch (e) {
      fail(`boot (recovery) threw: ${(e as Error).stack ?? String(e)}`);
    }
    if (server === null) {
      this.note(`boot cut after ${cutAfter} steps`);
      return null;
    }
    for (const w of server.warnings) {
      this.note(`recovery: ${w}`);
      if (w.startsWith('truncating a torn') || w.startsWith('removing a txn log')) this.stats.tornTails++;
      // Snapshots are published by fsync + rename + directory fsync: one that can be seen must be whole.
      if (w.startsWith('skipping invalid snapshot')) fail(`recovery met an invalid snapshot: ${w}`);
    }
    if (this.fuzzySnapshotNames.has(server.snapshotName)) {
      this.stats.fuzzyRecoveries++;
      this.note(`recovered from the fuzzy snapshot ${server.snapshotName}`);
    }
    this.server = server;
    return server;
  }

  // -------------------------------------------------------------- invariants

  checkRecovered(server: Server): void {
    const tree = server.core.tree;
    const z = tree.lastProcessedZxid;
    this.note(`recovered: zxid ${z} (${tree.size} nodes, ${server.sessions.size} sessions); acked up to ${this.maxAckedZxid}`);
    if (z < this.maxAckedZxid) fail(`recovered lastProcessedZxid ${z} < acknowledged zxid ${this.maxAckedZxid}`);
    if (z < this.lastBootZxid) fail(`recovered lastProcessedZxid ${z} < the previous boot's ${this.lastBootZxid}`);
    const lastPrepared = this.history.at(-1)?.header.zxid ?? 0;
    if (z > Math.max(lastPrepared, this.lastBootZxid)) fail(`recovered zxid ${z} was never prepared (last ${lastPrepared})`);

    // The reference: the history up to z, then recovery's cleanup of dead sessions' ephemerals.
    const changes: TreeChange[] = [];
    for (const { header, txn } of this.history) {
      if (header.zxid <= this.ref.lastProcessedZxid) continue;
      if (header.zxid > z) break;
      this.ref.applyTxn(header, txn, changes);
      changes.length = 0;
    }
    const alive = this.aliveSessions(z);
    for (const owner of [...this.ref.ephemerals.keys()]) {
      if (alive.has(owner)) continue;
      this.ref.applyTxn(
        { clientId: owner, cxid: 0, zxid: z, time: 0, type: OpCode.closeSession },
        { type: OpCode.closeSession, paths2Delete: null },
        changes,
      );
      changes.length = 0;
    }
    this.history = this.history.filter((h) => h.header.zxid <= z);
    compareTrees(tree, this.ref);
    for (const s of alive) {
      if (!server.sessions.has(s)) fail(`session 0x${s.toString(16)} is alive at zxid ${z} but was not recovered`);
    }
    for (const s of server.sessions.keys()) {
      if (!this.preparedSessions.has(s)) fail(`recovered session 0x${s.toString(16)} was never created`);
    }

    // The client view.
    for (const [path, ops] of this.pathOps) {
      let state: PathState = this.baselineState(path);
      for (const p of ops) state = next(state, p);
      if (state.kind === 'unknown') continue;
      const node = tree.get(path);
      const why = (): string =>
        `${path}: expected ${showState(state)} (writes: ${ops.map((p) => `#${p.op.seq}`).join(' ')}), recovered ${node === undefined ? 'absent' : `exists ${showData(node.data())} owner=0x${node.ephemeralOwner.toString(16)}`}`;
      if (state.kind === 'absent') {
        if (node !== undefined) fail(`acknowledged state lost: ${why()}`);
        continue;
      }
      if (node === undefined || !sameData(node.data(), state.data)) fail(`acknowledged state lost: ${why()}`);
      if (state.owner !== undefined && node.ephemeralOwner !== state.owner) fail(`wrong owner: ${why()}`);
    }
    for (const [path, was] of this.baseline) {
      if (this.pathOps.has(path)) continue;
      const node = tree.get(path);
      if (node === undefined || !sameData(node.data(), was.data) || node.ephemeralOwner !== was.owner) {
        fail(
          `${path} was recovered at the last boot and nobody wrote it since, but it changed: ${node === undefined ? 'absent' : showData(node.data())}`,
        );
      }
    }

    // Multis: all or nothing; all if acknowledged.
    for (const m of this.multis) {
      const paths = m.multiPaths ?? [];
      const present = paths.filter((p) => tree.get(p) !== undefined).length;
      if (present !== 0 && present !== paths.length) fail(`multi #${m.seq} half-applied: ${present}/${paths.length} of ${paths.join(' ')}`);
      if (m.acked && m.multiOk === true && present === 0) fail(`acknowledged multi #${m.seq} lost`);
      if (m.acked && m.multiOk === false && present !== 0) fail(`failed multi #${m.seq} applied`);
    }

    // Sequential suffixes: none acknowledged may be handed out again.
    for (const [parent, suffixes] of this.ackedSuffixes) {
      const node = tree.get(parent);
      if (node === undefined) continue;
      const max = Math.max(...suffixes);
      if (node.cversion <= max) fail(`${parent}: next sequential suffix ${node.cversion} <= acknowledged ${max}`);
    }
    this.lastBootZxid = z;

    // The new baseline: what was recovered is durable now.
    this.baseline = new Map();
    for (const [path, node] of tree.entries()) this.baseline.set(path, { data: node.data(), owner: node.ephemeralOwner });
    this.pathOps = new Map();
  }

  private aliveSessions(z: number): Set<bigint> {
    const alive = new Set<bigint>();
    for (const { header, txn } of this.history) {
      if (header.zxid > z) break;
      if (txn.type === OpCode.createSession) alive.add(header.clientId);
      else if (txn.type === OpCode.closeSession) alive.delete(header.clientId);
    }
    return alive;
  }

  private baselineState(path: string): PathState {
    const b = this.baseline.get(path);
    return b === undefined ? { kind: 'absent' } : { kind: 'exists', data: b.data, owner: b.owner };
  }

  // -------------------------------------------------------------- clients and ops

  private connect(server: Server): SimClient {
    const c = new SimClient(this.nextConnId++, (client, frame) => this.onReply(client, frame));
    this.clients.push(c);
    c.outbox = server.core.connectionOpened(c, this.time());
    server.core.onFrame(c, this.time(), connectFrame());
    this.note(`c${c.id}: connect`);
    return c;
  }

  private onReply(c: SimClient, frame: Buffer): void {
    const body = frame;
    if (c.sessionId === null) {
      const resp = readConnectResponse(new JuteReader(body));
      if (resp.sessionId === 0n) fail(`c${c.id}: session refused`);
      c.sessionId = resp.sessionId;
      this.note(`c${c.id}: session 0x${resp.sessionId.toString(16)}`);
      return;
    }
    const r = new JuteReader(body);
    const h = readReplyHeader(r);
    if (h.xid === -1) return; // a watch event (none are set)
    const op = c.pending.shift();
    if (op === undefined || op.xid !== h.xid) fail(`c${c.id}: reply xid ${h.xid} does not match request ${op?.xid}`);
    op.acked = true;
    op.err = h.err;
    op.zxid = h.zxid;
    this.stats.acked++;
    if (op.kind !== 'read' && h.zxid > this.maxAckedZxid) this.maxAckedZxid = h.zxid;
    if (h.err === 0) {
      const reply = decodeReplyBody(op.op, Buffer.from(body.subarray(r.offset)));
      if (reply.kind === 'path' || reply.kind === 'pathStat') op.path = reply.path;
      if (op.kind === 'multi') op.multiOk = reply.kind === 'multi' && reply.results.every((x) => x.type !== OpCode.error);
    } else if (op.kind === 'multi') {
      op.multiOk = false;
    }
    if (op.kind === 'seq' && h.err === 0 && op.path !== undefined) this.onSeqAck(op, op.path);
  }

  private onSeqAck(op: IssuedOp, path: string): void {
    const parent = path.slice(0, path.lastIndexOf('/'));
    const suffix = seqSuffix(path);
    let set = this.ackedSuffixes.get(parent);
    if (set === undefined) this.ackedSuffixes.set(parent, (set = new Set()));
    if (set.has(suffix)) fail(`sequential suffix ${suffix} under ${parent} handed out twice (#${op.seq}: ${path})`);
    set.add(suffix);
    const req = this.seqReqs.get(op);
    this.addPathOp(path, { op, effect: 'create', data: req?.data ?? null, ephemeral: req?.ephemeral ?? false });
    // A closeSession this session pipelined behind the create was issued before the path was known.
    if (req?.ephemeral === true) {
      for (const o of this.ops) {
        if ((o.kind === 'close' || o.kind === 'expire') && o.session === op.session && o.seq > op.seq)
          this.addPathOp(path, { op: o, effect: 'close' });
      }
    }
  }

  private readonly seqReqs = new Map<IssuedOp, { data: Buffer | null; ephemeral: boolean }>();

  private addPathOp(path: string, p: PathOp): void {
    let list = this.pathOps.get(path);
    if (list === undefined) this.pathOps.set(path, (list = []));
    list.push(p);
    list.sort((a, b) => a.op.seq - b.op.seq);
  }

  private issue(c: SimClient, kind: OpKind, req: Request, desc: string): IssuedOp {
    const server = this.server;
    if (server === null || c.sessionId === null) fail('issue without a server or session');
    const op: IssuedOp = {
      seq: this.ops.length + 1,
      epoch: this.epoch,
      client: c.id,
      session: c.sessionId,
      kind,
      desc,
      xid: c.nextXid++,
      op: req.op,
      acked: false,
      err: 0,
      zxid: 0,
    };
    this.ops.push(op);
    this.stats.issued++;
    c.pending.push(op);
    server.core.onFrame(c, this.time(), requestFrame(op.xid, req));
    return op;
  }

  private randomData(): Buffer | null {
    const r = this.rng.int(100);
    if (r < 5) return null;
    if (r < 10) return Buffer.alloc(0);
    const n = r < 25 ? 300 + this.rng.int(5000) : 1 + this.rng.int(24);
    // Random head, then a seeded pattern: distinct values without a random call per byte.
    const b = Buffer.alloc(n);
    const head = Math.min(n, 24);
    for (let i = 0; i < head; i++) b[i] = this.rng.int(256);
    if (n > head) b.fill(b.subarray(0, head), head);
    return b;
  }

  private create(c: SimClient, path: string, flags: number, kind: OpKind = 'create'): IssuedOp {
    const data = this.randomData();
    const op = this.issue(
      c,
      kind,
      { op: OpCode.create, path, data, acl: OPEN_ACL_UNSAFE, flags },
      `create ${path} flags=${flags} ${showData(data)}`,
    );
    const ephemeral = flags === 1 || flags === 3;
    if (kind === 'seq') this.seqReqs.set(op, { data, ephemeral });
    else this.addPathOp(path, { op, effect: 'create', data, ephemeral });
    return op;
  }

  /** One random client op (or a background purge). */
  private randomOp(c: SimClient): void {
    const server = this.server;
    if (server === null) return;
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const r = this.rng.int(100);
    if (r < 24) {
      this.create(c, `/p/${this.rng.pick(names)}`, this.rng.chance(0.3) ? 1 : 0);
    } else if (r < 38) {
      this.create(c, '/s/q-', this.rng.chance(0.3) ? 3 : 2, 'seq');
    } else if (r < 56) {
      const path = `/p/${this.rng.pick(names)}`;
      const data = this.randomData();
      const version = this.rng.chance(0.1) ? 3 : -1;
      const op = this.issue(c, 'set', { op: OpCode.setData, path, data, version }, `setData ${path} v=${version} ${showData(data)}`);
      this.addPathOp(path, { op, effect: 'set', data });
    } else if (r < 68) {
      const seqPaths = [...(this.ackedSuffixes.get('/s') ?? [])].map((n) => `/s/q-${String(n).padStart(10, '0')}`);
      const path = seqPaths.length > 0 && this.rng.chance(0.4) ? this.rng.pick(seqPaths) : `/p/${this.rng.pick(names)}`;
      const op = this.issue(c, 'del', { op: OpCode.delete, path, version: -1 }, `delete ${path}`);
      this.addPathOp(path, { op, effect: 'del' });
    } else if (r < 78) {
      const parent = `/m${++this.multiCounter}`;
      const paths = [parent];
      const n = 1 + this.rng.int(3);
      for (let i = 0; i < n; i++) paths.push(`${parent}/c${i}`);
      const ops: Request[] = paths.map((path) => ({ op: OpCode.create, path, data: this.randomData(), acl: OPEN_ACL_UNSAFE, flags: 0 }));
      let desc = `multi create ${paths.join(' ')}`;
      const f = this.rng.int(10);
      if (f === 0) {
        ops.push({ op: OpCode.check, path: '/p', version: 12345 });
        desc += ' + check /p v=12345 (fails)';
      } else if (f === 1) {
        ops.push({ op: OpCode.create, path: '/nope/x', data: null, acl: OPEN_ACL_UNSAFE, flags: 0 });
        desc += ' + create /nope/x (fails)';
      }
      const op = this.issue(c, 'multi', { op: OpCode.multi, ops }, desc);
      op.multiPaths = paths;
      this.multis.push(op);
    } else if (r < 86) {
      const f = this.rng.int(3);
      if (f === 0)
        this.issue(c, 'bad', { op: OpCode.create, path: '/nope/x', data: null, acl: OPEN_ACL_UNSAFE, flags: 0 }, 'create /nope/x (NONODE)');
      else if (f === 1) this.issue(c, 'bad', { op: OpCode.setData, path: '/nope', data: null, version: -1 }, 'setData /nope (NONODE)');
      else this.issue(c, 'bad', { op: OpCode.create, path: '/p', data: null, acl: OPEN_ACL_UNSAFE, flags: 0 }, 'create /p (NODEEXISTS)');
    } else if (r < 89) {
      const s = c.sessionId ?? 0n;
      const op = this.issue(c, 'close', { op: OpCode.closeSession }, `closeSession 0x${s.toString(16)}`);
      c.closing = true;
      this.registerClose(s, op);
      this.connect(server);
    } else if (r < 92) {
      if (!this.purging) {
        this.purging = true;
        this.note(`purge (autopurge, retain 3)`);
        purge(this.fs, this.snapDir, this.logDir, 3)
          .catch((e: unknown) => this.note(`purge failed: ${(e as Error).message}`))
          .finally(() => {
            this.purging = false;
          });
      }
    } else if (r < 96) {
      this.create(c, this.rng.chance(0.5) ? '/p' : '/s', 0);
    } else {
      this.issue(c, 'read', { op: OpCode.getData, path: `/p/${this.rng.pick(names)}`, watch: false }, 'getData');
    }
  }

  /** closeSession (asked or by expiry) may delete every ephemeral the session might own. */
  private registerClose(session: bigint, op: IssuedOp): void {
    const paths = new Set<string>();
    for (const [path, b] of this.baseline) if (b.owner === session) paths.add(path);
    for (const [path, list] of this.pathOps)
      if (list.some((p) => p.effect === 'create' && p.ephemeral === true && p.op.session === session)) paths.add(path);
    for (const path of paths) this.addPathOp(path, { op, effect: 'close' });
  }

  /** Expiry of the sessions restored at boot (the clock jumps past their timeouts). */
  private expireRestored(server: Server): IssuedOp[] {
    const restored = [...server.sessions.keys()];
    if (restored.length === 0) return [];
    this.tick(SETTINGS.maxSessionTimeoutMs + 10_000);
    const ops: IssuedOp[] = [];
    for (const s of restored) {
      const op: IssuedOp = {
        seq: this.ops.length + 1,
        epoch: this.epoch,
        client: 0,
        session: s,
        kind: 'expire',
        desc: `expire 0x${s.toString(16)}`,
        xid: 0,
        op: OpCode.closeSession,
        acked: false,
        err: 0,
        zxid: 0,
      };
      this.ops.push(op);
      this.registerClose(s, op);
      ops.push(op);
    }
    server.core.tick(this.time());
    return ops;
  }

  /** After each step: an expiry counts as acknowledged once its closeSession is applied. */
  private noteExpiries(server: Server, expiries: IssuedOp[]): void {
    for (const op of expiries) {
      if (!op.acked && !server.core.sessionTable.has(op.session)) op.acked = true;
    }
  }

  /** Runs until `done()` or nothing is left to run (no power cut). */
  private async runToQuiet(done: () => boolean, expiries: IssuedOp[]): Promise<void> {
    const server = this.server;
    if (server === null) return;
    await settle();
    for (let i = 0; !done(); i++) {
      if (i > 100_000 || !this.fs.sched.step()) fail('stalled waiting for replies');
      await settle();
      this.noteExpiries(server, expiries);
    }
  }

  /** Sequential creates on a freshly recovered tree: never a suffix acknowledged before. */
  private async postBootCreates(server: Server, expiries: IssuedOp[]): Promise<void> {
    const c = this.connect(server);
    await this.runToQuiet(() => c.sessionId !== null, expiries);
    const floor = Math.max(-1, ...(this.ackedSuffixes.get('/s') ?? []));
    const present = (server.core.tree.get('/s')?.childNames() ?? []).map(seqSuffix);
    const presentMax = Math.max(-1, ...present);
    const setup: IssuedOp[] = [];
    if (server.core.tree.get('/p') === undefined) setup.push(this.create(c, '/p', 0));
    if (server.core.tree.get('/s') === undefined) setup.push(this.create(c, '/s', 0));
    const seqs: IssuedOp[] = [];
    const n = 1 + this.rng.int(2);
    for (let i = 0; i < n; i++) seqs.push(this.create(c, '/s/q-', this.rng.chance(0.3) ? 3 : 2, 'seq'));
    await this.runToQuiet(() => [...setup, ...seqs].every((o) => o.acked), expiries);
    for (const o of seqs) {
      if (o.err !== 0 || o.path === undefined) fail(`post-recovery sequential create #${o.seq} failed: err ${o.err}`);
      const s = seqSuffix(o.path);
      if (s <= floor || s <= presentMax)
        fail(`post-recovery sequential create got suffix ${s}; acknowledged before: up to ${floor}, recovered: up to ${presentMax}`);
    }
  }

  // -------------------------------------------------------------- epochs

  /**
   * One epoch: boot (maybe cut), checks, post-recovery creates, then (unless final) random
   * ops until the power cut. With `faults`, they are armed (counted from now) after the
   * post-recovery creates, the epoch runs until nothing is left to do, and the outcome of a
   * fault is checked: a failed txn-log write/sync is fatal, a failed snapshot is not.
   */
  async epochRun(final: boolean, faults?: SimFaults): Promise<void> {
    this.epoch++;
    this.stats.epochs++;
    this.note(`--- epoch ${this.epoch}${final ? ' (final boot)' : ''}`);
    this.clients = [];
    const bootCut = !final && faults === undefined && this.rng.chance(0.1) ? this.rng.int(14) : Infinity;
    const server = await this.boot(bootCut);
    if (server === null) {
      this.stats.bootCuts++;
      this.powerCut();
      return;
    }
    this.checkRecovered(server);
    const expiries = this.epoch > 1 && this.rng.chance(0.5) ? this.expireRestored(server) : [];
    if (expiries.length > 0) this.note(`expiring ${expiries.length} restored session(s)`);
    await this.postBootCreates(server, expiries);
    if (final) return;

    // Random ops interleaved with file-system steps; the power is cut at event `cutAt`.
    for (let i = this.rng.int(2); i < 2; i++) this.connect(server);
    const nOps = 20 + this.rng.int(41);
    // The cut: at a random event; half the time moved on (a little) to a moment when some
    // write or directory change is not yet durable, the interesting case.
    const cutAt = faults === undefined ? this.rng.int(nOps * 3 + 10) : Infinity;
    const waitForUnsynced = this.rng.chance(0.5);
    if (faults !== undefined) {
      const armed: SimFaults = {};
      if (faults.failWriteAt !== undefined) armed.failWriteAt = this.fs.counters.writes + faults.failWriteAt;
      if (faults.failSyncAt !== undefined) armed.failSyncAt = this.fs.counters.syncs + faults.failSyncAt;
      this.fs.faults = armed;
      this.note(`faults armed: ${JSON.stringify(armed)}`);
    }
    let issued = 0;
    let events = 0;
    await settle();
    for (;;) {
      if (events >= cutAt) {
        if (!waitForUnsynced || this.fs.unsyncedCount() > 0 || events > cutAt + 30) break;
      }
      const ready = this.clients.filter((c) => c.usable);
      const canIssue = issued < nOps && ready.length > 0 && server.fatal.length === 0;
      const canStep = this.fs.sched.pending > 0;
      if (!canIssue && !canStep) break;
      if (canIssue && (!canStep || this.rng.chance(0.35))) {
        this.tick();
        this.randomOp(this.rng.pick(ready));
        issued++;
      } else {
        this.fs.sched.step();
      }
      events++;
      await settle();
      this.noteExpiries(server, expiries);
    }
    if (server.fatal.length > 0) {
      this.stats.fatal++;
      this.note(`fatal: ${server.fatal.map((e) => e.message).join('; ')}`);
    }
    if (faults !== undefined) this.checkFault(server);
    this.note(`cut after ${events} events (${issued} ops issued, ${this.fs.sched.pending} fs steps in flight)`);
    this.powerCut();
  }

  /** After a fault: fatal exactly when the txn log's write or sync failed, and then no more log I/O. */
  private checkFault(server: Server): void {
    const hit = this.fs.faultsHit[0];
    this.note(`fault hit: ${hit ?? 'none (the n-th call never came)'}`);
    if (hit === undefined) {
      if (server.fatal.length > 0) fail(`fatal without a fault: ${server.fatal[0]?.message ?? ''}`);
      return;
    }
    this.stats.faultsHit++;
    const onLog = /\/log\.[0-9a-f]+$/.test(hit.split(' ')[1] ?? '');
    if (onLog && server.fatal.length !== 1) fail(`the txn log's ${hit} failed, but onFatal ran ${server.fatal.length} times`);
    if (!onLog && server.fatal.length > 0)
      fail(`${hit} failed (not the txn log) and the store went fatal: ${server.fatal[0]?.message ?? ''}`);
    if (onLog) {
      // The log pipelines two batches, so the next batch's write may already be queued when
      // the fault hits; once the failure is known it must start no more I/O.
      const after = this.fs.ioStartedAfterFault.filter((l) => /\/log\.[0-9a-f]+$/.test(l));
      if (after.length > 0) fail(`the txn log kept writing after its fatal failure: ${after.join(', ')}`);
    }
  }

  powerCut(): void {
    this.fs.sched.abandon();
    const { fs, stats } = this.fs.powerCut(this.rng);
    this.fs = fs;
    this.server = null;
    this.stats.cuts++;
    for (const k of Object.keys(stats) as Array<keyof PowerCutStats>) this.stats.cut[k] += stats[k];
    this.note(`power cut: ${JSON.stringify(stats)}`);
  }

  report(): string {
    const opLines = this.ops.map(
      (o) =>
        `  #${o.seq} e${o.epoch} c${o.client} ${o.desc} -> ${o.acked ? `acked err=${o.err}${o.err === 0 ? '' : `(${errName(o.err)})`} zxid=${o.zxid}${o.path === undefined ? '' : ` ${o.path}`}${o.multiOk === undefined ? '' : ` ok=${o.multiOk}`}` : 'not acked'}`,
    );
    return [
      `SEED=${this.seed} (replay: SIM_SEED=${this.seed} node --test dist/test/sim/power-loss.test.js)`,
      'events:',
      ...this.lines.map((l) => `  ${l}`),
      'ops:',
      ...opLines,
      'last file-system steps:',
      ...this.fs.sched.trace.slice(-40).map((l) => `  ${l}`),
      'disk:',
      this.fs.describe(),
    ].join('\n');
  }
}

function errName(code: number): string {
  for (const [name, value] of Object.entries(ErrorCode)) if (value === code) return name;
  return String(code);
}

/** The recovered tree must equal the reference node for node. */
function compareTrees(actual: DataTree, expected: DataTree): void {
  const fields = ['czxid', 'mzxid', 'ctime', 'mtime', 'version', 'cversion', 'aversion', 'ephemeralOwner', 'pzxid'] as const;
  for (const [path, e] of expected.entries()) {
    const a = actual.get(path);
    if (a === undefined) fail(`recovered tree lacks ${path} (reference has it at zxid ${expected.lastProcessedZxid})`);
    for (const f of fields) if (a[f] !== e[f]) fail(`${path}: ${f} is ${String(a[f])}, reference ${String(e[f])}`);
    if (!sameData(a.data(), e.data())) fail(`${path}: data ${showData(a.data())}, reference ${showData(e.data())}`);
    assert.deepEqual(a.childNames().sort(), e.childNames().sort(), `${path}: children`);
    assert.deepEqual(a.acl, e.acl, `${path}: acl`);
  }
  for (const path of actual.paths()) {
    if (expected.get(path) === undefined)
      fail(`recovered tree has ${path}, which the reference (history up to zxid ${expected.lastProcessedZxid}) does not`);
  }
}

async function runSeed(seed: number): Promise<RunStats> {
  const run = new Run(seed);
  try {
    const epochs = 1 + run.rng.int(3);
    for (let i = 0; i < epochs; i++) await run.epochRun(false);
    await run.epochRun(true);
    if (ONLY_SEED !== undefined) console.log(run.report());
    return run.stats;
  } catch (e) {
    const msg = e instanceof RunFailure || e instanceof assert.AssertionError ? e.message : ((e as Error).stack ?? String(e));
    console.error(`\n${msg}\n${run.report()}\n`);
    throw new Error(`power-loss simulation failed: SEED=${seed}: ${msg}`);
  }
}

async function runFaultSeed(seed: number): Promise<RunStats> {
  const run = new Run(1_000_000 + seed);
  try {
    const n = 1 + run.rng.int(20);
    const faults: SimFaults = run.rng.chance(0.5) ? { failWriteAt: n } : { failSyncAt: n };
    await run.epochRun(false, faults);
    await run.epochRun(true);
    if (ONLY_SEED !== undefined) console.log(run.report());
    return run.stats;
  } catch (e) {
    const msg = e instanceof RunFailure || e instanceof assert.AssertionError ? e.message : ((e as Error).stack ?? String(e));
    console.error(`\n${msg}\n${run.report()}\n`);
    throw new Error(`disk-fault simulation failed: SEED=${seed}: ${msg}`);
  }
}

test(`disk faults: ${ONLY_SEED === undefined ? `${FAULT_RUNS} seeded runs` : `seed ${ONLY_SEED}`}: ENOSPC on the txn log is fatal, on a snapshot is not; nothing acknowledged is lost`, async (t) => {
  const seeds = ONLY_SEED === undefined ? Array.from({ length: FAULT_RUNS }, (_, i) => i + 1) : [ONLY_SEED];
  let fatal = 0;
  let hit = 0;
  for (const seed of seeds) {
    const s = await runFaultSeed(seed);
    fatal += s.fatal;
    hit += s.faultsHit;
  }
  t.diagnostic(`${seeds.length} runs: ${hit} faults hit, ${fatal} fatal (txn log), ${hit - fatal} on snapshots`);
  if (ONLY_SEED === undefined) {
    assert.ok(fatal > 0, 'some runs should fail a txn-log write or sync');
    assert.ok(hit - fatal > 0, 'some runs should fail a snapshot write or sync');
  }
});

test(`power loss: ${ONLY_SEED === undefined ? `${RUNS} seeded runs` : `seed ${ONLY_SEED}`} keep every acknowledged write`, async (t) => {
  const seeds = ONLY_SEED === undefined ? Array.from({ length: RUNS }, (_, i) => i + 1) : [ONLY_SEED];
  const started = Date.now();
  const total: RunStats = {
    epochs: 0,
    cuts: 0,
    bootCuts: 0,
    acked: 0,
    issued: 0,
    tornTails: 0,
    cut: { unsyncedOpsKept: 0, unsyncedOpsLost: 0, tornWrites: 0, garbageWrites: 0, dirOpsKept: 0, dirOpsLost: 0 },
    fatal: 0,
    faultsHit: 0,
    snapshots: 0,
    fuzzySnapshots: 0,
    fuzzyRecoveries: 0,
  };
  const failures: string[] = [];
  for (const seed of seeds) {
    try {
      const s = await runSeed(seed);
      total.epochs += s.epochs;
      total.cuts += s.cuts;
      total.bootCuts += s.bootCuts;
      total.acked += s.acked;
      total.issued += s.issued;
      total.tornTails += s.tornTails;
      total.snapshots += s.snapshots;
      total.fuzzySnapshots += s.fuzzySnapshots;
      total.fuzzyRecoveries += s.fuzzyRecoveries;
      for (const k of Object.keys(s.cut) as Array<keyof PowerCutStats>) total.cut[k] += s.cut[k];
    } catch (e) {
      failures.push((e as Error).message.split('\n')[0] ?? '');
      if (failures.length >= 5 || process.env.SIM_KEEP_GOING === undefined) break;
    }
  }
  t.diagnostic(`${seeds.length} runs in ${Date.now() - started} ms: ${JSON.stringify(total)}`);
  if (failures.length > 0) assert.fail(failures.join('\n'));
  if (ONLY_SEED === undefined) {
    // The runs must reach the case this simulation exists for: recovery from a fuzzy snapshot.
    assert.ok(total.fuzzySnapshots > 0, 'some snapshots should be taken while txns apply');
    assert.ok(total.fuzzyRecoveries > 0, 'some boots should recover from a fuzzy snapshot');
  }
});
