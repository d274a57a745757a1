/**
 * The model of acknowledged writes behind the kill -9 test (test/fault/crash.test.ts) and the
 * power-cut test (test/durability/power-cut.test.ts): what the workload (crash-workload.ts)
 * sent, what the server acknowledged or showed, and so which trees a restarted server may
 * hold. Each object knows the states it may be found in after a restart, and for each write a
 * session sent whether the tree shows it applied, missing, or cannot tell (the per-session
 * prefix check).
 *
 * What a server showed (a reply, a read) was durable: it applies a txn only once it is logged
 * (and, with forceSync, synced), and answers a session's requests in order. So whatever was
 * acknowledged or seen becomes the floor for every later restart, and whatever a restart left
 * out of a write that was only sent is gone for good. A kill -9 and a power cut differ only in
 * what the disk keeps of what was never acknowledged, so the same rules hold for both.
 */
import assert from 'node:assert/strict';
import type { ACL, Stat } from '../../src/codec/index.js';
import type { NodeRead, TreeRead } from './tree-read.js';

export type Outcome = 'applied' | 'missing' | 'unknown';

export const WRITE_KINDS = [
  'create',
  'createSequential',
  'createEphemeral',
  'createTTL',
  'createContainer',
  'createChild',
  'setData',
  'setACL',
  'delete',
  'deleteChild',
  'multi',
  'closeSession',
] as const;
export type WriteKind = (typeof WRITE_KINDS)[number];

/** Where each kind of object lives; nothing else may be found under /crash. */
export const PARENTS = {
  nodes: '/crash/n',
  multis: '/crash/m',
  sequential: '/crash/seq',
  ephemerals: '/crash/e',
  containers: '/crash/c',
  ttl: '/crash/t',
  probes: '/crash/p',
} as const;
export const STRUCTURE: readonly string[] = ['/crash', ...Object.values(PARENTS)];

export class Violations {
  readonly list: string[] = [];
  private dropped = 0;
  constructor(private readonly seed: number) {}
  add(msg: string): void {
    if (this.list.length < 50) this.list.push(msg);
    else this.dropped++;
  }
  assertNone(when: string): void {
    assert.deepEqual(this.list, [], `${when} (seed ${this.seed}${this.dropped > 0 ? `; ${this.dropped} more not shown` : ''})`);
  }
}

/** One write a session sent. After a restart `outcome` tells whether the tree shows it. */
export class Write {
  acked = false;
  /** Answered with an error the model allows (e.g. NONODE for a reaped node): processed, no effect. */
  refused = false;
  constructor(
    readonly kind: WriteKind,
    readonly what: string,
    readonly outcome: () => Outcome,
  ) {}
}

/**
 * alive: open, or to be re-attached after the restart. closing: closeSession sent, no reply.
 * closed: closeSession acknowledged (or its ephemerals seen gone after it ended). abandoned:
 * never re-attached, so it expires once a server stays up long enough. expired: a re-attach
 * was refused, its closeSession txn may still be on its way.
 */
export type SessionState = 'alive' | 'closing' | 'closed' | 'abandoned' | 'expired';

export class SessionModel {
  state: SessionState = 'alive';
  /** This cycle's writes, in the order sent. */
  writes: Write[] = [];
  /** Highest zxid any of its connections saw (sent when it re-attaches). */
  lastZxid = 0;
  /** When it was abandoned (its connection dropped): its timeout cannot have run from earlier. */
  abandonedAt = 0;
  /** Abandoned, and a server has since stayed up longer than its timeout: it must have expired. */
  expiryDue = false;
  /** What became of a closeSession it sent, once known. */
  closeOutcome: Outcome = 'unknown';
  /** A re-attach after its acknowledged close was tried (and refused). */
  reattachRefused = false;
  constructor(
    readonly name: string,
    readonly id: bigint,
    readonly passwd: Buffer,
    readonly timeoutMs: number,
    /** Re-attached after every restart; the others are abandoned at their first fault. */
    readonly keeper: boolean,
  ) {}
  get mayHaveEnded(): boolean {
    return this.state !== 'alive';
  }
}

/** What one verification works with and collects. */
export interface Check {
  readonly label: string;
  /** When the tree read finished: a node missing from it was gone by then. */
  readonly at: number;
  readonly v: Violations;
  /** Paths of the tree that the model accounted for. */
  readonly explained: Set<string>;
  /** Unacknowledged writes that a restart did not keep. */
  lostUnacked: number;
  readonly tree: TreeRead;
}

export type NodeKind = 'persistent' | 'ttl' | 'ephemeral';

interface NodeSeen {
  present: boolean;
  version: number;
  aversion: number;
  createKnown: boolean;
  mayVanish: boolean;
  deleteSent: boolean;
  /** In a container that is gone: a create sent to it may have been refused with NONODE. */
  containerGone: boolean;
}

export function sameAcl(a: readonly ACL[] | undefined | null, b: readonly ACL[] | undefined | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * A node written with create/setData/setACL/delete: persistent (under /crash/n or in a
 * container), TTL, or ephemeral. Sent values are kept per version, so any version found
 * after a restart can be checked against what was sent for it.
 */
export class NodeModel {
  /** history[v]: the data version v holds; entries past durableVersion were sent, not known applied. */
  readonly history: string[];
  /** acls[a]: the ACL at aversion a. */
  readonly acls: ACL[][];
  /** Highest version known durable (acknowledged, read, or seen after a restart); -1: create not known applied. */
  durableVersion = -1;
  durableMzxid: number | null = null;
  durableAversion = 0;
  czxid: number | null = null;
  deleteSent = false;
  deleteAcked = false;
  /** A NONODE reply showed it gone (a reaped TTL node, a create in a reaped container). */
  goneByReply = false;
  /** TTL nodes: a lower bound of the mtime the server holds. */
  mtime: number;
  /** TTL nodes: the reaper may already have chosen it (its TTL ran out before a later mtime was learned). */
  reapDue = false;
  private seen: NodeSeen | null = null;

  constructor(
    readonly path: string,
    readonly kind: NodeKind,
    data: string,
    acl: ACL[],
    sentAt: number,
    readonly ttlMs = 0,
    readonly owner: SessionModel | null = null,
    readonly container: ContainerModel | null = null,
  ) {
    this.history = [data];
    this.acls = [acl];
    this.mtime = sentAt;
  }

  /** Still there as far as the workload knows (sent ops assumed to apply). */
  get live(): boolean {
    return !this.deleteSent && !this.goneByReply;
  }
  /** The version and aversion once everything sent has applied. */
  get version(): number {
    return this.history.length - 1;
  }
  get aversion(): number {
    return this.acls.length - 1;
  }

  /**
   * Whether something other than its own delete may have removed it by `at`. A TTL runs on
   * the wall clock against the stored mtime, so time while no server was up counts: a node
   * whose TTL ran out during a restart (or a remount) may be reaped as soon as one starts.
   */
  mayVanish(at: number): boolean {
    if (this.kind === 'ttl') return this.reapDue || at > this.mtime + this.ttlMs;
    return this.owner?.mayHaveEnded ?? false;
  }

  learnCreate(zxid: number): void {
    this.czxid = zxid;
    this.learnVersion(0, zxid);
  }

  /** A reply or a read showed this Stat at `at`: all of it applied, so durable. */
  learnStat(stat: Stat, at: number): void {
    this.czxid = stat.czxid;
    this.learnVersion(stat.version, stat.mzxid);
    this.durableAversion = Math.max(this.durableAversion, stat.aversion);
    if (this.kind !== 'ttl') return;
    // Before this reply the reaper knew at best the previous mtime; if the TTL had run out
    // by now, it may have chosen the node already (its delete does not look at later writes).
    if (at > this.mtime + this.ttlMs) this.reapDue = true;
    this.mtime = Math.max(this.mtime, stat.mtime);
  }

  private learnVersion(version: number, mzxid: number): void {
    if (version <= this.durableVersion) return;
    this.durableVersion = version;
    this.durableMzxid = mzxid;
  }

  /** Checks what a restart left against the model; false once the node is gone for good. */
  verify(r: NodeRead | undefined, ck: Check): boolean {
    const createKnown = this.durableVersion >= 0;
    const mayVanish = this.mayVanish(ck.at);
    this.seen = {
      present: r !== undefined,
      version: r?.stat.version ?? -1,
      aversion: r?.stat.aversion ?? -1,
      createKnown,
      mayVanish,
      deleteSent: this.deleteSent,
      containerGone: this.container !== null && !ck.tree.has(this.container.path),
    };
    if (r === undefined) {
      if (createKnown && !this.deleteSent && !mayVanish && !this.goneByReply)
        ck.v.add(`${ck.label}: LOST ${this.kind} node ${this.path} (created, acknowledged or seen at v${this.durableVersion})`);
      else if (!createKnown && !this.deleteSent && !this.goneByReply) ck.lostUnacked++;
      return false;
    }
    ck.explained.add(this.path);
    this.checkLife(r, ck);
    this.checkData(r.stat, r.data, ck);
    this.checkAcl(r.stat, r.acl, ck);
    this.settle(r.stat);
    return true;
  }

  private checkLife(r: NodeRead, ck: Check): void {
    const where = `${ck.label}: ${this.path}`;
    if (this.deleteAcked) ck.v.add(`${where}: RESURRECTED, its delete was acknowledged`);
    if (this.goneByReply) ck.v.add(`${where}: RESURRECTED, a reply said NONODE`);
    const owner = this.owner;
    if (owner !== null) {
      if (owner.state === 'closed') ck.v.add(`${where}: ephemeral outlived its session ${owner.name}, which was closed`);
      else if (owner.expiryDue)
        ck.v.add(`${where}: ephemeral outlived its abandoned session ${owner.name} (timeout ${owner.timeoutMs} ms)`);
    }
    const wantOwner = owner?.id ?? 0n;
    if (r.stat.ephemeralOwner !== wantOwner) ck.v.add(`${where}: ephemeralOwner ${r.stat.ephemeralOwner}, expected ${wantOwner}`);
  }

  private checkData(st: Stat, data: string, ck: Check): void {
    const where = `${ck.label}: ${this.path}`;
    if (st.version < this.durableVersion)
      ck.v.add(`${where}: LOST write: version ${st.version} ("${data}"), v${this.durableVersion} was acknowledged or seen`);
    else if (st.version >= this.history.length) ck.v.add(`${where}: at version ${st.version}, only ${this.version} setData sent`);
    else if (this.history[st.version] !== data) ck.v.add(`${where}: v${st.version} holds "${data}", sent "${this.history[st.version]}"`);
    if (st.version === this.durableVersion && this.durableMzxid !== null && st.mzxid !== this.durableMzxid)
      ck.v.add(`${where}: v${st.version} has mzxid ${st.mzxid}, acknowledged with ${this.durableMzxid}`);
    if (st.version > this.durableVersion && this.durableMzxid !== null && st.mzxid <= this.durableMzxid)
      ck.v.add(`${where}: newer v${st.version} has mzxid ${st.mzxid}, not above the acknowledged ${this.durableMzxid}`);
    if (this.czxid !== null && st.czxid !== this.czxid) ck.v.add(`${where}: czxid ${st.czxid}, created at ${this.czxid}`);
  }

  private checkAcl(st: Stat, acl: ACL[] | null, ck: Check): void {
    const where = `${ck.label}: ${this.path}`;
    if (st.aversion < this.durableAversion)
      ck.v.add(`${where}: LOST setACL: aversion ${st.aversion}, ${this.durableAversion} was acknowledged`);
    else if (st.aversion >= this.acls.length) ck.v.add(`${where}: at aversion ${st.aversion}, only ${this.aversion} setACL sent`);
    else if (!sameAcl(acl, this.acls[st.aversion]))
      ck.v.add(`${where}: aversion ${st.aversion} has ACL ${JSON.stringify(acl)}, sent ${JSON.stringify(this.acls[st.aversion])}`);
  }

  /** What a restart kept is durable; sent writes it did not keep are gone for good. */
  private settle(st: Stat): void {
    this.czxid = st.czxid;
    this.durableVersion = Math.min(st.version, this.history.length - 1);
    this.durableMzxid = st.mzxid;
    this.history.length = this.durableVersion + 1;
    this.durableAversion = Math.min(st.aversion, this.acls.length - 1);
    this.acls.length = this.durableAversion + 1;
    this.deleteSent = false;
    if (this.kind === 'ttl') {
      // A fresh process: no reaper decision from before the restart is pending.
      this.mtime = st.mtime;
      this.reapDue = false;
    }
  }

  /** Why a verification found it gone. */
  removalCause(): string {
    const s = this.seen;
    if (s === null || s.present) return 'not gone';
    if (s.deleteSent) return 'deleted';
    if (this.goneByReply) return this.kind === 'ttl' ? 'reaped (TTL)' : 'create refused';
    if (s.mayVanish) return this.kind === 'ttl' ? 'reaped (TTL)' : 'session ended';
    return s.createKnown ? 'lost' : 'never applied';
  }

  /** Whether the last verification shows a write to this node (`target`: the version or aversion it makes). */
  outcomeOf(op: 'create' | 'setData' | 'setACL' | 'delete', target = 0): Outcome {
    const s = this.seen;
    if (s === null) return 'unknown';
    if (s.present) {
      if (op === 'setData') return s.version >= target ? 'applied' : 'missing';
      if (op === 'setACL') return s.aversion >= target ? 'applied' : 'missing';
      return op === 'create' ? 'applied' : 'missing';
    }
    // Gone, though it was there: its delete applied, unless something else removed it.
    if (s.createKnown) return op === 'delete' && !s.mayVanish ? 'applied' : 'unknown';
    // Never there: nothing sent to it applied, unless it could have been created and removed since.
    return s.mayVanish || s.deleteSent || s.containerGone ? 'unknown' : 'missing';
  }
}

/**
 * A container: children are created and deleted in it (NodeModels with `container` set); once
 * it is empty after having had a child, the server's reaper may delete it at any moment.
 */
export class ContainerModel {
  readonly children: NodeModel[] = [];
  createKnown = false;
  czxid: number | null = null;
  /** Empty after having had children (as sent, or as seen): the reaper may take it. */
  mayBeReaped = false;
  /** A NONODE reply to a child's create showed it reaped. */
  goneByReply = false;
  /** An op whose outcome depends on the reaper is in flight: nothing else goes to it meanwhile. */
  busy = false;
  private seen: { present: boolean; mayBeReaped: boolean; createKnown: boolean } | null = null;

  constructor(
    readonly path: string,
    readonly data: string,
  ) {}

  get live(): boolean {
    return !this.goneByReply;
  }
  liveChildren(): NodeModel[] {
    return this.children.filter((c) => c.live);
  }
  learnCreate(stat: Stat | undefined, zxid: number): void {
    this.createKnown = true;
    this.czxid = stat?.czxid ?? zxid;
  }

  verify(r: NodeRead | undefined, ck: Check): boolean {
    const mayBeReaped = this.mayBeReaped || this.goneByReply;
    this.seen = { present: r !== undefined, mayBeReaped, createKnown: this.createKnown };
    if (r === undefined) {
      if (this.createKnown && !mayBeReaped) ck.v.add(`${ck.label}: LOST container ${this.path}: it was never empty after having children`);
      else if (!this.createKnown) ck.lostUnacked++;
      return false;
    }
    ck.explained.add(this.path);
    const where = `${ck.label}: container ${this.path}`;
    if (this.goneByReply) ck.v.add(`${where}: RESURRECTED, a reply said it was reaped`);
    if (r.data !== this.data) ck.v.add(`${where} holds "${r.data}", sent "${this.data}"`);
    if (this.czxid !== null && r.stat.czxid !== this.czxid) ck.v.add(`${where}: czxid ${r.stat.czxid}, created at ${this.czxid}`);
    this.createKnown = true;
    this.czxid = r.stat.czxid;
    this.mayBeReaped = r.children.length === 0 && r.stat.cversion > 0;
    return true;
  }

  outcome(): Outcome {
    const s = this.seen;
    if (s === null) return 'unknown';
    if (s.present) return 'applied';
    return s.mayBeReaped || s.createKnown ? 'unknown' : 'missing';
  }
}

/** A multi creating a fresh parent and 2-4 children: all of it applies or none. */
export class MultiModel {
  /** zxid of the acknowledged (or seen) multi; null while neither. */
  zxid: number | null = null;
  private present: boolean | null = null;
  constructor(
    readonly parent: string,
    readonly parentData: string,
    readonly children: ReadonlyMap<string, string>,
  ) {}

  verify(tree: TreeRead, ck: Check): boolean {
    const r = tree.get(this.parent);
    this.present = r !== undefined;
    if (r === undefined) {
      if (this.zxid !== null) ck.v.add(`${ck.label}: LOST multi ${this.parent} (acknowledged at zxid ${this.zxid})`);
      else ck.lostUnacked++;
      return false;
    }
    ck.explained.add(this.parent);
    const where = `${ck.label}: multi ${this.parent}`;
    const want = [...this.children.keys()].sort();
    if (JSON.stringify(r.children) !== JSON.stringify(want))
      ck.v.add(`${where} HALF-APPLIED: children ${r.children.join(',')} != ${want.join(',')}`);
    if (r.data !== this.parentData) ck.v.add(`${where} holds "${r.data}", sent "${this.parentData}"`);
    const czxid = r.stat.czxid;
    if (this.zxid !== null && czxid !== this.zxid) ck.v.add(`${where}: czxid ${czxid}, acknowledged at ${this.zxid}`);
    for (const [name, data] of this.children) {
      const path = `${this.parent}/${name}`;
      const child = tree.get(path);
      if (child === undefined) continue; // reported above as a children mismatch
      ck.explained.add(path);
      if (child.data !== data) ck.v.add(`${where}: child ${name} holds "${child.data}", sent "${data}"`);
      if (child.stat.czxid !== czxid) ck.v.add(`${where}: child ${name} czxid ${child.stat.czxid} != parent's ${czxid}`);
    }
    this.zxid = czxid;
    return true;
  }

  outcome(): Outcome {
    return this.present === null ? 'unknown' : this.present ? 'applied' : 'missing';
  }
}

/** A sequential create, known by the token it holds as data. */
export class SeqModel {
  /** Name (with suffix) once acknowledged or found. */
  name: string | null = null;
  zxid: number | null = null;
  present: boolean | null = null;
  constructor(readonly token: string) {}
  outcome(): Outcome {
    return this.present === null ? 'unknown' : this.present ? 'applied' : 'missing';
  }
}

function suffixOf(name: string): number {
  return Number(name.slice(-10));
}

/** Everything the workload created and the server must (or may) still hold. */
export class CrashModel {
  readonly nodes = new Map<string, NodeModel>();
  readonly containers = new Map<string, ContainerModel>();
  readonly multis: MultiModel[] = [];
  readonly seqs: SeqModel[] = [];
  readonly probes = new Set<string>();
  /** Why a path left the model: named when it shows up again. */
  readonly gone = new Map<string, string>();
  /** Suffixes of sequential nodes known durable. */
  readonly knownSuffixes = new Set<number>();
  maxKnownSuffix = -1;
  /** Highest zxid acknowledged or seen so far. */
  maxZxid = 0;
  /** Nodes found gone after a restart or by the final wait, by cause. */
  readonly removed = new Map<string, number>();

  addNode(n: NodeModel): NodeModel {
    assert.ok(!this.nodes.has(n.path) && !this.gone.has(n.path), `${n.path} used twice`);
    this.nodes.set(n.path, n);
    return n;
  }
  addContainer(c: ContainerModel): ContainerModel {
    this.containers.set(c.path, c);
    return c;
  }
  sawZxid(zxid: number): void {
    this.maxZxid = Math.max(this.maxZxid, zxid);
  }
  /** Nodes whose ACL the verification reads. */
  tracksAcl(path: string): boolean {
    return this.nodes.has(path);
  }
  count(kind: NodeKind): number {
    let n = 0;
    for (const node of this.nodes.values()) if (node.kind === kind && node.container === null) n++;
    return n;
  }

  /** Sequential suffixes acknowledged in a cycle grow with the zxid, above all known ones. */
  checkSequentialAcks(acks: ReadonlyArray<{ zxid: number; suffix: number }>, label: string, v: Violations): void {
    let prev = this.maxKnownSuffix;
    for (const a of [...acks].sort((x, y) => x.zxid - y.zxid)) {
      if (this.knownSuffixes.has(a.suffix)) v.add(`${label}: sequence suffix ${a.suffix} reused`);
      if (a.suffix <= prev) v.add(`${label}: sequential suffix ${a.suffix} (zxid ${a.zxid}) not above ${prev}`);
      prev = Math.max(prev, a.suffix);
    }
  }

  /** Checks a full read of /crash against the model, and updates what is known durable. */
  verify(tree: TreeRead, label: string, at: number, v: Violations): Check {
    const ck: Check = { label, at, v, explained: new Set(), lostUnacked: 0, tree };
    for (const p of STRUCTURE) {
      if (tree.has(p)) ck.explained.add(p);
      else v.add(`${label}: ${p} is missing`);
    }
    for (const n of [...this.nodes.values()]) {
      if (n.verify(tree.get(n.path), ck)) continue;
      this.nodes.delete(n.path);
      const siblings = n.container?.children ?? [];
      if (siblings.includes(n)) siblings.splice(siblings.indexOf(n), 1);
      this.noteGone(n.path, n.removalCause(), label);
    }
    for (const c of [...this.containers.values()]) {
      if (c.verify(tree.get(c.path), ck)) continue;
      this.containers.delete(c.path);
      this.noteGone(c.path, c.createKnown ? 'reaped (container)' : 'never applied', label);
    }
    for (let j = this.multis.length - 1; j >= 0; j--) {
      const m = this.multis[j];
      if (m === undefined || m.verify(tree, ck)) continue;
      this.multis.splice(j, 1);
      this.noteGone(m.parent, 'never applied', label);
    }
    this.verifySequential(tree, ck);
    for (const p of this.probes) {
      if (tree.has(p)) ck.explained.add(p);
      else v.add(`${label}: LOST probe ${p}`);
    }
    for (const [path, r] of tree) {
      this.sawZxid(Math.max(r.stat.czxid, r.stat.mzxid, r.stat.pzxid));
      if (ck.explained.has(path)) continue;
      const why = this.gone.get(path);
      v.add(`${label}: UNEXPECTED node ${path} ("${r.data}")${why === undefined ? ', never sent' : `: RESURRECTED, ${why}`}`);
    }
    return ck;
  }

  noteGone(path: string, cause: string, label: string): void {
    this.gone.set(path, `${cause}, found gone after ${label}`);
    this.removed.set(cause, (this.removed.get(cause) ?? 0) + 1);
  }

  private verifySequential(tree: TreeRead, ck: Check): void {
    const byToken = new Map(this.seqs.map((s) => [s.token, s]));
    const found = new Set<SeqModel>();
    for (const name of tree.get(PARENTS.sequential)?.children ?? []) {
      const path = `${PARENTS.sequential}/${name}`;
      const r = tree.get(path);
      const s = r === undefined ? undefined : byToken.get(r.data);
      if (r === undefined || s === undefined) continue; // unexplained: reported by the caller
      ck.explained.add(path);
      if (found.has(s)) ck.v.add(`${ck.label}: sequential create ${s.token} applied twice (${path})`);
      found.add(s);
      if (s.name !== null && s.name !== name)
        ck.v.add(`${ck.label}: sequential create ${s.token} acknowledged as ${s.name}, found as ${name}`);
      if (s.zxid !== null && r.stat.czxid !== s.zxid) ck.v.add(`${ck.label}: ${path} czxid ${r.stat.czxid}, acknowledged at ${s.zxid}`);
      s.name = name;
      s.zxid = r.stat.czxid;
      const suffix = suffixOf(name);
      this.knownSuffixes.add(suffix);
      this.maxKnownSuffix = Math.max(this.maxKnownSuffix, suffix);
    }
    for (let j = this.seqs.length - 1; j >= 0; j--) {
      const s = this.seqs[j];
      if (s === undefined) continue;
      s.present = found.has(s);
      if (s.present) continue;
      if (s.name !== null) ck.v.add(`${ck.label}: LOST sequential node ${s.name} (${s.token}), acknowledged at zxid ${s.zxid}`);
      else ck.lostUnacked++;
      this.seqs.splice(j, 1);
    }
  }

  /**
   * What the server should have removed by itself by `at` and has not: ephemerals of ended
   * sessions, TTL nodes past their TTL (plus `slackMs`), empty used containers (seen so since
   * `since`). Empty when all is done; `pending` counts what may still legitimately be there.
   */
  overdueRemovals(at: number, since: number, slackMs: number): { overdue: string[]; pending: number } {
    const overdue: string[] = [];
    let pending = 0;
    for (const n of this.nodes.values()) {
      if (n.kind === 'ttl') {
        pending++;
        if (at > n.mtime + n.ttlMs + slackMs) overdue.push(`TTL node ${n.path} (mtime ${n.mtime}, ttl ${n.ttlMs} ms)`);
      } else if (n.owner !== null && n.owner.state !== 'alive') {
        pending++;
        if (at > since + n.owner.timeoutMs + slackMs) overdue.push(`ephemeral ${n.path} of ${n.owner.name} (${n.owner.state})`);
      }
    }
    for (const c of this.containers.values()) {
      if (!c.mayBeReaped) continue;
      pending++;
      if (at > since + slackMs) overdue.push(`empty used container ${c.path}`);
    }
    return { overdue, pending };
  }
}

/**
 * ZooKeeper applies a session's writes in order and makes them durable in zxid order: if a
 * later write of a session survived a restart, every earlier one did too. Writes the tree
 * cannot decide (removed again since, or refused) are skipped.
 */
export function checkPrefix(s: SessionModel, label: string, v: Violations): void {
  let firstMissing: Write | null = null;
  for (const w of s.writes) {
    if (w.refused) continue;
    const o = w.outcome();
    if (w.acked && o === 'missing') v.add(`${label}: LOST acknowledged write of ${s.name}: ${w.what}`);
    if (o === 'missing') firstMissing ??= w;
    else if (o === 'applied' && firstMissing !== null) {
      v.add(`${label}: PREFIX broken for session ${s.name}: "${w.what}" survived, the earlier "${firstMissing.what}" did not`);
      return;
    }
  }
}
