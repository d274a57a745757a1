/**
 * The disk as storage sees it. The real implementation (runtime/node-file-system.ts) wraps
 * node:fs; tests inject a simulated disk that can lose unsynced writes or tear the last one.
 */
export interface FileHandle {
  /**
   * True if every write is durable once it resolves (the file was created with `syncWrites`:
   * O_DSYNC, one system call where write + fdatasync are two trips to the thread pool).
   */
  readonly syncsWrites: boolean;
  /** Writes all of `data` at `position`. */
  write(data: Buffer, position: number): Promise<void>;
  /**
   * `write` with a callback instead of a promise: the txn log's per-batch path, where the
   * promises of an async write were about a third of what a lone setData allocated.
   */
  writeThen(data: Buffer, position: number, done: (err: Error | null) => void): void;
  /** Makes every write so far, and the file's length, durable (fdatasync). */
  sync(): Promise<void>;
  /** Sets the file's length (extends with zeros). */
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/** A file opened for reading at arbitrary positions (the txn log is read in chunks, not whole). */
export interface ReadHandle {
  /** Reads up to `into.length` bytes at `position` into `into`; resolves with how many (0 at the end). */
  read(into: Buffer, position: number): Promise<number>;
  close(): Promise<void>;
}

export interface FileSystem {
  /** Whether `create` honours `syncWrites`. */
  readonly canSyncWrites: boolean;
  /** Creates (or truncates) a file for writing; with `syncWrites` each write is durable when it resolves. */
  create(path: string, options?: { syncWrites?: boolean }): Promise<FileHandle>;
  /** Opens an existing file for writing at arbitrary positions. */
  openExisting(path: string): Promise<FileHandle>;
  readFile(path: string): Promise<Buffer>;
  openRead(path: string): Promise<ReadHandle>;
  /** A file's length in bytes. */
  size(path: string): Promise<number>;
  /** File names in `dir` ([] if it does not exist). */
  list(dir: string): Promise<string[]>;
  /** Creates `dir` and any missing parents; the new names are durable when it resolves. */
  mkdirp(dir: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Makes a directory's entries (creates, renames, deletes) durable. */
  syncDir(dir: string): Promise<void>;
}

/** A write, fsync or other disk operation failed: the server can no longer promise durability. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}
