/**
 * WatchManager (src/watch/manager.ts): the events one setData fires when W connections hold a
 * one-shot data watch on the node (getData with watch=true, the common case). Triggering
 * consumes one-shot watches, so the untimed prepare step arms them again for every op; each
 * op of a sample uses its own path. Figures are per trigger (all W events).
 */
import { OPEN_ACL_UNSAFE, type TreeChange } from '../../src/tree/index.js';
import { WatchManager } from '../../src/watch/index.js';
import { sink, type MicroCase, type Suite } from './case.js';

function fanOutCase(watchers: number): MicroCase {
  const manager = new WatchManager();
  /** One change list per path, as ZkServer.commit hands DataTree's changes over. */
  const changeLists: TreeChange[][] = [];
  const pathOf = (j: number): string => `/watched/node${j}`;
  return {
    name: `data change with ${watchers} watcher${watchers === 1 ? '' : 's'}`,
    // Arming W watches per op is the untimed cost here: keep samples small at W = 100.
    maxAllocCalls: Math.max(100, Math.floor(20000 / watchers)),
    prepare(n) {
      for (let j = changeLists.length; j < n; j++) {
        changeLists.push([{ kind: 'dataChanged', path: pathOf(j), acl: OPEN_ACL_UNSAFE, parentAcl: [] }]);
      }
      for (let j = 0; j < n; j++) {
        const path = pathOf(j);
        // Connection ids start at 1, as ClientListener numbers them.
        for (let w = 1; w <= watchers; w++) manager.addDataWatch(path, w);
      }
    },
    run(n) {
      for (let j = 0; j < n; j++) sink.value = manager.eventsFor(changeLists[j]!);
    },
  };
}

export function watchSuite(): Suite {
  return {
    name: 'watch',
    source: 'src/watch/manager.ts (WatchManager.eventsFor, one-shot data watches)',
    cases: [fanOutCase(1), fanOutCase(10), fanOutCase(100)],
  };
}
