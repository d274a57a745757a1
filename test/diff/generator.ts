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
import { SeededRandom, TTL_MS_MAX } from '../../src/base/index.js';
import { type ACL, type Request, OpCode } from '../../src/codec/index.js';
import { QuotaOps } from './quota-ops.js';

export const SLOTS = 3;

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
  | { k: 'reconnect'; s: number; badPasswd: boolean; readOnly: boolean | undefined };

const NAMES = ['a', 'b', 'ab'] as const;
const WORLD = { scheme: 'world', id: 'anyone' };

export function digestId(user: string, password: string): string {
  return `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}`;
}

export class OpGenerator {
  private readonly rng: SeededRandom;
  private readonly known: string[] = [];
  private readonly knownSet = new Set<string>();
  private readonly acls: [number, ACL[]][];
  private readonly quota: QuotaOps;

  constructor(
    seed: number,
    readonly root: string,
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
      case 'burst': {
        const n = 2 + this.rng.int(4);
        const reqs: Request[] = [];
        for (let i = 0; i < n; i++) {
          reqs.push(
            this.request(
              this.weighted<string>([
                [5, 'create'],
                [3, 'delete'],
                [3, 'exists'],
                [3, 'getData'],
                [2, 'getChildren2'],
                [3, 'setData'],
                [1, 'sync'],
                [2, 'multi'],
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
        return { op: OpCode[kind], path: this.path(), watch: this.rng.chance(0.5) };
      case 'setData':
        return { op: OpCode.setData, path: this.path(), data: this.data(), version: this.version() };
      case 'getACL':
        return { op: OpCode.getACL, path: this.path() };
      case 'setACL':
        return { op: OpCode.setACL, path: this.path(), acl: this.acl(), version: this.version() };
      case 'sync':
        return { op: OpCode.sync, path: this.path() };
      case 'getAllChildrenNumber':
        return { op: OpCode.getAllChildrenNumber, path: this.path() };
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
          const sub = this.weighted<string>([
            [35, 'create'],
            [25, 'delete'],
            [20, 'setData'],
            [20, 'check'],
          ]);
          ops.push(sub === 'check' ? { op: OpCode.check, path: this.path(), version: this.version() } : this.request(sub));
        }
        return { op: OpCode.multi, ops };
      }
      case 'multiRead': {
        const n = 1 + this.rng.int(4);
        const ops: Request[] = [];
        for (let i = 0; i < n; i++) {
          ops.push({
            op: this.rng.chance(0.5) ? OpCode.getData : OpCode.getChildren,
            path: this.path(),
            watch: this.rng.chance(0.15),
          });
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

  private create(): Request {
    const op = this.weighted<typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL>([
      [35, OpCode.create],
      [35, OpCode.create2],
      [12, OpCode.createContainer],
      [18, OpCode.createTTL],
    ]);
    const path = this.path(true, true);
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
    return { op, path, data, acl, flags };
  }

  /**
   * A path: sometimes malformed, often one an earlier create returned, else from the small
   * space. For creates, mostly a name under the root or under a path created earlier.
   */
  path(allowBad = true, forCreate = false): string {
    const r = this.root;
    if (allowBad && this.rng.chance(0.05)) {
      // Not '': ZooKeeper resolves '' to '/', whose children differ between the two servers.
      return this.rng.pick([`${r}/a/`, `${r}//a`, `${r}/a//b`, `${r}/./a`, `${r}/a/..`, 'a', 'a/b', `${r}/a\u0000b`, `${r}/`]);
    }
    if (forCreate && this.rng.chance(0.6)) {
      let parent = this.known.length === 0 || this.rng.chance(0.3) ? r : this.rng.pick(this.known);
      if (parent.slice(r.length).split('/').length > 3) parent = r;
      return `${parent}/${this.rng.pick(NAMES)}`;
    }
    if (this.known.length > 0 && this.rng.chance(0.5)) return this.rng.pick(this.known);
    const depth = this.rng.pick([1, 1, 1, 2, 2, 3]);
    let p = r;
    for (let i = 0; i < depth; i++) p += `/${this.rng.pick(NAMES)}`;
    return p;
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
    const n = 1 + this.rng.int(12);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(97 + this.rng.int(26));
    return Buffer.from(s, 'latin1');
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
