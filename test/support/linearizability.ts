/**
 * A linearizability checker for histories recorded from real clients (the approach of Wing and
 * Gong, with the state cache and per-key partitioning that Lowe, Knossos and porcupine added).
 *
 * A history is a list of operations, each with the time its client sent it (`call`) and the
 * time it got the answer (`ret`). An operation whose answer never came (the connection broke,
 * the server was killed) has `ret: Infinity` and `output: undefined`: it may have taken effect
 * at any moment after its call, or never, so the model must accept it both ways.
 *
 * The history is linearizable if every operation can be given one instant between its call and
 * its return such that, taken in that order, each operation's output is what the sequential
 * model gives. The search tries the operations that may come next (those called before any
 * pending return), in a depth-first order, backtracking when the model refuses an output; a set
 * of (linearized operations, model state) pairs already explored cuts the search down from
 * factorial to about the number of distinct states. It is exact, so its answer can be trusted
 * both ways; on a pathological history it can take long, so it stops after a step budget and
 * then says `unknown` rather than guess.
 */

export interface Operation<I, O> {
  /** Who issued it (for messages only: a client's own operations may overlap if it pipelines). */
  client: number;
  input: I;
  /** undefined when the answer never came. */
  output: O | undefined;
  call: number;
  /** Infinity when the answer never came. */
  ret: number;
}

export interface Model<S, I, O> {
  init(): S;
  /**
   * The state after `input` with the answer `output` in state `s`, or undefined if the model
   * could not have answered so. With `output` undefined (no answer came) the model returns every
   * state the operation could have left, including `s` itself when it may have had no effect.
   */
  step(s: S, input: I, output: O | undefined): S[] | undefined;
  /** A string that is equal for equal states (used to cache explored states). */
  key(s: S): string;
  /** Splits the history into independent parts (e.g. one per znode); default: one part. */
  partition?(ops: readonly Operation<I, O>[]): Operation<I, O>[][];
  describe?(op: Operation<I, O>): string;
}

export type CheckResult<I, O> =
  | { result: 'ok'; steps: number }
  | { result: 'illegal'; steps: number; part: Operation<I, O>[]; longestPrefix: Operation<I, O>[] }
  | { result: 'unknown'; steps: number };

interface Entry {
  kind: 'call' | 'return';
  /** Index of the operation in its part. */
  id: number;
  time: number;
  prev: Entry | null;
  next: Entry | null;
  /** A call's return entry. */
  match: Entry | null;
}

/** A set of operation ids as a growable bit array, with a string key for the cache. */
class Bits {
  constructor(readonly words: Uint32Array) {}
  static empty(n: number): Bits {
    return new Bits(new Uint32Array(Math.ceil(n / 32) || 1));
  }
  with(id: number): Bits {
    const w = this.words.slice();
    w[id >>> 5] = (w[id >>> 5] ?? 0) | (1 << (id & 31));
    return new Bits(w);
  }
  key(): string {
    return Array.from(this.words, (x) => x.toString(36)).join('.');
  }
}

function buildList<I, O>(ops: readonly Operation<I, O>[]): Entry | null {
  const entries: Entry[] = [];
  ops.forEach((op, id) => {
    if (!(op.ret >= op.call)) throw new Error(`operation ${id} returns (${op.ret}) before its call (${op.call})`);
    const ret: Entry = { kind: 'return', id, time: op.ret, prev: null, next: null, match: null };
    entries.push({ kind: 'call', id, time: op.call, prev: null, next: null, match: ret }, ret);
  });
  // Equal times: calls first, so operations that touch at an instant count as concurrent.
  entries.sort((a, b) => a.time - b.time || (a.kind === b.kind ? 0 : a.kind === 'call' ? -1 : 1));
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    e.prev = entries[i - 1] ?? null;
    e.next = entries[i + 1] ?? null;
  }
  return entries[0] ?? null;
}

/** Unlinks a call and its return from the list; `relink` undoes it (in reverse order). */
function lift(call: Entry): void {
  for (const e of [call, call.match!]) {
    if (e.prev !== null) e.prev.next = e.next;
    if (e.next !== null) e.next.prev = e.prev;
  }
}

function relink(call: Entry): void {
  for (const e of [call.match!, call]) {
    if (e.prev !== null) e.prev.next = e;
    if (e.next !== null) e.next.prev = e;
  }
}

interface Frame<S> {
  call: Entry;
  state: S;
  /** The other states this operation could have left, still to try. */
  alternatives: S[];
  linearized: Bits;
}

type PartResult<I, O> = { result: 'ok' } | { result: 'illegal'; longestPrefix: Operation<I, O>[] } | { result: 'unknown' };

function checkPart<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], budget: { steps: number }): PartResult<I, O> {
  // A head sentinel keeps the list's first entry reachable while entries are lifted.
  const head: Entry = { kind: 'call', id: -1, time: -Infinity, prev: null, next: buildList(ops), match: null };
  if (head.next !== null) head.next.prev = head;
  const cache = new Map<string, Set<string>>();
  const seen = (bits: Bits, s: S): boolean => {
    const k = bits.key();
    let states = cache.get(k);
    if (states === undefined) cache.set(k, (states = new Set()));
    const sk = model.key(s);
    if (states.has(sk)) return true;
    states.add(sk);
    return false;
  };
  const stack: Frame<S>[] = [];
  let state = model.init();
  let linearized = Bits.empty(ops.length);
  let longest: Frame<S>[] = [];
  let entry = head.next;
  const tryNext = (call: Entry, candidates: S[]): boolean => {
    // Lift the call with the first candidate state not yet explored with this set.
    const bits = linearized.with(call.id);
    while (candidates.length > 0) {
      const s = candidates.shift()!;
      if (seen(bits, s)) continue;
      stack.push({ call, state, alternatives: candidates, linearized });
      state = s;
      linearized = bits;
      lift(call);
      if (stack.length > longest.length) longest = stack.slice();
      return true;
    }
    return false;
  };
  while (head.next !== null) {
    if (--budget.steps < 0) return { result: 'unknown' };
    if (entry === null) throw new Error('linearizability search ran off the end of its list');
    if (entry.kind === 'call') {
      const op = ops[entry.id]!;
      const next = model.step(state, op.input, op.output);
      if (next !== undefined && tryNext(entry, next.slice())) {
        entry = head.next;
        continue;
      }
      entry = entry.next;
      continue;
    }
    // A return reached: the operation it ends cannot be placed in this order. Undo the last
    // choice: try that operation's other possible states, else move on past its call.
    const top = stack.pop();
    if (top === undefined) return { result: 'illegal', longestPrefix: longest.map((f) => ops[f.call.id]!) };
    relink(top.call);
    state = top.state;
    linearized = top.linearized;
    entry = tryNext(top.call, top.alternatives) ? head.next : top.call.next;
  }
  return { result: 'ok' };
}

/** Checks a history against a model, part by part; `maxSteps` bounds the whole search. */
export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  maxSteps = 50_000_000,
): CheckResult<I, O> {
  const parts = model.partition?.(history) ?? [history.slice()];
  const budget = { steps: maxSteps };
  let unknown = false;
  for (const part of parts) {
    const r = checkPart(model, part, budget);
    if (r.result === 'illegal') return { result: 'illegal', steps: maxSteps - budget.steps, part, longestPrefix: r.longestPrefix };
    if (r.result === 'unknown') {
      unknown = true;
      break;
    }
  }
  return unknown ? { result: 'unknown', steps: maxSteps - budget.steps } : { result: 'ok', steps: maxSteps - budget.steps };
}

/** A readable account of an illegal part: its operations by call time, and how far the search got. */
export function explainIllegal<S, I, O>(model: Model<S, I, O>, r: Extract<CheckResult<I, O>, { result: 'illegal' }>): string {
  const show = (op: Operation<I, O>): string =>
    model.describe?.(op) ??
    `client ${op.client}: ${JSON.stringify(op.input)} -> ${op.output === undefined ? '?' : JSON.stringify(op.output)} [${op.call}, ${op.ret}]`;
  const ops = [...r.part].sort((a, b) => a.call - b.call);
  return [
    `no linearization of these ${ops.length} operations:`,
    ...ops.map((op) => `  ${show(op)}`),
    `the longest order the model accepted (${r.longestPrefix.length} operations):`,
    ...r.longestPrefix.map((op) => `  ${show(op)}`),
  ].join('\n');
}
