/** Always-on invariant check: a failure is a bug in ZephyrCoord, so it crashes loudly. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
