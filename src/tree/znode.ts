/**
 * Znode records, laid out for trees of millions of nodes. A plain object per znode costs its
 * header (24 bytes) plus 8 bytes a field, and a field per Stat value more again: the zxids and
 * times above 2^31 are boxed numbers of 16 bytes each. So a tree keeps its nodes in a NodeStore,
 * one slot per node: the numeric Stat fields in typed arrays (52 bytes a node, nothing for the
 * garbage collector to trace) and the four references (data, children, ACL, ephemeral owner)
 * in chunked arrays (32 bytes). The node table maps a path to its slot, a small integer that
 * costs no object. Code outside the tree sees a node through a ZNode, a short-lived view of
 * one slot whose accessors read and write the store.
 */
import { putBigLong, putLong, STAT_BYTES, type ACL, type JuteWriter, type StatPersisted } from '../codec/index.js';
import { baseName } from './path.js';

/** Typed-array layout: five doubles (czxid, mzxid, pzxid, ctime, mtime) and three ints per slot. */
const F64_PER_SLOT = 5;
const I32_PER_SLOT = 3;

/** Reference layout: four per slot, in chunks of 4096 slots. */
const REFS_PER_SLOT = 4;
const DATA = 0;
const CHILDREN = 1;
const ACL_LIST = 2;
const OWNER = 3;
const CHUNK_SHIFT = 12;
const CHUNK_MASK = (1 << CHUNK_SHIFT) - 1;

/** The shared child set of every node without children (never mutated). */
export const NO_CHILDREN: ReadonlySet<string> = new Set<string>();

type Ref = string | null | ReadonlySet<string> | readonly ACL[] | bigint;

/**
 * The records of one tree's nodes; freed slots are reused. Reference arrays grow a chunk at a
 * time: a single array would grow by half again when full, and an array's unused tail is
 * initialised (resident) memory, unlike a typed array's.
 */
export class NodeStore {
  f64: Float64Array;
  i32: Int32Array;
  private readonly chunks: Ref[][] = [];
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
    if ((slot & CHUNK_MASK) === 0) this.chunks.push(new Array<Ref>(REFS_PER_SLOT << CHUNK_SHIFT).fill(null));
    return slot;
  }

  /**
   * Gives a slot back. Its references are dropped (the garbage collector may take them) and its
   * numbers become NaN, so a view kept past its node's deletion shows rather than hides.
   */
  free(slot: number): void {
    for (let k = 0; k < REFS_PER_SLOT; k++) this.setRef(slot, k, null);
    this.f64.fill(Number.NaN, slot * F64_PER_SLOT, (slot + 1) * F64_PER_SLOT);
    this.i32.fill(0, slot * I32_PER_SLOT, (slot + 1) * I32_PER_SLOT);
    this.freeSlots.push(slot);
  }

  ref(slot: number, k: number): Ref {
    return this.chunk(slot)[((slot & CHUNK_MASK) << 2) + k] ?? null;
  }

  setRef(slot: number, k: number, v: Ref): void {
    this.chunk(slot)[((slot & CHUNK_MASK) << 2) + k] = v;
  }

  private chunk(slot: number): Ref[] {
    const chunk = this.chunks[slot >>> CHUNK_SHIFT];
    if (chunk === undefined) throw new RangeError(`znode slot ${slot} was never allocated`);
    return chunk;
  }
}

/**
 * A znode as ZooKeeper persists it: StatPersisted + data + ACL + children, seen through one
 * slot of its tree's NodeStore. The stored cversion counts child creations (the next sequential
 * suffix); clients see 2*cversion - numChildren.
 *
 * The data is a latin1 string (one char per byte: a 100-byte value costs ~120 bytes, a Buffer
 * ~200 plus its bytes). The children are kept as their full paths, the very strings that key
 * the tree's node table, so a child costs no string of its own. Nodes without children share
 * NO_CHILDREN; ACL lists are interned by the tree.
 *
 * A view is cheap and not unique: two lookups of one path give two views of the same slot.
 */
export class ZNode implements StatPersisted {
  constructor(
    private readonly store: NodeStore,
    readonly slot: number,
  ) {}

  /** Fills a fresh slot and returns its view. */
  static init(
    store: NodeStore,
    data: string | null,
    acl: readonly ACL[],
    czxid: number,
    mzxid: number,
    ctime: number,
    mtime: number,
    version: number,
    cversion: number,
    aversion: number,
    ephemeralOwner: bigint,
    pzxid: number,
  ): ZNode {
    const slot = store.alloc();
    const f = store.f64;
    const at = slot * F64_PER_SLOT;
    f[at] = czxid;
    f[at + 1] = mzxid;
    f[at + 2] = pzxid;
    f[at + 3] = ctime;
    f[at + 4] = mtime;
    const i = store.i32;
    const ia = slot * I32_PER_SLOT;
    i[ia] = version;
    i[ia + 1] = cversion;
    i[ia + 2] = aversion;
    store.setRef(slot, DATA, data);
    store.setRef(slot, CHILDREN, NO_CHILDREN);
    store.setRef(slot, ACL_LIST, acl);
    store.setRef(slot, OWNER, ephemeralOwner);
    return new ZNode(store, slot);
  }

  /** The data, one latin1 char per byte; null for a node created with null data. */
  get dataLatin1(): string | null {
    return this.store.ref(this.slot, DATA) as string | null;
  }
  set dataLatin1(v: string | null) {
    this.store.setRef(this.slot, DATA, v);
  }
  get childPaths(): ReadonlySet<string> {
    return this.store.ref(this.slot, CHILDREN) as ReadonlySet<string>;
  }
  set childPaths(v: ReadonlySet<string>) {
    this.store.setRef(this.slot, CHILDREN, v);
  }
  get acl(): readonly ACL[] {
    return this.store.ref(this.slot, ACL_LIST) as readonly ACL[];
  }
  set acl(v: readonly ACL[]) {
    this.store.setRef(this.slot, ACL_LIST, v);
  }
  get ephemeralOwner(): bigint {
    return this.store.ref(this.slot, OWNER) as bigint;
  }
  set ephemeralOwner(v: bigint) {
    this.store.setRef(this.slot, OWNER, v);
  }

  get czxid(): number {
    return this.store.f64[this.slot * F64_PER_SLOT] ?? Number.NaN;
  }
  set czxid(v: number) {
    this.store.f64[this.slot * F64_PER_SLOT] = v;
  }
  get mzxid(): number {
    return this.store.f64[this.slot * F64_PER_SLOT + 1] ?? Number.NaN;
  }
  set mzxid(v: number) {
    this.store.f64[this.slot * F64_PER_SLOT + 1] = v;
  }
  get pzxid(): number {
    return this.store.f64[this.slot * F64_PER_SLOT + 2] ?? Number.NaN;
  }
  set pzxid(v: number) {
    this.store.f64[this.slot * F64_PER_SLOT + 2] = v;
  }
  get ctime(): number {
    return this.store.f64[this.slot * F64_PER_SLOT + 3] ?? Number.NaN;
  }
  set ctime(v: number) {
    this.store.f64[this.slot * F64_PER_SLOT + 3] = v;
  }
  get mtime(): number {
    return this.store.f64[this.slot * F64_PER_SLOT + 4] ?? Number.NaN;
  }
  set mtime(v: number) {
    this.store.f64[this.slot * F64_PER_SLOT + 4] = v;
  }
  get version(): number {
    return this.store.i32[this.slot * I32_PER_SLOT] ?? Number.NaN;
  }
  set version(v: number) {
    this.store.i32[this.slot * I32_PER_SLOT] = v;
  }
  get cversion(): number {
    return this.store.i32[this.slot * I32_PER_SLOT + 1] ?? Number.NaN;
  }
  set cversion(v: number) {
    this.store.i32[this.slot * I32_PER_SLOT + 1] = v;
  }
  get aversion(): number {
    return this.store.i32[this.slot * I32_PER_SLOT + 2] ?? Number.NaN;
  }
  set aversion(v: number) {
    this.store.i32[this.slot * I32_PER_SLOT + 2] = v;
  }

  get dataLength(): number {
    const d = this.dataLatin1;
    return d === null ? 0 : d.length;
  }

  /** The data as bytes (a copy). */
  data(): Buffer | null {
    const d = this.dataLatin1;
    return d === null ? null : Buffer.from(d, 'latin1');
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

  /**
   * Writes the Stat a client sees: cversion as 2 * cversion - numChildren, and `owner` as the
   * ephemeralOwner. It reads the store's arrays itself: through the getters, every time value
   * above 2^31 came back as a new heap number (about 7 % of what a getData allocated).
   */
  writeClientStat(w: JuteWriter, owner: bigint): void {
    const f = this.store.f64;
    const at = this.slot * F64_PER_SLOT;
    const i = this.store.i32;
    const ia = this.slot * I32_PER_SLOT;
    const numChildren = this.childCount;
    // One reserved block, filled here: passing the times to a writer method as arguments
    // would box each of them (they are doubles above 2^31).
    const p = w.reserve(STAT_BYTES);
    const dv = w.dataView;
    putLong(dv, p, f[at] as number); // czxid
    putLong(dv, p + 8, f[at + 1] as number); // mzxid
    putLong(dv, p + 16, f[at + 3] as number); // ctime
    putLong(dv, p + 24, f[at + 4] as number); // mtime
    dv.setInt32(p + 32, i[ia] as number); // version
    dv.setInt32(p + 36, (i[ia + 1] as number) * 2 - numChildren);
    dv.setInt32(p + 40, i[ia + 2] as number); // aversion
    putBigLong(dv, p + 44, owner);
    dv.setInt32(p + 52, this.dataLength);
    dv.setInt32(p + 56, numChildren);
    putLong(dv, p + 60, f[at + 2] as number); // pzxid
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
