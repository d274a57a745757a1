/**
 * What the ensemble driver needs of leader election (FastLeaderElection over the election
 * port): a decision, given this member's durable state. The election keeps answering other
 * members with that decision until the driver looks again.
 */
import type { EnsembleMember } from '../config/index.js';
import type { ElectionView } from '../quorum/index.js';
import type { Sid } from '../quorum/zab/index.js';

/** What this member offers when it looks for a leader (FLE compares epoch, then zxid, then sid). */
export interface LocalVoteState {
  readonly lastLoggedZxid: number;
  readonly currentEpoch: number;
}

export interface ElectionOutcome {
  /** The elected leader's sid (this member's own: lead). */
  readonly leader: Sid;
  /** The election round it was decided in (for the log). */
  readonly electionEpoch: number;
}

export interface LeaderElection {
  /** Looks for a leader; resolves once this member has decided. */
  lookForLeader(local: LocalVoteState): Promise<ElectionOutcome>;
  /** The member took a new epoch (its currentEpoch): answers to members that look carry it. */
  updateElectionVote(peerEpoch: number): void;
  /**
   * The membership changed (a reconfig seen or committed): the election counts with `view` and
   * reaches `members` from now on.
   */
  reconfigure?(view: ElectionView, members: readonly Pick<EnsembleMember, 'id' | 'host' | 'electionPort'>[]): void;
  /**
   * A committed reconfig named the leader (ZooKeeper's reconfigFlag): the member goes to it
   * without an election, and the election answers members that look with it.
   */
  adoptLeader?(leader: Sid, zxid: number, role: 'leading' | 'following' | 'observing'): void;
  /**
   * Where a newer committed membership heard while looking goes (a member that joins learns the
   * ensemble so); the member adopts it and reconfigures the election.
   */
  onNewerMembership?(handler: (text: string, version: number) => void): void;
  /** Stops the election (connections, timers): the member is shutting down. */
  shutdown(): void;
}
