/**
 * SessionTracker (src/session/tracker.ts): the expiry tick ZkServer.tick runs every tickTime,
 * and the touch every request makes (ZkServer.onFrame). The clock is simulated: each tick op
 * advances it by one tickTime, so the op is exactly what the server's timer does.
 */
import { SessionTracker } from '../../src/session/index.js';
import { sink, type MicroCase, type Suite } from './case.js';

const TICK_MS = 2000;
const TIMEOUT_MS = 30000;
/** Sessions that never expire during the run: the table the tick works beside. */
const FOREVER_MS = 1e12;

function tickCase(sessions: number, expiring: number): MicroCase {
  const tracker = new SessionTracker(TICK_MS, 0, 1);
  for (let i = 0; i < sessions; i++) tracker.add(tracker.newSessionId(), FOREVER_MS, 0);
  let now = 0;
  let doomed: bigint[] = [];
  return {
    name: `expiry tick: ${sessions.toLocaleString('en-US')} sessions, ${expiring} expire per tick`,
    prepare(n) {
      // `expiring` new sessions whose deadline bucket is each of the next n ticks.
      doomed = [];
      for (let j = 1; j <= n; j++) {
        for (let k = 0; k < expiring; k++) {
          const id = tracker.newSessionId();
          tracker.add(id, j * TICK_MS - 1, now);
          doomed.push(id);
        }
      }
    },
    run(n) {
      for (let j = 1; j <= n; j++) sink.value = tracker.expire(now + j * TICK_MS);
      now += n * TICK_MS;
    },
    cleanup() {
      // What the server does once their closeSession txns are applied.
      for (const id of doomed) tracker.remove(id);
    },
  };
}

/**
 * Touches of N live sessions in turn. With `moving`, the clock advances one tick per round,
 * so every touch moves its session to a new deadline bucket; without, every touch lands in
 * the bucket it has (requests within one tick) and returns early.
 */
function touchCase(sessions: number, moving: boolean): MicroCase {
  const tracker = new SessionTracker(TICK_MS, 0, 1);
  const ids: bigint[] = [];
  for (let i = 0; i < sessions; i++) {
    const id = tracker.newSessionId();
    tracker.add(id, TIMEOUT_MS, 0);
    ids.push(id);
  }
  let now = moving ? TICK_MS : 0;
  let next = 0;
  return {
    name: moving ? 'touch (deadline moves to a new bucket)' : 'touch (same bucket)',
    run(n) {
      for (let j = 0; j < n; j++) {
        sink.value = tracker.touch(ids[next]!, now);
        if (++next === sessions) {
          next = 0;
          if (moving) now += TICK_MS;
        }
      }
    },
    cleanup() {
      // The server's tick drops the emptied buckets behind the clock.
      if (moving) sink.value = tracker.expire(now - TICK_MS);
    },
  };
}

export function sessionSuite(sessions: number): Suite {
  return {
    name: 'session',
    source: `src/session/tracker.ts (${sessions.toLocaleString('en-US')} live sessions, tickTime ${TICK_MS} ms)`,
    cases: [tickCase(sessions, 5), touchCase(sessions, true), touchCase(sessions, false)],
  };
}
