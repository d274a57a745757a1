import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkLinearizable, explainIllegal, type Model } from '../../support/linearizability.js';
import {
  sessionOrderReads,
  sessionReadAnomalies,
  znodeModel,
  type ZnodeInput,
  type ZnodeOperation,
  type ZnodeOutput,
} from '../../support/znode-model.js';

const P = '/x';

function op(client: number, input: ZnodeInput, output: ZnodeOutput | undefined, call: number, ret: number): ZnodeOperation {
  return { client, input, output, call, ret };
}
const create = (data: string): ZnodeInput => ({ kind: 'create', path: P, data });
const read: ZnodeInput = { kind: 'read', path: P };
const write = (data: string, version = -1): ZnodeInput => ({ kind: 'write', path: P, data, version });
const del = (version = -1): ZnodeInput => ({ kind: 'delete', path: P, version });
const seq: ZnodeInput = { kind: 'createSequential', parent: P };
const OK: ZnodeOutput = { ok: true };
const saw = (data: string, version: number): ZnodeOutput => ({ ok: true, data, version });
const err = (e: 'NONODE' | 'NODEEXISTS' | 'BADVERSION'): ZnodeOutput => ({ ok: false, err: e });
const got = (sequence: number): ZnodeOutput => ({ ok: true, sequence });

function verdict(ops: ZnodeOperation[]): string {
  const r = checkLinearizable(znodeModel, ops);
  if (r.result === 'illegal') assert.ok(explainIllegal(znodeModel, r).includes('no linearization'));
  return r.result;
}

describe('linearizability checker on znode histories', () => {
  test('an empty history and a sequential one are linearizable', () => {
    assert.equal(verdict([]), 'ok');
    assert.equal(verdict([op(1, create('a'), OK, 0, 1), op(1, write('b'), saw('b', 1), 2, 3), op(1, read, saw('b', 1), 4, 5)]), 'ok');
  });

  test('a read overlapping a write may see either value', () => {
    const base = [op(1, create('a'), OK, 0, 1), op(1, write('b'), saw('b', 1), 2, 10)];
    assert.equal(verdict([...base, op(2, read, saw('a', 0), 3, 4)]), 'ok');
    assert.equal(verdict([...base, op(2, read, saw('b', 1), 3, 4)]), 'ok');
  });

  test('a read that starts after a write returned must see it (stale read)', () => {
    assert.equal(verdict([op(1, create('a'), OK, 0, 1), op(1, write('b'), saw('b', 1), 2, 3), op(2, read, saw('a', 0), 4, 5)]), 'illegal');
  });

  test('two overlapping reads may not see the values in opposite orders once both are known', () => {
    const ops = [
      op(1, create('a'), OK, 0, 1),
      op(1, write('b'), saw('b', 1), 2, 20),
      op(2, read, saw('b', 1), 3, 4),
      op(3, read, saw('a', 0), 5, 6), // after client 2 saw b: a is gone for good
    ];
    assert.equal(verdict(ops), 'illegal');
  });

  test('an acknowledged create that a later read does not find is lost', () => {
    assert.equal(verdict([op(1, create('a'), OK, 0, 1), op(2, read, err('NONODE'), 2, 3)]), 'illegal');
  });

  test('two conditional writes on the same version cannot both succeed', () => {
    const base = [op(1, create('a'), OK, 0, 1)];
    const one = op(1, write('b', 0), saw('b', 1), 2, 5);
    assert.equal(verdict([...base, one, op(2, write('c', 0), err('BADVERSION'), 3, 6)]), 'ok');
    assert.equal(verdict([...base, one, op(2, write('c', 0), saw('c', 1), 3, 6)]), 'illegal');
  });

  test('an operation without an answer may have happened or not, but only once and at one moment', () => {
    const base = [op(1, create('a'), OK, 0, 1), op(1, write('b'), undefined, 2, Infinity)];
    assert.equal(verdict([...base, op(2, read, saw('a', 0), 3, 4)]), 'ok');
    assert.equal(verdict([...base, op(2, read, saw('b', 1), 3, 4)]), 'ok');
    assert.equal(verdict([...base, op(2, read, saw('b', 1), 3, 4), op(2, read, saw('a', 0), 5, 6)]), 'illegal');
    // An unanswered delete that took effect, then a create that succeeded.
    assert.equal(verdict([op(1, create('a'), OK, 0, 1), op(1, del(), undefined, 2, Infinity), op(2, create('z'), OK, 3, 4)]), 'ok');
  });

  test('sequential suffixes follow the order of the creates', () => {
    assert.equal(verdict([op(1, seq, got(1), 0, 5), op(2, seq, got(0), 1, 6)]), 'ok');
    assert.equal(verdict([op(1, seq, got(1), 0, 1), op(2, seq, got(0), 2, 3)]), 'illegal');
    assert.equal(verdict([op(1, seq, got(0), 0, 5), op(2, seq, got(0), 1, 6)]), 'illegal');
    // A create that got no answer may have used a suffix.
    assert.equal(verdict([op(1, seq, undefined, 0, Infinity), op(2, seq, got(1), 1, 2)]), 'ok');
  });

  test('a step budget that runs out says unknown, not ok', () => {
    const ops: ZnodeOperation[] = [op(0, create('a'), OK, 0, 1)];
    for (let i = 0; i < 12; i++) ops.push(op(i, write(`v${i}`), undefined, 2, Infinity));
    ops.push(op(99, read, saw('nope', 99), 3, 4));
    assert.equal(checkLinearizable(znodeModel, ops, 50).result, 'unknown');
  });
});

describe('reads in session order (ZooKeeper: linearizable writes, sequentially consistent reads)', () => {
  const sessionVerdict = (ops: ZnodeOperation[]): string =>
    sessionReadAnomalies(ops).length > 0 ? 'illegal' : checkLinearizable(znodeModel, sessionOrderReads(ops)).result;
  const base = [op(1, create('a'), OK, 0, 1), op(1, write('b'), saw('b', 1), 2, 3)];

  test("another client's stale read is allowed, a strict check would flag it", () => {
    const stale = [...base, op(2, read, saw('a', 0), 4, 5)];
    assert.equal(verdict(stale), 'illegal');
    assert.equal(sessionVerdict(stale), 'ok');
  });

  test("a read older than the client's own acknowledged write is flagged (by versions, not by the checker)", () => {
    const ops = [...base, op(1, read, saw('a', 0), 4, 5)];
    assert.equal(checkLinearizable(znodeModel, sessionOrderReads(ops)).result, 'ok');
    assert.equal(sessionReadAnomalies(ops).length, 1);
    assert.match(sessionReadAnomalies(ops)[0] ?? '', /client 1 saw \/x go back from v1 to v0/);
    assert.deepEqual(sessionReadAnomalies([...base, op(1, read, saw('b', 1), 4, 5)]), []);
  });

  test("a client's reads may not go back in time, also across an unanswered operation", () => {
    const ops = [...base, op(2, read, saw('b', 1), 4, 5), op(2, write('x', 7), undefined, 6, Infinity), op(2, read, saw('a', 0), 8, 9)];
    assert.equal(sessionVerdict(ops), 'illegal');
    assert.equal(sessionVerdict(ops.slice(0, 4)), 'ok');
  });

  test('a read of a value never written, and a lost acknowledged write, are flagged', () => {
    assert.equal(sessionVerdict([...base, op(2, read, saw('zz', 1), 4, 5)]), 'illegal');
    assert.equal(sessionVerdict([...base, op(2, write('c', 1), saw('c', 2), 4, 5), op(3, write('d', 1), saw('d', 2), 6, 7)]), 'illegal');
  });

  test('only reads move, and only back to what their client saw last', () => {
    const ops = [
      op(1, create('a'), OK, 0, 1),
      op(2, read, err('NONODE'), 5, 6),
      op(2, read, saw('a', 0), 7, 8),
      op(2, write('q'), saw('q', 1), 9, 10),
    ];
    const moved = sessionOrderReads(ops);
    assert.deepEqual(
      moved.map((o) => o.call),
      [0, 0, 0, 9],
    );
    const after = [op(1, write('w'), saw('w', 5), 3, 4), op(1, read, saw('w', 5), 10, 11), op(1, read, saw('w', 5), 12, 13)];
    assert.deepEqual(
      sessionOrderReads(after).map((o) => o.call),
      [3, 3, 3],
    );
  });
});

// ------------------------------------------------------------ agreement with a brute-force search

/** Tries every order consistent with real time (small histories only). */
function bruteForce<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly { input: I; output: O | undefined; call: number; ret: number }[],
): boolean {
  const n = ops.length;
  const placed = new Array<boolean>(n).fill(false);
  const search = (s: S, count: number): boolean => {
    if (count === n) return true;
    for (let i = 0; i < n; i++) {
      if (placed[i]) continue;
      // i may come next only if no unplaced operation returned before i was called.
      if (ops.some((o, j) => j !== i && !placed[j] && o.ret < ops[i]!.call)) continue;
      const next = model.step(s, ops[i]!.input, ops[i]!.output);
      if (next === undefined) continue;
      placed[i] = true;
      for (const t of next) if (search(t, count + 1)) return true;
      placed[i] = false;
    }
    return false;
  };
  return search(model.init(), 0);
}

const inputArb: fc.Arbitrary<ZnodeInput> = fc.oneof(
  fc.constantFrom('a', 'b').map(create),
  fc.constant(read),
  fc.tuple(fc.constantFrom('b', 'c'), fc.integer({ min: -1, max: 2 })).map(([d, v]) => write(d, v)),
  fc.integer({ min: -1, max: 1 }).map(del),
  fc.constant(seq),
);

const outputArb: fc.Arbitrary<ZnodeOutput | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constant(OK),
  fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 2 })).map(([d, v]) => saw(d, v)),
  fc.constantFrom('NONODE', 'NODEEXISTS', 'BADVERSION').map((e) => err(e as 'NONODE')),
  fc.integer({ min: 0, max: 2 }).map(got),
);

/** Operations with random times; outputs either random or produced by a real linearization. */
const historyArb = fc
  .array(
    fc.tuple(
      inputArb,
      fc.integer({ min: 0, max: 20 }),
      fc.integer({ min: 0, max: 8 }),
      outputArb,
      fc.boolean(),
      fc.double({ min: 0, max: 1, noNaN: true }),
    ),
    {
      maxLength: 6,
    },
  )
  .map((rows) => {
    // Half the time: answer each operation as the model would at a random point of its interval.
    const ops = rows.map(([input, call, len, output, pending], i) => ({
      client: i,
      input,
      call,
      ret: pending ? Infinity : call + len,
      output: pending ? undefined : output,
      point: 0,
    }));
    return { ops, rows };
  })
  .chain(({ ops, rows }) =>
    fc.boolean().map((real) => {
      if (!real) return ops.map(({ point: _p, ...o }) => o);
      ops.forEach((o, i) => (o.point = o.call + (Math.min(o.ret, o.call + 8) - o.call) * (rows[i]?.[5] ?? 0)));
      const order = [...ops].sort((a, b) => a.point - b.point);
      let s = znodeModel.init();
      for (const o of order) {
        if (o.ret === Infinity) {
          // No answer: it takes effect at its point (the model's first choice).
          s = znodeModel.step(s, o.input, undefined)?.[0] ?? s;
          continue;
        }
        o.output = answerOf(s, o.input);
        s = znodeModel.step(s, o.input, o.output)?.[0] ?? s;
      }
      return ops.map(({ point: _p, ...o }) => o);
    }),
  );

/** The answer the model gives for `input` in state `s`. */
function answerOf(s: ReturnType<typeof znodeModel.init>, input: ZnodeInput): ZnodeOutput {
  const candidates: ZnodeOutput[] = [OK, err('NONODE'), err('NODEEXISTS'), err('BADVERSION')];
  for (const v of [0, 1, 2, 3, 4, 5, 6]) {
    candidates.push(got(v));
    for (const d of ['a', 'b', 'c']) candidates.push(saw(d, v));
  }
  const answer = candidates.find((c) => znodeModel.step(s, input, c) !== undefined);
  assert.ok(answer !== undefined, `the model answers ${JSON.stringify(input)}`);
  return answer;
}

test('the checker agrees with a brute-force search on small random histories', () => {
  let legal = 0;
  let illegal = 0;
  fc.assert(
    fc.property(historyArb, (ops) => {
      const expected = bruteForce(znodeModel, ops);
      const r = checkLinearizable(znodeModel, ops);
      if (expected) legal++;
      else illegal++;
      return r.result === (expected ? 'ok' : 'illegal');
    }),
    { numRuns: 3000, seed: 17 },
  );
  // Both verdicts must have been exercised for the agreement to mean anything.
  assert.ok(legal > 300 && illegal > 300, `legal ${legal}, illegal ${illegal}`);
});
