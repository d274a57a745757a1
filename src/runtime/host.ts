/**
 * What a server takes from its host: the clock, randomness, the disk and a few facts about
 * the process. The real ones live here; a simulation passes its own (`ServerEnvironment`).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Random integer in [0, n). */
export function randomInt(n: number): number {
  return Math.floor(Math.random() * n);
}

/** Bytes in the files directly under `dir` (0 if it cannot be listed). */
export function dirBytes(dir: string): number {
  let total = 0;
  try {
    for (const name of readdirSync(dir)) {
      try {
        total += statSync(path.join(dir, name)).size;
      } catch {
        // vanished while listing
      }
    }
  } catch {
    return 0;
  }
  return total;
}

/** Open file descriptors of this process (0 where /proc is not available). */
export function openFileDescriptors(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}
