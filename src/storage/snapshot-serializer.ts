/**
 * Fuzzy snapshots, serialized in slices while the server goes on applying txns, in ZooKeeper's
 * FileSnap format byte for byte (see format.ts), and streamed: the bytes leave in chunks as
 * they are made, through a few reused buffers.
 *
 * A snapshot is named by S, the last zxid applied when it began, and holds the sessions and the
 * ACL table as they were then. Its nodes are written one at a time, parents first, each as it is
 * at the moment it is written (ZooKeeper copies each node under its lock); txns after S may
 * already show in some nodes and not in others. Recovery makes it exact by replaying every
 * logged txn after S, which must therefore be idempotent on what the snapshot already holds
 * (DataTree.applyTxn: NodeExists on create still moves the parent's cversion and pzxid forward,
 * NoNode on delete still moves its pzxid, setData and setACL write absolute values).
 *
 * The walk keeps, per node on the path from the root, a live iterator over its child set and
 * the zxid applied when the node was written. A child whose czxid is above that zxid (or the
 * node's pzxid, if higher) was created after its parent was written, and is skipped: then every
 * node written is the incarnation its parent's record knew (its creation is counted in the
 * parent's cversion and pzxid, which ZooKeeper's replay relies on: it moves them forward for
 * `create` txns only), and a path deleted and re-created behind the iterator (which a Set
 * iterator meets again) is never written twice. Replay creates whatever was skipped, with its
 * subtree. A child deleted before its turn is skipped.
 *
 * ACLs: the table, which precedes the nodes, holds every list the tree knew at S (a superset of
 * those in use; loading keeps only the lists nodes refer to). A node written with a list interned
 * after S was either created after S, and is skipped with its subtree (all created after S, all
 * replayed), or given the list by a setACL after S: it is written with the list it had before
 * that setACL (the tree tells, DataTree.aclReplacedListeners), and replay sets the new one. So every
 * index a node refers to is in the table, unlike ZooKeeper, whose snapshot can refer to a list
 * created after its ACL cache was written.
 *
 * The chunks go to a ChunkSink (the snapshot file here; a learner's socket later), each with a
 * `release` to call once its bytes are no longer needed: the serializer then reuses the buffer.
 * With every buffer out, `step` stops ('full') until one comes back. A snapshot of any size
 * costs a few MiB, and no allocation the garbage collector would have to catch up with:
 * holding or allocating a whole 100 MB snapshot set off a full collection every few hundred
 * milliseconds while one was written (10-40 ms pauses with 5*10^5 znodes).
 */
import { adler32 } from '../base/index.js';
import { JuteWriter, SNAP_SIGNATURE, writeAcl, writeStatPersisted, type ACL } from '../codec/index.js';
import { OPEN_ACL_UNSAFE, type DataTree, type ZNode } from '../tree/index.js';
import { FORMAT_VERSION, OPEN_UNSAFE_ACL_ID, SNAP_MAGIC } from './format.js';

/** A chunk is handed on once it holds this much (a node may take it past). */
const CHUNK_BYTES = 256 * 1024;
/** Chunks out at once at most; the serializer waits for one to come back beyond this. */
const CHUNKS_IN_FLIGHT = 16;

/**
 * How a long job shares the one thread: it runs in slices and waits between them, while the
 * server handles requests and applies txns. The server's pacer gives each slice a few
 * milliseconds of the event loop (runtime/slice-pacer.ts); the simulation's ends slices at
 * random nodes and runs them as scheduler steps.
 */
export interface SlicePacer {
  /** Ends the current slice, if any; resolves when the job may run its next one. */
  nextSlice(): Promise<void>;
  /** Asked after each unit of work: true once this slice has had its share. */
  readonly sliceDone: () => boolean;
  /** Ends the current slice (the job waits for something else, or is done). */
  endSlice(): void;
  /** Figures for the log (slices, the longest one), if the pacer keeps any. */
  report?(): object;
}

/** A pacer that never yields: the whole job at once (start-up, tests). */
export const UNSLICED: SlicePacer = {
  nextSlice: () => Promise.resolve(),
  sliceDone: () => false,
  endSlice: () => undefined,
};

/** Where a snapshot's bytes go, in order. */
export interface ChunkSink {
  /** The next bytes; `release()` once they are no longer needed (their buffer is reused). */
  chunk(bytes: Buffer, release: () => void): void;
}

export type StepResult = 'done' | 'sliceDone' | 'full';

/**
 * 'file': a snapshot file (FileHeader, body, Adler-32 seal). 'transfer': what a leader streams
 * to a learner after a SNAP packet: the same body with no header or seal, then the signature
 * (codec/snap-stream.ts).
 */
export type SnapshotForm = 'file' | 'transfer';

interface WalkFrame {
  /** The parent's children, live: entries deleted before their turn are not met. */
  children: Iterator<string>;
  /** No child the parent had when it was written has a czxid above this; later ones do. */
  parentZxid: number;
}

/** A key that identifies an ACL list by content. */
function aclKey(acl: readonly ACL[]): string {
  return acl.map((a) => `${a.perms}|${a.id.scheme}|${a.id.id}`).join('\n');
}

export class SnapshotSerializer {
  /** S: the snapshot's name, the last zxid applied when it began. */
  readonly zxid: number;
  /** Nodes written so far. */
  nodes = 0;
  /** Bytes handed to the sink so far. */
  bytes = 0;
  private adler = 1;
  /** Buffers back from the sink, for reuse; more are made as needed, up to chunksInFlight. */
  private readonly free: JuteWriter[] = [];
  private buffersMade = 0;
  private current: JuteWriter | null;
  private onFree: (() => void) | null = null;
  private readonly frames: WalkFrame[];
  /** The table's index of each list object met so far (OPEN_ACL_UNSAFE: -1). */
  private readonly aclIds = new Map<readonly ACL[], number>();
  private readonly aclIdsByContent = new Map<string, number>();
  /** Nodes whose list a setACL replaced with one the table lacks: the list they had before. */
  private readonly aclsBeforeReplace = new Map<string, readonly ACL[]>();
  private finished = false;

  /** Takes S, the sessions and the ACL table now, between two applies; `step` writes the nodes. */
  constructor(
    private readonly tree: DataTree,
    sessions: ReadonlyMap<bigint, number>,
    private readonly sink: ChunkSink,
    private readonly chunksInFlight = CHUNKS_IN_FLIGHT,
    private readonly form: SnapshotForm = 'file',
  ) {
    this.zxid = tree.lastProcessedZxid;
    const head = (this.current = this.buffer());
    if (head === null) throw new RangeError('a snapshot needs at least one buffer');
    if (form === 'file') head.writeInt(SNAP_MAGIC).writeInt(FORMAT_VERSION).writeLong(-1);
    head.writeInt(sessions.size);
    for (const [id, timeout] of sessions) head.writeBigLong(id).writeInt(timeout);
    this.writeAclTable(head);
    this.frames = [{ children: ['/'][Symbol.iterator](), parentZxid: Infinity }];
    tree.aclReplacedListeners.add(this.aclReplaced);
  }

  get done(): boolean {
    return this.finished;
  }

  /**
   * Writes nodes until the walk is over ('done'), `sliceDone` says this slice has had its
   * share ('sliceDone'; txns may apply before the next call), or every buffer is out with the
   * sink ('full': call again after `writable`).
   */
  step(sliceDone: () => boolean): StepResult {
    if (this.finished) return 'done';
    const tree = this.tree;
    for (;;) {
      const w = this.current ?? (this.current = this.buffer());
      if (w === null) return 'full';
      const frame = this.frames[this.frames.length - 1];
      if (frame === undefined) {
        this.finish(w);
        return 'done';
      }
      const next = frame.children.next();
      if (next.done === true) {
        this.frames.pop();
        continue;
      }
      const path = next.value;
      const node = tree.get(path);
      if (node !== undefined && node.czxid <= frame.parentZxid && this.writeNode(w, path, node) && node.childCount !== 0) {
        // Every child the node has now was created by an applied txn, and its creation moved
        // the node's pzxid to its czxid; a child created later gets a higher zxid than both.
        // (The pzxid covers trees not built by applying txns, e.g. one just parsed.)
        const parentZxid = Math.max(tree.lastProcessedZxid, node.pzxid);
        this.frames.push({ children: node.childPaths.values(), parentZxid });
      }
      if (w.length >= CHUNK_BYTES) this.handOn(w);
      if (sliceDone()) return 'sliceDone';
    }
  }

  /** A buffer to write into: one back from the sink, or a new one; null if all are out. */
  private buffer(): JuteWriter | null {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.buffersMade >= this.chunksInFlight) return null;
    this.buffersMade++;
    // grown as written to (a small tree's snapshot costs a small buffer)
    return new JuteWriter(16 * 1024);
  }

  /** Resolves once `step` can go on after 'full'. */
  writable(): Promise<void> {
    if (this.free.length > 0 || this.current !== null || this.buffersMade < this.chunksInFlight) return Promise.resolve();
    return new Promise((resolve) => {
      this.onFree = resolve;
    });
  }

  /** Stops listening to the tree (after 'done' this has happened already). */
  abort(): void {
    this.tree.aclReplacedListeners.delete(this.aclReplaced);
    this.frames.length = 0;
  }

  /** False if the node was left out (created after S with a list the table lacks). */
  private writeNode(w: JuteWriter, path: string, node: ZNode): boolean {
    const aclId = this.aclIdOf(path, node);
    if (aclId === undefined) return false;
    w.writeString(path === '/' ? '' : path);
    w.writeLatin1Buffer(node.dataLatin1);
    w.writeLong(aclId);
    writeStatPersisted(w, node);
    this.nodes++;
    return true;
  }

  /** Hands a full buffer on to the sink; it comes back to `free` when released. */
  private handOn(w: JuteWriter): void {
    this.current = null;
    const bytes = w.toBuffer();
    this.adler = adler32(bytes, 0, bytes.length, this.adler);
    this.emit(w, bytes);
  }

  private emit(w: JuteWriter, bytes: Buffer): void {
    this.bytes += bytes.length;
    this.sink.chunk(bytes, () => {
      w.reset();
      this.free.push(w);
      const wake = this.onFree;
      this.onFree = null;
      wake?.();
    });
  }

  /**
   * The end marker, then a file's seal (the Adler-32 of every byte before it, and "/") or a
   * transfer's signature.
   */
  private finish(w: JuteWriter): void {
    this.finished = true;
    this.abort();
    this.current = null;
    w.writeString('/');
    if (this.form === 'transfer') {
      w.writeString(SNAP_SIGNATURE);
    } else {
      const bytes = w.toBuffer();
      this.adler = adler32(bytes, 0, bytes.length, this.adler);
      w.writeLong(this.adler).writeString('/');
    }
    this.emit(w, w.toBuffer());
  }

  /**
   * The table: every list the tree knows now, numbered from 1, one number per distinct
   * content; the tree's shared world:anyone-ALL list (system nodes) is -1, as in ZooKeeper.
   */
  private writeAclTable(w: JuteWriter): void {
    this.aclIds.set(OPEN_ACL_UNSAFE, OPEN_UNSAFE_ACL_ID);
    const lists: Array<readonly ACL[]> = [];
    for (const acl of this.tree.knownAcls()) {
      const key = aclKey(acl);
      let id = this.aclIdsByContent.get(key);
      if (id === undefined) {
        lists.push(acl);
        id = lists.length;
        this.aclIdsByContent.set(key, id);
      }
      this.aclIds.set(acl, id);
    }
    w.writeInt(lists.length);
    lists.forEach((acl, i) => {
      w.writeLong(i + 1);
      w.writeVector(acl, writeAcl);
    });
  }

  /** The table's index for a list (met by identity, or an equal list by content), if it has one. */
  private tableId(acl: readonly ACL[]): number | undefined {
    const known = this.aclIds.get(acl);
    if (known !== undefined) return known;
    const id = this.aclIdsByContent.get(aclKey(acl));
    if (id !== undefined) this.aclIds.set(acl, id);
    return id;
  }

  /** The table index for the node's list; undefined if the node must be left out. */
  private aclIdOf(path: string, node: ZNode): number | undefined {
    const id = this.tableId(node.acl);
    if (id !== undefined) return id;
    // interned after S: a node created since is replayed whole; an older one had a list then
    if (node.czxid > this.zxid) return undefined;
    const before = this.aclsBeforeReplace.get(path);
    const beforeId = before === undefined ? undefined : this.tableId(before);
    if (beforeId === undefined) throw new Error(`snapshot: ${path} has an ACL list interned after the snapshot began`);
    return beforeId;
  }

  /** The tree replaced a node's list: keep the one it had if the table lacks the new one. */
  private readonly aclReplaced = (path: string, previous: readonly ACL[]): void => {
    const now = this.tree.get(path)?.acl;
    if (now === undefined || this.tableId(now) !== undefined || this.aclsBeforeReplace.has(path)) return;
    if (this.tableId(previous) !== undefined) this.aclsBeforeReplace.set(path, previous);
  };
}

/** Serializes the tree at once (the tree must not change meanwhile): one buffer. */
export function encodeSnapshot(tree: DataTree, sessions: ReadonlyMap<bigint, number>, form: SnapshotForm = 'file'): Buffer {
  const chunks: Buffer[] = [];
  const sink: ChunkSink = {
    chunk: (bytes, release) => {
      chunks.push(Buffer.from(bytes));
      release();
    },
  };
  const serializer = new SnapshotSerializer(tree, sessions, sink, CHUNKS_IN_FLIGHT, form);
  serializer.step(() => false);
  return Buffer.concat(chunks);
}
