import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { javaReaperOrder, type ReaperCandidate } from '../../../src/base/index.js';

/**
 * Expected orders were printed by OpenJDK 17 running ZooKeeper's pass over the same sets with
 * the JDK's own collections: each set a `Collections.newSetFromMap(new ConcurrentHashMap<>())`
 * filled (and emptied) in the order below; then
 *   Set<String> result = new HashSet<>();
 *   for (String p : new HashSet<>(containers)) if (candidate(p)) result.add(p);
 *   for (String p : new HashSet<>(ttls)) if (candidate(p)) result.add(p);
 *   System.out.println(String.join(",", result));
 */
interface Scenario {
  containers: string[];
  removedContainers: string[];
  ttls: string[];
  removedTtls: string[];
  candidate: (path: string) => boolean;
  java: string;
}

function names(n: number, name: (i: number) => string): string[] {
  return Array.from({ length: n }, (_, i) => name(i));
}

/** Runs `s` through sets kept as the tree keeps them (insertion-ordered, with a high-water mark). */
function order(s: Scenario): string[] {
  const fill = (added: string[], removed: string[]): { set: Set<string>; highWater: number } => {
    const set = new Set(added);
    const highWater = set.size;
    for (const p of removed) set.delete(p);
    return { set, highWater };
  };
  const sets = [fill(s.containers, s.removedContainers), fill(s.ttls, s.removedTtls)] as const;
  const candidates: ReaperCandidate[] = [];
  sets.forEach(({ set }, kind) => {
    let insertedAt = 0;
    for (const path of set) {
      insertedAt++;
      if (s.candidate(path)) candidates.push({ path, kind: kind === 0 ? 0 : 1, insertedAt });
    }
  });
  return javaReaperOrder(candidates, [
    { size: sets[0].set.size, highWater: sets[0].highWater },
    { size: sets[1].set.size, highWater: sets[1].highWater },
  ]);
}

describe("javaReaperOrder (ZooKeeper's container reaper deletes in hash-set order)", () => {
  test('a few containers and TTL nodes, all candidates', () => {
    const s: Scenario = {
      containers: names(5, (i) => `/app/c${i}`),
      removedContainers: [],
      ttls: names(4, (i) => `/app/t${i}`),
      removedTtls: [],
      candidate: () => true,
      java: '/app/t0,/app/c0,/app/t1,/app/c1,/app/t2,/app/c2,/app/t3,/app/c3,/app/c4',
    };
    assert.deepEqual(order(s), s.java.split(','));
  });

  test('maps that grew and shrank again: tables sized by the most entries they held', () => {
    const containers = names(40, (i) => `/q/lock-${String(i).padStart(3, '0')}`);
    const ttls = names(20, (i) => `/ttl/n${i}/x`);
    const removed = containers.slice(5, 30);
    const chosen = new Set([...containers.filter((_, i) => i % 3 === 0), ...ttls.filter((_, i) => i % 2 === 0)]);
    for (const p of removed) chosen.delete(p);
    const s: Scenario = {
      containers,
      removedContainers: removed,
      ttls,
      removedTtls: [],
      candidate: (p) => chosen.has(p),
      java: '/ttl/n4/x,/ttl/n0/x,/ttl/n6/x,/ttl/n10/x,/ttl/n8/x,/ttl/n12/x,/q/lock-033,/q/lock-000,/ttl/n14/x,/ttl/n16/x,/q/lock-030,/ttl/n18/x,/q/lock-036,/q/lock-003,/q/lock-039,/ttl/n2/x',
    };
    assert.deepEqual(order(s), s.java.split(','));
  });

  test('many candidates sharing buckets', () => {
    const containers = names(200, (i) => `/d-${i}/r`);
    const ttls = names(13, (i) => `/d-${i}/t`);
    const chosen = new Set([...containers.filter((_, i) => i % 7 === 0), ...ttls]);
    const s: Scenario = {
      containers,
      removedContainers: [],
      ttls,
      removedTtls: ['/d-0/t'],
      candidate: (p) => chosen.has(p),
      java: '/d-56/r,/d-189/r,/d-168/r,/d-140/r,/d-147/r,/d-14/r,/d-98/r,/d-12/t,/d-77/r,/d-35/r,/d-10/t,/d-11/t,/d-70/r,/d-182/r,/d-161/r,/d-91/r,/d-0/r,/d-1/t,/d-2/t,/d-28/r,/d-49/r,/d-119/r,/d-154/r,/d-21/r,/d-112/r,/d-196/r,/d-63/r,/d-42/r,/d-175/r,/d-133/r,/d-7/r,/d-5/t,/d-6/t,/d-84/r,/d-3/t,/d-4/t,/d-9/t,/d-7/t,/d-8/t,/d-105/r,/d-126/r',
    };
    assert.deepEqual(order(s), s.java.split(','));
  });

  test('few candidates from a map that once held many: copy and map tables of different sizes', () => {
    const containers = names(400, (i) => `/w/${i}`);
    const s: Scenario = {
      containers,
      removedContainers: containers.slice(0, 340),
      ttls: [],
      removedTtls: [],
      candidate: (p) => Number(p.slice(3)) >= 340 && Number(p.slice(3)) % 5 === 0,
      java: '/w/360,/w/350,/w/380,/w/370,/w/390,/w/355,/w/345,/w/375,/w/365,/w/340,/w/395,/w/385',
    };
    assert.deepEqual(order(s), s.java.split(','));
  });
});
