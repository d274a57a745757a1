/**
 * A FileSystem (src/storage/file-system.ts) that stores nothing and answers at once, so the
 * txn log benchmark measures the log's own CPU work (encoding, batching, bookkeeping) and not
 * a disk shared with whatever else runs on the machine.
 */
import type { FileHandle, FileSystem, ReadHandle } from '../../src/storage/index.js';

const done = (): Promise<void> => Promise.resolve();

const nullHandle: FileHandle = {
  syncsWrites: true,
  write: done,
  writeThen: (_data, _position, written) => queueMicrotask(() => written(null)),
  sync: done,
  truncate: done,
  close: done,
};

const emptyFile: ReadHandle = { read: () => Promise.resolve(0), close: done };

export class NullFileSystem implements FileSystem {
  readonly canSyncWrites = true;
  create(): Promise<FileHandle> {
    return Promise.resolve(nullHandle);
  }
  openExisting(): Promise<FileHandle> {
    return Promise.resolve(nullHandle);
  }
  readFile(): Promise<Buffer> {
    return Promise.resolve(Buffer.alloc(0));
  }
  openRead(): Promise<ReadHandle> {
    return Promise.resolve(emptyFile);
  }
  size(): Promise<number> {
    return Promise.resolve(0);
  }
  list(): Promise<string[]> {
    return Promise.resolve([]);
  }
  mkdirp = done;
  rename = done;
  unlink = done;
  syncDir = done;
}
