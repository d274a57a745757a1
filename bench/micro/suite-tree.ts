/**
 * DataTree (src/tree/datatree.ts) at a given size: reads as ZkServer.read does them, writes
 * through applyTxn as ZkServer.commit applies them. Txns and headers are built in the untimed
 * prepare step (prep's work, not the tree's); paths are fresh strings as decoded from a
 * request (their hash is computed by the lookup, as in the server); the changes list is one
 * reused array (ZkServer.commit allocates its own per txn).
 */
import { OpCode, type Txn, type TxnHeader } from '../../src/codec/index.js';
import { Lazy, sink, type MicroCase, type Suite, type Target } from './case.js';
import { PathSource } from './fixtures.js';
import { TEN_CHILDREN, TreeFixture, valueOf } from './tree-fixture.js';
import { SeededRandom } from '../../src/base/index.js';

export function sizeLabel(n: number): string {
  const e = Math.log10(n);
  return Number.isInteger(e) ? `10^${e}` : n.toLocaleString('en-US');
}

/** Pre-hashed lookup strings: enough that cycling through them misses the caches like random lookups. */
const HASHED_POOL = 1 << 17;
/** ...or few enough that they and their nodes stay in the CPU caches. */
const HOT_POOL = 1024;

interface Batch {
  headers: TxnHeader[];
  txns: Txn[];
}

export function treeSuite(nodes: number, getTarget: Target | undefined): Suite {
  const fixture = new Lazy(() => new TreeFixture(nodes));
  const rnd = new SeededRandom(nodes);
  let paths: string[] = [];
  let batch: Batch = { headers: [], txns: [] };
  // Names for the nodes create and delete samples add, spread over the directories. Every
  // sample takes new ones: re-creating the names the previous sample deleted would measure
  // V8's hash tables at their worst (a deleted entry stays in its bucket's chain until the
  // table is rebuilt, so one name created and deleted over and over makes a long chain).
  let serial = 0;
  let first = 0;
  const fresh = new Lazy(() => {
    const f = fixture.get();
    return new PathSource((i) => `${f.dirs[i % f.dirs.length] ?? ''}/fresh${i}`);
  });
  const tenChildren = new PathSource(() => TEN_CHILDREN);
  const bareMap = new Lazy(() => {
    const map = new Map<string, number>();
    let i = 0;
    for (const path of fixture.get().tree.paths()) map.set(path, i++);
    return map;
  });

  /** `n` fresh strings of uniformly random existing leaves (no hot set: caches miss as they would). */
  const prepareLookups = (n: number): void => {
    const f = fixture.get();
    paths = new Array<string>(n);
    for (let j = 0; j < n; j++) paths[j] = f.leaves.fresh(rnd.int(f.leafCount));
  };

  /** Headers and txns for `n` ops of one kind, built untimed. */
  const prepareTxns = (n: number, make: (j: number) => Txn): void => {
    const f = fixture.get();
    const headers = new Array<TxnHeader>(n);
    const txns = new Array<Txn>(n);
    for (let j = 0; j < n; j++) {
      const txn = make(j);
      txns[j] = txn;
      headers[j] = f.header(txn.type);
    }
    batch = { headers, txns };
  };

  /** The timed part of every write case: applyTxn of the prepared batch. */
  const applyBatch = (n: number): void => {
    const f = fixture.get();
    const { headers, txns } = batch;
    const changes = f.changes;
    for (let j = 0; j < n; j++) {
      sink.value = f.tree.applyTxn(headers[j]!, txns[j]!, changes);
      changes.length = 0;
    }
  };

  /** Gets cycling through `size` random leaves whose strings were hashed by an earlier lookup. */
  const pools: Array<Lazy<string[]>> = [];
  const hashedGet = (name: string, size: number): MicroCase => {
    const pool = new Lazy(() => {
      const f = fixture.get();
      const paths = Array.from({ length: Math.min(f.leafCount, size) }, () => f.leaves.fresh(rnd.int(f.leafCount)));
      for (const p of paths) sink.value = f.tree.get(p); // computes and caches each string's hash
      return paths;
    });
    pools.push(pool);
    let at = 0;
    return {
      name,
      prepare() {
        pool.get();
      },
      run(n) {
        const tree = fixture.get().tree;
        const paths = pool.get();
        for (let j = 0; j < n; j++) {
          sink.value = tree.get(paths[at]!);
          if (++at === paths.length) at = 0;
        }
      },
    };
  };

  const cases: MicroCase[] = [
    {
      name: 'get (random path, fresh string)',
      ...(getTarget === undefined ? {} : { target: getTarget }),
      prepare: prepareLookups,
      run(n) {
        const tree = fixture.get().tree;
        for (let j = 0; j < n; j++) sink.value = tree.get(paths[j]!);
      },
    },
    {
      // The platform's floor for the case above: the same lookups in a bare Map<string, number>
      // holding the tree's own path strings, with no node view and no tree around it.
      name: 'baseline: Map.get, same keys, no tree',
      prepare: prepareLookups,
      run(n) {
        const map = bareMap.get();
        for (let j = 0; j < n; j++) sink.value = map.get(paths[j]!);
      },
    },
    // Lookups of random leaves as above, with strings whose hash V8 has already computed:
    // the difference is what hashing a freshly decoded path costs (both miss the caches alike).
    hashedGet('get (random path, already hashed)', HASHED_POOL),
    // A small hot set: everything stays in the CPU caches, the usual microbenchmark setting.
    hashedGet('get (1024 hot paths, already hashed)', HOT_POOL),
    {
      name: 'getChildren (10 children): get + copy names',
      prepare(n) {
        paths = new Array<string>(n);
        for (let j = 0; j < n; j++) paths[j] = tenChildren.fresh(0);
      },
      run(n) {
        // DataTree has no getChildren: ZkServer.read looks the node up and copies its child set.
        const tree = fixture.get().tree;
        for (let j = 0; j < n; j++) {
          const node = tree.get(paths[j]!);
          if (node !== undefined) sink.value = node.childNames();
        }
      },
    },
    {
      name: 'create (applyTxn, 100 B)',
      target: { ns: 1000, label: `Tree create <= 1 us at ${sizeLabel(nodes)}` },
      prepare(n) {
        const f = fixture.get();
        const names = fresh.get();
        first = serial;
        serial += n;
        prepareTxns(n, (j) => f.createTxn(names.fresh(first + j), valueOf(j)));
      },
      run: applyBatch,
      cleanup(n) {
        const f = fixture.get();
        const names = fresh.get();
        for (let j = 0; j < n; j++) f.apply({ type: OpCode.delete, path: names.fresh(first + j) });
      },
    },
    {
      name: 'delete (applyTxn)',
      prepare(n) {
        const f = fixture.get();
        const names = fresh.get();
        first = serial;
        serial += n;
        for (let j = 0; j < n; j++) f.apply(f.createTxn(names.fresh(first + j), valueOf(j)));
        prepareTxns(n, (j) => ({ type: OpCode.delete, path: names.fresh(first + j) }));
      },
      run: applyBatch,
    },
    {
      name: 'setData (applyTxn, 100 B)',
      prepare(n) {
        prepareLookups(n);
        prepareTxns(n, (j) => ({ type: OpCode.setData, path: paths[j]!, data: valueOf(j), version: 1 }));
      },
      run: applyBatch,
    },
  ];

  return {
    name: `tree ${sizeLabel(nodes)}`,
    source: `src/tree/datatree.ts, ${nodes.toLocaleString('en-US')} nodes`,
    cases,
    setup() {
      fixture.get();
    },
    teardown() {
      fixture.clear();
      fresh.clear();
      bareMap.clear();
      paths = [];
      for (const pool of pools) pool.clear();
      batch = { headers: [], txns: [] };
    },
  };
}
