/**
 * A DataTree of a given size, built through applyTxn as the server builds it: /bench, then
 * directories of ~1000 nodes each (a flat million-child parent would make every create and
 * delete pay for one huge child set, which real trees do not), leaves with 100-byte values of
 * their own, and /bench/ten with 10 children for getChildren.
 */
import { OpCode, type ACL, type Txn, type TxnHeader } from '../../src/codec/index.js';
import { DataTree, OPEN_ACL_UNSAFE, type TreeChange } from '../../src/tree/index.js';
import { DATA_BYTES, PathSource } from './fixtures.js';

const PER_DIR = 1000;
const CLIENT: bigint = 0x0100000000000001n;
const T0 = 1_700_000_000_000;
const ROOT = '/bench';
export const TEN_CHILDREN = `${ROOT}/ten`;
/** One ACL list shared by every node: the fixture's memory goes to nodes, not to ACL copies. */
const OPEN: ACL[] = [...OPEN_ACL_UNSAFE];
/** Nodes the constructor makes ("/", /zookeeper, /zookeeper/quota, /zookeeper/config). */
const SYSTEM_NODES = 4;

export class TreeFixture {
  readonly tree = new DataTree();
  readonly dirs: string[] = [];
  /** Existing leaves, as fresh strings (see PathSource). */
  readonly leaves: PathSource;
  readonly leafCount: number;
  private zxid = 0;
  /** One reused changes list: the caller's allocation, not the tree's. */
  readonly changes: TreeChange[] = [];

  /** A tree of exactly `nodes` znodes, system nodes included. */
  constructor(nodes: number) {
    const dirCount = Math.max(1, Math.ceil(nodes / PER_DIR));
    const fixed = SYSTEM_NODES + 1 + dirCount + 1 + 10; // /bench, directories, /bench/ten and its children
    this.leafCount = nodes - fixed;
    if (this.leafCount < dirCount) throw new RangeError(`a tree of ${nodes} nodes is too small for the fixture`);
    const leafName = (i: number): string => `${this.dirs[i % dirCount] ?? ''}/node${String(i).padStart(7, '0')}`;
    this.leaves = new PathSource(leafName);
    this.create(ROOT, null);
    for (let d = 0; d < dirCount; d++) {
      const dir = `${ROOT}/dir${String(d).padStart(4, '0')}`;
      this.dirs.push(dir);
      this.create(dir, null);
    }
    for (let i = 0; i < this.leafCount; i++) this.create(leafName(i), valueOf(i));
    this.create(TEN_CHILDREN, null);
    for (let c = 0; c < 10; c++) this.create(`${TEN_CHILDREN}/child${c}`, valueOf(c));
    if (this.tree.size !== nodes) throw new Error(`fixture has ${this.tree.size} nodes, wanted ${nodes}`);
  }

  /** A header for the next txn (zxids increase, as applyTxn's callers guarantee). */
  header(type: number): TxnHeader {
    this.zxid++;
    return { clientId: CLIENT, cxid: this.zxid, zxid: this.zxid, time: T0 + this.zxid, type };
  }

  /**
   * A create txn as prep makes it. parentCVersion -1 lets applyTxn take the parent's counter +1,
   * which is what prep computes, without having to track it here.
   */
  createTxn(path: string, data: Buffer | null): Txn {
    return { type: OpCode.create, path, data, acl: OPEN, ephemeral: false, parentCVersion: -1 };
  }

  /** Applies one txn and insists that it succeeded (fixture steps, not measured). */
  apply(txn: Txn): void {
    const res = this.tree.applyTxn(this.header(txn.type), txn, this.changes);
    this.changes.length = 0;
    if (res.err !== 0) throw new Error(`fixture txn ${txn.type} failed with ${res.err}`);
  }

  private create(path: string, data: Buffer | null): void {
    this.apply(this.createTxn(path, data));
  }
}

/** A distinct 100-byte value (allocUnsafe slices a pooled slab, as JuteReader.readBuffer does). */
export function valueOf(i: number): Buffer {
  return Buffer.allocUnsafe(DATA_BYTES).fill(i & 0xff);
}
