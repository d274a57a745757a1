/**
 * Quota bookkeeping in the tree: ZooKeeper 3.8.0's StatsTrack text, PathTrie matching and the
 * DataTree's stats updates. Expected values were measured against Apache ZooKeeper 3.8.0
 * where noted.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { OpCode } from '../../../src/codec/index.js';
import {
  QuotaRoots,
  formatStatsTrack,
  javaParseLong,
  parseStatsTrack,
  quotaStatsPath,
  type QuotaProblem,
  type StatsTrack,
} from '../../../src/tree/index.js';
import { Fixture, create, del, delContainer, multi, setData, S2 } from '../prep/helpers.js';

const B = (s: string): Buffer => Buffer.from(s, 'latin1');

function track(text: string): Record<string, string> | null {
  const stats = parseStatsTrack(text);
  return stats === null ? null : Object.fromEntries([...stats].map(([k, v]) => [k, v.toString()]));
}

describe('StatsTrack text', () => {
  test('what setquota writes parses and prints back unchanged', () => {
    for (const text of ['count=0,bytes=0', 'count=10,bytes=-1=;byteHardLimit=-1;countHardLimit=-1', 'count=-1,bytes=5=;byteHardLimit=7']) {
      const stats = parseStatsTrack(text);
      assert.ok(stats !== null);
      assert.equal(formatStatsTrack(stats), text);
    }
  });

  test('count and bytes come first, the other keys sorted after an extra "="; missing values print -1', () => {
    const stats: StatsTrack = new Map([
      ['zeta', 1n],
      ['countHardLimit', 3n],
      ['Alpha', 2n],
    ]);
    assert.equal(formatStatsTrack(stats), 'count=-1,bytes=-1=;Alpha=2;countHardLimit=3;zeta=1');
    assert.equal(formatStatsTrack(new Map()), 'count=-1,bytes=-1');
  });

  test('separators, empty values and repeated keys as ZooKeeper reads them', () => {
    assert.deepEqual(track(''), {});
    assert.deepEqual(track(',,;'), {});
    assert.deepEqual(track('count=1;;bytes=2,,'), { count: '1', bytes: '2' });
    assert.deepEqual(track('count==5'), { count: '-1' });
    assert.deepEqual(track('count=5=6'), { count: '5' });
    assert.deepEqual(track('count=1,count=2'), { count: '2' });
    // Measured on ZooKeeper 3.8.0: stats "bytes=+5,count=0007" became "count=8,bytes=8" after a 3-byte create.
    assert.deepEqual(track('bytes=+5,count=0007'), { bytes: '5', count: '7' });
  });

  test('text ZooKeeper cannot parse (its parser throws) is null', () => {
    // Each of these made ZooKeeper 3.8.0 fail: a create under the quota stopped a server
    // without enforcement, and was refused with MARSHALLINGERROR by one with enforcement.
    for (const text of [
      'count=1;zeta=5,alpha=,bytes=7',
      'count=5,bogus',
      ',;count=1',
      'count',
      '=',
      'count= 5',
      'count=5 ',
      'count=1.5',
      'count=0x10',
    ]) {
      assert.equal(parseStatsTrack(text), null, text);
    }
  });

  test("Long.parseLong's range and digits", () => {
    assert.equal(javaParseLong('9223372036854775807'), 9223372036854775807n);
    assert.equal(javaParseLong('-9223372036854775808'), -9223372036854775808n);
    assert.equal(javaParseLong('9223372036854775808'), null);
    assert.equal(javaParseLong('-'), null);
    assert.equal(javaParseLong('+'), null);
    assert.equal(javaParseLong(''), null);
    // Character.digit takes any decimal digit of the BMP (here Arabic-Indic and fullwidth)...
    assert.equal(javaParseLong('\u0663\u0660'), 30n);
    assert.equal(javaParseLong('\uff17'), 7n);
    // ...but not a digit outside it (a surrogate pair is two chars to Java).
    assert.equal(javaParseLong('\u{1d7d9}'), null);
  });
});

/** The path of the deepest root over `path`, or null. */
function rootOf(roots: QuotaRoots, path: string): string | null {
  return roots.deepestFor(path)?.path ?? null;
}

describe('quota roots (PathTrie)', () => {
  test('the deepest root on component boundaries', () => {
    const roots = new QuotaRoots();
    roots.add('/a');
    roots.add('/a/b/c');
    assert.equal(rootOf(roots, '/a'), '/a');
    assert.equal(rootOf(roots, '/a/x'), '/a');
    assert.equal(rootOf(roots, '/a/b'), '/a');
    assert.equal(rootOf(roots, '/a/b/c'), '/a/b/c');
    assert.equal(rootOf(roots, '/a/b/c/d/e'), '/a/b/c');
    assert.equal(rootOf(roots, '/ab'), null);
    assert.equal(rootOf(roots, '/'), null);
    assert.equal(rootOf(roots, '/b/a'), null);
    assert.equal(roots.size, 2);
  });

  test('blank components are skipped, on both sides (Java trim)', () => {
    const roots = new QuotaRoots();
    roots.add('/w/ ');
    assert.equal(rootOf(roots, '/w'), '/w');
    assert.equal(rootOf(roots, '/w/ /k'), '/w');
    // A root of blank components only would mark the trie's top, which matches nothing.
    roots.add('/ ');
    assert.equal(roots.size, 1);
    assert.equal(rootOf(roots, '/x'), null);
  });

  test('a lookup after a root comes or goes sees the change', () => {
    const roots = new QuotaRoots();
    assert.equal(rootOf(roots, '/a/x'), null);
    roots.add('/a');
    assert.equal(rootOf(roots, '/a/x'), '/a');
    roots.add('/a/x');
    assert.equal(rootOf(roots, '/a/x'), '/a/x');
    roots.delete('/a/x');
    assert.equal(rootOf(roots, '/a/x'), '/a');
    roots.clear();
    assert.equal(rootOf(roots, '/a/x'), null);
  });

  test('deleting a root leaves the ones around it', () => {
    const roots = new QuotaRoots();
    roots.add('/a');
    roots.add('/a/b');
    roots.delete('/a/b');
    assert.equal(rootOf(roots, '/a/b/x'), '/a');
    roots.add('/a/b');
    roots.delete('/a');
    assert.equal(rootOf(roots, '/a/x'), null);
    assert.equal(rootOf(roots, '/a/b/x'), '/a/b');
    roots.delete('/never');
    assert.equal(roots.size, 1);
  });
});

/** A fixture whose tree reports quota problems, with setquota's writes as zkCli makes them. */
class QuotaFixture extends Fixture {
  readonly problems: QuotaProblem[] = [];

  constructor(opts: { enforceQuota?: boolean } = {}) {
    super(opts);
    this.tree.onQuotaProblem = (p) => this.problems.push(p);
  }

  /** zkCli setquota: the /zookeeper/quota path, the limits node, then the stats node. */
  setQuota(root: string, limits: string): void {
    this.quotaDirs(root);
    this.ok(create(`/zookeeper/quota${root}/zookeeper_limits`, { data: B(limits) }));
    this.ok(create(`/zookeeper/quota${root}/zookeeper_stats`, { data: B('count=0,bytes=0') }));
  }

  quotaDirs(root: string): void {
    let p = '/zookeeper/quota';
    for (const part of root.split('/').slice(1)) {
      p += `/${part}`;
      if (this.tree.get(p) === undefined) this.ok(create(p, { data: null }));
    }
  }

  stats(root: string): string | null {
    const node = this.tree.get(quotaStatsPath(root));
    assert.ok(node !== undefined, `stats of ${root}`);
    return node.dataLatin1;
  }
}

describe('stats kept by the tree', () => {
  test('setquota counts the subtree as it is (root included), then every write below it', () => {
    const f = new QuotaFixture();
    f.ok(create('/app', { data: B('12') }));
    f.ok(create('/app/a', { data: B('xy') }));
    f.setQuota('/app', 'count=2,bytes=-1=;byteHardLimit=-1;countHardLimit=-1');
    // The same figures ZooKeeper 3.8.0 showed for this sequence.
    assert.equal(f.stats('/app'), 'count=2,bytes=4');
    f.ok(create('/app/b', { data: B('abc') }));
    assert.equal(f.stats('/app'), 'count=3,bytes=7');
    f.ok(setData('/app/a', -1, B('q')));
    f.ok(del('/app/b'));
    assert.equal(f.stats('/app'), 'count=2,bytes=3');
    f.ok(setData('/app/a', -1, null));
    f.ok(create('/app/n', { data: null }));
    assert.equal(f.stats('/app'), 'count=3,bytes=2');
    // Outside the root, or a name that only starts like it: not counted.
    f.ok(create('/apple', { data: B('zzz') }));
    f.ok(create('/x', { data: B('zzz') }));
    assert.equal(f.stats('/app'), 'count=3,bytes=2');
    assert.deepEqual(f.problems, []);
  });

  test("the stats node's Stat does not move when the server rewrites its data", () => {
    const f = new QuotaFixture();
    f.ok(create('/app'));
    f.setQuota('/app', 'count=100');
    const path = quotaStatsPath('/app');
    const before = f.tree.statOf(f.tree.get(path)!);
    for (let i = 0; i < 12; i++) f.ok(create(`/app/n${i}`, { data: B('0123456789') }));
    const after = f.tree.statOf(f.tree.get(path)!);
    assert.equal(f.stats('/app'), 'count=13,bytes=121');
    assert.deepEqual({ ...after, dataLength: before.dataLength }, before);
    assert.equal(after.dataLength, 'count=13,bytes=121'.length);
  });

  test('multi, session close, and container reaping are counted like any write', () => {
    const f = new QuotaFixture();
    f.ok(create('/app'));
    f.setQuota('/app', 'count=100');
    f.ok(multi(create('/app/m1', { data: B('aa') }), create('/app/m2', { data: B('bbb') }), setData('/app', -1, B('r'))));
    assert.equal(f.stats('/app'), 'count=3,bytes=6');
    // A failed multi changes nothing.
    f.run(multi(create('/app/m3', { data: B('x') }), create('/app/m1')));
    assert.equal(f.stats('/app'), 'count=3,bytes=6');
    f.ok(create('/app/e1', { data: B('eph'), flags: 1 }), S2);
    f.ok(create('/app/e2', { data: B('e'), flags: 1 }), S2);
    assert.equal(f.stats('/app'), 'count=5,bytes=10');
    f.apply(f.prep.closeSession(f.ctx(S2)));
    assert.equal(f.stats('/app'), 'count=3,bytes=6');
    f.ok(create('/app/c', { data: B('cc'), op: OpCode.createContainer, flags: 4 }));
    f.ok(create('/app/c/k', { data: null }));
    f.ok(del('/app/c/k'));
    f.ok(delContainer('/app/c'));
    assert.equal(f.stats('/app'), 'count=3,bytes=6');
  });

  test('nested roots: only the deepest counts a write; deleting its limits hands writes to the outer root', () => {
    const f = new QuotaFixture();
    f.ok(create('/n', { data: B('1') }));
    f.ok(create('/n/m', { data: B('22') }));
    f.setQuota('/n', 'count=100');
    f.setQuota('/n/m', 'count=100');
    f.ok(create('/n/m/k', { data: B('333') }));
    // As measured on ZooKeeper 3.8.0.
    assert.equal(f.stats('/n'), 'count=2,bytes=3');
    assert.equal(f.stats('/n/m'), 'count=2,bytes=5');
    f.ok(del('/zookeeper/quota/n/m/zookeeper_limits'));
    f.ok(create('/n/m/k2', { data: B('4444') }));
    assert.equal(f.stats('/n'), 'count=3,bytes=7');
    assert.equal(f.stats('/n/m'), 'count=2,bytes=5');
  });

  test('limits without stats: writes go uncounted (reported) until the stats node is created and recounts', () => {
    const f = new QuotaFixture();
    f.ok(create('/l', { data: B('1') }));
    f.quotaDirs('/l');
    f.ok(create('/zookeeper/quota/l/zookeeper_limits', { data: B('count=5') }));
    f.ok(create('/l/x', { data: B('22') }));
    assert.deepEqual(f.problems, [{ kind: 'missingStats', root: '/l', statsPath: '/zookeeper/quota/l/zookeeper_stats' }]);
    // Whatever the client writes into a new stats node is replaced by the recount.
    f.ok(create('/zookeeper/quota/l/zookeeper_stats', { data: B('garbage=1') }));
    assert.equal(f.stats('/l'), 'count=2,bytes=3');
    f.ok(create('/l/y', { data: B('333') }));
    assert.equal(f.stats('/l'), 'count=3,bytes=6');
  });

  test('stats without limits: counted once when created, then left alone until a limits node exists', () => {
    const f = new QuotaFixture();
    f.ok(create('/q', { data: B('1') }));
    f.quotaDirs('/q');
    f.ok(create('/zookeeper/quota/q/zookeeper_stats', { data: null }));
    assert.equal(f.stats('/q'), 'count=1,bytes=1');
    f.ok(create('/q/early', { data: B('55555') }));
    assert.equal(f.stats('/q'), 'count=1,bytes=1');
    f.ok(create('/zookeeper/quota/q/zookeeper_limits', { data: B('count=10,bytes=100') }));
    f.ok(create('/q/a', { data: B('22') }));
    assert.equal(f.stats('/q'), 'count=2,bytes=3');
  });

  test('stats a client rewrote: parsed as ZooKeeper parses them, other keys kept', () => {
    const f = new QuotaFixture();
    f.ok(create('/q'));
    f.setQuota('/q', 'count=10');
    f.ok(create('/q/a', { data: B('xy') }));
    assert.equal(f.stats('/q'), 'count=2,bytes=3');
    f.ok(setData('/zookeeper/quota/q/zookeeper_stats', -1, B('bytes=+5,count=0007;note=3')));
    f.ok(create('/q/b', { data: B('333') }));
    assert.equal(f.stats('/q'), 'count=8,bytes=8=;note=3');
  });

  test('unreadable stats: the write applies, the stats stay as they are, the problem is reported', () => {
    const f = new QuotaFixture();
    f.ok(create('/q'));
    f.setQuota('/q', 'count=10');
    const bad = 'count=1;zeta=5,alpha=,bytes=7';
    f.ok(setData('/zookeeper/quota/q/zookeeper_stats', -1, B(bad)));
    f.ok(create('/q/z', { data: B('1') }));
    assert.ok(f.tree.get('/q/z') !== undefined);
    assert.equal(f.stats('/q'), bad);
    assert.deepEqual(f.problems, [{ kind: 'unreadableStats', root: '/q', statsPath: '/zookeeper/quota/q/zookeeper_stats' }]);
  });

  test('a quota on /zookeeper counts writes under /zookeeper, quota nodes included (as ZooKeeper 3.8.0 does)', () => {
    const f = new QuotaFixture();
    f.setQuota('/zookeeper', 'count=1000');
    // The recount as the stats node is created finds /zookeeper, quota, config, quota/zookeeper
    // and its limits (10 bytes) and stats (15 bytes) nodes; then the stats node's own create
    // is counted once more, being under the root.
    assert.equal(f.stats('/zookeeper'), 'count=7,bytes=40');
    f.ok(create('/zookeeper/quota/foo', { data: B('abcd') }));
    f.ok(create('/zookeeper/foo', { data: B('abcd') }));
    assert.equal(f.stats('/zookeeper'), 'count=9,bytes=48');
  });

  test("stats updates leave the approximate data size alone, as ZooKeeper's nodeDataSize", () => {
    const f = new QuotaFixture();
    f.ok(create('/app', { data: B('1') }));
    f.setQuota('/app', 'count=10');
    const size = f.tree.approximateDataSize;
    f.ok(setData('/app', -1, Buffer.alloc(1000)));
    assert.equal(f.stats('/app'), 'count=1,bytes=1000');
    assert.equal(f.tree.approximateDataSize, size + 999);
  });
});
