/**
 * How a leader brings a learner up to date (LearnerHandler.syncFollower and
 * queueCommittedProposals in ZooKeeper 3.8), given the learner's last zxid (`peer`):
 *
 * - peer is the leader's last committed zxid: an empty DIFF;
 * - peer is above it (a txn the leader never committed, e.g. an old leader's tail): TRUNC to it,
 *   unless peer is an epoch's zero zxid (no txn of its own): then a SNAP;
 * - peer is in the leader's history (the committed window, else the txn log): DIFF and the txns
 *   after it;
 * - peer is not in it but falls between two of its txns of peer's epoch: TRUNC to the one
 *   before, then the txns after (the learner holds txns of that epoch the leader never saw);
 * - the next txn of the leader's history is of a later epoch (a TRUNC must not cross an epoch),
 *   the log does not reach back to peer, or log and window do not join up: a SNAP.
 *
 * A zero-counter zxid (the learner synced to an epoch's start) is taken as in the history, as
 * ZooKeeper does.
 */
import { counterOf, epochOf, type LogReadResult, type ZabTxn, type Zxid } from './types.js';

export type SyncPlan =
  | { readonly kind: 'snap' }
  /** Send the op, then `txns` as PROPOSAL/COMMIT pairs; the window's txns above `through` follow. */
  | { readonly kind: 'diff'; readonly txns: readonly ZabTxn[]; readonly through: Zxid }
  | { readonly kind: 'trunc'; readonly truncZxid: Zxid; readonly txns: readonly ZabTxn[]; readonly through: Zxid };

const SNAP: SyncPlan = { kind: 'snap' };

interface WindowEntry {
  readonly txn: ZabTxn;
  readonly prev: Zxid | null;
}

/** Where `peer` stands against a run of committed txns `seq` (ascending) whose predecessor is `before`. */
function place(peer: Zxid, seq: readonly ZabTxn[], before: Zxid | null): { plan: SyncPlan; from: number } {
  let i = 0;
  while (i < seq.length && (seq[i]?.zxid ?? Infinity) < peer) i++;
  const next = seq[i];
  if (next?.zxid === peer) return { plan: { kind: 'diff', txns: [], through: peer }, from: i + 1 };
  const atOrBefore = i > 0 ? (seq[i - 1]?.zxid ?? null) : before;
  if (atOrBefore === peer || counterOf(peer) === 0) return { plan: { kind: 'diff', txns: [], through: peer }, from: i };
  if (atOrBefore === null || (next !== undefined && epochOf(next.zxid) !== epochOf(peer))) return { plan: SNAP, from: i };
  return { plan: { kind: 'trunc', truncZxid: atOrBefore, txns: [], through: atOrBefore }, from: i };
}

/** The plan when peer is at or above the window's start, or at or above the last commit. */
export function planFromHistory(peer: Zxid, window: readonly WindowEntry[], lastCommitted: Zxid): SyncPlan {
  if (peer === lastCommitted) return { kind: 'diff', txns: [], through: peer };
  if (peer > lastCommitted)
    return counterOf(peer) === 0 ? SNAP : { kind: 'trunc', truncZxid: lastCommitted, txns: [], through: lastCommitted };
  return place(
    peer,
    window.map((e) => e.txn),
    window[0]?.prev ?? null,
  ).plan;
}

/** The plan from the host's log read (the txns above peer), joined to the committed window. */
export function planFromLog(peer: Zxid, read: LogReadResult, window: readonly WindowEntry[], lastCommitted: Zxid): SyncPlan {
  if (read.preceding === null) return SNAP;
  const { plan, from } = place(peer, read.txns, read.preceding);
  if (plan.kind === 'snap') return SNAP;
  const txns = read.txns.slice(from);
  const through = txns.at(-1)?.zxid ?? plan.through;
  if (through < lastCommitted && !joins(through, window)) return SNAP;
  return plan.kind === 'diff' ? { kind: 'diff', txns, through } : { ...plan, txns, through };
}

/** Whether the window holds every committed txn after `zxid`. */
function joins(zxid: Zxid, window: readonly WindowEntry[]): boolean {
  const first = window.find((e) => e.txn.zxid > zxid);
  if (first === undefined) return false;
  return first.prev === zxid;
}
