/**
 * What a leader's and a learner's driver share: the member's state they work on, the ordered
 * carrying out of a ZAB core's actions, the tick, and the end of a role term.
 *
 * Actions are carried out in the order the core gives them (zab/index.ts). Most are done at
 * once or start something whose answer comes back as an input (an append's `logged`, an epoch
 * write). A TRUNC's cut or a SNAP's save is a barrier: the actions after it wait until it is
 * durable and the database reset, as the log must not take an append while it is cut.
 */
import { assert } from '../base/index.js';
import type { EnsembleConfig, Config, QuorumConfig } from '../config/index.js';
import type { TreeChange, DataTree } from '../tree/index.js';
import type { DurableStore, QuorumEpochs } from '../storage/index.js';
import { replayTxn } from '../storage/index.js';
import { hex, type EpochFile, type Sid, type ZabAction, type ZabTxn, type Zxid } from '../quorum/zab/index.js';
import type { ServerEnvironment, DataDirs } from '../server/composition.js';
import type { Logger } from '../server/types.js';
import { membershipOfReconfig, type Membership } from './membership.js';
import type { ServingSwitch } from './serving-switch.js';
import { decodeZabTxn, type TxnTail } from './txns.js';

/** The member's state that outlives a role term, and its services. */
export interface PeerState {
  readonly config: Config;
  readonly ensemble: EnsembleConfig;
  readonly env: ServerEnvironment;
  readonly log: Logger;
  readonly dirs: DataDirs;
  readonly store: DurableStore;
  readonly epochs: QuorumEpochs;
  readonly tail: TxnTail;
  readonly clients: ServingSwitch;
  /** The database (ZooKeeper's ZKDatabase): the tree and the session table. */
  tree: DataTree;
  sessions: Map<bigint, number>;
  /** The disk failed: the member stops. */
  fatal(e: Error): void;
  /** currentEpoch was written: the election's answers carry the new epoch. */
  epochTaken(epoch: number): void;
  /** The committed and last seen memberships: what NEWLEADER carries and /zookeeper/config holds. */
  readonly membership: Membership;
}

/**
 * A reconfig committed (COMMITANDACTIVATE, INFORMANDACTIVATE, or this leader's own): its
 * membership becomes the committed one (files, /zookeeper/config, the election's voters). The
 * role acts on it (role change, another leader). Null, logged, for a txn whose membership does
 * not parse.
 */
export function activateReconfig(peer: PeerState, tree: DataTree, t: ZabTxn, designated: number): QuorumConfig | null {
  const qc = membershipOfReconfig(decodeZabTxn(t).txn, t.zxid);
  if (typeof qc === 'string') {
    peer.log.warn({ zxid: hex(t.zxid), err: qc }, 'a reconfig whose membership does not parse');
    return null;
  }
  peer.log.info({ designated, version: hex(qc.version) }, 'reconfig committed');
  peer.membership.activate(qc, tree, peer.env.clock.wallMs());
  return qc;
}

/**
 * A new database for the member (recovered, or after a TRUNC or SNAP). Its /zookeeper/config
 * holds the committed membership's text, as ZooKeeper's initConfigInZKDatabase sets it.
 */
export function adoptDatabase(peer: PeerState, tree: DataTree, sessions: Map<bigint, number>): void {
  peer.membership.stampConfigNode(tree, peer.env.clock.wallMs());
  peer.tree = tree;
  peer.sessions = sessions;
}

/** The ZAB phase and sync mode, for `mntr`'s zk_peer_state and the log. */
export type ZabPhase = 'discovery' | 'synchronization' | 'broadcast';

export interface ZabCoreLike {
  take(): ZabAction[];
  tick(): void;
  epochWritten(file: EpochFile, epoch: number): void;
}

export abstract class RoleDriver {
  protected abstract readonly core: ZabCoreLike;
  phase: ZabPhase = 'discovery';
  private readonly queue: ZabAction[] = [];
  private busy: Promise<void> | null = null;
  private ticker: NodeJS.Timeout | null = null;
  private endReason: string | null = null;
  private resolveEnd: (reason: string) => void = () => undefined;
  /** Resolves with the reason once the role is over (its core went back to looking). */
  readonly ended: Promise<string>;
  /**
   * ZooKeeper's reconfigFlag: a committed reconfig named the leader this member goes to next,
   * without an election (null: the member looks for a leader).
   */
  successor: Sid | null = null;
  /** Appended, not yet applied, in zxid order: fast-forwarded into the tree when the role ends. */
  private readonly unapplied: ZabTxn[] = [];
  protected readonly startedMs: number;

  constructor(protected readonly peer: PeerState) {
    this.ended = new Promise((resolve) => (this.resolveEnd = resolve));
    this.startedMs = peer.env.clock.monoMs();
  }

  /** Ticks the core every tickTime, and calls `betweenTicks` halfway between. */
  protected startTicking(): void {
    let half = 0;
    this.ticker = setInterval(() => {
      if (++half % 2 === 0) this.core.tick();
      else this.betweenTicks();
      this.drive();
    }, this.peer.ensemble.tickTimeMs / 2);
  }

  /** What a role does halfway between two ticks (a leader pings). */
  protected betweenTicks(): void {
    // nothing by default
  }

  get isOver(): boolean {
    return this.endReason !== null;
  }

  /** Takes the core's actions and carries them out in order (a barrier holds back the rest). */
  protected drive(): void {
    if (this.isOver) return;
    for (const a of this.core.take()) this.queue.push(a);
    this.pump();
  }

  private pump(): void {
    while (this.busy === null && !this.isOver) {
      const a = this.queue.shift();
      if (a === undefined) return;
      try {
        this.carryOut(a);
      } catch (e) {
        this.peer.fatal(e as Error);
        return;
      }
    }
  }

  /** Runs `work` before any later action; the core's answer is part of `work`. */
  protected barrier(what: string, work: () => Promise<void>): void {
    this.busy = work().then(
      () => {
        this.busy = null;
        this.drive();
      },
      (e: unknown) => {
        this.busy = null;
        this.peer.log.error({ err: (e as Error).message, what }, 'storage failure during sync');
        this.peer.fatal(e as Error);
      },
    );
  }

  /** An async step whose answer goes back to the core (an epoch write, a log read); failures stop the member. */
  protected answer(what: string, work: Promise<void>): void {
    work.then(
      () => this.drive(),
      (e: unknown) => {
        this.peer.log.error({ err: (e as Error).message, what }, 'storage failure');
        this.peer.fatal(e as Error);
      },
    );
  }

  protected abstract carryOut(a: ZabAction): void;

  /**
   * Writes an epoch file durably, then tells the core. A new currentEpoch goes to the election
   * too: its answers to a member that looks must carry the epoch this member now follows, or
   * that member cannot count this one with the others it hears from (their votes differ).
   */
  protected writeEpoch(file: EpochFile, epoch: number): void {
    const epochs = this.peer.epochs;
    const write = file === 'acceptedEpoch' ? epochs.setAcceptedEpoch(epoch) : epochs.setCurrentEpoch(epoch);
    this.answer(
      file,
      write.then(() => {
        if (file === 'currentEpoch') {
          this.phase = 'synchronization';
          this.peer.epochTaken(epoch);
        }
        this.core.epochWritten(file, epoch);
      }),
    );
  }

  protected appendedTxn(t: ZabTxn): void {
    this.unapplied.push(t);
    this.peer.tail.add(t);
  }

  protected appliedTxn(t: ZabTxn): void {
    const head = this.unapplied.shift();
    assert(
      head?.zxid === t.zxid,
      () => `apply ${hex(t.zxid)} but the oldest unapplied txn is ${head === undefined ? 'none' : hex(head.zxid)}`,
    );
  }

  /** A TRUNC or SNAP reset the database: nothing appended before it is pending any more. */
  protected resetUnapplied(): void {
    this.unapplied.length = 0;
  }

  /** Ends the role (the core said `looking`, or the member stops). */
  protected finish(reason: string): void {
    if (this.endReason !== null) return;
    this.endReason = reason;
    if (this.ticker !== null) clearInterval(this.ticker);
    this.peer.clients.stop(`server not serving: ${reason}`);
    this.closeLinks(reason);
    this.resolveEnd(reason);
  }

  protected abstract closeLinks(reason: string): void;

  /** Ends the role for a committed reconfig's leader (this member's too): no election follows. */
  protected handOver(leader: Sid, reason: string): void {
    if (this.isOver) return;
    this.successor = leader;
    this.finish(reason);
  }

  /** The role is over: once the disk is idle, the tree takes every logged txn (uncommitted ones too). */
  async settle(): Promise<Zxid> {
    await this.busy;
    await this.peer.store.log.drain();
    const changes: TreeChange[] = [];
    for (const t of this.unapplied) {
      const { header, txn } = decodeZabTxn(t);
      if (header.zxid > this.peer.tree.lastProcessedZxid) replayTxn(this.peer.tree, this.peer.sessions, header, txn, changes);
    }
    this.unapplied.length = 0;
    return this.peer.tree.lastProcessedZxid;
  }

  /** The role's end from outside (shutdown). */
  stop(reason: string): void {
    this.finish(reason);
  }

  protected elapsedMs(): number {
    return Math.round(this.peer.env.clock.monoMs() - this.startedMs);
  }
}
