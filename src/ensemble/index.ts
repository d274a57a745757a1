export { QuorumPeer } from './quorum-peer.js';
export type { LeaderElection, ElectionOutcome, LocalVoteState } from './election.js';
export { FastLeaderElection } from './fle-election.js';
