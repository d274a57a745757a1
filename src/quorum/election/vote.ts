/**
 * Votes as ZooKeeper 3.8's Vote and FastLeaderElection compare them.
 *
 * Sids are numbers (a config's ids are safe integers). A non-voter proposes Java's Long.MIN_VALUE
 * as its leader, zxid and peer epoch: NO_VOTE_LONG, exact as a number, which compares below
 * every real value just as the long does.
 */
import { NO_VOTE_LONG, ServerState } from '../../codec/index.js';

export { NO_VOTE_LONG, ServerState };

/** What a member proposes: the leader and that leader's last zxid and epoch. */
export interface Proposal {
  readonly leader: number;
  readonly zxid: number;
  readonly peerEpoch: number;
}

/**
 * A vote as Vote.java holds it: a proposal with the election round it was made in, the state of
 * the member that sent it and the notification format version it came in (0 when it did not come
 * from a notification's own fields).
 */
export interface Vote extends Proposal {
  readonly electionEpoch: number;
  readonly state: ServerState;
  readonly version: number;
}

/** Vote.java's constructors without a round use -1. */
export const NO_ELECTION_EPOCH = -1;

export function makeVote(p: Proposal, electionEpoch: number, state: ServerState = ServerState.looking, version = 0): Vote {
  return { leader: p.leader, zxid: p.zxid, peerEpoch: p.peerEpoch, electionEpoch, state, version };
}

/**
 * FastLeaderElection.totalOrderPredicate: does `next` beat `current`? A candidate of weight 0
 * never does; otherwise the higher peer epoch wins, then the higher zxid, then the higher sid.
 * A majority quorum gives every id weight 1 (QuorumMaj.getWeight), observers and unknown ids
 * included: those are kept out earlier, by the valid-voter checks.
 */
export function totalOrderPredicate(next: Proposal, current: Proposal, nextWeight = 1): boolean {
  if (nextWeight === 0) return false;
  if (next.peerEpoch !== current.peerEpoch) return next.peerEpoch > current.peerEpoch;
  if (next.zxid !== current.zxid) return next.zxid > current.zxid;
  return next.leader > current.leader;
}

/**
 * Vote.equals, which decides whose votes count together. When either side is LOOKING all four
 * numbers must match. Between members out of election (FOLLOWING, LEADING) only the leader and
 * its epoch are compared (their zxids and rounds drift apart after the election, ZOOKEEPER-1805),
 * and only the leader when exactly one side came in a versioned notification (ZOOKEEPER-1732).
 */
export function votesEqual(a: Vote, b: Vote): boolean {
  if (a.state === ServerState.looking || b.state === ServerState.looking) {
    return a.leader === b.leader && a.zxid === b.zxid && a.electionEpoch === b.electionEpoch && a.peerEpoch === b.peerEpoch;
  }
  if (a.version > 0 !== b.version > 0) return a.leader === b.leader;
  return a.leader === b.leader && a.peerEpoch === b.peerEpoch;
}

/** The sids whose recorded vote equals `vote` (FastLeaderElection.getVoteTracker's ack set). */
export function supportersOf(votes: ReadonlyMap<number, Vote>, vote: Vote): number[] {
  const acks: number[] = [];
  for (const [sid, v] of votes) if (votesEqual(vote, v)) acks.push(sid);
  return acks;
}

export function formatVote(v: Proposal): string {
  const hex = (n: number): string => (n === NO_VOTE_LONG ? 'min' : n.toString(16));
  return `(${v.leader === NO_VOTE_LONG ? 'min' : v.leader}, 0x${hex(v.zxid)}, 0x${hex(v.peerEpoch)})`;
}
