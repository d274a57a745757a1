/**
 * Fuzzy snapshots, serialized in slices while the server goes on applying txns, in ZooKeeper's
 * FileSnap format byte for byte (see format.ts).
 *
 * A snapshot is named by S, the last zxid applied when it began, and holds the sessions as they
 * were then. Its nodes are written one at a time, parents first, each as it is at the moment
 * it is written (ZooKeeper copies each node under its lock); txns after S may already show in
 * some nodes and not in others. Recovery makes it exact by replaying every logged txn after S,
 * which must therefore be idempotent on what the snapshot already holds (DataTree.applyTxn:
 * NodeExists on create still moves the parent's cversion and pzxid forward, NoNode on delete
 * still moves its pzxid).
 *
 * The walk keeps, per node on the path from the root, a live iterator over its child set and
 * the zxid applied when the node was written. A child whose czxid is above that zxid (or the
 * node's pzxid, if higher) was created after its parent was written, and is skipped: then every node written is the incarnation its
 * parent's record knew (its creation is counted in the parent's cversion), a path deleted and
 * re-created behind the iterator (which a Set iterator would meet again) is never written twice,
 * and a node created after S reaches the snapshot only below a parent that counts it. Replay
 * creates whatever was skipped, with its subtree. A child deleted before its turn is skipped.
 *
 * ACL lists are numbered in order of first use by the nodes actually written, so every list a
 * node refers to is in the table, even one a txn interned during the walk. The table precedes
 * the nodes in the file, so the nodes are written to chunks first and the head (file header,
 * sessions, ACL table) is built at the end; the Adler-32 seal joins the head's checksum to the
 * one the chunks were given as they were cut (adler32Combine).
 *
 * The result is a list of chunks, the file's bytes in order: for the snapshot file, and later
 * for a learner's SNAP (which can be sent once the walk is done and the head is known).
 */
import { adler32, adler32Combine } from '../base/index.js';
import { JuteWriter, writeAcl, writeStatPersisted, type ACL } from '../codec/index.js';
import { OPEN_ACL_UNSAFE, type DataTree, type ZNode } from '../tree/index.js';
import { FORMAT_VERSION, OPEN_UNSAFE_ACL_ID, SNAP_MAGIC } from './format.js';
/** Nodes are handed off in chunks of about this size (each checksummed as it is cut). */
const CHUNK_BYTES = 256 * 1024;
/** The node writer's buffers: chunks are views of them, so a cut copies nothing. */
const WRITER_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * How a long job shares the one thread: it runs in slices and waits between them, while the
 * server handles requests and applies txns. The server's pacer gives each slice a few
 * milliseconds of the event loop (runtime/slice-pacer.ts); the simulation's ends slices at
 * random nodes and runs them as scheduler steps.
 */
export interface SlicePacer {
  /** Resolves when the job may run its next slice. */
  nextSlice(): Promise<void>;
  /** Asked after each unit of work: true once this slice has had its share. */
  readonly sliceDone: () => boolean;
  /** The job's last slice has ended (nextSlice may still start more: the file's compression). */
  finished(): void;
  /** Figures for the log (slices, the longest one), if the pacer keeps any. */
  report?(): object;
}

/** A pacer that never yields: the whole job in one step (start-up, tests). */
export const UNSLICED: SlicePacer = {
  nextSlice: () => Promise.resolve(),
  sliceDone: () => false,
  finished: () => undefined,
};

/** A serialized snapshot: the file's bytes as chunks, in order. */
export interface SnapshotImage {
  /** The last zxid applied when the snapshot began: its name. */
  zxid: number;
  chunks: Buffer[];
  bytes: number;
  /** Nodes written. */
  nodes: number;
  /** The last zxid applied when the walk ended: above `zxid` if txns applied during it (fuzzy). */
  walkEndZxid: number;
}

interface WalkFrame {
  /** The parent's children, live: entries deleted before their turn are not met. */
  children: Iterator<string>;
  /** No child the parent had when it was written has a czxid above this; later ones do. */
  parentZxid: number;
}

export class SnapshotSerializer {
  /** S: the snapshot's name, the last zxid applied when it began. */
  readonly zxid: number;
  /** Nodes written so far. */
  nodes = 0;
  private readonly head = new JuteWriter(4096);
  private readonly body = new JuteWriter(64 * 1024);
  private readonly chunks: Buffer[] = [];
  private bodyAdler = 1;
  private bodyLength = 0;
  private readonly frames: WalkFrame[];
  private readonly aclIds = new Map<readonly ACL[], number>();
  private readonly aclIdsByContent = new Map<string, number>();
  private readonly acls: Array<readonly ACL[]> = [];
  private image: SnapshotImage | null = null;

  /** Takes S and the sessions now, between two applies; the nodes are written by `step`. */
  constructor(
    private readonly tree: DataTree,
    sessions: ReadonlyMap<bigint, number>,
  ) {
    this.zxid = tree.lastProcessedZxid;
    this.body.growBytes = WRITER_BUFFER_BYTES;
    this.head.writeInt(SNAP_MAGIC).writeInt(FORMAT_VERSION).writeLong(-1);
    this.head.writeInt(sessions.size);
    for (const [id, timeout] of sessions) this.head.writeBigLong(id).writeInt(timeout);
    this.frames = [{ children: ['/'][Symbol.iterator](), parentZxid: Infinity }];
  }

  get done(): boolean {
    return this.image !== null;
  }

  /**
   * Writes nodes until the walk is over (true) or `sliceDone` says this slice has had its
   * share (false: call again later, txns may apply in between).
   */
  step(sliceDone: () => boolean): boolean {
    if (this.image !== null) return true;
    const tree = this.tree;
    for (;;) {
      const frame = this.frames[this.frames.length - 1];
      if (frame === undefined) {
        this.image = this.finish();
        return true;
      }
      const next = frame.children.next();
      if (next.done === true) {
        this.frames.pop();
        continue;
      }
      const path = next.value;
      const node = tree.get(path);
      if (node !== undefined && node.czxid <= frame.parentZxid) {
        this.writeNode(path, node);
        if (node.childCount !== 0) {
          // Every child the node has now was created by an applied txn, and its creation moved
          // the node's pzxid to its czxid; a child created later gets a higher zxid than both.
          // (The pzxid covers trees not built by applying txns, e.g. one just parsed.)
          const parentZxid = Math.max(tree.lastProcessedZxid, node.pzxid);
          this.frames.push({ children: node.childPaths.values(), parentZxid });
        }
      }
      if (sliceDone()) return false;
    }
  }

  /** The finished snapshot (after `step` returned true). */
  result(): SnapshotImage {
    if (this.image === null) throw new Error('snapshot walk not finished');
    return this.image;
  }

  private writeNode(path: string, node: ZNode): void {
    const w = this.body;
    w.writeString(path === '/' ? '' : path);
    w.writeLatin1Buffer(node.dataLatin1);
    w.writeLong(this.aclIdOf(node.acl));
    writeStatPersisted(w, node);
    this.nodes++;
    if (w.unsentBytes >= CHUNK_BYTES) this.cut();
  }

  /** Hands the node bytes written so far off as a chunk, checksummed now. */
  private cut(): void {
    const chunk = this.body.handOff();
    this.bodyAdler = adler32(chunk, 0, chunk.length, this.bodyAdler);
    this.bodyLength += chunk.length;
    this.chunks.push(chunk);
  }

  /**
   * The tree's shared world:anyone-ALL list (system nodes) is -1, as in ZooKeeper; other
   * lists are numbered from 1 by first use, one number per distinct content.
   */
  private aclIdOf(acl: readonly ACL[]): number {
    if (acl === OPEN_ACL_UNSAFE) return OPEN_UNSAFE_ACL_ID;
    const known = this.aclIds.get(acl);
    if (known !== undefined) return known;
    const key = acl.map((a) => `${a.perms}|${a.id.scheme}|${a.id.id}`).join('\n');
    let id = this.aclIdsByContent.get(key);
    if (id === undefined) {
      this.acls.push(acl);
      id = this.acls.length;
      this.aclIdsByContent.set(key, id);
    }
    this.aclIds.set(acl, id);
    return id;
  }

  /** The end marker, the head (with the ACL table now known) and the checksum seal. */
  private finish(): SnapshotImage {
    this.body.writeString('/');
    this.cut();
    const head = this.head;
    head.writeInt(this.acls.length);
    this.acls.forEach((acl, i) => {
      head.writeLong(i + 1);
      head.writeVector(acl, writeAcl);
    });
    const headBytes = head.toBuffer();
    const checksum = adler32Combine(adler32(headBytes), this.bodyAdler, this.bodyLength);
    const seal = new JuteWriter(16);
    seal.writeLong(checksum).writeString('/');
    const chunks = [headBytes, ...this.chunks, seal.toBuffer()];
    this.chunks.length = 0;
    this.frames.length = 0;
    const bytes = headBytes.length + this.bodyLength + seal.length;
    return { zxid: this.zxid, chunks, bytes, nodes: this.nodes, walkEndZxid: this.tree.lastProcessedZxid };
  }
}

/** Runs the walk in slices, as `pacer` allows. */
export async function serializeSnapshot(tree: DataTree, sessions: ReadonlyMap<bigint, number>, pacer: SlicePacer): Promise<SnapshotImage> {
  return runSerializer(new SnapshotSerializer(tree, sessions), pacer);
}

/** Runs a serializer's walk to its end, one slice per turn `pacer` gives. */
export async function runSerializer(serializer: SnapshotSerializer, pacer: SlicePacer): Promise<SnapshotImage> {
  do await pacer.nextSlice();
  while (!serializer.step(pacer.sliceDone));
  pacer.finished();
  return serializer.result();
}

/** Serializes the tree at once (the tree must not change meanwhile): one buffer. */
export function encodeSnapshot(tree: DataTree, sessions: ReadonlyMap<bigint, number>): Buffer {
  const serializer = new SnapshotSerializer(tree, sessions);
  serializer.step(() => false);
  return Buffer.concat(serializer.result().chunks);
}
