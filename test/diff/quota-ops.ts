/**
 * Quota operations mixed into the differential sequences, written as zkCli writes them:
 * setquota (the /zookeeper/quota/<path> nodes, the limits, then zeroed stats, pipelined on one
 * session), listquota (reading the limits or the stats), setquota on an existing quota (new
 * limits) and delquota (limits, stats, then the emptied path). Nested quotas are set too,
 * which zkCli refuses but the server takes.
 *
 * Two kinds of quota root:
 *  - the sequence root and paths below it, with soft limits only: the generator's writes there
 *    (creates, deletes, setData, multi, ephemerals, containers, bursts) are what the stats count;
 *  - `<root>/q`, a subtree of our own with hard limits, written only here, one request at a
 *    time. ZooKeeper checks a write against the stats as applied when it prepares the write,
 *    so for pipelined writes (the generator's bursts) the answer depends on its threads'
 *    timing; a burst under a hard limit would make the comparison flaky.
 *
 * They draw from a random stream of their own: for a seed, the generator's other operations
 * are the same with or without them.
 *
 * Never written: stats text ZooKeeper cannot parse (it stops a ZooKeeper 3.8.0 server at the
 * next write under the quota), quota nodes directly under /zookeeper/quota (same), and limits
 * text it cannot parse (a multi refused for it leaves its earlier ops' pending changes behind
 * in ZooKeeper, where ZephyrCoord rolls them back; the unit and integration tests cover it).
 */
import { SeededRandom } from '../../src/base/index.js';
import { OpCode, type ACL, type Request } from '../../src/codec/index.js';
import { formatStatsTrack } from '../../src/tree/index.js';
import type { DiffOp } from './generator.js';

/** Share of operations that are quota operations. */
const QUOTA_OP_CHANCE = 0.1;
const OPEN: ACL[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

export class QuotaOps {
  private readonly rng: SeededRandom;
  /** The subtree with hard limits, written only by these operations. */
  private readonly hardRoot: string;
  /** The paths with a quota now (a set or delete of quota nodes does what it says, always). */
  private readonly quotas = new Set<string>();

  constructor(
    seed: number,
    private readonly root: string,
    private readonly slots: number,
  ) {
    this.rng = new SeededRandom((seed ^ 0x5eed9) >>> 0);
    this.hardRoot = `${root}/q`;
  }

  /** Paths these operations create, which the generator must leave alone. */
  owns(path: string): boolean {
    const inside = (p: string): boolean => path === p || path.startsWith(`${p}/`);
    return !inside(this.root) || inside(this.hardRoot);
  }

  /** A quota operation to run next, or null when the generator's own operation comes next. */
  next(): DiffOp | null {
    if (!this.rng.chance(QUOTA_OP_CHANCE)) return null;
    const s = this.rng.int(this.slots);
    if (this.quotas.size === 0 || this.rng.chance(0.1)) {
      // Again on a path that has one: every create fails with NODEEXISTS.
      const r = this.root;
      const target = this.rng.pick([r, r, `${r}/a`, `${r}/a/b`, `${r}/b`, this.hardRoot, this.hardRoot, this.hardRoot]);
      this.quotas.add(target);
      return { k: 'burst', s, reqs: this.setQuota(target) };
    }
    const hard = this.quotas.has(this.hardRoot) && this.rng.chance(0.6);
    if (hard && this.rng.chance(0.7)) return { k: 'req', s, req: this.hardRootWrite() };
    const target = hard ? this.hardRoot : this.rng.pick([...this.quotas]);
    const quotaPath = `/zookeeper/quota${target}`;
    const r = this.rng.next();
    if (r < 0.6) {
      const node = this.rng.chance(0.85) ? 'zookeeper_stats' : 'zookeeper_limits';
      return { k: 'req', s, req: { op: OpCode.getData, path: `${quotaPath}/${node}`, watch: false } };
    }
    if (r < 0.78) {
      return { k: 'req', s, req: { op: OpCode.setData, path: `${quotaPath}/zookeeper_limits`, data: this.limits(target), version: -1 } };
    }
    if (r < 0.88) {
      // A client may rewrite the stats; ZooKeeper then counts on from what it reads there.
      const data = Buffer.from(this.rng.pick(['count=0,bytes=0', 'count=1,bytes=2=;note=7', 'bytes=+3;count=0010']));
      return { k: 'req', s, req: { op: OpCode.setData, path: `${quotaPath}/zookeeper_stats`, data, version: -1 } };
    }
    this.quotas.delete(target);
    return { k: 'burst', s, reqs: this.delQuota(target) };
  }

  /** setquota: each /zookeeper/quota path node (null data), the limits, then the stats. */
  private setQuota(target: string): Request[] {
    const reqs: Request[] = target === this.hardRoot ? [create(target, null)] : [];
    let p = '/zookeeper/quota';
    for (const part of target.split('/').slice(1)) {
      p += `/${part}`;
      reqs.push(create(p, null));
    }
    reqs.push(create(`${p}/zookeeper_limits`, this.limits(target)));
    reqs.push(create(`${p}/zookeeper_stats`, Buffer.from('count=0,bytes=0')));
    return reqs;
  }

  /** delquota: the limits and the stats, then the quota path nodes upwards (NOTEMPTY where nested). */
  private delQuota(target: string): Request[] {
    const quotaPath = `/zookeeper/quota${target}`;
    const reqs: Request[] = [
      { op: OpCode.delete, path: `${quotaPath}/zookeeper_limits`, version: -1 },
      { op: OpCode.delete, path: `${quotaPath}/zookeeper_stats`, version: -1 },
    ];
    for (let p = quotaPath; p !== '/zookeeper/quota'; p = p.slice(0, p.lastIndexOf('/')))
      reqs.push({ op: OpCode.delete, path: p, version: -1 });
    return reqs;
  }

  /** One write under the hard-limited subtree: a create, setData, delete or a multi of them. */
  private hardRootWrite(): Request {
    const child = (): string => `${this.hardRoot}/n${this.rng.int(4)}`;
    const data = (): Buffer => Buffer.alloc(this.rng.int(13), 0x61);
    const write = (kind: number): Request => {
      if (kind < 0.55) return create(child(), data());
      if (kind < 0.85) return { op: OpCode.setData, path: this.rng.chance(0.4) ? this.hardRoot : child(), data: data(), version: -1 };
      return { op: OpCode.delete, path: child(), version: -1 };
    };
    if (this.rng.chance(0.8)) return write(this.rng.next());
    return { op: OpCode.multi, ops: [write(this.rng.next()), write(this.rng.next()), write(this.rng.next())] };
  }

  /** Limits text as setquota writes it: count and byte limits, each maybe unset; hard ones only on the hard root. */
  private limits(target: string): Buffer {
    const pick = (unset: number, values: readonly number[]): bigint => BigInt(this.rng.chance(unset) ? -1 : this.rng.pick(values));
    const hard = target === this.hardRoot;
    const limits = new Map([
      ['count', pick(0.5, [1, 3, 8, 20])],
      ['bytes', pick(0.5, [0, 10, 40, 200])],
      ['countHardLimit', hard ? pick(0.3, [2, 3, 4, 6]) : -1n],
      ['byteHardLimit', hard ? pick(0.3, [5, 15, 30, 60]) : -1n],
    ]);
    return Buffer.from(formatStatsTrack(limits));
  }
}

function create(path: string, data: Buffer | null): Request {
  return { op: OpCode.create, path, data, acl: OPEN, flags: 0 };
}
