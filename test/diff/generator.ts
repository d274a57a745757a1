/**
 * Seeded generator of differential-test operations over SLOTS concurrent sessions.
 *
 * Paths come from a small space under the sequence's root so operations collide often. The
 * generator is adaptive: it also picks paths that earlier creates returned (sequential names),
 * fed back through `observeCreated`. Both servers run their own generator with the same seed;
 * as long as their transcripts agree, they are fed the same observations and so produce the
 * same operations — and the comparison stops at the first disagreement anyway.
 */
import { createHash } from 'node:crypto';
import { JUTE_MAXBUFFER_DEFAULT, SeededRandom, TTL_MS_MAX } from '../../src/base/index.js';
import { type ACL, type Request, JuteWriter, OpCode, writeRequest } from '../../src/codec/index.js';
import { QuotaOps } from './quota-ops.js';

export const SLOTS = 3;

/** TTLs at most this long are reaped within a sequence; the driver waits for them (see `reap`). */
export const SHORT_TTL_MS_MAX = 1000;

/** The system nodes every server has, as targets of reads and (restored) writes. */
export const SYSTEM_PATHS = ['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config'] as const;

/** Opcodes no server knows (0 is the notification type, -1 the error txn type). */
const UNKNOWN_OPCODES = [999, -1, -5, 0, 10, 23, 108, 1000000, 0x7fffffff, -0x80000000, -100] as const;

export interface SessionParams {
  timeoutMs: number;
  readOnly: boolean | undefined;
}

export type DiffOp =
  /** One request on session slot `s`; wait for its reply. */
  | { k: 'req'; s: number; req: Request }
  /** Several requests sent back to back on one session before any reply is read. */
  | { k: 'burst'; s: number; reqs: Request[] }
  /** setWatches / setWatches2 with relativeZxid = the session's last seen zxid, or 0. */
  | {
      k: 'setWatches';
      s: number;
      v2: boolean;
      rel: 'last' | 'zero';
      data: string[];
      exist: string[];
      child: string[];
      persistent: string[];
      recursive: string[];
    }
  /** addAuth; on failure (AUTHFAILED + connection closed) re-attach, and maybe replace the session. */
  | { k: 'auth'; s: number; scheme: string; auth: string; onFail: 'reattach' | 'replace' }
  /** closeSession, then open a new session in the slot. */
  | { k: 'close'; s: number; next: SessionParams }
  /** Drop the TCP connection and re-attach to the same session (first with a wrong password if badPasswd). */
  | { k: 'reconnect'; s: number; badPasswd: boolean; readOnly: boolean | undefined }
  /** A request frame of opcode `op` with `body` as its bytes (unknown opcodes, deleteContainer). */
  | { k: 'raw'; s: number; op: number; body: Buffer }
  /**
   * A write to a system node (/, /zookeeper...), undone at once: the servers are shared by every
   * sequence of the run. setData and setACL read the old value first and put it back; a
   * successful create is deleted again.
   */
  | { k: 'sys'; s: number; req: Request }
  /**
   * Every session pipelines its `reqs` at once, each under its own subtree (made by `prelude`,
   * sent first by session `s`), so what each gets does not depend on how the servers
   * interleave them; zxids are then renamed into one canonical order.
   */
  | { k: 'pipeline'; s: number; prelude: Request; bursts: { s: number; reqs: Request[] }[] }
  /** Stop the session's pings until the server expires it; then re-attach (told Expired) and start a new one. */
  | { k: 'expire'; s: number; next: SessionParams }
  /** A multi creating nodes with short TTLs (all with one ttl and one mtime), then wait for the reaper. */
  | { k: 'reap'; s: number; req: Request; ttlMs: number };

/** Where the long operations of a slow sequence go (see OpGenerator's options). */
interface SlowPlan {
  expireAt: number;
  reapAt: Set<number>;
}

const NAMES = ['a', 'b', 'ab'] as const;
const WORLD = { scheme: 'world', id: 'anyone' };

export function digestId(user: string, password: string): string {
  return `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}`;
}

export interface GeneratorOptions {
  /** Plan one session expiry and a few TTL reaps (each waits seconds for the server). */
  slow: boolean;
  /** How many operations the sequence will ask for (where slow operations may go). */
  ops: number;
}

export class OpGenerator {
  private readonly rng: SeededRandom;
  private readonly known: string[] = [];
  private readonly knownSet = new Set<string>();
  private readonly acls: [number, ACL[]][];
  private readonly quota: QuotaOps;
  private readonly plan: SlowPlan | undefined;
  /** Operations generated so far. */
  private count = 0;
  private pipelines = 0;
  private reaps = 0;
  /** While set, paths are made under this subtree only (a pipeline's per-session part). */
  private scope: string | undefined;

  constructor(
    seed: number,
    readonly root: string,
    options: GeneratorOptions = { slow: false, ops: 0 },
  ) {
    this.rng = new SeededRandom(seed);
    this.quota = new QuotaOps(seed, root, SLOTS);
    this.acls = [
      [55, [{ perms: 31, id: WORLD }]],
      [6, [{ perms: 1, id: WORLD }]],
      [4, [{ perms: 13, id: WORLD }]],
      [6, [{ perms: 31, id: { scheme: 'auth', id: '' } }]],
      [
        6,
        [
          { perms: 31, id: { scheme: 'digest', id: digestId('u1', 'p1') } },
          { perms: 1, id: WORLD },
        ],
      ],
      [3, [{ perms: 31, id: { scheme: 'digest', id: digestId('u2', 'p2') } }]],
      [5, [{ perms: 31, id: { scheme: 'ip', id: '127.0.0.1' } }]],
      [2, [{ perms: 31, id: { scheme: 'ip', id: '10.0.0.0/8' } }]],
      [
        2,
        [
          { perms: 31, id: WORLD },
          { perms: 31, id: WORLD },
        ],
      ],
      [2, []],
      [1, [{ perms: 31, id: { scheme: 'world', id: 'someone' } }]],
      [1, [{ perms: 31, id: { scheme: 'digest', id: 'nocolon' } }]],
      [1, [{ perms: 31, id: { scheme: 'bogus', id: 'x' } }]],
      [1, [{ perms: 31, id: { scheme: 'ip', id: '999.1.1.1' } }]],
    ];
    if (options.slow && options.ops > 0) {
      const reapAt = new Set<number>();
      for (let i = 0; i < 3; i++) reapAt.add(this.rng.int(options.ops));
      this.plan = { expireAt: this.rng.int(options.ops), reapAt };
    }
  }

  /** Paths that successful creates returned (fed back by the executor). */
  observeCreated(paths: readonly string[]): void {
    for (const p of paths) {
      if (this.knownSet.has(p) || this.quota.owns(p)) continue;
      this.knownSet.add(p);
      this.known.push(p);
    }
  }

  sessionParams(): SessionParams {
    return {
      timeoutMs: this.weighted<number>([
        [6, 30000],
        [1, 1000],
        [1, 100000],
      ]),
      readOnly: this.weighted<boolean | undefined>([
        [5, false],
        [1, true],
        [2, undefined],
      ]),
    };
  }

  next(): DiffOp {
    const planned = this.plannedSlowOp(this.count++);
    if (planned !== undefined) return planned;
    const quotaOp = this.quota.next();
    if (quotaOp !== null) return quotaOp;
    const s = this.rng.int(SLOTS);
    const kind = this.weighted<string>([
      [22, 'create'],
      [8, 'delete'],
      [6, 'exists'],
      [6, 'getData'],
      [4, 'getChildren'],
      [4, 'getChildren2'],
      [7, 'setData'],
      [3, 'getACL'],
      [3, 'setACL'],
      [1.5, 'sync'],
      [6, 'multi'],
      [3, 'multiRead'],
      [1.5, 'getAllChildrenNumber'],
      [2, 'getEphemerals'],
      [3, 'addWatch'],
      [2, 'removeWatches'],
      [1.5, 'checkWatches'],
      [2.5, 'auth'],
      [1.5, 'whoAmI'],
      [1.5, 'setWatches'],
      [1, 'close'],
      [1, 'reconnect'],
      [1.5, 'check'],
      [1, 'raw'],
      [1.5, 'sys'],
      [0.6, 'big'],
      [1, 'pipeline'],
      [0.3, 'reconfig'],
      [3, 'burst'],
      [0.5, 'ping'],
    ]);
    switch (kind) {
      case 'auth': {
        const [scheme, auth] = this.weighted<[string, string]>([
          [40, ['digest', 'u1:p1']],
          [20, ['digest', 'u2:p2']],
          [8, ['digest', 'u1:wrong']],
          [6, ['digest', '']],
          [8, ['ip', '127.0.0.1']],
          [12, ['bogus', 'x']],
          [6, ['world', 'anyone']],
        ]);
        return { k: 'auth', s, scheme, auth, onFail: this.rng.chance(0.5) ? 'reattach' : 'replace' };
      }
      case 'setWatches': {
        const v2 = this.rng.chance(0.5);
        const rel = this.rng.chance(0.7) ? 'last' : 'zero';
        const data = this.pathList();
        const exist = this.pathList();
        const child = this.pathList();
        const persistent = v2 ? this.pathList() : [];
        const recursive = v2 ? this.pathList() : [];
        return { k: 'setWatches', s, v2, rel, data, exist, child, persistent, recursive };
      }
      case 'close':
        return { k: 'close', s, next: this.sessionParams() };
      case 'reconnect':
        return { k: 'reconnect', s, badPasswd: this.rng.chance(0.2), readOnly: this.sessionParams().readOnly };
      case 'raw':
        return this.raw(s);
      case 'sys':
        return { k: 'sys', s, req: this.systemWrite() };
      case 'big':
        return { k: 'req', s, req: this.big() };
      case 'pipeline':
        return this.pipeline(s);
      case 'burst': {
        // Now and then a long pipeline on one session. With no deletes in it: an emptied
        // container would be reaped at a moment that lands among the burst's own txns.
        const long = this.rng.chance(0.1);
        const n = long ? 10 + this.rng.int(40) : 2 + this.rng.int(4);
        const reqs: Request[] = [];
        for (let i = 0; i < n; i++) {
          reqs.push(
            this.request(
              this.weighted<string>([
                [5, 'create'],
                [long ? 0 : 3, 'delete'],
                [3, 'exists'],
                [3, 'getData'],
                [2, 'getChildren2'],
                [3, 'setData'],
                [1, 'sync'],
                [long ? 0 : 2, 'multi'],
              ]),
            ),
          );
        }
        return { k: 'burst', s, reqs };
      }
      default:
        return { k: 'req', s, req: this.request(kind) };
    }
  }

  private request(kind: string): Request {
    switch (kind) {
      case 'create':
        return this.create();
      case 'delete':
        return { op: OpCode.delete, path: this.path(), version: this.version() };
      case 'exists':
      case 'getData':
      case 'getChildren':
      case 'getChildren2':
        return { op: OpCode[kind], path: this.readPath(), watch: this.rng.chance(0.5) };
      case 'setData':
        return { op: OpCode.setData, path: this.path(), data: this.data(), version: this.version() };
      case 'getACL':
        return { op: OpCode.getACL, path: this.readPath() };
      case 'setACL':
        return { op: OpCode.setACL, path: this.path(), acl: this.acl(), version: this.version() };
      case 'sync':
        return { op: OpCode.sync, path: this.readPath() };
      case 'getAllChildrenNumber':
        return { op: OpCode.getAllChildrenNumber, path: this.readPath() };
      case 'check':
        // Outside a multi, only with versions no node has: ZooKeeper 3.8.0 never answers a check
        // that passes there (its reply fails to serialize); 3.8.6+ reject it as unimplemented.
        return { op: OpCode.check, path: this.readPath(), version: this.rng.pick([1000, -2, 0x7fffffff, -100]) };
      case 'reconfig':
        return {
          op: OpCode.reconfig,
          joiningServers: this.rng.pick(['', 'server.5=127.0.0.1:2888:3888;2181']),
          leavingServers: this.rng.pick(['', '1']),
          newMembers: '',
          curConfigId: -1,
        };
      case 'getEphemerals': {
        const r = this.root;
        const prefixPath = this.weighted<string>([
          [2, '/'],
          [1, ''],
          [3, r],
          [2, `${r}/a`],
          [1, `${r}/a/`],
          [1, `${r}/ab`],
          [3, this.path()],
        ]);
        return { op: OpCode.getEphemerals, prefixPath };
      }
      case 'multi': {
        const n = this.weighted<number>([
          [3, 0],
          [25, 1],
          [30, 2],
          [25, 3],
          [17, 4],
        ]);
        const ops: Request[] = [];
        for (let i = 0; i < n; i++) {
          // Now and then a read among the writes, which a multi may not hold.
          if (this.rng.chance(0.04)) {
            ops.push(this.readOp());
            continue;
          }
          const sub = this.weighted<string>([
            [35, 'create'],
            [25, 'delete'],
            [20, 'setData'],
            [20, 'check'],
          ]);
          ops.push(sub === 'check' ? { op: OpCode.check, path: this.path(), version: this.version() } : this.request(sub));
        }
        return { op: OpCode.multi, ops: ttlFlagsFirst(ops) };
      }
      case 'multiRead': {
        const n = (this.rng.chance(0.05) ? 0 : 1) + this.rng.int(4);
        // Now and then writes in a multiRead: all of them (a write multi sent as a read) or mixed.
        const writes = this.weighted<number>([
          [90, 0],
          [5, 1],
          [5, 0.5],
        ]);
        const ops: Request[] = [];
        for (let i = 0; i < n; i++) {
          ops.push(this.rng.chance(writes) ? this.request(this.rng.pick(['create', 'delete', 'setData', 'check'])) : this.readOp());
        }
        return { op: OpCode.multiRead, ops };
      }
      case 'addWatch':
        return {
          op: OpCode.addWatch,
          path: this.path(),
          mode: this.weighted<number>([
            [45, 0],
            [45, 1],
            [10, 2],
          ]),
        };
      case 'removeWatches':
      case 'checkWatches':
        return {
          op: OpCode[kind],
          path: this.path(),
          type: this.weighted<number>([
            [30, 1],
            [30, 2],
            [25, 3],
            [5, 4],
            [5, 5],
            [5, 9],
          ]),
        };
      case 'whoAmI':
        return { op: OpCode.whoAmI };
      case 'ping':
        return { op: OpCode.ping };
      default:
        throw new Error(`unknown op kind ${kind}`);
    }
  }

  /** A getData or getChildren, as a multiRead holds them. */
  private readOp(): Request {
    return { op: this.rng.chance(0.5) ? OpCode.getData : OpCode.getChildren, path: this.readPath(), watch: this.rng.chance(0.15) };
  }

  /** A create of any kind; at `at` if given. Inside a pipeline's subtree, no containers. */
  private create(at?: string): Request {
    let op = this.weighted<typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL>([
      [35, OpCode.create],
      [35, OpCode.create2],
      [12, OpCode.createContainer],
      [18, OpCode.createTTL],
    ]);
    // A container emptied while other sessions' writes race would be reaped at a moment that
    // shifts their zxids.
    if (this.scope !== undefined && op === OpCode.createContainer) op = OpCode.create2;
    const path = at ?? this.path(true, true);
    const data = this.data();
    const acl = this.acl();
    if (op === OpCode.createTTL) {
      const flags = this.weighted<number>([
        [50, 5],
        [35, 6],
        [5, 0],
        [5, 1],
        [5, 2],
      ]);
      const ttl = this.weighted<number>([
        [80, 3600000],
        [5, TTL_MS_MAX],
        [5, 0],
        [5, -1],
        [5, TTL_MS_MAX + 1],
      ]);
      // createTTL with a non-TTL mode and a negative ttl passes ZooKeeper 3.8.0's checks and
      // then kills its SyncThread (the server exits): ask for ttl 0 instead (BADARGUMENTS).
      return { op, path, data, acl, flags, ttl: ttl < 0 && flags !== 5 && flags !== 6 ? 0 : ttl };
    }
    const flags =
      op === OpCode.createContainer
        ? this.weighted<number>([
            [85, 4],
            [5, 0],
            [4, 1],
            [3, 2],
            [3, 5],
          ])
        : this.weighted<number>([
            [30, 0],
            [20, 1],
            [15, 2],
            [15, 3],
            [4, 4],
            [3, 5],
            [3, 6],
            [2, 7],
            [1, -1],
          ]);
    return { op, path, data, acl, flags: this.scope !== undefined && flags === 4 ? 0 : flags };
  }

  /** The slow operation planned for the `i`th operation of a slow sequence, if any. */
  private plannedSlowOp(i: number): DiffOp | undefined {
    if (this.plan === undefined) return undefined;
    if (i === this.plan.expireAt) return { k: 'expire', s: this.rng.int(SLOTS), next: this.sessionParams() };
    if (this.plan.reapAt.has(i)) return this.reap(this.rng.int(SLOTS));
    return undefined;
  }

  /**
   * One multi making nodes with a short TTL under one parent: leaves, TTL nodes with TTL
   * children, containers or persistent nodes holding a TTL node, and TTL nodes kept by a
   * persistent or ephemeral child (those stay until the child goes). One ttl and one txn for all, so each reaper pass
   * finds the same candidates on both servers.
   */
  private reap(s: number): DiffOp {
    const ttl = this.rng.pick([1, 60, 300]);
    let parent = this.known.length === 0 || this.rng.chance(0.3) ? this.root : this.rng.pick(this.known);
    if (parent.slice(this.root.length).split('/').length > 3) parent = this.root;
    const ops: Request[] = [];
    const ttlNode = (path: string, flags = 5): Request => ({
      op: OpCode.createTTL,
      path,
      data: this.data(),
      acl: [{ perms: 31, id: WORLD }],
      flags,
      ttl,
    });
    const plain = (path: string, flags: number): Request => ({
      op: OpCode.create2,
      path,
      data: null,
      acl: [{ perms: 31, id: WORLD }],
      flags,
    });
    const groups = 1 + this.rng.int(3);
    for (let g = 0; g < groups; g++) {
      const name = `${parent}/r${this.reaps}${'xyz'[g] ?? g}`;
      switch (this.rng.pick(['leaf', 'chain', 'container', 'kept', 'ephemeral', 'under', 'under'])) {
        case 'leaf':
          ops.push(ttlNode(name, this.rng.pick([5, 6])));
          break;
        case 'chain':
          ops.push(ttlNode(name), ttlNode(`${name}/t`, this.rng.pick([5, 6])));
          break;
        case 'container':
          ops.push(plain(name, 4), ttlNode(`${name}/t`));
          break;
        case 'kept':
          ops.push(ttlNode(name), plain(`${name}/k`, 0));
          break;
        case 'under':
          // a lasting parent: its pzxid tells which of one pass's deletions came last
          ops.push(plain(name, 0), ttlNode(`${name}/t`, this.rng.pick([5, 6])));
          break;
        default:
          ops.push(ttlNode(name), plain(`${name}/e`, 1));
      }
      if (this.rng.chance(0.3)) ops.push({ op: OpCode.setData, path: name, data: this.data(), version: -1 });
    }
    this.reaps++;
    return { k: 'reap', s, req: { op: OpCode.multi, ops }, ttlMs: ttl };
  }

  /** Unknown opcodes, and deleteContainer (internal to the server) as a client might send it. */
  private raw(s: number): DiffOp {
    const jute = (path: string, version?: number): Buffer => {
      const w = new JuteWriter(64).writeString(path);
      if (version !== undefined) w.writeInt(version);
      return w.toBuffer();
    };
    if (this.rng.chance(0.4)) {
      const path = this.path();
      const body = this.weighted<Buffer>([
        [3, jute(path)],
        // as the server's own container reaper hands it over: the path's bytes alone
        [2, Buffer.from(path, 'utf8')],
        [1, jute(path, -1)],
        [1, Buffer.alloc(0)],
      ]);
      return { k: 'raw', s, op: OpCode.deleteContainer, body };
    }
    const op = this.rng.pick(UNKNOWN_OPCODES);
    return { k: 'raw', s, op, body: this.rng.chance(0.5) ? Buffer.alloc(0) : jute(this.path()) };
  }

  /** A write to a system node; the driver undoes it (see DiffOp 'sys'). */
  private systemWrite(): Request {
    const target = this.rng.pick(SYSTEM_PATHS);
    switch (this.rng.pick(['setData', 'create', 'create', 'setACL', 'delete'])) {
      case 'setData':
        return { op: OpCode.setData, path: target, data: this.data(), version: this.version() };
      case 'create':
        // Under "/" a sibling of the sequence root, so no two sequences share a name.
        return this.create(target === '/' ? `${this.root}.x` : `${target}/diff-x`);
      case 'setACL':
        // Every ACL keeps ADMIN for everyone, so the old one can always be put back.
        return {
          op: OpCode.setACL,
          path: target,
          version: this.version(),
          acl: this.rng.pick<ACL[]>([
            [{ perms: 31, id: WORLD }],
            [{ perms: 17, id: WORLD }],
            [
              { perms: 16, id: WORLD },
              { perms: 31, id: { scheme: 'digest', id: digestId('u1', 'p1') } },
            ],
            [
              { perms: 31, id: { scheme: 'auth', id: '' } },
              { perms: 16, id: WORLD },
            ],
            [
              { perms: 31, id: WORLD },
              { perms: 31, id: WORLD },
            ],
            [{ perms: 31, id: { scheme: 'world', id: 'someone' } }],
            [],
          ]),
        };
      default:
        return { op: OpCode.delete, path: target, version: this.version() };
    }
  }

  /**
   * A setData or create whose frame is sized against jute.maxbuffer: small to a few hundred
   * KiB, exactly at the limit or just under it (accepted), or just over it (the server closes
   * the connection).
   */
  private big(): Request {
    const limit = JUTE_MAXBUFFER_DEFAULT;
    const frame = this.weighted<number>([
      [30, 64 + this.rng.int(16384)],
      [20, 16384 + this.rng.int(262144)],
      [12, limit],
      [8, limit - 1 - this.rng.int(64)],
      [10, limit + 1],
      [5, limit + 2 + this.rng.int(4096)],
      [3, 2 * limit],
    ]);
    const req: Request = this.rng.chance(0.5)
      ? { op: OpCode.setData, path: this.path(), data: Buffer.alloc(0), version: this.version() }
      : this.create();
    if (!('data' in req)) return req;
    const w = new JuteWriter(256);
    w.writeInt(1).writeInt(req.op);
    writeRequest(w, { ...req, data: Buffer.alloc(0) });
    return { ...req, data: this.bytes(Math.max(0, frame - w.length)) };
  }

  /**
   * A pipeline of every session at once: each session's requests stay in its own subtree of
   * `~/p<n>` (made first), with no containers, so the outcome is the same however the
   * servers interleave the sessions.
   */
  private pipeline(s: number): DiffOp {
    const base = `${this.root}/p${this.pipelines++}`;
    const world = [{ perms: 31, id: WORLD }];
    const subs: string[] = [];
    for (let k = 0; k < SLOTS; k++) subs.push(`${base}/s${k}`);
    const prelude: Request = {
      op: OpCode.multi,
      ops: [base, ...subs].map((path) => ({ op: OpCode.create, path, data: null, acl: world, flags: 0 })),
    };
    const bursts = subs.map((sub, k) => {
      this.scope = sub;
      const reqs: Request[] = [];
      const n = 2 + this.rng.int(10);
      for (let i = 0; i < n; i++) {
        reqs.push(
          this.request(
            this.weighted<string>([
              [5, 'create'],
              [2, 'delete'],
              [3, 'setData'],
              [2, 'exists'],
              [2, 'getData'],
              [1, 'getChildren2'],
              [2, 'multi'],
              [1, 'setACL'],
              [0.5, 'check'],
            ]),
          ),
        );
      }
      this.scope = undefined;
      return { s: k, reqs };
    });
    return { k: 'pipeline', s, prelude, bursts };
  }

  /**
   * A path: sometimes malformed, often one an earlier create returned, else from the small
   * space. For creates, mostly a name under the root or under a path created earlier.
   */
  path(allowBad = true, forCreate = false): string {
    const r = this.scope ?? this.root;
    if (allowBad && this.rng.chance(0.05)) {
      // Not '': ZooKeeper resolves '' to '/', whose children differ between the two servers.
      return this.rng.pick([`${r}/a/`, `${r}//a`, `${r}/a//b`, `${r}/./a`, `${r}/a/..`, 'a', 'a/b', `${r}/a\u0000b`, `${r}/`]);
    }
    // A pipeline's subtree is new: no earlier create made anything there.
    const known = this.scope === undefined ? this.known : [];
    if (forCreate && this.rng.chance(0.6)) {
      let parent = known.length === 0 || this.rng.chance(0.3) ? r : this.rng.pick(known);
      if (parent.slice(r.length).split('/').length > 3) parent = r;
      return `${parent}/${this.rng.pick(NAMES)}`;
    }
    if (known.length > 0 && this.rng.chance(0.5)) return this.rng.pick(known);
    const depth = this.rng.pick([1, 1, 1, 2, 2, 3]);
    let p = r;
    for (let i = 0; i < depth; i++) p += `/${this.rng.pick(NAMES)}`;
    return p;
  }

  /** A path for a read: now and then a system node, or a missing one below /zookeeper. */
  private readPath(): string {
    if (this.scope === undefined && this.rng.chance(0.04)) {
      return this.rng.pick([...SYSTEM_PATHS, '/zookeeper/nope', '/zookeeper/quota/nope']);
    }
    return this.path();
  }

  private pathList(): string[] {
    const n = this.weighted<number>([
      [5, 0],
      [3, 1],
      [2, 2],
    ]);
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.path(this.rng.chance(0.1)));
    return out;
  }

  private version(): number {
    return this.weighted<number>([
      [40, -1],
      [30, 0],
      [15, 1],
      [8, 2],
      [7, 7],
    ]);
  }

  private data(): Buffer | null {
    const r = this.rng.next();
    // Null: what Java clients send for create(path, null, ...).
    if (r < 0.08) return null;
    if (r < 0.18) return Buffer.alloc(0);
    if (r < 0.75) {
      const n = 1 + this.rng.int(12);
      let s = '';
      for (let i = 0; i < n; i++) s += String.fromCharCode(97 + this.rng.int(26));
      return Buffer.from(s, 'latin1');
    }
    if (r < 0.9) {
      const b = Buffer.alloc(1 + this.rng.int(40));
      for (let i = 0; i < b.length; i++) b[i] = this.rng.int(256);
      return b;
    }
    if (r < 0.95) {
      // every byte value once, from a random start
      const from = this.rng.int(256);
      const b = Buffer.alloc(256);
      for (let i = 0; i < 256; i++) b[i] = (from + i) & 255;
      return b;
    }
    return this.bytes(100 + this.rng.int(4000));
  }

  /** `n` bytes of every value, from a generator seeded by one draw (big values cost one draw). */
  private bytes(n: number): Buffer {
    let x = this.rng.int(0x7fffffff) | 1;
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[i] = x & 255;
    }
    return b;
  }

  private acl(): ACL[] {
    if (this.rng.chance(0.04)) return [{ perms: this.rng.int(32), id: WORLD }];
    return this.weighted(this.acls);
  }

  private weighted<T>(items: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of items) total += w;
    let x = this.rng.next() * total;
    for (const [w, v] of items) {
      x -= w;
      if (x < 0) return v;
    }
    const last = items[items.length - 1];
    if (last === undefined) throw new RangeError('weighted choice from an empty list');
    return last[1];
  }
}

/**
 * Puts first a multi's create that has TTL flags but is no createTTL. ZooKeeper 3.8.0 fails on
 * it with a ClassCastException (MARSHALLINGERROR for the whole multi) without undoing the
 * pending changes of the ops before it, so a request pipelined behind the multi sees the
 * nodes it would have created until its error txn applies: a timing-dependent phantom, and a
 * ZooKeeper bug not matched.
 */
function ttlFlagsFirst(ops: Request[]): Request[] {
  const k = ops.findIndex((r) => r.op !== OpCode.createTTL && 'flags' in r && (r.flags === 5 || r.flags === 6));
  if (k <= 0) return ops;
  return [ops[k] as Request, ...ops.slice(0, k), ...ops.slice(k + 1)];
}
