/**
 * The znode record, laid out for trees of millions of nodes. A plain object per znode with a
 * field per Stat value costs ~150 bytes before its data: the zxids and times above 2^31 are
 * boxed numbers of 16 bytes each. Here the numeric fields live in the tree's StatSlab (typed
 * arrays, 52 bytes per node, nothing for the garbage collector to trace) and the object keeps
 * only references; accessors make the slab invisible to the code that reads and writes them.
 */
import type { ACL, StatPersisted } from '../codec/index.js';
import { baseName } from './path.js';

/** Slab layout: five doubles (czxid, mzxid, pzxid, ctime, mtime) and three ints per slot. */
const F64_PER_SLOT = 5;
const I32_PER_SLOT = 3;

/** Numeric Stat fields of the nodes of one tree, one slot per node; freed slots are reused. */
export class StatSlab {
  f64: Float64Array;
  i32: Int32Array;
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;

  constructor(initialSlots = 1024) {
    this.f64 = new Float64Array(initialSlots * F64_PER_SLOT);
    this.i32 = new Int32Array(initialSlots * I32_PER_SLOT);
  }

  alloc(): number {
    const reused = this.freeSlots.pop();
    if (reused !== undefined) return reused;
    const slot = this.nextSlot++;
    if (slot * F64_PER_SLOT >= this.f64.length) {
      // Doubling: the untouched half costs address space, not memory, until it is used.
      const f64 = new Float64Array(this.f64.length * 2);
      f64.set(this.f64);
      this.f64 = f64;
      const i32 = new Int32Array(this.i32.length * 2);
      i32.set(this.i32);
      this.i32 = i32;
    }
    return slot;
  }

  free(slot: number): void {
    this.freeSlots.push(slot);
  }
}

/** The shared child set of every node without children (never mutated). */
export const NO_CHILDREN: ReadonlySet<string> = new Set<string>();

/**
 * A znode as ZooKeeper persists it: StatPersisted + data + ACL + children. The stored cversion
 * counts child creations (the next sequential suffix); clients see 2*cversion - numChildren.
 *
 * The data is a latin1 string (one char per byte: a 100-byte value costs ~120 bytes, a Buffer
 * ~200 plus its bytes). The children are kept as their full paths, the very strings that key
 * the tree's node table, so a child costs no string of its own. Nodes without children share
 * NO_CHILDREN; ACL lists are interned by the tree.
 */
export class ZNode implements StatPersisted {
  childPaths: ReadonlySet<string> = NO_CHILDREN;
  private slot: number;

  constructor(
    private readonly slab: StatSlab,
    /** The data, one latin1 char per byte; null for a node created with null data. */
    public dataLatin1: string | null,
    public acl: readonly ACL[],
    czxid: number,
    mzxid: number,
    ctime: number,
    mtime: number,
    version: number,
    cversion: number,
    aversion: number,
    public ephemeralOwner: bigint,
    pzxid: number,
  ) {
    const slot = slab.alloc();
    this.slot = slot;
    const f = slab.f64;
    const at = slot * F64_PER_SLOT;
    f[at] = czxid;
    f[at + 1] = mzxid;
    f[at + 2] = pzxid;
    f[at + 3] = ctime;
    f[at + 4] = mtime;
    const i = slab.i32;
    const ia = slot * I32_PER_SLOT;
    i[ia] = version;
    i[ia + 1] = cversion;
    i[ia + 2] = aversion;
  }

  /**
   * Gives the slot back; called by the tree when the node leaves it. The object must not be
   * read afterwards: its Stat reads NaN from then on, so a stale use shows rather than hides.
   */
  release(): void {
    if (this.slot < 0) return;
    this.slab.free(this.slot);
    this.slot = -1;
  }

  get czxid(): number {
    return this.slab.f64[this.slot * F64_PER_SLOT] ?? Number.NaN;
  }
  set czxid(v: number) {
    this.slab.f64[this.slot * F64_PER_SLOT] = v;
  }
  get mzxid(): number {
    return this.slab.f64[this.slot * F64_PER_SLOT + 1] ?? Number.NaN;
  }
  set mzxid(v: number) {
    this.slab.f64[this.slot * F64_PER_SLOT + 1] = v;
  }
  get pzxid(): number {
    return this.slab.f64[this.slot * F64_PER_SLOT + 2] ?? Number.NaN;
  }
  set pzxid(v: number) {
    this.slab.f64[this.slot * F64_PER_SLOT + 2] = v;
  }
  get ctime(): number {
    return this.slab.f64[this.slot * F64_PER_SLOT + 3] ?? Number.NaN;
  }
  set ctime(v: number) {
    this.slab.f64[this.slot * F64_PER_SLOT + 3] = v;
  }
  get mtime(): number {
    return this.slab.f64[this.slot * F64_PER_SLOT + 4] ?? Number.NaN;
  }
  set mtime(v: number) {
    this.slab.f64[this.slot * F64_PER_SLOT + 4] = v;
  }
  get version(): number {
    return this.slab.i32[this.slot * I32_PER_SLOT] ?? Number.NaN;
  }
  set version(v: number) {
    this.slab.i32[this.slot * I32_PER_SLOT] = v;
  }
  get cversion(): number {
    return this.slab.i32[this.slot * I32_PER_SLOT + 1] ?? Number.NaN;
  }
  set cversion(v: number) {
    this.slab.i32[this.slot * I32_PER_SLOT + 1] = v;
  }
  get aversion(): number {
    return this.slab.i32[this.slot * I32_PER_SLOT + 2] ?? Number.NaN;
  }
  set aversion(v: number) {
    this.slab.i32[this.slot * I32_PER_SLOT + 2] = v;
  }

  get dataLength(): number {
    return this.dataLatin1 === null ? 0 : this.dataLatin1.length;
  }

  /** The data as bytes (a copy). */
  data(): Buffer | null {
    return this.dataLatin1 === null ? null : Buffer.from(this.dataLatin1, 'latin1');
  }

  get childCount(): number {
    return this.childPaths.size;
  }

  /** The children's names, in the tree's order. */
  childNames(): string[] {
    const names: string[] = [];
    for (const p of this.childPaths) names.push(baseName(p));
    return names;
  }

  /** The node's fields as a plain record (for comparisons and dumps). */
  toStatPersisted(): StatPersisted {
    const { czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner, pzxid } = this;
    return { czxid, mzxid, ctime, mtime, version, cversion, aversion, ephemeralOwner, pzxid };
  }
}

/** Bytes as the latin1 string a ZNode keeps. */
export function latin1Of(data: Buffer | null): string | null {
  return data === null ? null : data.toString('latin1');
}
