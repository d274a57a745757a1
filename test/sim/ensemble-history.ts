/**
 * What the simulated clients saw, and the checks of ZooKeeper's guarantees over it:
 *
 * - writes are linearizable (create, setData with an expected version, delete; an answer that
 *   never came may have taken effect or not), checked with the Wing-Gong checker
 *   (test/support/linearizability.ts) and the znode model, with a final read of every key from
 *   the last leader's tree, after the faults healed;
 * - every write acknowledged to a client (success or error: an error txn is logged too) is in
 *   the committed history, never in a branch a later leader discarded;
 * - per session, answers come in request order with zxids that never go back (FIFO client
 *   order, and reads never see an older state than the session saw before: read your writes);
 * - a read answered at zxid Z shows the node as the committed history leaves it at Z
 *   (sequentially consistent reads: possibly stale, never invented, never out of order);
 * - after a `sync` the server has applied every write acknowledged before the sync was sent.
 *
 * The committed history is every txn a leader prepared, less the ones a later epoch discarded:
 * when a leader establishes epoch e from its last zxid L, no txn above L of an earlier epoch
 * will ever be committed (ZAB keeps one history; the digest checks hold the members to it).
 */
import { ErrorCode, OpCode, type Txn, type TxnHeader } from '../../src/codec/index.js';
import { hex, type Sid, type Zxid } from '../../src/quorum/zab/index.js';
import { checkLinearizable, explainIllegal } from '../support/linearizability.js';
import { znodeModel, type ZnodeInput, type ZnodeOperation, type ZnodeOutput } from '../support/znode-model.js';

export type ClientOp =
  | { readonly kind: 'create'; readonly path: string; readonly data: string }
  | { readonly kind: 'set'; readonly path: string; readonly data: string; readonly version: number }
  | { readonly kind: 'delete'; readonly path: string; readonly version: number }
  | { readonly kind: 'read'; readonly path: string }
  | { readonly kind: 'sync' };

export interface Answer {
  readonly err: number;
  readonly zxid: Zxid;
  /** read: the node's data; set and read: its version and mzxid. */
  readonly data?: string;
  readonly version?: number;
  readonly mzxid?: Zxid;
}

export interface Invocation {
  /** The session's number in this run (each session is one client of the history). */
  readonly client: number;
  readonly member: Sid;
  readonly op: ClientOp;
  readonly call: number;
  ret: number;
  /** Null while unanswered; an operation never answered stays so (indeterminate). */
  answer: Answer | null;
}

/** What a txn does to one znode (null: nothing a client of these checks sees). */
interface Effect {
  readonly path: string;
  /** null: deleted. */
  readonly node: { readonly data: string; readonly version: number } | null;
}

interface NodeState {
  readonly zxid: Zxid;
  readonly node: { readonly data: string; readonly version: number; readonly mzxid: Zxid } | null;
}

const WRITE_KINDS = new Set(['create', 'set', 'delete']);

export function isWrite(op: ClientOp): boolean {
  return WRITE_KINDS.has(op.kind);
}

export function describeOp(inv: Invocation): string {
  const o = inv.op;
  const what =
    o.kind === 'sync' ? 'sync' : `${o.kind} ${o.path}${'data' in o ? ` "${o.data}"` : ''}${'version' in o ? ` @${o.version}` : ''}`;
  const a = inv.answer;
  const answer =
    a === null
      ? 'no answer'
      : `err ${a.err} zxid ${hex(a.zxid)}${a.version === undefined ? '' : ` v${a.version}`}${a.data === undefined ? '' : ` "${a.data}"`}`;
  return `session ${inv.client} at ${inv.member}: ${what} -> ${answer} [${inv.call}, ${inv.ret === Infinity ? '∞' : inv.ret}]`;
}

function effectOf(txn: Txn): Effect | null {
  switch (txn.type) {
    case OpCode.create:
    case OpCode.create2:
      return { path: txn.path, node: { data: txn.data?.toString('latin1') ?? '', version: 0 } };
    case OpCode.setData:
      return { path: txn.path, node: { data: txn.data?.toString('latin1') ?? '', version: txn.version } };
    case OpCode.delete:
      return { path: txn.path, node: null };
    default:
      return null; // error txns and session txns touch no key
  }
}

export class History {
  readonly invocations: Invocation[] = [];
  /** Every txn a leader prepared, by zxid (one leader per epoch: one txn per zxid). */
  private readonly proposed = new Map<Zxid, Effect | null>();
  /** Epoch starts: txns above `from` and below `below` are discarded. */
  private readonly discards: { from: Zxid; below: Zxid; epoch: number }[] = [];

  proposedTxn(header: TxnHeader, txn: Txn): void {
    this.proposed.set(header.zxid, effectOf(txn));
  }

  epochEstablished(epoch: number, leaderLastZxid: Zxid): void {
    this.discards.push({ from: leaderLastZxid, below: epoch * 2 ** 32, epoch });
  }

  private discardOf(zxid: Zxid): { epoch: number; from: Zxid } | undefined {
    return this.discards.find((d) => zxid > d.from && zxid < d.below);
  }

  /** The committed history, as each key's states in zxid order. */
  private nodeStates(): Map<string, NodeState[]> {
    const out = new Map<string, NodeState[]>();
    for (const zxid of [...this.proposed.keys()].sort((a, b) => a - b)) {
      const e = this.proposed.get(zxid);
      if (e === undefined || e === null || this.discardOf(zxid) !== undefined) continue;
      let states = out.get(e.path);
      if (states === undefined) out.set(e.path, (states = []));
      states.push({ zxid, node: e.node === null ? null : { ...e.node, mzxid: zxid } });
    }
    return out;
  }

  /** Runs every check; returns what failed (empty if all held). */
  check(finalNodes: ReadonlyMap<string, { data: string; version: number } | null>, endTime: number): string[] {
    const failures: string[] = [];
    failures.push(...this.checkAckedKept());
    failures.push(...this.checkSessions());
    failures.push(...this.checkReads());
    failures.push(...this.checkSyncs());
    failures.push(...this.checkLinearizable(finalNodes, endTime));
    return failures;
  }

  private checkAckedKept(): string[] {
    const out: string[] = [];
    for (const inv of this.invocations) {
      if (!isWrite(inv.op) || inv.answer === null) continue;
      const z = inv.answer.zxid;
      if (!this.proposed.has(z)) out.push(`acknowledged write at ${hex(z)} was never proposed: ${describeOp(inv)}`);
      const d = this.discardOf(z);
      if (d !== undefined) out.push(`acknowledged write lost: epoch ${d.epoch} began from ${hex(d.from)} without it: ${describeOp(inv)}`);
    }
    return out;
  }

  /** Answers in request order, zxids never going back. */
  private checkSessions(): string[] {
    const out: string[] = [];
    const bySession = new Map<number, Invocation[]>();
    for (const inv of this.invocations) {
      let list = bySession.get(inv.client);
      if (list === undefined) bySession.set(inv.client, (list = []));
      list.push(inv);
    }
    for (const [client, list] of bySession) {
      let prev: Invocation | null = null;
      let unanswered = false;
      for (const inv of list) {
        if (inv.answer === null) {
          unanswered = true;
          continue;
        }
        if (unanswered) out.push(`session ${client}: answered after an earlier request went unanswered: ${describeOp(inv)}`);
        if (prev?.answer != null && inv.answer.zxid < prev.answer.zxid) {
          out.push(
            `session ${client}: zxid went back from ${hex(prev.answer.zxid)} to ${hex(inv.answer.zxid)}: ${describeOp(prev)} then ${describeOp(inv)}`,
          );
        }
        if (prev !== null && inv.ret < prev.ret) out.push(`session ${client}: answers out of order: ${describeOp(inv)}`);
        prev = inv;
      }
    }
    return out;
  }

  /** A read answered at Z shows the node as the committed history leaves it at Z. */
  private checkReads(): string[] {
    const out: string[] = [];
    const states = this.nodeStates();
    for (const inv of this.invocations) {
      const a = inv.answer;
      if (inv.op.kind !== 'read' || a === null) continue;
      const expected = stateAt(states.get(inv.op.path) ?? [], a.zxid);
      const got = a.err === ErrorCode.NONODE ? null : a.err === 0 ? { data: a.data, version: a.version, mzxid: a.mzxid } : undefined;
      if (got === undefined) {
        out.push(`read failed with ${a.err}: ${describeOp(inv)}`);
        continue;
      }
      const same =
        expected === null
          ? got === null
          : got !== null && got.data === expected.data && got.version === expected.version && got.mzxid === expected.mzxid;
      if (!same) {
        const want = expected === null ? 'absent' : `v${expected.version} "${expected.data}" mzxid ${hex(expected.mzxid)}`;
        out.push(`read at ${hex(a.zxid)} is not the committed state there (${want}): ${describeOp(inv)}`);
      }
    }
    return out;
  }

  /** After a sync, every write acknowledged before it was sent is applied where it is answered. */
  private checkSyncs(): string[] {
    const out: string[] = [];
    const acked = this.invocations
      .filter((i) => isWrite(i.op) && i.answer !== null)
      .map((i) => ({ ret: i.ret, zxid: i.answer?.zxid ?? 0 }))
      .sort((a, b) => a.ret - b.ret);
    for (const inv of this.invocations) {
      if (inv.op.kind !== 'sync' || inv.answer === null) continue;
      let need = 0;
      for (const w of acked) {
        if (w.ret >= inv.call) break;
        need = Math.max(need, w.zxid);
      }
      if (inv.answer.zxid < need)
        out.push(`sync answered at ${hex(inv.answer.zxid)}, before a write acknowledged earlier at ${hex(need)}: ${describeOp(inv)}`);
    }
    return out;
  }

  private checkLinearizable(finalNodes: ReadonlyMap<string, { data: string; version: number } | null>, endTime: number): string[] {
    const ops: ZnodeOperation[] = [];
    for (const inv of this.invocations) {
      if (!isWrite(inv.op)) continue;
      const answer = inv.answer;
      ops.push({
        client: inv.client,
        input: znodeInput(inv.op),
        output: answer === null ? undefined : znodeOutput(inv.op, answer),
        call: inv.call,
        ret: inv.ret,
      });
    }
    for (const [path, node] of finalNodes) {
      const output: ZnodeOutput = node === null ? { ok: false, err: 'NONODE' } : { ok: true, data: node.data, version: node.version };
      ops.push({ client: -1, input: { kind: 'read', path }, output, call: endTime, ret: endTime });
    }
    const r = checkLinearizable(znodeModel, ops, 5_000_000);
    if (r.result === 'illegal') return [`writes are not linearizable:\n${explainIllegal(znodeModel, r)}`];
    if (r.result === 'unknown') return [`the linearizability search ran out of steps (${r.steps})`];
    return [];
  }
}

function stateAt(states: readonly NodeState[], zxid: Zxid): NodeState['node'] {
  let found: NodeState['node'] = null;
  for (const s of states) {
    if (s.zxid > zxid) break;
    found = s.node;
  }
  return found;
}

function znodeInput(op: ClientOp): ZnodeInput {
  switch (op.kind) {
    case 'create':
      return { kind: 'create', path: op.path, data: op.data };
    case 'set':
      return { kind: 'write', path: op.path, data: op.data, version: op.version };
    case 'delete':
      return { kind: 'delete', path: op.path, version: op.version };
    default:
      throw new Error(`not a write: ${op.kind}`);
  }
}

function znodeOutput(op: ClientOp, a: Answer): ZnodeOutput {
  switch (a.err) {
    case 0:
      return op.kind === 'set' ? { ok: true, data: op.data, version: a.version ?? -1 } : { ok: true };
    case ErrorCode.NONODE:
      return { ok: false, err: 'NONODE' };
    case ErrorCode.NODEEXISTS:
      return { ok: false, err: 'NODEEXISTS' };
    case ErrorCode.BADVERSION:
      return { ok: false, err: 'BADVERSION' };
    default:
      throw new Error(`unexpected error ${a.err} for ${op.kind}`);
  }
}
