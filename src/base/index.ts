export { assert, AssertionError } from './assert.js';
export * from './limits.js';
export { JavaRandom, sessionPassword } from './java-random.js';
export { SeededRandom } from './prng.js';

/** A zxid: epoch * 2^32 + counter, exact as a number while epoch < 2^21. */
export type Zxid = number;
/** How many zxids one epoch spans (its counter's range). */
export const ZXID_COUNTER_SPAN = 2 ** 32;
/** The largest epoch whose zxids (epoch * 2^32 + counter) are exact as numbers. */
export const EPOCH_MAX = 2 ** 21 - 1;

export function epochOfZxid(zxid: Zxid): number {
  return Math.floor(zxid / ZXID_COUNTER_SPAN);
}
/** A 64-bit session id (ZooKeeper uses all 64 bits). */
export type SessionId = bigint;
export {
  javaStringHash,
  javaHashCapacity,
  javaHashIndex,
  javaHashSetOrder,
  javaClosingSetOrder,
  javaConcurrentHashMapCapacity,
  javaHashSetCopyCapacity,
  javaReaperOrder,
  type ReaperCandidate,
  type ReaperSetSize,
} from './java-hash-order.js';
export { adler32 } from './adler32.js';
export { ReleasingMap } from './releasing-map.js';
