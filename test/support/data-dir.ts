/**
 * A server's dataDir as the fault and durability suites see it: one directory kept across many
 * server processes (kill -9, power cuts, damaged files), and the logs and snapshots in it.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { startServer, type ServerProcess, type StartOptions } from './server-process.js';

/** Starts the real server on an existing dataDir (kept across restarts; startServer's own temp dir is not). */
export function startOn(
  dataDir: string,
  config: Record<string, string | null> = {},
  extra: Omit<StartOptions, 'config'> = {},
): Promise<ServerProcess> {
  return startServer({ ...extra, config: { dataDir, ...config } });
}

export function versionDir(dataDir: string): string {
  return path.join(dataDir, 'version-2');
}

export interface DataFile {
  name: string;
  zxid: number;
  path: string;
}

function filesOf(dir: string, prefix: 'log' | 'snapshot'): DataFile[] {
  if (!existsSync(dir)) return [];
  const re = new RegExp(`^${prefix}\\.([0-9a-f]+)$`);
  const out: DataFile[] = [];
  for (const name of readdirSync(dir)) {
    const m = re.exec(name);
    if (m?.[1] !== undefined) out.push({ name, zxid: parseInt(m[1], 16), path: path.join(dir, name) });
  }
  return out.sort((a, b) => a.zxid - b.zxid);
}

/** log.<hex> files, oldest first. */
export function logFiles(dataDir: string): DataFile[] {
  return filesOf(versionDir(dataDir), 'log');
}

/** snapshot.<hex> files, oldest first. */
export function snapshotFiles(dataDir: string): DataFile[] {
  return filesOf(versionDir(dataDir), 'snapshot');
}

/** What version-2 holds, for failure messages (also when it is missing or unreadable). */
export function describeDataDir(dataDir: string): string {
  try {
    return readdirSync(versionDir(dataDir)).join(' ') || '(an empty version-2)';
  } catch (e) {
    return `nothing readable (${(e as Error).message})`;
  }
}
