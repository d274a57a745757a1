/** The only place that touches clocks, hashing and the process environment for the server. */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../server/types.js';

/** Read once: `performance.timeOrigin` is a getter that costs as much as the clock read itself. */
const timeOrigin = performance.timeOrigin;

export const systemClock: Clock = {
  wallMs: () => Date.now(),
  monoMs: () => timeOrigin + performance.now(),
};

export function sha1Base64(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('base64');
}
export { collectGarbage } from './collect-garbage.js';
export { readOptionalTextFile } from './read-optional-file.js';
export { EventLoopPacer } from './slice-pacer.js';
export { randomInt, dirBytes, openFileDescriptors } from './host.js';
export { ConfigFiles, NEXT_SUFFIX } from './config-files.js';
