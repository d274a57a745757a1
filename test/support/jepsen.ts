/**
 * A fault-injection run in the manner of Jepsen, on a real ensemble: several clients do
 * compare-and-set (getData, then setData with the version read), sequential creates and reads
 * while a nemesis kills (SIGKILL), pauses (SIGSTOP) and cuts off (fault proxies) members. Every
 * operation is recorded with its call and return times; one without an answer (connection lost,
 * no reply in time) is indeterminate. Afterwards the ensemble is healed, every key and the
 * sequential parent are read back, and the history goes to the linearizability checker.
 *
 * Everything random comes from one seeded PRNG per actor, so a seed names a schedule (the
 * interleaving still depends on timing).
 */
import { performance } from 'node:perf_hooks';
import { ErrorCode } from '../../src/codec/index.js';
import type { Ensemble, Member } from './ensemble-process.js';
import { checkLinearizable, explainIllegal, type CheckResult } from './linearizability.js';
import { RawClient, RawClientError } from './raw-client.js';
import { sleep } from './server-process.js';
import {
  sessionOrderReads,
  sessionReadAnomalies,
  znodeModel,
  type ZnodeInput,
  type ZnodeOperation,
  type ZnodeOutput,
} from './znode-model.js';

export interface JepsenOptions {
  seed: number;
  durationMs: number;
  clients: number;
  keys: number;
  /** Request timeout: an operation not answered within it is indeterminate. */
  requestTimeoutMs: number;
  sessionTimeoutMs: number;
  /** The nemesis waits this long (uniformly between the bounds) between faults, and lets a fault last as long. */
  faultGapMs: [number, number];
  faultLengthMs: [number, number];
  /**
   * Each client waits this long after each operation. The checker's search grows faster than
   * the history, so this bounds its cost on a fast server (with none, ZephyrCoord's clients made
   * 4x the operations ZooKeeper's did and the check took minutes).
   */
  opGapMs: number;
  /**
   * After a connection loss a client re-attaches its session (id, password and the zxid it saw)
   * at another member, as client libraries do, instead of starting a new one; a session the
   * ensemble declares expired although the client had heard from it within its timeout is then
   * an anomaly (`expiredSessions`).
   */
  resumeSessions?: boolean;
  /**
   * Asked before each random fault with the leader of the moment: true makes that fault a
   * `kill-leader`, which moves leadership at once (a mixed ensemble wants each server to lead).
   */
  killLeaderFirst?: (leader: number) => boolean;
  /**
   * What happens to the ensemble instead of random faults; the clients stop when it resolves
   * (`durationMs` is then ignored).
   */
  nemesis?: Nemesis;
}

/** Changes the ensemble under load; each change it makes is pushed to `faults`. */
export type Nemesis = (ensemble: Ensemble, faults: JepsenResult['faults']) => Promise<void>;

export type FaultKind = 'kill' | 'kill-leader' | 'pause' | 'partition-drop' | 'partition-reset' | 'isolate-leader' | 'replace';

export interface JepsenResult {
  /** The clients' operations (reads as recorded, not moved). */
  history: ZnodeOperation[];
  /** Each fault, with the member that led when it began (-1: none found). */
  faults: { kind: FaultKind; member: number; at: number; leader: number }[];
  counts: { ok: number; fail: number; info: number; byKind: Record<string, number>; unexpectedErrors: Record<string, number> };
  check: CheckResult<ZnodeInput, ZnodeOutput>;
  sessionAnomalies: string[];
  lostWrites: string[];
  /** Sessions declared expired although their client heard from them within the session timeout. */
  expiredSessions: string[];
  /** Session re-attachments at another member that succeeded (resumeSessions). */
  resumed: number;
  /** Sequential children that no create could have made. */
  phantoms: string[];
  checkMs: number;
}

const ROOT = '/jepsen';
const SEQ_PARENT = `${ROOT}/seq`;
const PERSISTENT_SEQUENTIAL = 2;

/** mulberry32: small, fast, and good enough to pick operations and faults. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function between(random: () => number, [lo, hi]: [number, number]): number {
  return lo + Math.floor(random() * (hi - lo));
}

function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from nothing');
  return item;
}

const keyPath = (k: number): string => `${ROOT}/k${k}`;

/** One logical client: a session at a time, re-established (with the zxid seen so far) after a failure. */
class Client {
  private session: RawClient | undefined;
  /** Highest zxid any of this client's sessions saw: a new session must not start from an older state. */
  private seenZxid = 0;
  private n = 0;
  /** When this client last had an answer from its current session (resumeSessions). */
  private lastHeard = 0;
  private resumable: { sessionId: bigint; passwd: Buffer; timeoutMs: number } | undefined;
  readonly createTags = new Map<string, ZnodeOperation>();
  readonly expired: string[] = [];
  resumed = 0;

  constructor(
    readonly id: number,
    private readonly ensemble: Ensemble,
    private readonly options: JepsenOptions,
    private readonly random: () => number,
    private readonly history: ZnodeOperation[],
    private readonly unexpected: Record<string, number>,
  ) {}

  async run(running: () => boolean): Promise<void> {
    while (running()) {
      const c = await this.connect(running);
      if (c === undefined) return;
      const r = this.random();
      if (r < 0.45) await this.compareAndSet(c);
      else if (r < 0.7) await this.createSequential(c);
      else await this.read(c, keyPath(Math.floor(this.random() * this.options.keys)));
      if (this.options.opGapMs > 0) await sleep(this.options.opGapMs);
    }
    this.session?.destroy();
  }

  private async connect(running: () => boolean): Promise<RawClient | undefined> {
    while (this.session === undefined || this.session.isClosed) {
      if (!running()) return undefined;
      const member: Member = pick(this.random, this.ensemble.members);
      const resuming = this.resumable;
      try {
        this.session = await RawClient.connect({
          host: '127.0.0.1',
          port: member.ports.client,
          timeoutMs: this.options.sessionTimeoutMs,
          keepAliveMs: 500,
          connectTimeoutMs: 2000,
          requestTimeoutMs: this.options.requestTimeoutMs,
          lastZxidSeen: this.seenZxid,
          ...(resuming && { sessionId: resuming.sessionId, passwd: resuming.passwd }),
        });
        // A member behind the zxid we saw refuses (closes) or answers with timeout 0; so does
        // one that finds the session we re-attach gone.
        if (this.session.expired) {
          this.session.destroy();
          if (resuming !== undefined) this.sessionExpired(member, resuming);
        } else {
          if (resuming !== undefined) this.resumed++;
          this.lastHeard = performance.now();
          if (this.options.resumeSessions === true)
            this.resumable = { sessionId: this.session.sessionId, passwd: this.session.passwd, timeoutMs: this.session.negotiatedTimeout };
        }
      } catch {
        await sleep(50);
      }
    }
    return this.session;
  }

  /** Expired for the ensemble; an anomaly if this client heard from the session within its timeout. */
  private sessionExpired(member: Member, session: { sessionId: bigint; timeoutMs: number }): void {
    this.resumable = undefined;
    const silentMs = performance.now() - this.lastHeard;
    if (silentMs < session.timeoutMs) {
      this.expired.push(
        `client ${this.id}: session 0x${session.sessionId.toString(16)} expired at member ${member.id} after ${Math.round(silentMs)} ms without an answer (timeout ${session.timeoutMs} ms)`,
      );
    }
  }

  private async compareAndSet(c: RawClient): Promise<void> {
    const path = keyPath(Math.floor(this.random() * this.options.keys));
    const seen = await this.read(c, path);
    if (seen === undefined || !seen.ok || !('version' in seen)) return;
    const data = `c${this.id}-${this.n++}`;
    await this.record(c, { kind: 'write', path, data, version: seen.version }, async () => {
      const r = await c.setData(path, Buffer.from(data), seen.version);
      if (r.err === ErrorCode.OK && r.stat !== undefined) return { ok: true, data, version: r.stat.version };
      if (r.err === ErrorCode.BADVERSION) return { ok: false, err: 'BADVERSION' };
      if (r.err === ErrorCode.NONODE) return { ok: false, err: 'NONODE' };
      return r.err;
    });
  }

  private async createSequential(c: RawClient): Promise<void> {
    const tag = `c${this.id}-${this.n++}-`;
    const op = await this.record(c, { kind: 'createSequential', parent: SEQ_PARENT }, async () => {
      const r = await c.create(`${SEQ_PARENT}/${tag}`, Buffer.alloc(0), { flags: PERSISTENT_SEQUENTIAL });
      if (r.err !== ErrorCode.OK || r.path === undefined) return r.err;
      return { ok: true, sequence: Number(r.path.slice(-10)) };
    });
    this.createTags.set(tag, op);
  }

  private async read(c: RawClient, path: string): Promise<ZnodeOutput | undefined> {
    const op = await this.record(c, { kind: 'read', path }, async () => {
      const r = await c.getData(path);
      if (r.err === ErrorCode.OK && r.stat !== undefined)
        return { ok: true, data: r.data?.toString('utf8') ?? '', version: r.stat.version };
      if (r.err === ErrorCode.NONODE) return { ok: false, err: 'NONODE' };
      return r.err;
    });
    return op.output;
  }

  /** Runs one operation and appends it to the history; a number is an error code the model does not know (indeterminate). */
  private async record(c: RawClient, input: ZnodeInput, run: () => Promise<ZnodeOutput | number>): Promise<ZnodeOperation> {
    const call = performance.now();
    let output: ZnodeOutput | undefined;
    try {
      const r = await run();
      if (typeof r === 'number') this.unexpected[String(r)] = (this.unexpected[String(r)] ?? 0) + 1;
      else output = r;
    } catch (e) {
      if (!(e instanceof RawClientError)) throw e;
    }
    if (c.lastZxid > this.seenZxid) this.seenZxid = c.lastZxid;
    if (output !== undefined) this.lastHeard = performance.now();
    if (output === undefined) {
      // The session may still send the answer later: drop it, as a client library would after a timeout.
      c.destroy();
      this.session = undefined;
    }
    const op: ZnodeOperation = { client: this.id, input, output, call, ret: output === undefined ? Infinity : performance.now() };
    this.history.push(op);
    return op;
  }
}

/** One fault at a time, so a majority can always make progress; each is undone before the next. */
async function randomFaults(ensemble: Ensemble, options: JepsenOptions, until: number, faults: JepsenResult['faults']): Promise<void> {
  const random = prng(options.seed ^ 0x5eed);
  const kinds: FaultKind[] = ['kill', 'pause', 'partition-drop', 'partition-reset', 'isolate-leader'];
  for (;;) {
    await sleep(between(random, options.faultGapMs));
    if (performance.now() >= until) return;
    const leader = await ensemble.leader(30000).catch(() => -1);
    const kind = leader !== -1 && options.killLeaderFirst?.(leader) === true ? 'kill-leader' : pick(random, kinds);
    const member = (kind === 'isolate-leader' || kind === 'kill-leader') && leader !== -1 ? leader : pick(random, ensemble.members).id;
    faults.push({ kind, member, at: performance.now(), leader });
    const kill = kind === 'kill' || kind === 'kill-leader';
    if (kill) await ensemble.kill9(member);
    else if (kind === 'pause') ensemble.sigstop(member);
    else ensemble.isolate(member, kind === 'partition-reset' ? 'reset' : 'drop');
    await sleep(between(random, options.faultLengthMs));
    if (kill) await ensemble.restart(member);
    else if (kind === 'pause') ensemble.sigcont(member);
    else ensemble.heal();
  }
}

/** Creates the root, the sequential parent and the keys; the keys' creates open the history. */
async function prepare(ensemble: Ensemble, keys: number, history: ZnodeOperation[]): Promise<void> {
  const leader = ensemble.member(await ensemble.leader());
  const c = await RawClient.connect({ host: '127.0.0.1', port: leader.ports.client, timeoutMs: 30000 });
  try {
    for (const path of [ROOT, SEQ_PARENT]) {
      const r = await c.create(path, Buffer.alloc(0));
      if (r.err !== ErrorCode.OK) throw new Error(`create ${path}: error ${r.err}`);
    }
    for (let k = 0; k < keys; k++) {
      const path = keyPath(k);
      const call = performance.now();
      const r = await c.create(path, Buffer.from('init'));
      if (r.err !== ErrorCode.OK) throw new Error(`create ${path}: error ${r.err}`);
      history.push({ client: 0, input: { kind: 'create', path, data: 'init' }, output: { ok: true }, call, ret: performance.now() });
    }
  } finally {
    await c.close();
  }
}

/** After the run: every member back, then each key read (after a sync) at every member, and the sequential children listed at each. */
async function finalReads(ensemble: Ensemble, options: JepsenOptions, history: ZnodeOperation[]): Promise<Map<number, string[]>> {
  // Nothing is in flight any more and each reader syncs first: these reads are strict (not moved).
  for (const m of ensemble.members) {
    if (!m.alive()) await ensemble.restart(m.id);
  }
  await ensemble.leader(60000);
  await Promise.all(ensemble.members.map((m) => m.waitServing(60000)));
  const children = new Map<number, string[]>();
  for (const m of ensemble.members) {
    const c = await RawClient.connect({ host: '127.0.0.1', port: m.ports.client, timeoutMs: 30000, requestTimeoutMs: 30000 });
    try {
      await c.sync(ROOT);
      for (let k = 0; k < options.keys; k++) {
        const call = performance.now();
        const r = await c.getData(keyPath(k));
        const output: ZnodeOutput =
          r.err === ErrorCode.OK && r.stat !== undefined
            ? { ok: true, data: r.data?.toString('utf8') ?? '', version: r.stat.version }
            : { ok: false, err: 'NONODE' };
        history.push({ client: 1000 + m.id, input: { kind: 'read', path: keyPath(k) }, output, call, ret: performance.now() });
      }
      const list = await c.getChildren(SEQ_PARENT);
      if (list.err !== ErrorCode.OK) throw new Error(`getChildren at member ${m.id}: error ${list.err}`);
      children.set(m.id, list.children ?? []);
    } finally {
      await c.close();
    }
  }
  return children;
}

/**
 * Every acknowledged sequential create must be among the children with the suffix it was told;
 * every child must come from a create that was sent and not refused.
 */
function checkCreates(children: string[], clients: Client[]): { lost: string[]; phantoms: string[] } {
  const byTag = new Map<string, ZnodeOperation>();
  for (const c of clients) for (const [tag, op] of c.createTags) byTag.set(tag, op);
  const found = new Map<string, number>();
  const phantoms: string[] = [];
  for (const child of children) {
    const tag = child.slice(0, -10);
    const op = byTag.get(tag);
    if (op === undefined || (op.output !== undefined && !op.output.ok) || found.has(tag)) phantoms.push(child);
    found.set(tag, Number(child.slice(-10)));
  }
  const lost: string[] = [];
  for (const [tag, op] of byTag) {
    const out = op.output;
    if (out === undefined || !out.ok || !('sequence' in out)) continue;
    if (found.get(tag) !== out.sequence) lost.push(`${tag}${String(out.sequence).padStart(10, '0')} (found: ${found.get(tag) ?? 'none'})`);
  }
  return { lost, phantoms };
}

/** Acknowledged setData that the final state does not include (its version is newer than the final one). */
function lostCasWrites(history: ZnodeOperation[], finals: ZnodeOperation[]): string[] {
  const finalVersion = new Map<string, number>();
  for (const op of finals) {
    if (op.input.kind === 'read' && op.output?.ok === true && 'version' in op.output) {
      finalVersion.set(op.input.path, op.output.version);
    }
  }
  const lost: string[] = [];
  for (const op of history) {
    if (op.input.kind !== 'write' || op.output?.ok !== true || !('version' in op.output)) continue;
    if (op.output.version > (finalVersion.get(op.input.path) ?? -1)) lost.push(znodeModel.describe?.(op) ?? JSON.stringify(op));
  }
  return lost;
}

export async function runJepsen(ensemble: Ensemble, options: JepsenOptions): Promise<JepsenResult> {
  const history: ZnodeOperation[] = [];
  await prepare(ensemble, options.keys, history);
  const unexpected: Record<string, number> = {};
  const faults: JepsenResult['faults'] = [];
  const until = performance.now() + options.durationMs;
  let nemesisDone = false;
  const running = options.nemesis === undefined ? () => performance.now() < until : () => !nemesisDone;
  const clients = Array.from(
    { length: options.clients },
    (_, i) => new Client(i + 1, ensemble, options, prng(options.seed + i + 1), history, unexpected),
  );
  const nemesis = (options.nemesis?.(ensemble, faults) ?? randomFaults(ensemble, options, until, faults)).finally(() => {
    nemesisDone = true;
  });
  await Promise.all([...clients.map((c) => c.run(running)), nemesis]);
  ensemble.heal();
  for (const m of ensemble.members) m.sigcont();
  const finals: ZnodeOperation[] = [];
  const children = await finalReads(ensemble, options, finals);

  const started = performance.now();
  const check = checkLinearizable(znodeModel, [...sessionOrderReads(history), ...finals]);
  const checkMs = performance.now() - started;
  // every member must hold every acknowledged create: a member that lost some is named
  const creates = { lost: [] as string[], phantoms: [] as string[] };
  for (const [id, list] of children) {
    const atMember = checkCreates(list, clients);
    creates.lost.push(...atMember.lost.map((x) => `member ${id}: ${x}`));
    creates.phantoms.push(...atMember.phantoms.map((x) => `member ${id}: ${x}`));
  }
  const byKind: Record<string, number> = {};
  for (const op of history) byKind[op.input.kind] = (byKind[op.input.kind] ?? 0) + 1;
  return {
    history,
    faults,
    counts: {
      ok: history.filter((o) => o.output?.ok === true).length,
      fail: history.filter((o) => o.output?.ok === false).length,
      info: history.filter((o) => o.output === undefined).length,
      byKind,
      unexpectedErrors: unexpected,
    },
    check,
    sessionAnomalies: sessionReadAnomalies(history),
    lostWrites: [...lostCasWrites(history, finals), ...creates.lost],
    expiredSessions: clients.flatMap((c) => c.expired),
    resumed: clients.reduce((n, c) => n + c.resumed, 0),
    phantoms: creates.phantoms,
    checkMs,
  };
}

export function describeCheck(r: JepsenResult): string {
  if (r.check.result === 'illegal') return explainIllegal(znodeModel, r.check);
  return `${r.check.result} (${r.check.steps} search steps)`;
}
