/**
 * A following (or observing) member: one link to the leader around a ZabLearner, with this
 * member's ZkServer forwarding its clients' writes (REQUEST) and applying what the leader
 * commits. A TRUNC or a SNAP resets the database: the server is rebuilt over the new tree (no
 * client is served while a learner syncs). A SNAP transfer is loaded and then saved in slices
 * (snap-load.ts), so the event loop keeps turning through a large one.
 */
import { connect, type Socket } from 'node:net';
import { assert, SNAPSHOT_SLICE_MS } from '../base/index.js';
import { CodecError, OpCode, PacketType, type QuorumPacket, type SnapItem } from '../codec/index.js';
import {
  ZabLearner,
  decodeToLearner,
  encodeToLeader,
  hex,
  type Sid,
  type ToLeader,
  type ToLearner,
  type ZabAction,
  type ZabTxn,
} from '../quorum/zab/index.js';
import { QuorumLink } from '../net/quorum-link.js';
import { parseQuorumConfigText, roleIn, type QuorumConfig } from '../config/index.js';
import { LearnerSessions, type SessionAuthority } from '../session/index.js';
import { readNow } from '../server/types.js';
import { listDataFiles, writeSnapshot, type ParsedSnapshot } from '../storage/index.js';
import { EventLoopPacer, sha1Base64 } from '../runtime/index.js';
import { recoverData, serverSettings } from '../server/composition.js';
import { ZkServer, type TxnSink } from '../server/zk-server.js';
import type { QuorumFacts } from '../admin/index.js';
import { RoleDriver, activateReconfig, adoptDatabase, type PeerState } from './role.js';
import { decodeZabTxn, forwardedWrite, logBodyOf } from './txns.js';
import { SlicedSnapLoad } from './snap-load.js';
import { membershipOfReconfig } from './membership.js';

type SyncMode = 'diff' | 'trunc' | 'snap';

/**
 * ZooKeeper's zookeeper.leaderConnectDelayDuringRetryMs: the pause between attempts to reach a
 * new leader, which may not listen yet when its followers have decided.
 */
const LEADER_CONNECT_RETRY_MS = 100;

export class LearnerRole extends RoleDriver {
  protected readonly core: ZabLearner;
  zk: ZkServer;
  private sessions: LearnerSessions | null = null;
  private link: QuorumLink | null = null;
  private socket: Socket | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  /** Expires this member's local sessions (global ones are the leader's to expire). */
  private sessionTimer: NodeJS.Timeout | null = null;
  private loading: SlicedSnapLoad | null = null;
  private syncMode: SyncMode | null = null;
  /** The membership NEWLEADER carried, committed at UPTODATE. */
  private newLeaderConfig: QuorumConfig | null = null;

  constructor(
    peer: PeerState,
    readonly leader: Sid,
    readonly observer: boolean,
  ) {
    super(peer);
    const e = peer.ensemble;
    this.core = new ZabLearner({
      sid: e.myid,
      leader,
      observer,
      lastZxid: peer.store.log.lastZxid,
      acceptedEpoch: peer.epochs.acceptedEpoch,
      currentEpoch: peer.epochs.currentEpoch,
      initLimitTicks: e.initLimit,
      syncLimitTicks: e.syncLimit,
    });
    this.zk = this.newServer();
  }

  /** A server over the member's database; a learner's writes go to the leader. */
  private newServer(): ZkServer {
    const peer = this.peer;
    // A learner prepares nothing; its sink only marks snapshot points (the store's snapCount).
    const sink: TxnSink = {
      append: () => assert(false, 'a learner prepares no txn'),
      applied: (zxid) => peer.store.applied(zxid),
    };
    const zk = new ZkServer(
      serverSettings(peer.config, peer.ensemble.myid),
      peer.env.clock,
      sha1Base64,
      peer.log,
      sink,
      peer.tree,
      peer.sessions,
      {
        forwarder: {
          forward: (sessionId, cxid, req, authIds) => {
            if (!this.core.isServing) return;
            this.core.forward(forwardedWrite(sessionId, cxid, req, authIds));
            this.drive();
          },
        },
        authority: (table, ids): SessionAuthority =>
          (this.sessions = new LearnerSessions(ids, table, {
            revalidate: (sessionId, timeoutMs) => {
              this.core.revalidate(sessionId, timeoutMs);
              this.drive();
            },
          })),
      },
    );
    peer.sessions = zk.sessionTable;
    peer.store.attach(zk.tree, () => zk.sessionTimeouts());
    return zk;
  }

  start(): void {
    const what = this.observer ? 'OBSERVING' : 'FOLLOWING';
    this.peer.log.info({ leader: this.leader, lastZxid: hex(this.peer.store.log.lastZxid) }, `${what} ${this.leader}`);
    this.startTicking();
    this.connect();
  }

  /** Connects to the leader's quorum port, trying again until the core gives up (initLimit). */
  private connect(): void {
    if (this.isOver) return;
    const m = this.peer.membership.server(this.leader);
    if (m === undefined) {
      // Learner.findLeader: a leader no membership names cannot be reached; look again
      this.finish(`leader ${this.leader} is in no membership this member knows`);
      return;
    }
    const socket = connect({ host: m.host, port: m.quorumPort });
    this.socket = socket;
    const retry = (): void => {
      socket.destroy();
      if (this.isOver || this.link !== null) return;
      this.connectTimer = setTimeout(() => this.connect(), LEADER_CONNECT_RETRY_MS);
    };
    socket.once('error', retry);
    socket.once('connect', () => {
      socket.off('error', retry);
      if (this.isOver) {
        socket.destroy();
        return;
      }
      this.link = new QuorumLink(socket, 'learner', this.linkHandler(), this.peer.log, `leader ${this.leader}`);
      this.limitSilence();
      this.core.connected();
      this.drive();
    });
  }

  private linkHandler(): ConstructorParameters<typeof QuorumLink>[2] {
    return {
      packet: (p) => this.onPacket(p),
      snapItem: (item) => this.onSnapItem(item),
      closed: (reason) => {
        if (this.isOver) return;
        this.peer.log.warn({ leader: this.leader, reason }, 'connection to the leader closed');
        this.core.disconnected();
        this.drive();
      },
    };
  }

  private onPacket(p: QuorumPacket): void {
    if (p.type === PacketType.newLeader) this.onNewLeaderConfig(p.data);
    let m: ToLearner;
    try {
      m = decodeToLearner(p);
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      this.peer.log.warn({ leader: this.leader, err: e.message }, 'bad packet from the leader, closing the connection');
      this.link?.close(e.message);
      return;
    }
    if (m.type === PacketType.snap) {
      // the transfer follows: the core takes the SNAP once it is loaded
      assert(this.link !== null, 'a packet without a link');
      const pacer = new EventLoopPacer(SNAPSHOT_SLICE_MS);
      this.loading = new SlicedSnapLoad(m.zxid, this.peer.config.extendedTypesEnabled, this.link, pacer);
      this.syncStarted('snap', m.zxid);
      return;
    }
    if (m.type === PacketType.diff) this.syncStarted('diff', m.zxid);
    if (m.type === PacketType.trunc) this.syncStarted('trunc', m.zxid);
    if (m.type === PacketType.ping) {
      for (const [sessionId, timeoutMs] of this.sessions?.takeTouches() ?? []) this.core.touch(sessionId, timeoutMs);
    }
    this.core.receive(m);
    this.drive();
  }

  /**
   * Learner.syncWithLeader: the membership NEWLEADER carries is the last seen one (`.dynamic.next`)
   * until UPTODATE, when it is committed. A text that does not parse is only logged, as there.
   */
  private onNewLeaderConfig(data: Buffer | null): void {
    if (data === null || data.length <= 1) return;
    try {
      const qc = parseQuorumConfigText(data.toString('utf8'), `NEWLEADER from ${this.leader}`);
      this.peer.membership.setLastSeen(qc);
      this.newLeaderConfig = qc;
    } catch (e) {
      this.peer.log.warn({ leader: this.leader, err: (e as Error).message }, "ignoring NEWLEADER's membership");
    }
  }

  private syncStarted(mode: SyncMode, zxid: number): void {
    this.syncMode = mode;
    this.phase = 'synchronization';
    this.peer.log.info({ leader: this.leader, mode, zxid: hex(zxid) }, `synchronizing with the leader by ${mode.toUpperCase()}`);
  }

  /**
   * A record of the SNAP transfer (loaded in slices, the link paused between them); at its end
   * the loaded tree replaces the database, before the link hands on the packets that follow.
   */
  private onSnapItem(item: SnapItem): void {
    const loading = this.loading;
    if (loading === null) return;
    this.core.heard();
    let loaded: ParsedSnapshot | null;
    try {
      loaded = loading.item(item);
    } catch (e) {
      this.peer.log.warn({ err: (e as Error).message }, 'bad snapshot from the leader, closing the connection');
      this.link?.close((e as Error).message);
      return;
    }
    if (loaded === null) return;
    this.loading = null;
    this.peer.log.info({ leader: this.leader, zxid: hex(loading.zxid), ...loading.report() }, 'SNAP loaded');
    const { tree, sessions } = loaded;
    tree.lastProcessedZxid = loading.zxid;
    adoptDatabase(this.peer, tree, sessions);
    this.peer.tail.clear();
    this.resetUnapplied();
    this.zk = this.newServer();
    this.core.receive({ type: PacketType.snap, zxid: loading.zxid });
    this.drive();
  }

  protected closeLinks(reason: string): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    if (this.sessionTimer !== null) clearInterval(this.sessionTimer);
    this.link?.close(reason);
    this.socket?.destroy();
  }

  // ------------------------------------------------------------------ actions

  protected carryOut(a: ZabAction): void {
    switch (a.kind) {
      case 'send':
        this.link?.send(encodeToLeader(a.message as ToLeader, this.peer.ensemble.myid, this.peer.membership.committed.version));
        return;
      case 'append':
        this.append(a.txn);
        return;
      case 'apply': {
        const { header, txn } = decodeZabTxn(a.txn);
        this.appliedTxn(a.txn);
        this.zk.applyCommitted(header, txn);
        return;
      }
      case 'truncate':
        this.barrier('truncate', () => this.truncate(a.zxid));
        return;
      case 'saveSnapshot':
        this.barrier('saveSnapshot', () => this.saveSnapshot(a.zxid));
        return;
      case 'writeEpoch':
        this.writeEpoch(a.file, a.epoch);
        return;
      case 'revalidated':
        this.sessions?.onRevalidateAnswer(a.sessionId, a.valid);
        return;
      case 'syncDone':
        this.zk.syncDone();
        return;
      case 'serving':
        this.onServing(a.epoch);
        return;
      case 'activate':
        this.activateReconfig(a.txn, a.designated);
        return;
      case 'looking':
        this.peer.log.warn({ leader: this.leader, reason: a.reason }, 'leaving the leader');
        this.finish(a.reason);
        return;
      case 'disconnect':
      case 'readLog':
      case 'request':
      case 'revalidate':
      case 'touches':
        assert(false, () => `a learner got the leader's action ${a.kind}`);
    }
  }

  /**
   * A reconfig the leader committed (COMMITANDACTIVATE / INFORMANDACTIVATE): its membership is
   * the committed one. When it names another leader or gives this member another role (a
   * participant made an observer, an observer made a voter or removed: a non-voting follower),
   * the member leaves this leader and goes to the named one as what it now is, without an
   * election (ZooKeeper's Follower and Observer throw "changes proposed in reconfig").
   */
  private activateReconfig(t: ZabTxn, designated: number): void {
    const qc = activateReconfig(this.peer, this.zk.tree, t, designated);
    if (qc === null) return;
    const observer = roleIn(qc, this.peer.ensemble.myid) === 'observer';
    if (designated !== this.leader || observer !== this.observer) {
      const what = designated === this.peer.ensemble.myid ? 'this member leads' : `server ${designated} leads`;
      this.handOver(designated, `reconfig ${hex(t.zxid)}: ${what}, this member ${observer ? 'observes' : 'follows'}`);
    }
  }

  private append(t: ZabTxn): void {
    const { header, txn } = decodeZabTxn(t);
    // QuorumPeer.setLastSeenQuorumVerifier: a reconfig's proposal is the last membership seen
    if (header.type === OpCode.reconfig) {
      const qc = membershipOfReconfig(txn, t.zxid);
      if (typeof qc !== 'string') this.peer.membership.setLastSeen(qc);
    }
    this.appendedTxn(t);
    this.peer.store.append(
      { header, txn: logBodyOf(t) },
      {
        durable: () => {
          this.core.logged(t.zxid);
          this.drive();
        },
      },
    );
  }

  /** TRUNC: the log loses every txn above `zxid`, and the database is reloaded from disk. */
  private async truncate(zxid: number): Promise<void> {
    const peer = this.peer;
    await peer.store.log.drain();
    await peer.store.log.truncate(zxid);
    const recovered = await recoverData(peer.env, peer.config, peer.dirs, peer.log);
    assert(
      recovered.tree.lastProcessedZxid === zxid,
      () => `after TRUNC to ${hex(zxid)} the database is at ${hex(recovered.tree.lastProcessedZxid)}`,
    );
    adoptDatabase(peer, recovered.tree, recovered.sessions);
    peer.tail.truncateAbove(zxid);
    this.resetUnapplied();
    this.zk = this.newServer();
    this.core.truncated(zxid);
  }

  /**
   * SNAP: the loaded tree becomes a snapshot file, and the log starts above it: every txn at
   * or below its zxid is in the snapshot, and any above it is of another history, so the old
   * log files go (a later leader term must not DIFF from them).
   */
  private async saveSnapshot(zxid: number): Promise<void> {
    const peer = this.peer;
    await peer.store.log.drain();
    // in slices: the later actions wait behind this barrier, so nothing changes the tree meanwhile
    const pacer = new EventLoopPacer(SNAPSHOT_SLICE_MS);
    await writeSnapshot(
      peer.env.fs,
      peer.dirs.snapDir,
      this.zk.tree,
      this.zk.sessionTimeouts(),
      peer.config.snapshotCompressionMethod,
      pacer,
    );
    await peer.store.log.truncate(zxid);
    const { logs } = await listDataFiles(peer.env.fs, peer.dirs.snapDir, peer.dirs.logDir);
    for (const f of logs) await peer.env.fs.unlink(`${peer.dirs.logDir}/${f.name}`);
    await peer.env.fs.syncDir(peer.dirs.logDir);
    this.core.snapshotSaved(zxid);
  }

  /**
   * The leader silent for the core's limit in tickTimes closes the link, as ZooKeeper's
   * Learner's socket timeout does: the core's ticks alone would notice up to a tick later, and
   * the members cut off from a leader would each notice at their own tick, not together.
   */
  private limitSilence(): void {
    this.link?.setReadTimeout(this.core.silenceLimitTicks * this.peer.ensemble.tickTimeMs);
  }

  private onServing(epoch: number): void {
    this.phase = 'broadcast';
    const qc = this.newLeaderConfig;
    const before = this.peer.membership.committed;
    if (qc !== null) this.peer.membership.activate(qc, this.zk.tree, this.peer.env.clock.wallMs());
    if (this.peer.membership.committed !== before) {
      // QuorumPeer.processReconfig without a named leader: a new role, or a leader that no longer
      // votes, means an election (ZooKeeper clears reconfigFlag here)
      const committed = this.peer.membership.committed;
      const observer = roleIn(committed, this.peer.ensemble.myid) === 'observer';
      if (observer !== this.observer || roleIn(committed, this.leader) !== 'participant') {
        this.finish(`the membership the leader sent (version ${hex(committed.version)}) changes this member's role or its leader's`);
        return;
      }
    }
    this.limitSilence();
    this.peer.clients.serve(this.zk);
    if (this.zk.localSessions !== null) {
      const clock = this.peer.env.clock;
      this.sessionTimer = setInterval(() => this.zk.tick(readNow(clock)), Math.min(100, this.peer.ensemble.tickTimeMs));
    }
    this.peer.log.info(
      { leader: this.leader, epoch, mode: this.syncMode, ms: this.elapsedMs() },
      `${this.observer ? 'observing' : 'following'} - broadcast: synced with leader ${this.leader} by ${this.syncMode?.toUpperCase() ?? '?'}`,
    );
  }

  facts(): QuorumFacts {
    const sync = this.syncMode === null || this.phase === 'broadcast' ? '' : ` - ${this.syncMode}`;
    return this.observer
      ? { mode: 'observer', peerState: `observing - ${this.phase}${sync}` }
      : { mode: 'follower', peerState: `following - ${this.phase}${sync}` };
  }
}
