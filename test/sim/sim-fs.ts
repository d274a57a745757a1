/**
 * An in-memory FileSystem (src/storage/file-system.ts) that models durability precisely, for
 * power-loss simulation.
 *
 * Files are inodes with two views: the volatile content (what reads see; every write and
 * truncate lands here) and the durable content (what survives a power cut). `sync()` on a
 * handle makes that file's current content durable. The write/truncate operations since the
 * last sync are kept, in order, as the file's unsynced tail.
 *
 * Directories map names to inodes, again in two views. create (of a new name), rename and
 * unlink change the volatile view at once and are queued as the directory's unsynced entry
 * operations; `syncDir(dir)` makes that directory's queue durable. mkdirp is durable at once
 * (the data directories exist before the server runs).
 *
 * `powerCut(rng)` returns a new SimFs that holds only what the disk kept. The model:
 *  - Directory entries: per directory, a random prefix of its unsynced operations survives, in
 *    order (an ordered metadata journal, like ext4's). Each operation is atomic: a rename either
 *    happened or did not, so temp file + fsync + rename + syncDir publishes a file atomically,
 *    and a name never points at a half-made entry.
 *  - File content: the durable content, plus a random prefix of the unsynced write/truncate
 *    operations (in order), plus possibly a torn next write: a random prefix of its bytes,
 *    optionally followed by a few bytes of random garbage inside the range it was writing.
 *    So only the unsynced tail of a file can be lost or torn; synced bytes never change.
 *  - A name that survives points at its file's surviving content (a file whose name was not
 *    yet durable may vanish; a file renamed over another may or may not have replaced it).
 *
 * Every async method is a step of a SimScheduler: the call queues the step and its effect
 * happens, and its promise settles, only when the driver runs that step. Steps queued at the
 * same time run in a seeded random order, so concurrent work (a snapshot being written while
 * the log syncs) interleaves differently per seed, and a power cut can strike between any two.
 *
 * A file created with `syncWrites` (O_DSYNC) makes each write two steps: the bytes land
 * unsynced, then the file is synced and the write resolves (a cut in between may lose or tear
 * them, as for any unsynced write).
 *
 * Faults: `faults.failWriteAt` / `faults.failSyncAt` make the n-th write / sync (1-based,
 * counted over the whole SimFs) fail with ENOSPC, without effect.
 */
import path from 'node:path';
import type { FileHandle, FileSystem, ReadHandle } from '../../src/storage/file-system.js';
import { SeededRandom } from '../../src/base/index.js';

export interface SimRandom {
  int(n: number): number;
  chance(p: number): boolean;
}

type Step = { label: string; run: () => void };

/** Runs queued file-system steps one at a time, in a seeded order, under the driver's control. */
export class SimScheduler {
  private queue: Step[] = [];
  /** Steps run so far. */
  steps = 0;
  /** Labels of the last steps (for failure reports). */
  readonly trace: string[] = [];

  constructor(
    private readonly rng: SimRandom,
    private readonly keepTrace = 400,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  /** Queues `effect`; the returned promise settles with its outcome when the step runs. */
  submit<T>(label: string, effect: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        label,
        run: () => {
          try {
            resolve(effect());
          } catch (e) {
            reject(e instanceof Error ? e : new Error(String(e)));
          }
        },
      });
    });
  }

  /** Runs one queued step (chosen at random among those queued); false if none is queued. */
  step(): boolean {
    if (this.queue.length === 0) return false;
    const i = this.rng.int(this.queue.length);
    const [s] = this.queue.splice(i, 1);
    if (s === undefined) return false;
    this.steps++;
    this.trace.push(s.label);
    if (this.trace.length > 2 * this.keepTrace) this.trace.splice(0, this.trace.length - this.keepTrace);
    s.run();
    return true;
  }

  /** Drops every queued step (their promises never settle): what a power cut does to I/O in flight. */
  abandon(): void {
    this.queue = [];
  }
}

/** Lets every continuation that is ready run (promise jobs, then one macrotask turn). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs steps until `p` settles; throws if it cannot make progress. Returns p's value. */
export async function runUntilSettled<T>(sched: SimScheduler, p: Promise<T>, maxSteps = 100_000): Promise<T> {
  const state: { outcome: { ok: true; value: T } | { ok: false; error: unknown } | null } = { outcome: null };
  p.then(
    (value) => {
      state.outcome = { ok: true, value };
    },
    (error: unknown) => {
      state.outcome = { ok: false, error };
    },
  );
  await settle();
  for (let i = 0; state.outcome === null; i++) {
    if (i > maxSteps || !sched.step()) throw new Error(`runUntilSettled: no progress after ${i} steps (pending ${sched.pending})`);
    await settle();
  }
  const o = state.outcome;
  if (!o.ok) throw o.error;
  return o.value;
}

type FileOp = { kind: 'write'; position: number; data: Buffer } | { kind: 'truncate'; length: number };

/** A byte array that grows in place (amortized), so a preallocated log does not cost a copy per write. */
class Bytes {
  private buf: Buffer;
  length: number;

  constructor(initial: Buffer = Buffer.alloc(0)) {
    this.buf = Buffer.from(initial);
    this.length = initial.length;
  }

  /** A view of the content (valid until the next change). */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  private resize(length: number): void {
    if (length > this.buf.length) {
      const next = Buffer.alloc(Math.max(length, this.buf.length * 2, 256));
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    } else if (length > this.length) {
      this.buf.fill(0, this.length, length); // bytes past the old end read as zeros
    }
    this.length = length;
  }

  apply(op: FileOp): void {
    if (op.kind === 'truncate') {
      this.resize(op.length);
      return;
    }
    const end = op.position + op.data.length;
    if (end > this.length) this.resize(end);
    op.data.copy(this.buf, op.position);
  }
}

class Inode {
  /** What reads see. */
  private readonly volatile: Bytes;
  /** The durable content is `base` with `synced` applied (kept as ops so a sync costs no copy). */
  private base: Buffer;
  private synced: FileOp[] = [];
  /** Writes and truncates since the last sync, in order. */
  unsynced: FileOp[] = [];

  constructor(content: Buffer = Buffer.alloc(0)) {
    this.volatile = new Bytes(content);
    this.base = Buffer.from(content);
  }

  /** The volatile content (a view, valid until the next change). */
  get content(): Buffer {
    return this.volatile.view();
  }

  /** What survives a power cut for sure. */
  get durable(): Buffer {
    const b = new Bytes(this.base);
    for (const op of this.synced) b.apply(op);
    return Buffer.from(b.view());
  }

  apply(op: FileOp): void {
    this.volatile.apply(op);
    this.unsynced.push(op);
  }

  sync(): void {
    for (const op of this.unsynced) this.synced.push(op);
    this.unsynced = [];
    if (this.synced.length > 512) {
      this.base = this.durable;
      this.synced = [];
    }
  }

  /** The content after a power cut: durable + a prefix of the unsynced ops + maybe a torn one. */
  survivor(rng: SimRandom, stats: PowerCutStats): Buffer {
    const out = new Bytes(this.durable);
    if (this.unsynced.length === 0) return Buffer.from(out.view());
    // Often nothing unsynced survives; otherwise a random number of the ops, in order.
    const kept = rng.chance(0.4) ? 0 : rng.int(this.unsynced.length + 1);
    for (let i = 0; i < kept; i++) {
      const op = this.unsynced[i];
      if (op !== undefined) out.apply(op);
    }
    stats.unsyncedOpsKept += kept;
    stats.unsyncedOpsLost += this.unsynced.length - kept;
    const next = this.unsynced[kept];
    if (next?.kind === 'write' && next.data.length > 1 && rng.chance(0.6)) {
      // A torn write: the first `keep` bytes made it; maybe some garbage right after them.
      const keep = 1 + rng.int(next.data.length - 1);
      let garbage = 0;
      if (rng.chance(0.3)) {
        garbage = Math.min(next.data.length - keep, 1 + rng.int(16));
      }
      const bytes = Buffer.alloc(keep + garbage);
      next.data.copy(bytes, 0, 0, keep);
      for (let i = keep; i < keep + garbage; i++) bytes[i] = 1 + rng.int(255);
      out.apply({ kind: 'write', position: next.position, data: bytes });
      stats.tornWrites++;
      if (garbage > 0) stats.garbageWrites++;
    }
    return Buffer.from(out.view());
  }
}

type DirOp = { kind: 'link'; name: string; inode: Inode } | { kind: 'unlink'; name: string };

class Dir {
  /** What list/open see. */
  entries = new Map<string, Inode>();
  /** What survives a power cut for sure. */
  durable = new Map<string, Inode>();
  /** Entry changes since the last syncDir, in order (a rename is one 'link' + one 'unlink', applied together). */
  unsynced: DirOp[][] = [];

  change(ops: DirOp[]): void {
    for (const op of ops) applyDirOp(this.entries, op);
    this.unsynced.push(ops);
  }

  sync(): void {
    this.durable = new Map(this.entries);
    this.unsynced = [];
  }

  survivor(rng: SimRandom, stats: PowerCutStats): Map<string, Inode> {
    const out = new Map(this.durable);
    if (this.unsynced.length === 0) return out;
    const kept = rng.chance(0.3) ? 0 : rng.int(this.unsynced.length + 1);
    for (let i = 0; i < kept; i++) for (const op of this.unsynced[i] ?? []) applyDirOp(out, op);
    stats.dirOpsKept += kept;
    stats.dirOpsLost += this.unsynced.length - kept;
    return out;
  }
}

function applyDirOp(entries: Map<string, Inode>, op: DirOp): void {
  if (op.kind === 'link') entries.set(op.name, op.inode);
  else entries.delete(op.name);
}

export interface PowerCutStats {
  unsyncedOpsKept: number;
  unsyncedOpsLost: number;
  tornWrites: number;
  garbageWrites: number;
  dirOpsKept: number;
  dirOpsLost: number;
}

export interface SimFaults {
  /** The n-th write (1-based) fails with ENOSPC. */
  failWriteAt?: number;
  /** The n-th sync (1-based) fails with ENOSPC. */
  failSyncAt?: number;
}

export class SimFsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

class SimHandle implements FileHandle {
  private closed = false;

  constructor(
    private readonly fs: SimFs,
    private readonly inode: Inode,
    private readonly name: string,
    readonly syncsWrites = false,
  ) {}

  /**
   * With syncsWrites (O_DSYNC) a write is two steps: the bytes land (unsynced: a power cut now
   * may lose or tear them), then they are synced and the write resolves, or fails like a sync.
   */
  write(data: Buffer, position: number): Promise<void> {
    const landed = this.writeBytes(data, position);
    return this.syncsWrites ? landed.then(() => this.syncStep()) : landed;
  }

  writeThen(data: Buffer, position: number, done: (err: Error | null) => void): void {
    this.write(data, position).then(
      () => done(null),
      (e: unknown) => done(e as Error),
    );
  }

  private writeBytes(data: Buffer, position: number): Promise<void> {
    const copy = Buffer.from(data); // the caller may reuse its buffer once the call returns
    if (this.fs.faultsHit.length > 0) this.fs.ioStartedAfterFault.push(`write ${this.name}`);
    return this.fs.sched.submit(`write ${this.name} @${position} +${data.length}`, () => {
      this.check('write');
      if (this.fs.faultsHit.length > 0) this.fs.ioAfterFault.push(`write ${this.name}`);
      this.fs.counters.writes++;
      if (this.fs.faults.failWriteAt === this.fs.counters.writes) {
        this.fs.faultsHit.push(`write ${this.name}`);
        throw new SimFsError('ENOSPC', `no space left on device, write ${this.name}`);
      }
      this.inode.apply({ kind: 'write', position, data: copy });
    });
  }

  sync(): Promise<void> {
    if (this.fs.faultsHit.length > 0) this.fs.ioStartedAfterFault.push(`sync ${this.name}`);
    return this.syncStep();
  }

  private syncStep(): Promise<void> {
    return this.fs.sched.submit(`sync ${this.name}`, () => {
      this.check('fsync');
      if (this.fs.faultsHit.length > 0) this.fs.ioAfterFault.push(`sync ${this.name}`);
      this.fs.counters.syncs++;
      if (this.fs.faults.failSyncAt === this.fs.counters.syncs) {
        this.fs.faultsHit.push(`sync ${this.name}`);
        throw new SimFsError('ENOSPC', `no space left on device, fsync ${this.name}`);
      }
      this.inode.sync();
    });
  }

  truncate(length: number): Promise<void> {
    if (this.fs.faultsHit.length > 0) this.fs.ioStartedAfterFault.push(`truncate ${this.name}`);
    return this.fs.sched.submit(`truncate ${this.name} ${length}`, () => {
      this.check('ftruncate');
      if (this.fs.faultsHit.length > 0) this.fs.ioAfterFault.push(`truncate ${this.name}`);
      this.inode.apply({ kind: 'truncate', length });
    });
  }

  close(): Promise<void> {
    return this.fs.sched.submit(`close ${this.name}`, () => {
      this.check('close');
      this.closed = true;
    });
  }

  private check(what: string): void {
    if (this.closed) throw new SimFsError('EBADF', `bad file descriptor, ${what} ${this.name}`);
  }
}

/** Reads what a read(2) would see now: the file's volatile content (the inode, whatever its name is by then). */
class SimReadHandle implements ReadHandle {
  private closed = false;

  constructor(
    private readonly fs: SimFs,
    private readonly inode: Inode,
    private readonly name: string,
  ) {}

  read(into: Buffer, position: number): Promise<number> {
    return this.fs.sched.submit(`read ${this.name} @${position} +${into.length}`, () => {
      if (this.closed) throw new SimFsError('EBADF', `bad file descriptor, read ${this.name}`);
      const content = this.inode.content;
      if (position >= content.length) return 0;
      return content.copy(into, 0, position, Math.min(content.length, position + into.length));
    });
  }

  close(): Promise<void> {
    return this.fs.sched.submit(`close ${this.name}`, () => {
      this.closed = true;
    });
  }
}

export class SimFs implements FileSystem {
  private readonly dirs = new Map<string, Dir>();
  readonly counters = { writes: 0, syncs: 0 };
  /** The operations a fault made fail, e.g. "sync /data/log.5". */
  readonly faultsHit: string[] = [];
  /** Writes, syncs and truncates that ran after the first fault hit. */
  readonly ioAfterFault: string[] = [];
  /**
   * Writes, syncs and truncates asked for after the first fault hit (ioAfterFault also holds
   * those asked for earlier that were still queued, as a pipelined writer has them).
   */
  readonly ioStartedAfterFault: string[] = [];

  constructor(
    readonly sched: SimScheduler,
    public faults: SimFaults = {},
    /** False: a disk without O_DSYNC; `create` ignores `syncWrites` (the log then pipelines fsyncs). */
    readonly canSyncWrites = true,
  ) {}

  // ------------------------------------------------------------------ FileSystem

  create(file: string, options?: { syncWrites?: boolean }): Promise<FileHandle> {
    return this.sched.submit(`create ${file}`, () => {
      const { dir, name } = this.locate(file);
      let inode = dir.entries.get(name);
      if (inode === undefined) {
        inode = new Inode();
        dir.change([{ kind: 'link', name, inode }]);
      } else {
        inode.apply({ kind: 'truncate', length: 0 });
      }
      return new SimHandle(this, inode, file, this.canSyncWrites && options?.syncWrites === true);
    });
  }

  openExisting(file: string): Promise<FileHandle> {
    return this.sched.submit(`open ${file}`, () => new SimHandle(this, this.mustGet(file), file));
  }

  readFile(file: string): Promise<Buffer> {
    return this.sched.submit(`read ${file}`, () => Buffer.from(this.mustGet(file).content));
  }

  openRead(file: string): Promise<ReadHandle> {
    return this.sched.submit(`open ${file} for reading`, () => new SimReadHandle(this, this.mustGet(file), file));
  }

  size(file: string): Promise<number> {
    return this.sched.submit(`size of ${file}`, () => this.mustGet(file).content.length);
  }

  list(dir: string): Promise<string[]> {
    return this.sched.submit(`list ${dir}`, () => [...(this.dirs.get(norm(dir))?.entries.keys() ?? [])].sort());
  }

  mkdirp(dir: string): Promise<void> {
    return this.sched.submit(`mkdirp ${dir}`, () => {
      this.ensureDir(dir);
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.sched.submit(`rename ${from} -> ${to}`, () => {
      const src = this.locate(from);
      const dst = this.locate(to);
      const inode = src.dir.entries.get(src.name);
      if (inode === undefined) throw new SimFsError('ENOENT', `no such file or directory, rename '${from}'`);
      if (src.dir !== dst.dir) throw new SimFsError('EXDEV', 'SimFs renames only within one directory');
      src.dir.change([
        { kind: 'link', name: dst.name, inode },
        { kind: 'unlink', name: src.name },
      ]);
    });
  }

  unlink(file: string): Promise<void> {
    return this.sched.submit(`unlink ${file}`, () => {
      const { dir, name } = this.locate(file);
      if (!dir.entries.has(name)) throw new SimFsError('ENOENT', `no such file or directory, unlink '${file}'`);
      dir.change([{ kind: 'unlink', name }]);
    });
  }

  syncDir(dir: string): Promise<void> {
    return this.sched.submit(`syncDir ${dir}`, () => {
      const d = this.dirs.get(norm(dir));
      if (d === undefined) throw new SimFsError('ENOENT', `no such directory '${dir}'`);
      d.sync();
    });
  }

  // ------------------------------------------------------------------ simulation

  /**
   * The disk after a power cut: only durable state, plus what the model lets survive of the
   * unsynced state (see the file comment). This SimFs and its scheduler are left as they are;
   * the caller should abandon them.
   */
  powerCut(rng: SimRandom, sched: SimScheduler = new SimScheduler(rng)): { fs: SimFs; stats: PowerCutStats } {
    const stats: PowerCutStats = { unsyncedOpsKept: 0, unsyncedOpsLost: 0, tornWrites: 0, garbageWrites: 0, dirOpsKept: 0, dirOpsLost: 0 };
    const next = new SimFs(sched, {}, this.canSyncWrites);
    const survivors = new Map<Inode, Inode>();
    // Directories in a fixed order, so a seed replays exactly.
    for (const dirPath of [...this.dirs.keys()].sort()) {
      const dir = this.dirs.get(dirPath);
      if (dir === undefined) continue;
      const entries = dir.survivor(rng, stats);
      const d = next.ensureDir(dirPath);
      for (const name of [...entries.keys()].sort()) {
        const inode = entries.get(name);
        if (inode === undefined) continue;
        let copy = survivors.get(inode);
        if (copy === undefined) {
          copy = new Inode(inode.survivor(rng, stats));
          survivors.set(inode, copy);
        }
        d.entries.set(name, copy);
      }
      d.sync();
    }
    return { fs: next, stats };
  }

  /** Unsynced file operations plus unsynced directory operations, over the whole disk. */
  unsyncedCount(): number {
    let n = 0;
    const seen = new Set<Inode>();
    for (const dir of this.dirs.values()) {
      n += dir.unsynced.length;
      for (const inode of dir.entries.values()) {
        if (seen.has(inode)) continue;
        seen.add(inode);
        n += inode.unsynced.length;
      }
    }
    return n;
  }

  /** Files with volatile / durable sizes and unsynced op counts (for failure reports). */
  describe(): string {
    const lines: string[] = [];
    for (const dirPath of [...this.dirs.keys()].sort()) {
      const dir = this.dirs.get(dirPath);
      if (dir === undefined) continue;
      lines.push(`${dirPath}/ (${dir.unsynced.length} unsynced entry ops)`);
      for (const [name, inode] of [...dir.entries].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const durableName = dir.durable.get(name) === inode ? '' : ' [name not durable]';
        lines.push(
          `  ${name}: ${inode.content.length} bytes, durable ${inode.durable.length}, ${inode.unsynced.length} unsynced ops${durableName}`,
        );
      }
    }
    return lines.join('\n');
  }

  /** The volatile content of a file, synchronously (for tests and reports). */
  peek(file: string): Buffer | undefined {
    const { dir, name } = this.locate(file, false);
    return dir?.entries.get(name)?.content;
  }

  /** The durable content of a file (what a power cut now would keep for sure), if its name is durable. */
  peekDurable(file: string): Buffer | undefined {
    const { dir, name } = this.locate(file, false);
    return dir?.durable.get(name)?.durable;
  }

  /** Replaces a file's content, durably and at once (to prepare damaged disks in tests). */
  poke(file: string, content: Buffer): void {
    const { dir, name } = this.locate(file);
    const inode = new Inode(Buffer.from(content));
    dir.entries.set(name, inode);
    dir.durable.set(name, inode);
  }

  private ensureDir(dir: string): Dir {
    const key = norm(dir);
    let d = this.dirs.get(key);
    if (d === undefined) {
      d = new Dir();
      this.dirs.set(key, d);
    }
    return d;
  }

  private locate(file: string): { dir: Dir; name: string };
  private locate(file: string, mustExist: false): { dir: Dir | undefined; name: string };
  private locate(file: string, mustExist = true): { dir: Dir | undefined; name: string } {
    const dirPath = norm(path.dirname(file));
    const name = path.basename(file);
    const dir = this.dirs.get(dirPath);
    if (dir === undefined && mustExist) throw new SimFsError('ENOENT', `no such file or directory '${file}'`);
    return { dir, name };
  }

  private mustGet(file: string): Inode {
    const { dir, name } = this.locate(file);
    const inode = dir.entries.get(name);
    if (inode === undefined) throw new SimFsError('ENOENT', `no such file or directory '${file}'`);
    return inode;
  }
}

function norm(dir: string): string {
  const p = path.posix.normalize(dir);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/** A SimFs with its own scheduler ordered by `seed`. */
export function newSimFs(seed: number, faults: SimFaults = {}): SimFs {
  return new SimFs(new SimScheduler(new SeededRandom(seed)), faults);
}
