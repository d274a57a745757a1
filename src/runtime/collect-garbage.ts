/**
 * One full garbage collection, on demand. Used once after recovery: loading a snapshot leaves
 * the file's bytes (hundreds of MiB for millions of znodes) and the parser's garbage behind,
 * and an idle server would otherwise hold that memory until some later collection.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Runs a full collection; false if this runtime offers no way to ask for one. */
export function collectGarbage(): boolean {
  // V8 only hands out its gc function to contexts created while --expose-gc is set.
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  setFlagsFromString('--no-expose-gc');
  if (typeof gc !== 'function') return false;
  (gc as () => void)();
  return true;
}
