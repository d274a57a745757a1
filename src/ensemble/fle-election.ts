/**
 * The member's leader election: ZooKeeper 3.8's FastLeaderElection over the election port
 * (server/election-driver.ts), seen through the driver's `LeaderElection`. The election port is
 * bound before the first round and stays up for the member's life, answering members that look.
 */
import type { EnsembleConfig, EnsembleMember } from '../config/index.js';
import { ServerState, type ElectionView } from '../quorum/index.js';
import type { Sid } from '../quorum/zab/index.js';
import { ElectionDriver } from '../server/election-driver.js';
import type { Clock, Logger } from '../server/types.js';
import type { ElectionOutcome, LeaderElection, LocalVoteState } from './election.js';

export class FastLeaderElection implements LeaderElection {
  private readonly driver: ElectionDriver;
  private listening: Promise<unknown> | null = null;
  private newerMembership: ((text: string, version: number) => void) | null = null;

  constructor(ensemble: EnsembleConfig, log: Logger, clock: Clock) {
    this.driver = ElectionDriver.forEnsemble(
      ensemble,
      log,
      () => clock.monoMs(),
      (text, version) => this.newerMembership?.(text, version),
    );
  }

  onNewerMembership(handler: (text: string, version: number) => void): void {
    this.newerMembership = handler;
  }

  /** Binds the election port (start-up fails if it cannot). */
  async listen(): Promise<void> {
    this.listening ??= this.driver.listen();
    await this.listening;
  }

  async lookForLeader(local: LocalVoteState): Promise<ElectionOutcome> {
    await this.listen();
    const decision = await this.driver.lookForLeader(local);
    return { leader: decision.vote.leader, electionEpoch: decision.vote.electionEpoch };
  }

  updateElectionVote(peerEpoch: number): void {
    this.driver.updateElectionVote(peerEpoch);
  }

  reconfigure(view: ElectionView, members: readonly Pick<EnsembleMember, 'id' | 'host' | 'electionPort'>[]): void {
    this.driver.reconfigure(view, members);
  }

  adoptLeader(leader: Sid, zxid: number, role: 'leading' | 'following' | 'observing'): void {
    const state = role === 'leading' ? ServerState.leading : role === 'following' ? ServerState.following : ServerState.observing;
    this.driver.adoptLeader(leader, zxid, state);
  }

  shutdown(): void {
    void this.driver.close();
  }
}
