/** A synchronous driver's side of the server's Outbox, for in-process clients of tests and simulations. */
import type { Outbox } from '../../src/server/types.js';

/** Takes the frames an outbox holds, each without its length prefix (copies: the outbox reuses its buffer). */
export function takeFrames(outbox: Outbox): Buffer[] {
  const bytes = Buffer.from(outbox.take());
  outbox.reuse();
  const frames: Buffer[] = [];
  for (let at = 0; at < bytes.length;) {
    const length = bytes.readInt32BE(at);
    if (length < 0 || at + 4 + length > bytes.length)
      throw new Error(`a frame of ${length} bytes at ${at} runs past the ${bytes.length} taken`);
    frames.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return frames;
}
