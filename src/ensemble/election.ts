/**
 * What the ensemble driver needs of leader election (FastLeaderElection over the election
 * port): a decision, given this member's durable state. The election keeps answering other
 * members with that decision until the driver looks again.
 */
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
  /** A newer membership was committed: notifications carry its text from now on. */
  configCommitted?(text: string, version: number): void;
  /** Stops the election (connections, timers): the member is shutting down. */
  shutdown(): void;
}
