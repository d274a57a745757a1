/** Always-on invariant check: a failure is a bug in ZephyrCoord, so it crashes loudly. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

/**
 * A message that needs formatting (zxids in hex, say) is passed as a function, so the hot paths
 * that assert on every txn do not build a string each time the check passes.
 */
export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new AssertionError(typeof message === 'string' ? message : message());
}
