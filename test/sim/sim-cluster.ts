/**
 * What the cluster simulations share: the seeded event queue, partitions between members,
 * connections that deliver in order (TCP) after random delays, and the simplified election.
 * zab-cluster.ts (the ZAB cores over a model disk) and ensemble-sim.ts (the real server and
 * storage over SimFs) both run on these.
 */
import type { SeededRandom } from '../../src/base/index.js';

/** Events by time, ties in the order they were pushed (so a seed replays exactly). */
export class EventQueue {
  private heap: { at: number; seq: number; fn: () => void }[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** The time of the next event, or Infinity if there is none. */
  peekAt(): number {
    return this.heap[0]?.at ?? Infinity;
  }

  push(at: number, fn: () => void): void {
    const h = this.heap;
    h.push({ at, seq: this.seq++, fn });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): { at: number; fn: () => void } | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined) return undefined;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(l, m)) m = l;
        if (r < h.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    const x = this.heap[a];
    const y = this.heap[b];
    if (x === undefined || y === undefined) return false;
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }

  private swap(a: number, b: number): void {
    const x = this.heap[a];
    const y = this.heap[b];
    if (x === undefined || y === undefined) return;
    this.heap[a] = y;
    this.heap[b] = x;
  }
}

/** Which pairs of members cannot reach each other. */
export class Partitions {
  private readonly cuts = new Set<string>();

  private static key(a: number, b: number): string {
    return `${Math.min(a, b)}-${Math.max(a, b)}`;
  }
  isCut(a: number, b: number): boolean {
    return this.cuts.has(Partitions.key(a, b));
  }
  cut(a: number, b: number): void {
    this.cuts.add(Partitions.key(a, b));
  }
  heal(a: number, b: number): void {
    this.cuts.delete(Partitions.key(a, b));
  }
  healAll(): void {
    this.cuts.clear();
  }
}

/**
 * One connection: what is sent each way arrives in order, each message after a random delay
 * of its own (so messages on different connections overtake each other). Once closed nothing
 * more arrives.
 */
export class Link {
  open = true;
  private readonly lastAt: [number, number] = [0, 0];

  /** When everything sent so far, either way, has arrived. */
  get drainedAt(): number {
    return Math.max(this.lastAt[0], this.lastAt[1]);
  }

  /** When a message sent now in direction `dir` arrives: after `delay`, and after the one before it. */
  arrival(dir: 0 | 1, now: number, delay: number): number {
    const at = Math.max(now + delay, this.lastAt[dir]);
    this.lastAt[dir] = at;
    return at;
  }
}

export function compareVotes(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** A member as the simplified election sees it. */
export interface Elector<M> {
  readonly members: readonly M[];
  readonly voterCount: number;
  readonly rnd: SeededRandom;
  sid(m: M): number;
  observer(m: M): boolean;
  /** Up and looking for a leader. */
  looking(m: M): boolean;
  /** A leader still in office that `m` can reach, if any. */
  reachableLeader(m: M): M | undefined;
  /** FLE's order: (currentEpoch, last zxid, sid). */
  vote(m: M): readonly number[];
  isCut(a: number, b: number): boolean;
  startLeader(m: M): void;
  startLearner(m: M, leader: M): void;
}

/**
 * One election round (FLE lives elsewhere): a looking member follows a live leader it can
 * reach; else a quorum of looking voters that reach each other picks the best vote, as FLE's
 * order does. Each looking member takes part with probability 1/2, so rounds interleave.
 */
export function electionRound<M>(e: Elector<M>): void {
  for (const m of e.members) {
    if (!e.looking(m) || !e.rnd.chance(0.5)) continue;
    const leader = e.reachableLeader(m);
    if (leader !== undefined) {
      e.startLearner(m, leader);
      continue;
    }
    if (e.observer(m)) continue;
    const group = e.members.filter((v) => e.looking(v) && !e.observer(v) && !e.isCut(e.sid(v), e.sid(m)));
    if (group.length * 2 <= e.voterCount) continue;
    let best = m;
    for (const v of group) if (compareVotes(e.vote(v), e.vote(best)) > 0) best = v;
    if (!group.every((v) => v === best || !e.isCut(e.sid(v), e.sid(best)))) continue;
    e.startLeader(best);
    for (const v of group) if (v !== best) e.startLearner(v, best);
  }
}
