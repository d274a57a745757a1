/** FileSystem over node:fs/promises (and node:fs for the hot write path). */
import { constants, write as fsWrite } from 'node:fs';
import { open, readFile, readdir, mkdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { FileHandle, FileSystem, ReadHandle } from '../storage/file-system.js';

type NodeHandle = Awaited<ReturnType<typeof open>>;

class NodeFileHandle implements FileHandle {
  constructor(
    private readonly fh: NodeHandle,
    readonly syncsWrites = false,
  ) {}

  /**
   * Through the callback API on the handle's descriptor: a txn log batch is one such write,
   * and FileHandle#write allocates several times as much per call (promise bookkeeping and a
   * result object), which shows as young-generation collections when batches are small.
   */
  write(data: Buffer, position: number): Promise<void> {
    return new Promise((resolve, reject) => this.writeThen(data, position, (err) => (err === null ? resolve() : reject(err))));
  }

  writeThen(data: Buffer, position: number, done: (err: Error | null) => void): void {
    const fd = this.fh.fd;
    const from = (written: number): void => {
      fsWrite(fd, data, written, data.length - written, position + written, (err, bytesWritten) => {
        if (err !== null) done(err);
        else if (written + bytesWritten < data.length) from(written + bytesWritten);
        else done(null);
      });
    };
    from(0);
  }

  sync(): Promise<void> {
    return this.fh.datasync();
  }

  truncate(length: number): Promise<void> {
    return this.fh.truncate(length);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

class NodeReadHandle implements ReadHandle {
  constructor(private readonly fh: NodeHandle) {}

  async read(into: Buffer, position: number): Promise<number> {
    return (await this.fh.read(into, 0, into.length, position)).bytesRead;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

export const nodeFileSystem: FileSystem = {
  canSyncWrites: true,
  create: async (path, options) => {
    if (options?.syncWrites === true) {
      const { O_WRONLY, O_CREAT, O_TRUNC, O_DSYNC } = constants;
      try {
        return new NodeFileHandle(await open(path, O_WRONLY | O_CREAT | O_TRUNC | O_DSYNC, 0o666), true);
      } catch (e) {
        // A file system that refuses O_DSYNC: a plain file, whose writes the caller fsyncs.
        if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
      }
    }
    return new NodeFileHandle(await open(path, 'w'));
  },
  openExisting: async (path) => new NodeFileHandle(await open(path, 'r+')),
  readFile: (path) => readFile(path),
  openRead: async (path) => new NodeReadHandle(await open(path, 'r')),
  size: async (path) => (await stat(path)).size,
  list: async (dir) => {
    try {
      return await readdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  },
  mkdirp: async (dir) => {
    const first = await mkdir(dir, { recursive: true });
    if (first === undefined) return;
    // A new directory's name is durable only once its parent is fsynced: without this a power
    // cut could take version-2 away, with every synced log and snapshot in it.
    const top = path.resolve(first);
    for (let created = path.resolve(dir); ; created = path.dirname(created)) {
      await syncDirectory(path.dirname(created));
      if (created === top) return;
    }
  },
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  syncDir: (dir) => syncDirectory(dir),
};

async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
