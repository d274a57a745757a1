/** The only place that touches clocks, hashing and the process environment for the server. */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../server/types.js';

export const systemClock: Clock = {
  wallMs: () => Date.now(),
  monoMs: () => performance.timeOrigin + performance.now(),
};

export function sha1Base64(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('base64');
}
export { collectGarbage } from './collect-garbage.js';
