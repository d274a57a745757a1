/**
 * One seeded election scenario and its checkers. A seed decides everything: the ensemble size
 * (3, 5 or 7 participants, 0-2 observers), what each member has on disk, the network delays,
 * the faults of the chaos phase, and whether a member joins late.
 *
 *   chaos  [0, chaosMs)          members start (not all at once), connections reset, partitions
 *                                come and heal, members crash and restart with a higher zxid or
 *                                epoch
 *   quiet  [chaosMs, +settleMs)  everything healed and up (but a held-back late joiner)
 *   join   [.., +joinMs)         the late joiner starts
 *
 * Checkers:
 *  - agreement: members that decide in the same election round, between two restarts of any
 *    member (a restarted member counts rounds from 1 again), name the same leader;
 *  - liveness: at the end of the quiet phase every member is out of LOOKING, all name one leader,
 *    which leads with a quorum (its epoch established); the time each took after the quiet point
 *    is reported;
 *  - the winner: a vote decided by an election quorum is one the leader held, and is at least
 *    (peer epoch, zxid, sid) of what every supporter held when it voted in that round;
 *  - the late joiner decides FOLLOWING (or OBSERVING) the leader already established, which
 *    keeps leading in the same epoch.
 */
import type { LocalState } from '../../src/quorum/index.js';
import { MAX_NOTIFICATION_INTERVAL_MS, ServerState } from '../../src/quorum/index.js';
import { CNX_TIMEOUT_MS, compare, ElectionSim, INIT_LIMIT_MS, stateName } from './election-sim.js';

export interface ScenarioResult {
  readonly seed: number;
  /** All members start within 50 ms and nothing fails: agreement per round is checked strictly. */
  readonly calm: boolean;
  readonly participants: number;
  readonly observers: number;
  readonly failures: string[];
  readonly log: readonly string[];
  /** Longest time after the quiet point until a member decided for good (ms). */
  readonly settleTakenMs: number;
  /** How a late joiner first decided, null without one. */
  readonly lateJoin: LateJoin | null;
  readonly decisions: number;
  /** Rounds in which participants decided different leaders (allowed only outside calm seeds). */
  readonly splitRounds: number;
}

export type LateJoin = 'replies' | 'stale-votes';

/**
 * The liveness bound once every fault has healed (45 ticks). A member may have backed off to
 * nearly a full notification interval before it sends again (the chaos phase is under a
 * minute, so its interval is at most 51.2 s); then a round can elect a leader that fails to
 * gather a quorum within initLimit, and the next round needs connections made (cnxTimeout each
 * way at worst) and a finalize wait.
 */
const SETTLE_MS = MAX_NOTIFICATION_INTERVAL_MS + INIT_LIMIT_MS + 2 * CNX_TIMEOUT_MS + 10_000;
/** A late joiner may first follow a stale candidate: initLimit, then a new round. */
const JOIN_MS = 2 * INIT_LIMIT_MS + 10_000;

function initialLocal(sim: ElectionSim): LocalState {
  const currentEpoch = sim.rng.int(3);
  const zxidEpoch = Math.max(0, currentEpoch - sim.rng.int(2));
  return { lastLoggedZxid: zxidEpoch * 2 ** 32 + sim.rng.int(4), currentEpoch };
}

/** A restart after a crash: the member may have logged more, or taken a newer epoch. */
function bumped(sim: ElectionSim, local: LocalState): LocalState {
  if (sim.rng.chance(0.5)) return { ...local, lastLoggedZxid: local.lastLoggedZxid + 1 + sim.rng.int(3) };
  return { ...local, currentEpoch: local.currentEpoch + 1 };
}

export function runScenario(seed: number, participantsOverride?: number, trace = false): ScenarioResult {
  const participants = participantsOverride ?? [3, 5, 7][seed % 3]!;
  const calm = seed % 4 === 0;
  const probe = new ElectionSim({ seed, participants, observers: 0, maxDelayMs: 1 });
  const observers = probe.rng.chance(0.3) ? 1 + probe.rng.int(2) : 0;
  const chaosMs = calm ? 0 : 10_000 + probe.rng.int(40_000);
  const maxDelayMs = probe.rng.pick(calm ? [5, 30, 100] : [5, 30, 100, 180]);
  const sim = new ElectionSim({ seed, participants, observers, maxDelayMs, trace });
  const sids = Array.from({ length: participants + observers }, (_, i) => i + 1);
  const locals = new Map(sids.map((sid) => [sid, initialLocal(sim)]));
  const lateJoiner = sim.rng.chance(0.4) ? sim.rng.pick(sids) : null;

  for (const sid of sids) {
    if (sid === lateJoiner) continue;
    const startAt = calm ? sim.rng.int(50) : sim.rng.chance(0.7) ? sim.rng.int(2000) : sim.rng.int(chaosMs);
    sim.at(startAt, () => sim.startMember(sid, locals.get(sid)!));
  }
  if (!calm) {
    scheduleFaults(sim, sids, lateJoiner, chaosMs);
    sim.at(chaosMs, () => {
      sim.heal();
      for (const m of sim.members.values()) if (!m.alive) sim.restart(m.sid, bumped(sim, m.local));
    });
  }

  const failures: string[] = [];
  const quietEnd = chaosMs + SETTLE_MS;
  sim.runUntil(quietEnd);
  const settleTakenMs = checkSettled(sim, sids, lateJoiner, chaosMs, failures);
  const lateJoin =
    lateJoiner !== null && failures.length === 0 ? checkLateJoiner(sim, lateJoiner, locals.get(lateJoiner)!, quietEnd, failures) : null;
  const splitRounds = splitRoundsOf(sim);
  if (calm && splitRounds.length > 0) failures.push(...splitRounds);
  checkWinners(sim, failures);
  return {
    seed,
    calm,
    participants,
    observers,
    failures,
    log: sim.log,
    settleTakenMs,
    lateJoin,
    decisions: sim.decisions.length,
    splitRounds: splitRounds.length,
  };
}

function scheduleFaults(sim: ElectionSim, sids: number[], lateJoiner: number | null, chaosMs: number): void {
  const count = sim.rng.int(10);
  for (let i = 0; i < count; i++) {
    const at = sim.rng.int(chaosMs);
    const kind = sim.rng.pick(['reset', 'reset', 'partition', 'crash'] as const);
    if (kind === 'reset') {
      sim.at(at, () => sim.resetRandomConnection());
    } else if (kind === 'partition') {
      const side = sids.filter(() => sim.rng.chance(0.5));
      const healAt = at + sim.rng.int(chaosMs - at);
      sim.at(at, () => sim.partition(side));
      sim.at(healAt, () => sim.heal());
    } else {
      const sid = sim.rng.pick(sids.filter((s) => s !== lateJoiner));
      const back = at + sim.rng.int(chaosMs - at);
      sim.at(at, () => sim.crash(sid));
      sim.at(back, () => {
        const m = sim.members.get(sid);
        if (m !== undefined) sim.restart(sid, bumped(sim, m.local));
      });
    }
  }
}

/** Every member up is out of LOOKING, behind one leader that leads with a quorum. */
function checkSettled(sim: ElectionSim, sids: number[], lateJoiner: number | null, chaosMs: number, failures: string[]): number {
  const up = sids.filter((sid) => sid !== lateJoiner);
  const states = up.map((sid) => {
    const m = sim.members.get(sid);
    return { sid, state: m?.core.state ?? ServerState.looking, leader: m?.core.vote?.leader };
  });
  const looking = states.filter((s) => s.state === ServerState.looking);
  if (looking.length > 0) failures.push(`still LOOKING at the end of the quiet phase: ${looking.map((s) => s.sid).join(',')}`);
  const leaders = new Set(states.map((s) => s.leader));
  if (leaders.size !== 1) failures.push(`members name different leaders: ${states.map((s) => `${s.sid}->${s.leader}`).join(' ')}`);
  const leader = sim.members.get([...leaders][0] ?? -1);
  if (leader === undefined || leader.core.state !== ServerState.leading || leader.term === null) {
    failures.push(`no established leader: ${states.map((s) => `${s.sid}:${stateName(s.state)}`).join(' ')}`);
  }
  let taken = 0;
  for (const sid of up) {
    const last = sim.decisions.filter((d) => d.sid === sid).at(-1);
    if (last !== undefined) taken = Math.max(taken, last.atMs - chaosMs);
  }
  return taken;
}

/**
 * The joiner must end up behind the established leader, which keeps leading. The others are out of
 * election, so their FOLLOWING/LEADING replies are what should tell it. But 3.8 also hands it the
 * stale LOOKING vote each of them queued for it while it was unreachable (the queue keeps the last
 * one and sends it when the link comes up); a quorum of those, its own vote included, can win the
 * finalize wait over the replies (which do not beat it in the vote order), and then the joiner
 * follows a stale candidate until initLimit sends it back to LOOKING. Which way it first decided
 * is returned.
 */
function checkLateJoiner(sim: ElectionSim, sid: number, local: LocalState, startMs: number, failures: string[]): LateJoin {
  const before = [...sim.members.values()].find((m) => m.core.state === ServerState.leading);
  const epochBefore = before?.local.currentEpoch;
  sim.at(startMs, () => sim.startMember(sid, local));
  sim.runUntil(startMs + JOIN_MS);
  const joiner = sim.members.get(sid)!;
  const expected = joiner.observer ? ServerState.observing : ServerState.following;
  if (joiner.core.state !== expected || joiner.core.vote?.leader !== before?.sid) {
    failures.push(
      `late joiner ${sid} is ${stateName(joiner.core.state)} behind ${joiner.core.vote?.leader}, expected ${stateName(expected)} behind ${before?.sid}`,
    );
  }
  if (before !== undefined && (before.core.state !== ServerState.leading || before.local.currentEpoch !== epochBefore)) {
    failures.push(`the late joiner disturbed leader ${before.sid}`);
  }
  const first = sim.decisions.find((d) => d.sid === sid && d.atMs >= startMs);
  return first?.decision.path === 'election' ? 'stale-votes' : 'replies';
}

/**
 * Rounds in which participants decided different leaders. A restarted member counts rounds from 1
 * again, so rounds are told apart by how many (re)starts came before them. Observers are left
 * out: 3.8 answers a non-voter with the answering member's current vote (the last one it decided,
 * even while it looks again), so an observer can decide on stale votes and go looking again.
 */
function splitRoundsOf(sim: ElectionSim): string[] {
  const starts = sim.log.filter((l) => / start \d+#/.test(l)).map((l) => Number(l.split(' ')[0]));
  const era = (atMs: number): number => starts.filter((t) => t <= atMs).length;
  const leaderOf = new Map<string, { leader: number; sid: number }>();
  const splits: string[] = [];
  for (const d of sim.decisions) {
    if (!sim.voterSids.includes(d.sid)) continue;
    const key = `${era(d.atMs)}/${d.decision.vote.electionEpoch}`;
    const seen = leaderOf.get(key);
    if (seen === undefined) leaderOf.set(key, { leader: d.decision.vote.leader, sid: d.sid });
    else if (seen.leader !== d.decision.vote.leader) {
      splits.push(
        `round ${d.decision.vote.electionEpoch}: ${seen.sid} decided leader ${seen.leader}, ${d.sid} decided ${d.decision.vote.leader} at ${d.atMs}`,
      );
    }
  }
  return splits;
}

function checkWinners(sim: ElectionSim, failures: string[]): void {
  for (const d of sim.decisions) {
    // an observer's election decision may rest on answers carrying stale current votes
    if (d.decision.path !== 'election' || !sim.voterSids.includes(d.sid)) continue;
    const v = d.decision.vote;
    if (!sim.voterSids.includes(v.leader)) failures.push(`${d.sid} decided a non-voter ${v.leader}`);
    if (!(sim.heldCredentials.get(v.leader)?.has(`${v.zxid}/${v.peerEpoch}`) ?? false)) {
      failures.push(`${d.sid} decided a vote ${v.leader}/${v.zxid}/${v.peerEpoch} its leader never held`);
    }
    for (const q of d.decision.supporters) {
      const voted = sim.votedWith.get(q)?.get(v.electionEpoch);
      if (voted === undefined) failures.push(`supporter ${q} of ${d.sid}'s decision has no vote in round ${v.electionEpoch}`);
      else if (compare(v, voted) < 0) failures.push(`leader ${v.leader} of round ${v.electionEpoch} is below supporter ${q}`);
    }
  }
}

/** Counts over many seeds, for the test's and the runner's summaries. */
export class SeedTally {
  seeds = 0;
  failed = 0;
  calm = 0;
  observerSeeds = 0;
  joinedByReplies = 0;
  joinedByStaleVotes = 0;
  splitSeeds = 0;
  splitRounds = 0;
  slowestSettleMs = 0;
  private readonly bySize = new Map<number, number>();

  add(r: ScenarioResult): void {
    this.seeds += 1;
    if (r.failures.length > 0) this.failed += 1;
    if (r.calm) this.calm += 1;
    if (r.observers > 0) this.observerSeeds += 1;
    if (r.lateJoin === 'replies') this.joinedByReplies += 1;
    if (r.lateJoin === 'stale-votes') this.joinedByStaleVotes += 1;
    if (r.splitRounds > 0) this.splitSeeds += 1;
    this.splitRounds += r.splitRounds;
    this.slowestSettleMs = Math.max(this.slowestSettleMs, r.settleTakenMs);
    this.bySize.set(r.participants, (this.bySize.get(r.participants) ?? 0) + 1);
  }

  summary(): string {
    const sizes = [...this.bySize].map(([n, c]) => `${c} x ${n}`).join(', ');
    return (
      `${this.seeds} seeds (${sizes}; ${this.calm} calm, ${this.observerSeeds} with observers), ${this.failed} failed; ` +
      `late joiners: ${this.joinedByReplies} learned the leader from replies, ${this.joinedByStaleVotes} first followed stale votes; ` +
      `${this.splitRounds} split rounds in ${this.splitSeeds} chaos seeds; slowest settle ${this.slowestSettleMs} ms after the faults healed`
    );
  }
}
