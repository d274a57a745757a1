/**
 * A leading member: the quorum port's listener and one link per learner around a ZabLeader,
 * with this member's ZkServer as prep and apply. The server's own txns (its clients' writes,
 * forwarded REQUESTs, expiries) come through `append` (this is its TxnSink): each is proposed,
 * logged, and handed back to the server to apply once COMMITted.
 */
import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { assert, SNAPSHOT_SLICE_MS } from '../base/index.js';
import { CodecError, OpCode, PacketType, type QuorumPacket } from '../codec/index.js';
import type { Prepared } from '../prep/index.js';
import {
  ZabLeader,
  decodeToLeader,
  encodeToLearner,
  hex,
  learnerInfoOf,
  makeZxid,
  type Sid,
  type ToLearner,
  type ZabAction,
  type ZabTxn,
} from '../quorum/zab/index.js';
import { QuorumLink } from '../net/quorum-link.js';
import { SnapshotSerializer, listDataFiles, type OnDurable } from '../storage/index.js';
import { EventLoopPacer, sha1Base64 } from '../runtime/index.js';
import { serverSettings } from '../server/composition.js';
import { ZkServer, type TxnSink } from '../server/zk-server.js';
import { readNow } from '../server/types.js';
import { roleIn } from '../config/index.js';
import { LeaderReconfig, leaderStaysIn, zabQuorumOf } from './reconfig-policy.js';
import { RoleDriver, activateReconfig, type PeerState } from './role.js';
import { authIdsOf, forwardedRequestOf, logBodyOf, zabTxnFrom } from './txns.js';
import type { QuorumFacts } from '../admin/index.js';

/** Snapshot chunks a SNAP transfer may have queued on one learner's socket. */
const TRANSFER_CHUNKS_IN_FLIGHT = 4;

type SyncMode = 'diff' | 'trunc' | 'snap';

/** One learner's connection: packets in TCP order, held back while a SNAP transfer streams. */
class LearnerLink {
  /** Packets queued behind a SNAP transfer still streaming (null: none streaming). */
  private held: QuorumPacket[] | null = null;
  observer = false;
  synced = false;
  sync: { mode: SyncMode; startedMs: number } | null = null;

  constructor(
    readonly link: QuorumLink,
    readonly sid: Sid,
  ) {}

  send(p: QuorumPacket): void {
    if (this.held !== null) this.held.push(p);
    else this.link.send(p);
  }

  /** Streams the tree after the SNAP packet, then what was sent meanwhile. */
  async streamSnapshot(serializer: SnapshotSerializer): Promise<void> {
    this.held = [];
    const pacer = new EventLoopPacer(SNAPSHOT_SLICE_MS);
    try {
      for (;;) {
        await pacer.nextSlice();
        if (this.link.closed) return;
        const step = serializer.step(pacer.sliceDone);
        if (step === 'done') break;
        if (step === 'full') {
          pacer.endSlice();
          await serializer.writable();
        }
      }
      pacer.endSlice();
    } finally {
      serializer.abort();
      const held = this.held;
      this.held = null;
      for (const p of held) this.link.send(p);
    }
  }
}

export class LeaderRole extends RoleDriver implements TxnSink {
  protected readonly core: ZabLeader;
  readonly zk: ZkServer;
  private readonly listener: Server;
  private readonly learners = new Map<Sid, LearnerLink>();
  private readonly pending = new Map<number, { prepared: Prepared; done: OnDurable }>();
  private pendingSyncs = 0;
  private containerTimer: NodeJS.Timeout | null = null;
  private readonly reconfig: LeaderReconfig;
  private sessionTimer: NodeJS.Timeout | null = null;

  constructor(peer: PeerState) {
    super(peer);
    const e = peer.ensemble;
    const lastZxid = peer.store.log.lastZxid;
    // the committed membership's voters (a reconfig may have changed them since start-up), and
    // a newer one seen, which a predecessor proposed and did not commit: this term completes it
    const { committed, lastSeen } = peer.membership;
    const quorum = zabQuorumOf(committed);
    const next =
      lastSeen.version > committed.version ? { quorum: zabQuorumOf(lastSeen), leaderStays: leaderStaysIn(lastSeen, e.self) } : undefined;
    this.core = new ZabLeader({
      sid: e.myid,
      lastZxid,
      acceptedEpoch: peer.epochs.acceptedEpoch,
      currentEpoch: peer.epochs.currentEpoch,
      voters: [...quorum.voters],
      containsQuorum: (sids) => quorum.containsQuorum(sids),
      configVersion: quorum.version,
      ...(next === undefined ? {} : { nextQuorum: next }),
      committedTail: peer.tail.endingAt(lastZxid),
      initLimitTicks: e.initLimit,
      syncLimitTicks: e.syncLimit,
    });
    this.reconfig = new LeaderReconfig(peer, this.core);
    this.zk = new ZkServer(serverSettings(peer.config, e.myid), peer.env.clock, sha1Base64, peer.log, this, peer.tree, peer.sessions, {
      reconfig: this.reconfig,
    });
    peer.sessions = this.zk.sessionTable;
    peer.store.attach(this.zk.tree, () => this.zk.sessionTimeouts());
    this.listener = createServer({ noDelay: true }, (socket) => this.onSocket(socket));
    this.listener.on('error', (err) => {
      this.peer.log.error({ err: err.message, port: e.self.quorumPort }, 'cannot listen on the quorum port');
      this.finish(`quorum port: ${err.message}`);
    });
  }

  start(): void {
    const e = this.peer.ensemble;
    const host = e.quorumListenOnAllIPs ? '0.0.0.0' : e.self.host;
    this.listener.listen({ host, port: e.self.quorumPort });
    this.peer.log.info({ epochAccepted: this.peer.epochs.acceptedEpoch, lastZxid: hex(this.peer.store.log.lastZxid) }, 'LEADING');
    this.peer.store.snapshotNow();
    this.startTicking();
    this.drive();
  }

  protected override betweenTicks(): void {
    this.core.ping();
  }

  // ------------------------------------------------------------------ the server's TxnSink

  append(prepared: Prepared, done: OnDurable): void {
    const zxid = this.core.nextZxid();
    if (zxid === null) {
      this.drive(); // the core gave up: the epoch's counter is spent
      return;
    }
    assert(zxid === prepared.header.zxid, () => `prep made ${hex(prepared.header.zxid)}, the leader expects ${hex(zxid)}`);
    this.pending.set(zxid, { prepared, done });
    const txn = zabTxnFrom(prepared.header, prepared.txn);
    if (prepared.header.type === OpCode.reconfig) {
      // Leader.propose: the proposed membership is the last seen one from now on (.dynamic.next)
      const { qc, quorum, leaderStays } = this.reconfig.proposal(zxid);
      this.peer.membership.setLastSeen(qc);
      this.core.propose(txn, { quorum, leaderStays });
    } else {
      this.core.propose(txn);
    }
    this.drive();
  }

  applied(zxid: number): void {
    this.peer.store.applied(zxid);
  }

  // ------------------------------------------------------------------ learners' connections

  private onSocket(socket: Socket): void {
    const peerName = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    if (this.isOver) {
      socket.destroy();
      return;
    }
    let learner: LearnerLink | null = null;
    const link: QuorumLink = new QuorumLink(
      socket,
      'leader',
      {
        packet: (p) => {
          try {
            if (learner === null) learner = this.onFirstPacket(link, p, peerName);
            else if (this.learners.get(learner.sid) === learner) this.core.receive(learner.sid, decodeToLeader(p));
            this.drive();
          } catch (e) {
            if (!(e instanceof CodecError)) throw e;
            this.peer.log.warn(
              { peer: peerName, learner: learner?.sid, err: e.message },
              'bad packet from a learner, closing its connection',
            );
            link.close(e.message);
          }
        },
        snapItem: () => undefined, // a leader reads no transfer (the link refuses one)
        closed: (reason) => {
          if (learner === null || this.learners.get(learner.sid) !== learner) return;
          this.learners.delete(learner.sid);
          this.peer.log.info({ learner: learner.sid, reason }, 'learner disconnected');
          this.core.disconnected(learner.sid);
          this.drive();
        },
      },
      this.peer.log,
      peerName,
    );
  }

  /**
   * A learner's first packet says who it is. As ZooKeeper's LearnerHandler, a server the
   * membership does not list is taken too (a member a reconfig removed follows as a non-voter;
   * one that joins syncs before it is added); its ACKs count in no quorum.
   */
  private onFirstPacket(link: QuorumLink, p: QuorumPacket, peerName: string): LearnerLink {
    const info = learnerInfoOf(p);
    if (info === null) throw new CodecError(`first packet is type ${p.type}, not FOLLOWERINFO or OBSERVERINFO`);
    if (info.sid === this.peer.ensemble.myid) throw new CodecError(`a learner with this leader's own server id ${info.sid}`);
    const role = roleIn(this.peer.membership.committed, info.sid);
    if (role === undefined) this.peer.log.info({ learner: info.sid }, 'a learner that is not in the current membership');
    // LearnerHandler: a learner that committed a later membership than ours must not sync to us.
    const committed = this.peer.membership.committed.version;
    if (info.info.configVersion > committed) {
      throw new CodecError(
        `Follower is ahead of the leader (has a later activated configuration): ${hex(info.info.configVersion)} > ${hex(committed)}`,
      );
    }
    const learner = new LearnerLink(link, info.sid);
    learner.observer = info.observer || role === 'observer';
    const old = this.learners.get(info.sid);
    this.learners.set(info.sid, learner);
    old?.link.close('replaced by a new connection from the same server');
    this.peer.log.info({ learner: info.sid, peer: peerName, observer: learner.observer }, 'learner connected');
    this.core.receive(info.sid, decodeToLeader(p));
    return learner;
  }

  protected closeLinks(reason: string): void {
    if (this.containerTimer !== null) clearInterval(this.containerTimer);
    if (this.sessionTimer !== null) clearInterval(this.sessionTimer);
    this.listener.close();
    for (const l of this.learners.values()) l.link.close(reason);
    this.learners.clear();
  }

  // ------------------------------------------------------------------ actions

  /**
   * A reconfig this leader proposed is committed. A leader the new membership does not keep (its
   * core commits nothing more) leaves the role and follows the designated leader without an
   * election, as ZooKeeper's does once its followers have left it. It leaves at once: the
   * COMMITANDACTIVATEs are queued on the links before they close, so they still reach everyone.
   */
  private activateReconfig(t: ZabTxn, designated: number): void {
    activateReconfig(this.peer, this.zk.tree, t, designated);
    if (designated !== this.peer.ensemble.myid)
      this.handOver(designated, `reconfig ${hex(t.zxid)}: server ${designated} leads the new membership`);
  }

  protected carryOut(a: ZabAction): void {
    switch (a.kind) {
      case 'send':
        this.send(a.to, a.message as ToLearner);
        return;
      case 'disconnect': {
        const l = this.learners.get(a.peer);
        this.learners.delete(a.peer);
        if (l !== undefined) this.peer.log.warn({ learner: a.peer, reason: a.reason }, 'dropping learner');
        l?.link.close(a.reason);
        return;
      }
      case 'append':
        this.appendToLog(a.txn);
        return;
      case 'apply':
        this.apply(a.txn);
        return;
      case 'writeEpoch':
        this.writeEpoch(a.file, a.epoch);
        return;
      case 'readLog':
        this.answer('log read', this.readLog(a.peer, a.after, a.until));
        return;
      case 'request':
        this.onRequest(a.from, a.request);
        return;
      case 'revalidate': {
        const now = this.peer.env.clock.monoMs();
        this.zk.authority.revalidate(a.sessionId, a.timeoutMs, now, {
          revalidated: (id, valid) => {
            this.core.revalidated(a.from, id, valid);
            this.drive();
          },
        });
        return;
      }
      case 'touches': {
        const now = this.peer.env.clock.monoMs();
        for (const t of a.touches) this.zk.authority.touch(t.sessionId, now);
        return;
      }
      case 'serving':
        this.onServing(a.epoch);
        return;
      case 'activate':
        this.activateReconfig(a.txn, a.designated);
        return;
      case 'looking':
        this.peer.log.warn({ reason: a.reason }, 'leader gives up leadership');
        this.finish(a.reason);
        return;
      case 'truncate':
      case 'saveSnapshot':
      case 'revalidated':
      case 'syncDone':
        assert(false, () => `a leader got the learner's action ${a.kind}`);
    }
  }

  private send(to: Sid, m: ToLearner): void {
    const l = this.learners.get(to);
    if (l === undefined) return;
    const now = this.peer.env.clock.monoMs();
    switch (m.type) {
      case PacketType.diff:
      case PacketType.trunc:
      case PacketType.snap: {
        const mode: SyncMode = m.type === PacketType.diff ? 'diff' : m.type === PacketType.trunc ? 'trunc' : 'snap';
        l.sync = { mode, startedMs: now };
        this.peer.log.info({ learner: to, mode, zxid: hex(m.zxid) }, `synchronizing learner ${to} by ${mode.toUpperCase()}`);
        break;
      }
      case PacketType.upToDate:
        l.synced = true;
        this.peer.log.info(
          { learner: to, mode: l.sync?.mode, ms: l.sync === null ? 0 : Math.round(now - l.sync.startedMs) },
          `learner ${to} synced by ${l.sync?.mode.toUpperCase() ?? '?'}`,
        );
        break;
      case PacketType.sync:
        this.pendingSyncs = Math.max(0, this.pendingSyncs - 1);
        break;
      default:
    }
    // NEWLEADER carries the last seen membership (the first leader stamps its version first).
    l.send(encodeToLearner(m, m.type === PacketType.newLeader ? this.peer.membership.newLeaderConfig(m.zxid) : ''));
    if (m.type === PacketType.snap) {
      const serializer = new SnapshotSerializer(
        this.zk.tree,
        this.zk.sessionTimeouts(),
        {
          chunk: (bytes, release) => {
            if (l.link.sendBytes(bytes)) release();
            else void l.link.drained().then(release);
          },
        },
        TRANSFER_CHUNKS_IN_FLIGHT,
        'transfer',
      );
      assert(serializer.zxid === m.zxid, () => `SNAP at ${hex(m.zxid)} of a tree at ${hex(serializer.zxid)}`);
      l.streamSnapshot(serializer).catch((e: unknown) => l.link.close(`snapshot transfer failed: ${(e as Error).message}`));
    }
  }

  private appendToLog(t: ZabTxn): void {
    const p = this.pending.get(t.zxid);
    assert(p !== undefined, () => `append of ${hex(t.zxid)}, which this leader did not propose`);
    this.appendedTxn(t);
    // the PROPOSAL's bytes go to the log as they are: encoding the txn again cost as much
    this.peer.store.append(
      { header: p.prepared.header, txn: logBodyOf(t) },
      {
        durable: () => {
          this.core.logged(t.zxid);
          this.drive();
        },
      },
    );
  }

  private apply(t: ZabTxn): void {
    const p = this.pending.get(t.zxid);
    assert(p !== undefined, () => `apply of ${hex(t.zxid)}, which this leader did not propose`);
    this.pending.delete(t.zxid);
    this.appliedTxn(t);
    p.done.durable();
  }

  private onRequest(from: Sid, w: Parameters<typeof forwardedRequestOf>[0]): void {
    let req;
    try {
      req = forwardedRequestOf(w);
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      this.peer.log.warn({ learner: from, err: e.message }, 'undecodable REQUEST from a learner, closing its connection');
      this.learners.get(from)?.link.close(e.message);
      return;
    }
    if (req.op === OpCode.sync) {
      this.pendingSyncs++;
      this.core.syncFor(from);
      return;
    }
    this.zk.submitForwarded(w.sessionId, w.cxid, req, authIdsOf(w));
  }

  private async readLog(peer: Sid, after: number, until: number): Promise<void> {
    const reader = await this.peer.store.log.read(after, until);
    const txns: ZabTxn[] = [];
    let bytes = 0;
    const limit = await this.txnBytesLimit();
    let preceding: number | null = reader.preceding < 0 ? null : reader.preceding;
    try {
      for (let slice = await reader.next(); slice.length > 0 && preceding !== null; slice = await reader.next()) {
        for (const t of slice) {
          bytes += t.entry.length;
          txns.push({ zxid: t.header.zxid, sessionId: t.header.clientId, cxid: t.header.cxid, type: t.header.type, bytes: t.entry });
        }
        // ZooKeeper's snapshotSizeFactor: past a share of the snapshot's size, a SNAP costs less
        if (bytes > limit) preceding = null;
      }
    } finally {
      await reader.close();
    }
    this.core.logRead(peer, { preceding, txns: preceding === null ? [] : txns });
  }

  /**
   * `zookeeper.snapshotSizeFactor` times the newest snapshot file's length, as ZooKeeper weighs
   * a DIFF against a SNAP (no snapshot file: 0, so any txn makes it a SNAP, as there).
   */
  private async txnBytesLimit(): Promise<number> {
    const factor = this.peer.config.snapshotSizeFactor;
    if (factor < 0) return Infinity;
    const { snapDir, logDir } = this.peer.dirs;
    const newest = (await listDataFiles(this.peer.env.fs, snapDir, logDir)).snapshots[0];
    return newest === undefined ? 0 : (await this.peer.env.fs.size(path.join(snapDir, newest.name))) * factor;
  }

  private onServing(epoch: number): void {
    this.phase = 'broadcast';
    // Leader.startZkServer: the membership NEWLEADER carried is now agreed; commit it.
    const membership = this.peer.membership;
    membership.newLeaderConfig(makeZxid(epoch, 0));
    membership.activate(membership.lastSeen, this.zk.tree, this.peer.env.clock.wallMs());
    const designated = this.core.designatedLeader;
    if (designated !== null && designated !== this.peer.ensemble.myid) {
      this.handOver(
        designated,
        `the membership a predecessor proposed (${hex(membership.committed.version)}) is led by server ${designated}`,
      );
      return;
    }
    this.zk.prep.resetEpoch(epoch);
    this.zk.startLeaderEpoch(epoch);
    this.peer.clients.serve(this.zk);
    const zk = this.zk;
    const clock = this.peer.env.clock;
    this.sessionTimer = setInterval(() => zk.tick(readNow(clock)), Math.min(100, this.peer.ensemble.tickTimeMs));
    this.containerTimer = setInterval(() => zk.checkContainers(readNow(clock)), this.peer.config.containerCheckIntervalMs);
    this.peer.log.info({ epoch, ms: this.elapsedMs() }, `leading - broadcast: epoch ${epoch} established`);
  }

  facts(): QuorumFacts {
    let followers = 0;
    let syncedFollowers = 0;
    let syncedObservers = 0;
    for (const l of this.learners.values()) {
      if (!l.observer) followers++;
      if (l.synced && l.observer) syncedObservers++;
      else if (l.synced) syncedFollowers++;
    }
    return {
      mode: 'leader',
      peerState: `leading - ${this.phase}`,
      leader: { learners: this.learners.size, followers, syncedFollowers, syncedObservers, pendingSyncs: this.pendingSyncs },
    };
  }
}
