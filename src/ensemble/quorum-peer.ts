/**
 * An ensemble member (ZooKeeper's QuorumPeer): recovers its data directory, keeps its client
 * port open, and loops: election, then a role term (leading, following or observing) driven
 * by a ZAB core, until the term ends; then election again.
 *
 * Between terms the database carries over, fast-forwarded to the log (role.ts `settle`). The
 * client port serves only while a term's core says `serving`; a member that loses its quorum
 * or its leader closes its clients' connections and serves again once it has rejoined. With
 * `readonlymode.enabled`, a member that stays in election serves read-only clients meanwhile
 * (read-only.ts).
 */
import type { AddressInfo } from 'node:net';
import { parseQuorumConfigText, roleIn, type Config, type EnsembleConfig, type QuorumConfig } from '../config/index.js';
import type { QuorumFacts } from '../admin/index.js';
import { ClientListener } from '../net/client-listener.js';
import { COMMIT_WINDOW_DEFAULT, hex } from '../quorum/zab/index.js';
import { DurableStore, QuorumEpochs } from '../storage/index.js';
import { collectGarbage, type ConfigFiles } from '../runtime/index.js';
import { dataDirs, listenerSettings, nodeEnvironment, recoverData, storeOptions, type ServerEnvironment } from '../server/composition.js';
import type { Logger } from '../server/types.js';
import type { LeaderElection } from './election.js';
import { LeaderRole } from './leader-role.js';
import { LearnerRole } from './learner-role.js';
import { Membership, electionViewOf, membersOf } from './membership.js';
import { adoptDatabase, type PeerState } from './role.js';
import { ReadOnlyServing } from './read-only.js';
import { ServingSwitch } from './serving-switch.js';
import { TxnTail } from './txns.js';

export class QuorumPeer {
  private state: PeerState | null = null;
  private listener: ClientListener | null = null;
  private role: LeaderRole | LearnerRole | null = null;
  private readOnly: ReadOnlyServing | null = null;
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();
  address: AddressInfo | null = null;

  constructor(
    readonly config: Config,
    readonly ensemble: EnsembleConfig,
    private readonly election: LeaderElection,
    private readonly log: Logger,
    /** Called when the disk fails: the member must stop (it can no longer promise durability). */
    private readonly onFatal: (e: Error) => void,
    private readonly env: ServerEnvironment = nodeEnvironment,
    /** zoo.cfg and its dynamic files, with the `.dynamic.next` membership start-up read; none in tests without files. */
    private readonly configFiles?: { readonly files: ConfigFiles; readonly next: QuorumConfig | undefined },
  ) {}

  /** Recovers the data directory, opens the client port, and starts electing. */
  async start(): Promise<AddressInfo> {
    const { config, env, log } = this;
    const dirs = dataDirs(config);
    const recovered = await recoverData(env, config, dirs, log);
    const lastZxid = recovered.tree.lastProcessedZxid;
    log.info({ snapshot: recovered.snapshotName, replayedTxns: recovered.replayedTxns, zxid: hex(lastZxid) }, 'data recovered');
    const store = new DurableStore(
      env.fs,
      storeOptions(env, config, dirs, log, lastZxid, (e) => this.fatal(e)),
    );
    store.log.roll();
    const epochs = await QuorumEpochs.load(env.fs, dirs.snapDir, lastZxid, (msg, details) => log.info(details, msg));
    const tail = new TxnTail(COMMIT_WINDOW_DEFAULT);
    await fillTail(tail, store, snapshotZxidOf(recovered.snapshotName));
    collectGarbage();
    const clients = new ServingSwitch();
    this.state = {
      config,
      ensemble: this.ensemble,
      env,
      log,
      dirs,
      store,
      epochs,
      tail,
      clients,
      tree: recovered.tree,
      sessions: recovered.sessions,
      fatal: (e) => this.fatal(e),
      epochTaken: (epoch) => this.election.updateElectionVote(epoch),
      membership: new Membership({
        myid: this.ensemble.myid,
        reconfigEnabled: this.ensemble.reconfigEnabled,
        committed: this.ensemble.committedConfig,
        next: this.configFiles?.next,
        files: this.configFiles?.files,
        log,
        changed: () => this.membershipChanged(),
      }),
    };
    this.membershipChanged();
    this.election.onNewerMembership?.((text, version) => this.adoptMembership(text, version));
    adoptDatabase(this.state, recovered.tree, recovered.sessions);
    const settings = listenerSettings(env, config, dirs, {
      core: () => clients.current,
      clientPort: () => this.address?.port ?? config.clientPort,
      quorum: () => this.facts(),
    });
    this.listener = new ClientListener(clients, settings, log);
    this.address = await this.listener.listen();
    // A failure between terms (the disk, while the log drains) stops the member, as one in a term does.
    this.loop = this.run(this.state).catch((e: unknown) => this.fatal(e as Error));
    return this.address;
  }

  /** What `srvr` and `mntr` report of this member's role. */
  facts(): QuorumFacts {
    const role = this.role;
    if (this.readOnly?.serving === true) return { mode: 'read-only', peerState: 'looking' };
    if (role === null || role.isOver) return { mode: 'follower', peerState: 'looking' };
    return role.facts();
  }

  /** The election counts with the memberships this member now has. */
  private membershipChanged(): void {
    const membership = this.state?.membership;
    if (membership === undefined) return;
    const { committed, lastSeen } = membership;
    this.election.reconfigure?.(electionViewOf(this.ensemble.myid, committed, lastSeen), membersOf(committed, lastSeen));
  }

  /**
   * The election heard a newer committed membership while looking (FastLeaderElection's
   * processReconfig): it becomes this member's, written to disk, and the election starts over
   * with it. A member started with the ensemble and itself in its config learns so that it is
   * not a member yet, and follows as a non-voter until a reconfig adds it.
   */
  private adoptMembership(text: string, version: number): void {
    const state = this.state;
    if (state === null || !this.ensemble.reconfigEnabled) return;
    let qc: QuorumConfig;
    try {
      qc = parseQuorumConfigText(text, `the membership of version 0x${version.toString(16)} a member sent`);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'election: a newer membership that does not parse, ignored');
      return;
    }
    this.log.info({ version: hex(qc.version), membership: qc.text }, 'election: adopting the newer membership another member sent');
    state.membership.activate(qc, state.tree, this.env.clock.wallMs());
  }

  private async run(state: PeerState): Promise<void> {
    const { log, ensemble } = this;
    /** The leader a committed reconfig named (ZooKeeper's reconfigFlag): no election before the next term. */
    let successor: number | null = null;
    while (!this.stopped) {
      const leader: number = successor === null ? await this.elect(state) : this.goTo(successor, state);
      if (this.isStopped()) return;
      // what the committed membership makes this member (not in it: a non-voting follower)
      const observer = roleIn(state.membership.committed, ensemble.myid) === 'observer';
      const role: LeaderRole | LearnerRole = leader === ensemble.myid ? new LeaderRole(state) : new LearnerRole(state, leader, observer);
      this.role = role;
      role.start();
      const reason = await role.ended;
      const zxid = await role.settle();
      successor = role.successor;
      log.info({ reason, lastZxid: hex(zxid) }, 'role ended');
    }
  }

  /** An election round; resolves with the leader it decided on. */
  private async elect(state: PeerState): Promise<number> {
    const lookedAt = this.env.clock.monoMs();
    this.log.info({ lastZxid: hex(state.store.log.lastZxid), currentEpoch: state.epochs.currentEpoch }, 'LOOKING: election starts');
    this.readOnly = this.config.readonlyModeEnabled ? new ReadOnlyServing(state) : null;
    const outcome = await this.election.lookForLeader({
      lastLoggedZxid: state.store.log.lastZxid,
      currentEpoch: state.epochs.currentEpoch,
    });
    this.endReadOnly();
    const ms = Math.round(this.env.clock.monoMs() - lookedAt);
    this.log.info(
      { leader: outcome.leader, electionEpoch: outcome.electionEpoch, ms },
      `election finished: server ${outcome.leader} leads`,
    );
    return outcome.leader;
  }

  /** QuorumPeer.updateServerState with reconfigFlag set: straight to the named leader's term. */
  private goTo(leader: number, state: PeerState): number {
    const { myid } = this.ensemble;
    const observer = roleIn(state.membership.committed, myid) === 'observer';
    const role = leader === myid ? 'leading' : observer ? 'observing' : 'following';
    this.election.adoptLeader?.(leader, state.store.log.lastZxid, role);
    this.log.info({ leader, role }, `reconfig: ${role}${leader === myid ? '' : ` server ${leader}`} without an election`);
    return leader;
  }

  private endReadOnly(): void {
    this.readOnly?.stop();
    this.readOnly = null;
  }

  /** (A method: `stopped` changes while the loop awaits.) */
  private isStopped(): boolean {
    return this.stopped;
  }

  private fatal(e: Error): void {
    if (this.stopped) return;
    this.log.error({ err: e.message }, 'storage failure: stopping this member');
    this.onFatal(e);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.election.shutdown();
    this.endReadOnly();
    this.role?.stop('server shutting down');
    await this.listener?.close();
    await this.loop.catch(() => undefined);
    await this.state?.store.close();
  }
}

/** The zxid in a snapshot file's name (`snapshot.<hex>`). */
function snapshotZxidOf(name: string): number {
  const hexPart = /^snapshot\.([0-9a-f]+)/.exec(name)?.[1];
  return hexPart === undefined ? 0 : parseInt(hexPart, 16);
}

/** The txns logged after the snapshot (what recovery replayed): the start of the committed window. */
async function fillTail(tail: TxnTail, store: DurableStore, after: number): Promise<void> {
  const reader = await store.log.read(after);
  try {
    for (let slice = await reader.next(); slice.length > 0; slice = await reader.next()) {
      for (const t of slice)
        tail.add({ zxid: t.header.zxid, sessionId: t.header.clientId, cxid: t.header.cxid, type: t.header.type, bytes: t.entry });
    }
  } finally {
    await reader.close();
  }
}
