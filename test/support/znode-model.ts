/**
 * The sequential model of the znode operations the fault-injection tests record, for the
 * linearizability checker: each znode is a register with a version (create, getData, setData
 * with or without an expected version, delete), and each parent hands out sequential suffixes
 * in order. Operations on different znodes are independent, so a history is checked znode by
 * znode (and parent by parent for sequential creates), which keeps the search small.
 */
import type { Model, Operation } from './linearizability.js';

export type ZnodeInput =
  | { kind: 'create'; path: string; data: string }
  | { kind: 'read'; path: string }
  /** version -1: unconditional. */
  | { kind: 'write'; path: string; data: string; version: number }
  | { kind: 'delete'; path: string; version: number }
  /** A PERSISTENT_SEQUENTIAL create under `parent`; the answer is the suffix it got. */
  | { kind: 'createSequential'; parent: string };

export type ZnodeOutput =
  | { ok: true }
  /** getData / setData: the node's data and version after the operation. */
  | { ok: true; data: string; version: number }
  | { ok: true; sequence: number }
  | { ok: false; err: 'NONODE' | 'NODEEXISTS' | 'BADVERSION' };

/** One znode (absent: `version` -1) or one parent's next sequence number. */
interface ZnodeState {
  readonly version: number;
  readonly data: string;
  readonly sequence: number;
}

const ABSENT: ZnodeState = { version: -1, data: '', sequence: 0 };

export type ZnodeOperation = Operation<ZnodeInput, ZnodeOutput>;

function target(input: ZnodeInput): string {
  return input.kind === 'createSequential' ? `seq:${input.parent}` : `node:${input.path}`;
}

function fail(o: ZnodeOutput | undefined): string | undefined {
  return o !== undefined && !o.ok ? o.err : undefined;
}

/** What the operation does in state `s`: its answer and the state it leaves. */
function apply(s: ZnodeState, input: ZnodeInput): { out: ZnodeOutput; next: ZnodeState } {
  const exists = s.version >= 0;
  switch (input.kind) {
    case 'create':
      if (exists) return { out: { ok: false, err: 'NODEEXISTS' }, next: s };
      return { out: { ok: true }, next: { ...s, version: 0, data: input.data } };
    case 'read':
      if (!exists) return { out: { ok: false, err: 'NONODE' }, next: s };
      return { out: { ok: true, data: s.data, version: s.version }, next: s };
    case 'write':
      if (!exists) return { out: { ok: false, err: 'NONODE' }, next: s };
      if (input.version !== -1 && input.version !== s.version) return { out: { ok: false, err: 'BADVERSION' }, next: s };
      return { out: { ok: true, data: input.data, version: s.version + 1 }, next: { ...s, version: s.version + 1, data: input.data } };
    case 'delete':
      if (!exists) return { out: { ok: false, err: 'NONODE' }, next: s };
      if (input.version !== -1 && input.version !== s.version) return { out: { ok: false, err: 'BADVERSION' }, next: s };
      return { out: { ok: true }, next: { ...s, version: -1, data: '' } };
    case 'createSequential':
      return { out: { ok: true, sequence: s.sequence }, next: { ...s, sequence: s.sequence + 1 } };
  }
}

function sameOutput(a: ZnodeOutput, b: ZnodeOutput): boolean {
  if (!a.ok || !b.ok) return !a.ok && !b.ok && a.err === b.err;
  if ('sequence' in a || 'sequence' in b) return 'sequence' in a && 'sequence' in b && a.sequence === b.sequence;
  if ('version' in a || 'version' in b) return 'version' in a && 'version' in b && a.version === b.version && a.data === b.data;
  return true;
}

export const znodeModel: Model<ZnodeState, ZnodeInput, ZnodeOutput> = {
  init: () => ABSENT,
  step(s, input, output) {
    const { out, next } = apply(s, input);
    if (output === undefined) {
      // No answer came: it took effect, or it never reached the log. A failed operation
      // changes nothing either way.
      return next === s ? [s] : [next, s];
    }
    if (input.kind === 'write' && output.ok && 'version' in output && out.ok && 'version' in out) {
      // A setData answer carries the Stat after the write; the data is what was sent.
      return output.version === out.version ? [next] : undefined;
    }
    if (input.kind === 'createSequential' && fail(output) !== undefined) return [s];
    return sameOutput(out, output) ? [next] : undefined;
  },
  key: (s) => `${s.version}:${s.sequence}:${s.data}`,
  partition(ops) {
    const parts = new Map<string, ZnodeOperation[]>();
    for (const op of ops) {
      const k = target(op.input);
      let part = parts.get(k);
      if (part === undefined) parts.set(k, (part = []));
      part.push(op);
    }
    return [...parts.values()];
  },
  describe(op) {
    const i = op.input;
    const what =
      i.kind === 'createSequential'
        ? `createSequential under ${i.parent}`
        : `${i.kind} ${i.path}${'data' in i ? ` "${i.data}"` : ''}${'version' in i ? ` @${i.version}` : ''}`;
    const o = op.output;
    const answer =
      o === undefined
        ? 'no answer'
        : !o.ok
          ? o.err
          : 'sequence' in o
            ? `#${o.sequence}`
            : 'version' in o
              ? `v${o.version} "${o.data}"`
              : 'ok';
    return `client ${op.client}: ${what} -> ${answer}  [${op.call}, ${op.ret === Infinity ? '∞' : op.ret}]`;
  },
};

/**
 * ZooKeeper's read guarantee, as the linearizability checker can take it. Writes (and failed
 * writes) are linearizable: the leader orders them. A read is answered by the member the session
 * is connected to, from its own copy, which may lag the leader: reads are not linearizable, only
 * sequentially consistent per client. A member answers a session only from a state at least as
 * new as everything that session has seen (it applies a write before answering it, serves one
 * session in order, and refuses a reconnect from a client that has seen a later zxid than its own).
 *
 * So a read may take effect at any moment after the last thing its client is known to have
 * seen, not only after its call: each answered read gets as its call the earliest moment its
 * client's history allows (the call of the client's last answered write, or the moved call of
 * its last answered read; the start of time if none). An operation without an answer tells the
 * client nothing. The client must keep this floor across sessions, by reconnecting with the
 * zxid it has seen (ConnectRequest.lastZxidSeen).
 *
 * This still catches what ZooKeeper promises not to do: a read of a value never written, a read
 * older than the client's own acknowledged write, a client's reads going back in time, and any
 * anomaly among the writes.
 */
export function sessionOrderReads(ops: readonly ZnodeOperation[]): ZnodeOperation[] {
  const byCall = [...ops].sort((a, b) => a.call - b.call);
  const floor = new Map<number, number>();
  return byCall.map((op) => {
    if (op.output === undefined) return op;
    const from = floor.get(op.client) ?? 0;
    if (op.input.kind !== 'read') {
      floor.set(op.client, op.call);
      return op;
    }
    const moved = { ...op, call: Math.min(op.call, from) };
    floor.set(op.client, moved.call);
    return moved;
  });
}

/**
 * What sessionOrderReads cannot see: the checker may still place a read before its client's own
 * earlier write (that write's moment is only known to lie in its interval). A znode's version
 * names the state a read saw, so this checks it directly: per client and znode, the versions the
 * client sees (its acknowledged writes' and its reads') never go down. Returns one line per
 * anomaly.
 */
export function sessionReadAnomalies(ops: readonly ZnodeOperation[]): string[] {
  const seen = new Map<string, { version: number; op: ZnodeOperation }>();
  const anomalies: string[] = [];
  for (const op of [...ops].sort((a, b) => a.call - b.call)) {
    const out = op.output;
    if (out === undefined || !out.ok || !('version' in out) || op.input.kind === 'createSequential') continue;
    const key = `${op.client} ${op.input.path}`;
    const last = seen.get(key);
    if (last !== undefined && out.version < last.version) {
      const show = (o: ZnodeOperation): string => znodeModel.describe?.(o) ?? JSON.stringify(o);
      anomalies.push(
        `client ${op.client} saw ${op.input.path} go back from v${last.version} to v${out.version}:\n  ${show(last.op)}\n  ${show(op)}`,
      );
    }
    if (last === undefined || out.version >= last.version) seen.set(key, { version: out.version, op });
  }
  return anomalies;
}
