/**
 * One simulated ensemble member: the real ZAB core (ZabLeader / ZabLearner) and the real
 * ZkServer over the real storage (recovery, DurableStore and its TxnLog, QuorumEpochs,
 * snapshots) on a SimFs of its own, carrying out the core's actions as a ZAB driver must
 * (docs/ARCHITECTURE.md, "What a ZAB driver calls").
 *
 * Life cycle: `powerOn` recovers from the disk (booting), then the member is looking until the
 * election makes it a leader or a learner. A role ends (`looking`) without a power cut: the
 * writes in flight land, then the tree is recovered again from the disk (ZooKeeper
 * fast-forwards its database to the log the same way). A power cut (`powerCut`) drops all
 * memory and the unsynced writes, and may tear the last one. Every role, crash and boot
 * starts a new `term`: asynchronous work of an older term is dropped when it completes.
 */
import { createHash } from 'node:crypto';
import { SeededRandom } from '../../src/base/index.js';
import {
  JuteReader,
  JuteWriter,
  OpCode,
  PacketType,
  RecordStream,
  SnapTransferReader,
  readRequest,
  readTxnHeader,
  writeRequest,
  writeTxn,
  writeTxnHeader,
  type QuorumPacket,
  type Txn,
  type TxnHeader,
} from '../../src/codec/index.js';
import {
  ZabLeader,
  ZabLearner,
  counterOf,
  learnerInfoOf,
  makeZxid,
  decodeToLeader,
  decodeToLearner,
  encodeToLeader,
  encodeToLearner,
  hex,
  type ForwardedWrite,
  type LogReadResult,
  type Sid,
  type ToLeader,
  type ToLearner,
  type ZabAction,
  type ZabTxn,
  type Zxid,
} from '../../src/quorum/zab/index.js';
import { ZkServer, type ForwardedRequest, type ServerRole, type ServerSettings, type TxnSink } from '../../src/server/zk-server.js';
import { readNow, silentLogger, type Clock } from '../../src/server/types.js';
import { LearnerSessions } from '../../src/session/index.js';
import {
  DurableStore,
  EpochFileError,
  QuorumEpochs,
  SnapshotLoader,
  UNSLICED,
  decodeTxnEntry,
  encodeSnapshot,
  recover,
  writeSnapshot,
  zxidOfFileName,
  type OnDurable,
  type Recovered,
  type StorageError,
} from '../../src/storage/index.js';
import type { DataTree } from '../../src/tree/index.js';
import { parseQuorumConfigText, roleIn, type ConfigTextMember, type QuorumConfig } from '../../src/config/index.js';
import { Membership, membershipOfReconfig } from '../../src/ensemble/membership.js';
import { LeaderReconfig, zabQuorumOf } from '../../src/ensemble/reconfig-policy.js';
import { SimFs, SimScheduler } from './sim-fs.js';

export const DATA_DIR = '/data/version-2';
const MAX_ENTRY_BYTES = 0xfffff + 1024 * 1024;

/**
 * Deliberate bugs, to show the checkers catch them:
 * - ackBeforeDurable: a learner tells its core a proposal is logged when it is handed to the
 *   log, so it ACKs before the txn is durable;
 * - applyBeforeCommit: a learner applies a proposal when it arrives, not when it is committed;
 * - answerBeforeCommit: the leader applies and answers its own write once its own log holds it,
 *   without waiting for a quorum (the standalone server's rule);
 * - ignoreActivate: a learner does not take the membership a COMMITANDACTIVATE or
 *   INFORMANDACTIVATE activates;
 * - establishWithoutLastSeen: a new leader counts NEWLEADER and its commits with the committed
 *   membership only, though its log holds a newer reconfig whose commit it did not see.
 */
export type Bug = 'ackBeforeDurable' | 'applyBeforeCommit' | 'answerBeforeCommit' | 'ignoreActivate' | 'establishWithoutLastSeen';

/** A quorum packet on the wire; a SNAP is followed by its transfer (the tree as serialized). */
export interface QuorumMessage {
  readonly packet: QuorumPacket;
  readonly transfer: Buffer | null;
}

/** What a member needs from the simulation around it. */
export interface EnsembleHost {
  readonly now: number;
  /** The membership every member starts with (version 0). */
  readonly initialMembership: QuorumConfig;
  readonly initLimit: number;
  readonly syncLimit: number;
  readonly bug: Bug | null;
  readonly snapCount: number;
  readonly clock: Clock;
  /** Whether `log` keeps lines (build them only then). */
  readonly tracing: boolean;
  log(line: string): void;
  count(what: string): void;
  fail(message: string): never;
  /** Runs `work`; a failure in it fails the run. */
  spawn(work: () => Promise<void>): void;
  /** Resolves once `cond` holds, or `alive` no longer does (checked whenever the simulation is between events). */
  waitFor(cond: () => boolean, alive: () => boolean): Promise<void>;
  sendQuorum(from: Replica, to: Sid, message: QuorumMessage): void;
  dropLearner(leader: Replica, learner: Sid, reason: string): void;
  /** The role's connections close: `graceful` when the process closes them, not when its power is cut. */
  roleEnded(r: Replica, graceful: boolean): void;
  startRefused(r: Replica): void;
  onServing(r: Replica, epoch: number): void;
  /** A txn this member prepared as leader (the global history of txns, by zxid). */
  onProposed(r: Replica, header: TxnHeader, txn: Txn): void;
  /** The tree took a txn, or was replaced (recovery, TRUNC, SNAP): `tree` is now at its last zxid. */
  onApplied(r: Replica, tree: DataTree, sessions: ReadonlyMap<bigint, number>, how: 'apply' | 'reset'): void;
  /** The member committed a membership (a reconfig's, NEWLEADER's, or a newer one the election heard of). */
  onMembershipCommitted(r: Replica, qc: QuorumConfig): void;
  /** This leader proposed, or committed, a reconfig. */
  onReconfig(r: Replica, stage: 'proposed' | 'committed'): void;
}

type Phase = 'down' | 'booting' | 'looking' | 'leader' | 'learner';

const sha1 = (text: string): string => createHash('sha1').update(text).digest('base64');

/** The admin's digest credentials; the servers know them as the super user (superDigest). */
export const SUPER_AUTH = 'super:sim-admin';
const SUPER_DIGEST = `super:${sha1(SUPER_AUTH)}`;

export function serverSettings(sid: Sid): ServerSettings {
  return {
    tickTimeMs: 100,
    minSessionTimeoutMs: 200,
    maxSessionTimeoutMs: 20000,
    extendedTypesEnabled: true,
    skipAcl: false,
    enforceQuota: false,
    superDigest: SUPER_DIGEST,
    containerMaxPerMinute: 10000,
    containerMaxNeverUsedIntervalMs: 0,
    containerCheckIntervalMs: 60000,
    sessionServerId: sid,
    globalOutstandingLimit: 1000,
  };
}

/** Member `sid`'s line: its own host, the same ports everywhere. */
export function memberSpec(sid: Sid, role: 'participant' | 'observer'): ConfigTextMember {
  return { id: sid, host: `10.0.0.${sid}`, quorumPort: 2888, electionPort: 3888, role, client: { host: '0.0.0.0', port: 2181 } };
}

/** Member `sid`'s line as a reconfig's joining list writes it. */
export function joinerLine(sid: Sid, role: 'participant' | 'observer'): string {
  return `server.${sid}=10.0.0.${sid}:2888:3888:${role};2181`;
}

/** A membership in short: `1,2,3/o4` (voters, then observers). */
export function membersText(qc: QuorumConfig): string {
  const ids = (role: string): string =>
    qc.servers
      .filter((s) => s.role === role)
      .map((s) => s.id)
      .join(',');
  return `${ids('participant')}/o${ids('observer')}`;
}

/** PROPOSAL data: TxnHeader then the txn (what the leader logs and sends). */
function encodeEntry(header: TxnHeader, txn: Txn): Buffer {
  const w = new JuteWriter(128);
  writeTxnHeader(w, header);
  writeTxn(w, txn);
  return Buffer.from(w.toBuffer());
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A PROPOSAL's data as the log takes it: the header, and the rest (txn and digest) as bytes. */
function entryParts(bytes: Uint8Array): { header: TxnHeader; body: Buffer } {
  const buf = asBuffer(bytes);
  const r = new JuteReader(buf);
  const header = readTxnHeader(r);
  return { header, body: buf.subarray(r.offset) };
}

/** A learner's REQUEST, as ZooKeeper's Learner.request lays it out: createSession carries the timeout. */
function encodeForwarded(
  sessionId: bigint,
  cxid: number,
  req: ForwardedRequest,
  authIds: readonly { scheme: string; id: string }[],
): ForwardedWrite {
  const w = new JuteWriter(128);
  if (req.op === OpCode.createSession) w.writeInt(req.timeoutMs);
  else if (req.op !== OpCode.closeSession) writeRequest(w, req);
  const authinfo = authIds.length === 0 ? null : authIds.map((a) => ({ scheme: a.scheme, id: a.id }));
  return { sessionId, cxid, requestType: req.op, body: Buffer.from(w.toBuffer()), authinfo };
}

function decodeForwarded(f: ForwardedWrite): ForwardedRequest {
  const r = new JuteReader(asBuffer(f.body));
  if (f.requestType === OpCode.createSession) return { op: OpCode.createSession, timeoutMs: r.readInt() };
  if (f.requestType === OpCode.closeSession) return { op: OpCode.closeSession };
  return readRequest(f.requestType, r) as ForwardedRequest;
}

/** The tree and sessions of a SNAP transfer, read record by record as a learner does. */
function loadTransfer(bytes: Buffer, zxid: Zxid): { tree: DataTree; sessions: Map<bigint, number> } {
  const stream = new RecordStream();
  stream.push(bytes);
  const reader = new SnapTransferReader();
  const loader = new SnapshotLoader(true);
  for (;;) {
    const item = reader.next(stream);
    if (item === null) throw new Error('SNAP transfer cut short');
    if (loader.item(item)) break;
  }
  const loaded = loader.finish();
  loaded.tree.lastProcessedZxid = zxid;
  return loaded;
}

export class Replica {
  fs: SimFs;
  phase: Phase = 'down';
  /** Bumped at every role change, power cut and boot: async work of an older term is dropped. */
  term = 0;
  diskSlow = false;
  /** A disk step is scheduled (the simulation steps the disk one operation at a time). */
  diskBusy = false;
  server: ZkServer | null = null;
  core: ZabLeader | ZabLearner | null = null;
  /** The leader this learner follows. */
  leaderSid: Sid = 0;
  serving = false;
  /** The last zxid the tree took (zxids must strictly increase between resets). */
  lastApplied = 0;
  /** The zxid the current role started from. */
  roleStartZxid = 0;
  /**
   * Start-up refused (EpochFileError): a power cut came after the sync's txns of a new epoch
   * were durable and before currentEpoch was, and QuorumEpochs.load refuses a log ahead of
   * currentEpoch as ZooKeeper's loadDataBase does. The member stays down (an operator's case).
   */
  refusesStart = false;
  /**
   * The committed and last seen memberships. They outlive power cuts: ZooKeeper writes them to
   * their files (synced) when they change, before the member acts on them.
   */
  readonly membership: Membership;
  /**
   * ZooKeeper's reconfigFlag: a committed reconfig named the leader this member goes to next,
   * without an election; `successorSince` is the tick it was named (the member looks after initLimit).
   */
  successor: Sid | null = null;
  successorSince = 0;
  /** The membership NEWLEADER carried, committed at UPTODATE. */
  private newLeaderConfig: QuorumConfig | null = null;
  /** Whether this learner's role term observes (its role when the term started). */
  private learnerObserver = false;
  private policy: LeaderReconfig | null = null;
  /** The last zxid the real log reported durable (what an ACK may cover). */
  private durableZxid = 0;
  private store: DurableStore | null = null;
  private epochs: QuorumEpochs | null = null;
  /** The state the next role starts from (recovered from the disk). */
  private recovered: Recovered | null = null;
  /** The log holds no txn of our history at or below this zxid (the newest snapshot's, or a SNAP's). */
  private logFloor = 0;
  /** Storage work of the host in flight (truncation, snapshot save, log reads): a role ends after it. */
  private hostBusy = 0;
  /** Appends held while the log is being cut or replaced (TRUNC, SNAP). */
  private held: ZabTxn[] | null = null;
  /** Leader: prepared txns waiting for their COMMIT. */
  private readonly localTxns = new Map<Zxid, OnDurable>();
  private driving = false;

  constructor(
    readonly sid: Sid,
    private readonly host: EnsembleHost,
    readonly diskRandom: SeededRandom,
  ) {
    this.fs = new SimFs(new SimScheduler(diskRandom), {}, diskRandom.chance(0.5));
    this.membership = new Membership({
      myid: sid,
      reconfigEnabled: true,
      committed: host.initialMembership,
      log: silentLogger,
      changed: () => this.membershipChanged(),
    });
  }

  /** What the committed membership makes this member: an observer, or a participant (a voter or not). */
  get observer(): boolean {
    return roleIn(this.membership.committed, this.sid) === 'observer';
  }

  private committedVersion = 0;

  private membershipChanged(): void {
    const committed = this.membership.committed;
    if (committed.version === this.committedVersion) return;
    this.committedVersion = committed.version;
    if (this.host.tracing) this.host.log(`${this.sid} COMMITTED membership ${hex(committed.version)}: ${membersText(committed)}`);
    this.host.onMembershipCommitted(this, committed);
  }

  get up(): boolean {
    return this.phase !== 'down';
  }

  /** Looking and recovered: a candidate in the election. */
  get looking(): boolean {
    return this.ready && this.successor === null;
  }

  /** Looking and recovered (a member with a successor goes there without an election). */
  get ready(): boolean {
    return this.phase === 'looking' && this.recovered !== null;
  }

  /** FastLeaderElection's processReconfig: a newer committed membership heard while looking becomes ours. */
  adoptMembership(qc: QuorumConfig): void {
    const rec = this.recovered;
    if (rec === null || qc.version <= this.membership.committed.version) return;
    this.membership.activate(qc, rec.tree, this.host.clock.wallMs());
  }

  /** FLE's vote: (currentEpoch, last zxid, sid). */
  vote(): readonly number[] {
    return [this.epochs?.currentEpoch ?? 0, this.recovered?.tree.lastProcessedZxid ?? 0, this.sid];
  }

  get lastLoggedZxid(): Zxid {
    return this.store?.log.lastZxid ?? 0;
  }

  describe(): string {
    return `${this.sid}(${this.phase} t${this.term}${this.serving ? ' serving' : ''})`;
  }

  // ------------------------------------------------------------------ life cycle

  powerOn(): void {
    if (this.phase !== 'down' || this.refusesStart) return;
    if (this.host.tracing) this.host.log(`${this.sid} POWER ON`);
    this.boot();
  }

  /** Drops memory and the disk's unsynced writes (some may survive, the last one torn). */
  powerCut(): void {
    if (this.phase === 'down') return;
    if (this.host.tracing) this.host.log(`${this.sid} POWER CUT`);
    this.endTerm(false);
    this.phase = 'down';
    this.store = null;
    this.epochs = null;
    this.recovered = null;
    this.hostBusy = 0;
    this.held = null;
    this.diskBusy = false;
    this.fs.sched.abandon();
    this.fs = this.fs.powerCut(this.diskRandom, new SimScheduler(this.diskRandom)).fs;
  }

  /** Back to election: pending writes land, then the tree is recovered from the disk again. */
  private endRole(reason: string): void {
    if (this.host.tracing) this.host.log(`${this.sid} LOOKING: ${reason}`);
    this.endTerm(true);
    const store = this.store;
    this.phase = 'booting';
    const term = this.term;
    this.host.spawn(async () => {
      await this.host.waitFor(
        () => (store === null || store.log.idle) && this.hostBusy === 0,
        () => this.term === term,
      );
      // a snapshot in flight finishes before recovery lists the files (it would remove its temp file)
      if (this.term === term) await store?.close();
      if (this.term === term) this.boot();
    });
  }

  private endTerm(graceful: boolean): void {
    this.term++;
    this.successor = null;
    // appends held behind a TRUNC or SNAP save belong to the role that ends (its cut is dropped)
    this.held = null;
    const wasRole = this.core !== null;
    this.core = null;
    this.server = null;
    this.serving = false;
    this.localTxns.clear();
    if (wasRole) this.host.roleEnded(this, graceful);
  }

  private boot(): void {
    this.phase = 'booting';
    const term = ++this.term;
    const fs = this.fs;
    this.host.spawn(async () => {
      const rec = await recover(fs, {
        snapDir: DATA_DIR,
        logDir: DATA_DIR,
        extendedTypesEnabled: true,
        maxEntryBytes: MAX_ENTRY_BYTES,
        compression: '',
        warn: (msg, details) => this.host.log(`${this.sid} recovery: ${msg} ${JSON.stringify(details)}`),
      });
      if (this.term !== term) return;
      const lastZxid = rec.tree.lastProcessedZxid;
      // the epoch files are read at power-on only, as ZooKeeper's loadDataBase does
      let epochs = this.epochs;
      try {
        epochs ??= await QuorumEpochs.load(fs, DATA_DIR, lastZxid);
      } catch (e) {
        if (!(e instanceof EpochFileError) || this.term !== term) throw e;
        if (this.host.tracing) this.host.log(`${this.sid} START REFUSED: ${e.message}`);
        this.host.startRefused(this);
        this.refusesStart = true;
        this.powerCut();
        return;
      }
      if (this.term !== term) return;
      this.membership.stampConfigNode(rec.tree, this.host.clock.wallMs());
      this.recovered = rec;
      this.epochs = epochs;
      this.logFloor = zxidOfFileName(rec.snapshotName, 'snapshot') ?? 0;
      this.store = this.newStore(lastZxid);
      this.lastApplied = lastZxid;
      this.durableZxid = lastZxid;
      this.host.onApplied(this, rec.tree, rec.sessions, 'reset');
      this.phase = 'looking';
      this.host.log(
        `${this.sid} RECOVERED at ${hex(lastZxid)} (accepted ${epochs.acceptedEpoch}, current ${epochs.currentEpoch}, ${rec.replayedTxns} replayed over ${rec.snapshotName})`,
      );
    });
  }

  private newStore(lastZxid: Zxid): DurableStore {
    return new DurableStore(this.fs, {
      snapDir: DATA_DIR,
      logDir: DATA_DIR,
      snapCount: this.host.snapCount,
      preAllocBytes: this.diskRandom.chance(0.5) ? 64 * 1024 : 4096,
      forceSync: true,
      compression: '',
      random: (n) => this.diskRandom.int(n),
      pacer: () => UNSLICED,
      onFatal: (e: StorageError) => this.host.fail(`member ${this.sid}: storage failed: ${e.message}`),
      info: () => undefined,
      lastZxid,
      maxEntryBytes: MAX_ENTRY_BYTES,
    });
  }

  /** The recovered state, taken by the role that starts from it. */
  private takeRecovered(): { rec: Recovered; store: DurableStore; epochs: QuorumEpochs } {
    const { recovered: rec, store, epochs } = this;
    if (rec === null || store === null || epochs === null) return this.host.fail(`member ${this.sid} starts a role before recovering`);
    this.recovered = null;
    return { rec, store, epochs };
  }

  // ------------------------------------------------------------------ roles

  startLeader(): void {
    const { rec, store, epochs } = this.takeRecovered();
    this.term++;
    this.phase = 'leader';
    this.roleStartZxid = rec.tree.lastProcessedZxid;
    // the committed membership's voters (a reconfig may have changed them since start-up)
    const { committed, lastSeen } = this.membership;
    const quorum = zabQuorumOf(committed);
    const core = new ZabLeader({
      sid: this.sid,
      lastZxid: rec.tree.lastProcessedZxid,
      acceptedEpoch: epochs.acceptedEpoch,
      currentEpoch: epochs.currentEpoch,
      voters: [...quorum.voters],
      containsQuorum: (sids) => quorum.containsQuorum(sids),
      configVersion: quorum.version,
      // a reconfig in the log whose commit no one saw: established with it (Leader.lead)
      ...(lastSeen.version > committed.version &&
        this.host.bug !== 'establishWithoutLastSeen' && {
          nextQuorum: { quorum: zabQuorumOf(lastSeen), leaderStays: roleIn(lastSeen, this.sid) === 'participant' },
        }),
      committedTail: [],
      initLimitTicks: this.host.initLimit,
      syncLimitTicks: this.host.syncLimit,
    });
    this.core = core;
    this.policy = new LeaderReconfig(this.reconfigPeer(), core);
    const server = new ZkServer(serverSettings(this.sid), this.host.clock, sha1, silentLogger, this.leaderSink(), rec.tree, rec.sessions, {
      reconfig: this.policy,
    });
    store.attach(server.tree, () => server.sessionTimeouts());
    this.server = server;
    if (this.host.tracing)
      this.host.log(
        `${this.sid} LEADING from ${hex(rec.tree.lastProcessedZxid)} (accepted ${epochs.acceptedEpoch}, current ${epochs.currentEpoch})`,
      );
    this.drive();
  }

  /** What the real leader's reconfig checks read of the member. */
  private reconfigPeer(): ConstructorParameters<typeof LeaderReconfig>[0] {
    const self = this.host.initialMembership.servers.find((s) => s.id === this.sid) ?? memberSpec(this.sid, 'participant');
    return {
      ensemble: { reconfigEnabled: true, self: { ...self, client: self.client } },
      config: { standaloneEnabled: false },
      membership: this.membership,
      log: silentLogger,
    };
  }

  /** The host connects the learner to its leader. */
  startLearner(leader: Sid): void {
    const { rec, epochs } = this.takeRecovered();
    this.term++;
    this.phase = 'learner';
    this.roleStartZxid = rec.tree.lastProcessedZxid;
    this.leaderSid = leader;
    this.newLeaderConfig = null;
    this.learnerObserver = this.observer;
    this.server = this.learnerServer(rec.tree, rec.sessions);
    this.core = new ZabLearner({
      sid: this.sid,
      leader,
      observer: this.learnerObserver,
      lastZxid: rec.tree.lastProcessedZxid,
      acceptedEpoch: epochs.acceptedEpoch,
      currentEpoch: epochs.currentEpoch,
      initLimitTicks: this.host.initLimit,
      syncLimitTicks: this.host.syncLimit,
    });
    if (this.host.tracing)
      this.host.log(`${this.sid} ${this.observer ? 'OBSERVING' : 'FOLLOWING'} ${leader} from ${hex(rec.tree.lastProcessedZxid)}`);
  }

  /** A learner's ZkServer over `tree`: writes go to the leader, sessions are the leader's. */
  private learnerServer(tree: DataTree, sessions: Map<bigint, number>): ZkServer {
    const store = this.store;
    if (store === null) return this.host.fail(`learner ${this.sid} without storage`);
    const learnerCore = (): ZabLearner | null => (this.core instanceof ZabLearner ? this.core : null);
    const role: ServerRole = {
      authority: (table, ids) =>
        new LearnerSessions(ids, table, {
          revalidate: (sessionId, timeoutMs) => {
            learnerCore()?.revalidate(sessionId, timeoutMs);
            this.drive();
          },
        }),
      forwarder: {
        forward: (sessionId, cxid, req, authIds) => {
          learnerCore()?.forward(encodeForwarded(sessionId, cxid, req, authIds));
          this.drive();
        },
      },
    };
    // the store takes no txn from a learner's ZkServer (it forwards); it takes its snapshot points
    const server = new ZkServer(serverSettings(this.sid), this.host.clock, sha1, silentLogger, store, tree, sessions, role);
    store.attach(server.tree, () => server.sessionTimeouts());
    return server;
  }

  /** The leader's TxnSink: its prepared txns are proposed, and applied once committed. */
  private leaderSink(): TxnSink {
    return {
      append: (prepared, done) => {
        const core = this.core;
        if (!(core instanceof ZabLeader)) return this.host.fail(`member ${this.sid}: a txn prepared without a leader core`);
        const { header, txn } = prepared;
        const expected = core.nextZxid();
        if (expected === null) return; // the leader gives up (counter spent): a looking action follows
        if (expected !== header.zxid)
          this.host.fail(`leader ${this.sid}: prep gave ${hex(header.zxid)}, the core expects ${hex(expected)}`);
        this.localTxns.set(header.zxid, done);
        this.host.onProposed(this, header, txn);
        const zabTxn = {
          zxid: header.zxid,
          sessionId: header.clientId,
          cxid: header.cxid,
          type: header.type,
          bytes: encodeEntry(header, txn),
        };
        if (header.type === OpCode.reconfig) {
          // Leader.propose: the proposed membership is the last seen one from now on
          const policy = this.policy;
          if (policy === null) return this.host.fail(`leader ${this.sid}: a reconfig txn without a reconfig policy`);
          const { qc, quorum, leaderStays } = policy.proposal(header.zxid);
          this.membership.setLastSeen(qc);
          core.propose(zabTxn, { quorum, leaderStays });
          this.host.onReconfig(this, 'proposed');
        } else {
          core.propose(zabTxn);
        }
        this.drive();
      },
      applied: (zxid) => this.store?.applied(zxid),
    };
  }

  // ------------------------------------------------------------------ inputs

  tick(): void {
    const core = this.core;
    if (core === null) return;
    if (core instanceof ZabLearner && this.server?.authority instanceof LearnerSessions) {
      for (const [sessionId, timeoutMs] of this.server.authority.takeTouches()) core.touch(sessionId, timeoutMs);
    }
    core.tick();
    if (this.serving) this.server?.tick(readNow(this.host.clock));
    this.drive();
  }

  /** A quorum packet arrived on the current role's connection. */
  receive(from: Sid, m: QuorumMessage): void {
    const core = this.core;
    if (core instanceof ZabLeader) {
      // LearnerHandler: a learner that committed a later membership than ours must not sync to us
      const info = learnerInfoOf(m.packet);
      if (info !== null && info.info.configVersion > this.membership.committed.version) {
        this.host.dropLearner(this, from, 'Follower is ahead of the leader (has a later activated configuration)');
        return;
      }
      core.receive(from, decodeToLeader(m.packet));
    } else if (core instanceof ZabLearner) {
      if (m.packet.type === PacketType.newLeader) this.onNewLeaderConfig(m.packet.data);
      const msg = decodeToLearner(m.packet);
      if (msg.type === PacketType.snap) this.loadSnap(msg.zxid, m.transfer);
      core.receive(msg);
    }
    this.drive();
  }

  connected(): void {
    if (this.core instanceof ZabLearner) this.core.connected();
    this.drive();
  }

  disconnected(peer: Sid): void {
    const core = this.core;
    if (core instanceof ZabLeader) core.disconnected(peer);
    else if (core instanceof ZabLearner) core.disconnected();
    this.drive();
  }

  /** Learner.syncWithLeader: NEWLEADER's membership is the last seen one until UPTODATE commits it. */
  private onNewLeaderConfig(data: Buffer | null): void {
    if (data === null || data.length <= 1) return;
    const qc = parseQuorumConfigText(data.toString('utf8'), `NEWLEADER from ${this.leaderSid}`);
    this.membership.setLastSeen(qc);
    this.newLeaderConfig = qc;
  }

  /** The transfer that follows SNAP: a new tree, before the core takes the SNAP. */
  private loadSnap(zxid: Zxid, transfer: Buffer | null): void {
    if (transfer === null) this.host.fail(`learner ${this.sid}: SNAP without its transfer`);
    const { tree, sessions } = loadTransfer(transfer, zxid);
    this.membership.stampConfigNode(tree, this.host.clock.wallMs());
    this.server = this.learnerServer(tree, sessions);
    this.lastApplied = zxid;
    this.host.onApplied(this, tree, sessions, 'reset');
  }

  // ------------------------------------------------------------------ actions

  /** Carries out the core's actions in order until it has none left. */
  drive(): void {
    if (this.driving) return; // the outer loop takes what was added, in order
    this.driving = true;
    try {
      for (;;) {
        const core = this.core;
        if (core === null) return;
        const actions = core.take();
        if (actions.length === 0) return;
        for (const a of actions) {
          if (this.core !== core) break; // the role ended midway
          this.carryOut(core, a);
        }
      }
    } finally {
      this.driving = false;
    }
  }

  private carryOut(core: ZabLeader | ZabLearner, a: ZabAction): void {
    switch (a.kind) {
      case 'send':
        this.send(a.to, a.message);
        return;
      case 'disconnect':
        this.host.dropLearner(this, a.peer, a.reason);
        return;
      case 'append':
        this.append(core, a.txn);
        return;
      case 'apply':
        this.apply(core, a.txn);
        return;
      case 'truncate':
        this.truncate(a.zxid);
        return;
      case 'saveSnapshot':
        this.saveSnapshot(a.zxid);
        return;
      case 'writeEpoch':
        this.writeEpoch(core, a.file, a.epoch);
        return;
      case 'readLog':
        if (core instanceof ZabLeader) this.readLog(core, a.peer, a.after, a.until);
        return;
      case 'request':
        if (a.request.requestType === OpCode.sync && core instanceof ZabLeader) core.syncFor(a.from);
        else this.server?.submitForwarded(a.request.sessionId, a.request.cxid, decodeForwarded(a.request), a.request.authinfo ?? []);
        return;
      case 'revalidate':
        if (core instanceof ZabLeader)
          core.revalidated(a.from, a.sessionId, this.server?.authority.touch(a.sessionId, this.host.clock.monoMs()) ?? false);
        return;
      case 'touches':
        for (const t of a.touches) this.server?.authority.touch(t.sessionId, this.host.clock.monoMs());
        return;
      case 'revalidated':
        if (this.server?.authority instanceof LearnerSessions) this.server.authority.onRevalidateAnswer(a.sessionId, a.valid);
        return;
      case 'syncDone':
        this.server?.syncDone();
        return;
      case 'serving':
        if (core instanceof ZabLeader) {
          if (!this.leaderServing(a.epoch, core.designatedLeader)) return;
        } else if (!this.learnerServing()) return;
        this.serving = true;
        this.host.onServing(this, a.epoch);
        return;
      case 'activate':
        this.activateReconfig(core, a.txn, a.designated);
        return;
      case 'looking':
        this.endRole(a.reason);
        return;
    }
  }

  /**
   * Leader.startZkServer: the membership NEWLEADER carried is agreed now; it is committed. A
   * leader it does not keep hands over (false: the role ended).
   */
  private leaderServing(epoch: number, designated: Sid | null): boolean {
    const server = this.server;
    if (server === null) return false;
    this.membership.newLeaderConfig(makeZxid(epoch, 0));
    const { committed, lastSeen } = this.membership;
    if (lastSeen.version > committed.version && counterOf(lastSeen.version) !== 0) this.host.count('reconfig completed by a new leader');
    this.membership.activate(lastSeen, server.tree, this.host.clock.wallMs());
    if (designated !== null && designated !== this.sid) {
      this.handOver(designated, `membership ${hex(lastSeen.version)}: server ${designated} leads it`);
      return false;
    }
    server.prep.resetEpoch(epoch);
    return true;
  }

  /**
   * UPTODATE: NEWLEADER's membership is committed. If it changes this member's role or its
   * leader no longer votes, the member looks again (ZooKeeper's processReconfig without a named
   * leader). False when the role ended.
   */
  private learnerServing(): boolean {
    const qc = this.newLeaderConfig;
    const server = this.server;
    if (qc === null || server === null) return true;
    const wasObserver = this.learnerObserver;
    const before = this.membership.committed;
    this.membership.activate(qc, server.tree, this.host.clock.wallMs());
    const committed = this.membership.committed;
    if (committed === before) return true;
    if (this.observer !== wasObserver || roleIn(committed, this.leaderSid) !== 'participant') {
      this.endRole(`the membership the leader sent (${hex(committed.version)}) changes this member's role or its leader's`);
      return false;
    }
    return true;
  }

  /**
   * A reconfig committed: its membership is this member's committed one. A leader it does not
   * keep hands over to the designated leader; a learner whose leader or role changes goes to the
   * designated leader as what it now is; neither holds an election.
   */
  private activateReconfig(core: ZabLeader | ZabLearner, txn: ZabTxn, designated: Sid): void {
    const server = this.server;
    const qc = this.reconfigMembership(txn);
    if (qc === null || server === null) return;
    if (this.host.bug === 'ignoreActivate' && core instanceof ZabLearner) return;
    const wasObserver = this.learnerObserver;
    this.membership.activate(qc, server.tree, this.host.clock.wallMs());
    this.host.count('reconfig activated');
    if (core instanceof ZabLeader) {
      this.host.onReconfig(this, 'committed');
      if (designated !== this.sid) this.handOver(designated, `reconfig ${hex(txn.zxid)}: server ${designated} leads`);
      return;
    }
    if (designated !== this.leaderSid || this.observer !== wasObserver) {
      this.handOver(
        designated,
        `reconfig ${hex(txn.zxid)}: server ${designated} leads, this member ${this.observer ? 'observes' : 'follows'}`,
      );
    }
  }

  private reconfigMembership(txn: ZabTxn): QuorumConfig | null {
    const buf = asBuffer(txn.bytes);
    const { txn: body } = decodeTxnEntry(buf, 0, buf.length);
    const qc = membershipOfReconfig(body, txn.zxid);
    if (typeof qc === 'string') return this.host.fail(`member ${this.sid}: reconfig ${hex(txn.zxid)} holds no membership: ${qc}`);
    return qc;
  }

  /** Ends the role for a committed reconfig's leader: no election follows. */
  private handOver(leader: Sid, reason: string): void {
    this.host.count('hand-over');
    this.endRole(reason);
    this.successor = leader;
    this.successorSince = this.host.now;
  }

  private send(to: Sid, message: ToLearner | ToLeader): void {
    if (this.core instanceof ZabLeader) {
      const m = message as ToLearner;
      let transfer: Buffer | null = null;
      if (m.type === PacketType.snap) {
        // the tree as of the applies so far (ZooKeeper serializes its database right after SNAP)
        const tree = this.server?.tree;
        if (tree?.lastProcessedZxid !== m.zxid)
          this.host.fail(`leader ${this.sid}: SNAP at ${hex(m.zxid)} of a tree at ${hex(tree?.lastProcessedZxid ?? -1)}`);
        transfer = encodeSnapshot(tree, this.server?.sessionTimeouts() ?? new Map(), 'transfer');
      }
      // NEWLEADER carries the last seen membership (the first leader stamps its version first)
      const config = m.type === PacketType.newLeader ? this.membership.newLeaderConfig(m.zxid) : '';
      this.host.sendQuorum(this, to, { packet: encodeToLearner(m, config), transfer });
    } else {
      const m = message as ToLeader;
      // a proposal's ACK promises the txn survives a power cut here
      if (m.type === PacketType.ack && counterOf(m.zxid) !== 0 && m.zxid > this.durableZxid) {
        this.host.fail(`learner ${this.sid} ACKs ${hex(m.zxid)}, but its log is durable only through ${hex(this.durableZxid)}`);
      }
      this.host.sendQuorum(this, to, { packet: encodeToLeader(m, this.sid, this.membership.committed.version), transfer: null });
    }
  }

  private append(core: ZabLeader | ZabLearner, txn: ZabTxn): void {
    if (this.held !== null) {
      this.held.push(txn);
      return;
    }
    const store = this.store;
    if (store === null) return this.host.fail(`member ${this.sid} appends without storage`);
    const { header, body } = entryParts(txn.bytes);
    // QuorumPeer.setLastSeenQuorumVerifier: a reconfig's proposal is the last membership seen
    if (core instanceof ZabLearner && header.type === OpCode.reconfig) {
      const qc = this.reconfigMembership(txn);
      if (qc !== null) this.membership.setLastSeen(qc);
    }
    const term = this.term;
    store.append(
      { header, txn: body },
      {
        durable: () => {
          if (this.term !== term) return;
          this.durableZxid = txn.zxid;
          this.logged(core, txn.zxid);
        },
      },
    );
    const bug = this.host.bug;
    if (bug === 'ackBeforeDurable' && core instanceof ZabLearner) core.logged(txn.zxid);
    if (bug === 'applyBeforeCommit' && core instanceof ZabLearner) this.applyToTree(txn);
  }

  private logged(core: ZabLeader | ZabLearner, zxid: Zxid): void {
    if (this.host.bug === 'answerBeforeCommit' && core instanceof ZabLeader) {
      const done = this.localTxns.get(zxid);
      this.localTxns.delete(zxid);
      if (done !== undefined) this.applyLocal(done);
    }
    if (this.host.bug === 'ackBeforeDurable' && core instanceof ZabLearner) {
      this.drive();
      return; // told already
    }
    core.logged(zxid);
    this.drive();
  }

  private apply(core: ZabLeader | ZabLearner, txn: ZabTxn): void {
    if (core instanceof ZabLeader) {
      const done = this.localTxns.get(txn.zxid);
      this.localTxns.delete(txn.zxid);
      if (done === undefined) {
        if (this.host.bug === 'answerBeforeCommit') return; // applied when logged
        this.host.fail(`leader ${this.sid} applies ${hex(txn.zxid)}, which it did not prepare`);
      }
      this.applyLocal(done);
      return;
    }
    if (this.host.bug === 'applyBeforeCommit') return; // applied when it arrived
    this.applyToTree(txn);
  }

  /** The leader's own txn: the server applies it and answers its client. */
  private applyLocal(done: OnDurable): void {
    done.durable();
    const server = this.server;
    if (server !== null) this.host.onApplied(this, server.tree, server.sessionTable, 'apply');
  }

  private applyToTree(txn: ZabTxn): void {
    const server = this.server;
    if (server === null) return;
    const buf = asBuffer(txn.bytes);
    const { header, txn: body } = decodeTxnEntry(buf, 0, buf.length);
    server.applyCommitted(header, body);
    this.host.onApplied(this, server.tree, server.sessionTable, 'apply');
  }

  private writeEpoch(core: ZabLeader | ZabLearner, file: 'acceptedEpoch' | 'currentEpoch', epoch: number): void {
    const epochs = this.epochs;
    if (epochs === null) return this.host.fail(`member ${this.sid} writes an epoch without its files`);
    const term = this.term;
    this.hostWork(async () => {
      if (file === 'acceptedEpoch') await epochs.setAcceptedEpoch(epoch);
      else await epochs.setCurrentEpoch(epoch);
      if (this.term !== term) return;
      core.epochWritten(file, epoch);
      this.drive();
    });
  }

  /** Storage work of the host: counted, so a role ends only after it (the OS would finish it). */
  private hostWork(work: () => Promise<void>): void {
    this.hostBusy++;
    const fs = this.fs;
    this.host.spawn(async () => {
      try {
        await work();
      } finally {
        if (this.fs === fs) this.hostBusy--;
      }
    });
  }

  /** Holds appends until the log is idle, then runs `cut`; appends go on after it. */
  private cutLog(what: string, zxid: Zxid, cut: (store: DurableStore) => Promise<void>, done: (core: ZabLearner) => void): void {
    const store = this.store;
    if (store === null) return this.host.fail(`member ${this.sid}: ${what} without storage`);
    this.held = [];
    const term = this.term;
    this.hostWork(async () => {
      await this.host.waitFor(
        () => store.log.idle,
        () => this.term === term,
      );
      if (this.term !== term) return;
      await cut(store);
      if (this.term !== term) return;
      const core = this.core;
      if (!(core instanceof ZabLearner)) return;
      const held = this.held ?? [];
      this.held = null;
      this.durableZxid = zxid; // the cut, or the snapshot, is durable
      for (const txn of held) this.append(core, txn);
      if (this.host.tracing) this.host.log(`${this.sid} ${what} ${hex(zxid)} done`);
      done(core);
      this.drive();
    });
  }

  /** TRUNC: cut the log, then the tree is the disk's again (ZooKeeper reloads its database). */
  private truncate(zxid: Zxid): void {
    this.cutLog(
      'TRUNC',
      zxid,
      async (store) => {
        await store.log.truncate(zxid);
        await store.close(); // a snapshot in flight first (recovery would remove its temp file)
        const rec = await recover(this.fs, {
          snapDir: DATA_DIR,
          logDir: DATA_DIR,
          extendedTypesEnabled: true,
          maxEntryBytes: MAX_ENTRY_BYTES,
          compression: '',
          warn: () => undefined,
        });
        const at = rec.tree.lastProcessedZxid;
        if (at !== zxid) this.host.fail(`learner ${this.sid}: after TRUNC to ${hex(zxid)} the disk holds the tree at ${hex(at)}`);
        this.store = this.newStore(at);
        this.membership.stampConfigNode(rec.tree, this.host.clock.wallMs());
        this.server = this.learnerServer(rec.tree, rec.sessions);
        this.lastApplied = at;
        this.host.onApplied(this, rec.tree, rec.sessions, 'reset');
      },
      (core) => core.truncated(zxid),
    );
  }

  /**
   * After a SNAP: txns above it (another branch) leave the log first, then the loaded tree is
   * written as a snapshot; from then on the log holds nothing of our history at or below it.
   */
  private saveSnapshot(zxid: Zxid): void {
    this.cutLog(
      'saveSnapshot',
      zxid,
      async (store) => {
        await store.log.truncate(zxid);
        const server = this.server;
        if (server === null) return;
        await writeSnapshot(this.fs, DATA_DIR, server.tree, server.sessionTimeouts(), '');
        this.logFloor = zxid;
      },
      (core) => core.snapshotSaved(zxid),
    );
  }

  /** The committed txns above `after` through `until`, from the log files. */
  private readLog(core: ZabLeader, peer: Sid, after: Zxid, until: Zxid): void {
    const store = this.store;
    if (store === null) return this.host.fail(`leader ${this.sid} reads a log it has not`);
    const term = this.term;
    this.hostWork(async () => {
      let result: LogReadResult = { preceding: null, txns: [] };
      if (after >= this.logFloor) {
        const reader = await store.log.read(after, until);
        const txns: ZabTxn[] = [];
        for (let s = await reader.next(); s.length > 0; s = await reader.next()) {
          for (const t of s)
            txns.push({ zxid: t.header.zxid, sessionId: t.header.clientId, cxid: t.header.cxid, type: t.header.type, bytes: t.entry });
        }
        // below the floor the log may hold another branch's txns; the floor itself is ours
        const preceding =
          reader.preceding >= this.logFloor ? reader.preceding : after === this.logFloor || reader.preceding >= 0 ? this.logFloor : null;
        result = { preceding, txns };
      }
      if (this.term !== term) return;
      if (this.host.tracing)
        this.host.log(
          `${this.sid} readLog after ${hex(after)} until ${hex(until)}: preceding ${String(result.preceding)}, ${result.txns.length} txns`,
        );
      core.logRead(peer, result);
      this.drive();
    });
  }
}
