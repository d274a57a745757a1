import { readFileSync } from 'node:fs';

/**
 * A small text file that may be absent, such as dataDir/myid: undefined when no regular file is
 * there (ZooKeeper treats a directory in its place as no file too); other failures are thrown.
 */
export function readOptionalTextFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}
