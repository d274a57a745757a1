/**
 * ZAB (ZooKeeper Atomic Broadcast) as pure, deterministic cores: `ZabLeader` (with one
 * learner-handler state per connected learner) and `ZabLearner` (a follower, or an observer
 * with `observer: true`). No I/O, timers or clock: a host drives each core and carries out
 * what it asks.
 *
 * Driving a core (one per role term: a new one each time election ends):
 *
 * - Create it from the member's durable state (`ZabStart`): the last zxid of its log, which the
 *   host has replayed into its database first (ZooKeeper fast-forwards the tree to the log when
 *   it leaves a role, uncommitted txns included), and the two epoch files. A leader also takes
 *   the voters and the newest logged txns (`committedTail`, storage's CommittedLog).
 * - Feed it inputs: `receive` (a decoded packet), `tick()` every tickTime, `connected` /
 *   `disconnected`, and the answers to its requests: `logged(zxid)` (the log is durable through
 *   zxid; appends are in order), `epochWritten`, `truncated`, `snapshotSaved`, `logRead`;
 *   the leader's `propose` (a txn the host prepared with `nextZxid()`), `revalidated`,
 *   `syncFor`; the learner's `forward`, `revalidate`, `touch`.
 * - After every input call `take()` and carry out the actions in order (`ZabAction`):
 *   `send` packets on the peer's connection (TCP order); `append` to the log; `apply` to the
 *   database (committed, logged, in zxid order: answer the local client if the txn is its);
 *   `truncate`, `saveSnapshot`, `writeEpoch`, `readLog` and answer when done (the core goes on
 *   with other inputs meanwhile; it holds back what depends on the answer); `request`,
 *   `revalidate`, `touches` to the leader's prep and session authority; `serving` (start
 *   serving clients); `syncDone`, `revalidated` to the learner's client side; `disconnect` a
 *   learner; `looking` (go back to election: the core ignores further input).
 * - A SNAP: the leader's `send` of `{type: SNAP}` is a marker; the driver streams its database
 *   (as of the applies carried out so far) right after that packet, then the packets after
 *   it. The learner's driver reads the stream that follows a SNAP packet, loads it, and only
 *   then passes the SNAP to `receive`, which answers with `saveSnapshot`.
 *
 * What the cores assert (always on): zxids strictly increase at propose, append, commit and
 * apply; commits go in zxid order; a learner's COMMIT matches its oldest pending proposal.
 * One leader per epoch follows from the epoch rules (a learner accepts an epoch only above its
 * acceptedEpoch; a leader needs a quorum of them); the simulator checks it.
 *
 */
export * from './types.js';
export { ZabLeader, COMMIT_WINDOW_DEFAULT, type LeaderConfig } from './leader.js';
export { ZabLearner, type LearnerConfig } from './learner.js';
export { planFromHistory, planFromLog, type SyncPlan } from './sync.js';
export { encodeToLearner, decodeToLearner, encodeToLeader, decodeToLeader, learnerInfoOf, zabTxnOf } from './packets.js';
