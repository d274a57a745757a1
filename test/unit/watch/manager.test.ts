import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { EventType } from '../../../src/codec/index.js';
import { OPEN_ACL_UNSAFE, type TreeChange } from '../../../src/tree/index.js';
import { WatchManager, WatchMode, type WatchEvent } from '../../../src/watch/index.js';

const ACL = OPEN_ACL_UNSAFE;
const created = (path: string): TreeChange => ({ kind: 'created', path, acl: ACL, parentAcl: ACL });
const deleted = (path: string): TreeChange => ({ kind: 'deleted', path, acl: ACL, parentAcl: ACL });
const changed = (path: string): TreeChange => ({ kind: 'dataChanged', path, acl: ACL, parentAcl: [] });
const ev = (watcher: number, type: number, path: string): WatchEvent => ({ watcher, type, path, acl: ACL });

/** Events sorted for order-insensitive comparison within one batch. */
function sorted(events: WatchEvent[]): WatchEvent[] {
  return [...events].sort((a, b) => a.watcher - b.watcher || a.type - b.type || a.path.localeCompare(b.path));
}

describe('one-shot data watches', () => {
  test('NodeDataChanged fires once', () => {
    const w = new WatchManager();
    w.addDataWatch('/a', 1);
    assert.deepEqual(w.eventsFor([changed('/a')]), [ev(1, EventType.NodeDataChanged, '/a')]);
    assert.deepEqual(w.eventsFor([changed('/a')]), []);
    assert.equal(w.watchCount, 0);
  });

  test('NodeDeleted fires on the watched node', () => {
    const w = new WatchManager();
    w.addDataWatch('/a', 1);
    assert.deepEqual(w.eventsFor([deleted('/a')]), [ev(1, EventType.NodeDeleted, '/a')]);
    assert.deepEqual(w.eventsFor([deleted('/a')]), []);
  });

  test('NodeCreated fires for an exists watch on a missing node', () => {
    const w = new WatchManager();
    w.addDataWatch('/new', 7);
    assert.deepEqual(w.eventsFor([created('/new')]), [ev(7, EventType.NodeCreated, '/new')]);
    assert.equal(w.data.has('/new', 7), false);
  });

  test('each watcher hears once per path even if it registered twice', () => {
    const w = new WatchManager();
    w.addDataWatch('/a', 1);
    w.addDataWatch('/a', 1);
    w.addDataWatch('/a', 2);
    assert.equal(w.watchCount, 2);
    assert.deepEqual(sorted(w.eventsFor([changed('/a')])), [
      ev(1, EventType.NodeDataChanged, '/a'),
      ev(2, EventType.NodeDataChanged, '/a'),
    ]);
  });

  test('watches on other paths do not fire', () => {
    const w = new WatchManager();
    w.addDataWatch('/a', 1);
    assert.deepEqual(w.eventsFor([changed('/b'), created('/a/x'), deleted('/ab')]), []);
    assert.equal(w.data.has('/a', 1), true);
  });
});

describe('one-shot child watches', () => {
  test('NodeChildrenChanged fires on the parent for child create and delete', () => {
    const w = new WatchManager();
    w.addChildWatch('/p', 1);
    assert.deepEqual(w.eventsFor([created('/p/c')]), [ev(1, EventType.NodeChildrenChanged, '/p')]);
    w.addChildWatch('/p', 1);
    assert.deepEqual(w.eventsFor([deleted('/p/c')]), [ev(1, EventType.NodeChildrenChanged, '/p')]);
    assert.deepEqual(w.eventsFor([created('/p/d')]), []);
  });

  test('grandchildren and data changes do not fire a child watch', () => {
    const w = new WatchManager();
    w.addChildWatch('/p', 1);
    assert.deepEqual(w.eventsFor([created('/p/c/g'), changed('/p'), changed('/p/c')]), []);
    assert.equal(w.child.has('/p', 1), true);
  });

  test('a child watch on a deleted node fires NodeDeleted', () => {
    const w = new WatchManager();
    w.addChildWatch('/p', 1);
    assert.deepEqual(w.eventsFor([deleted('/p')]), [ev(1, EventType.NodeDeleted, '/p')]);
    assert.equal(w.watchCount, 0);
  });

  test('children of "/" report "/" as the parent', () => {
    const w = new WatchManager();
    w.addChildWatch('/', 3);
    assert.deepEqual(w.eventsFor([created('/top')]), [ev(3, EventType.NodeChildrenChanged, '/')]);
  });
});

describe('data + child watch on a deleted node', () => {
  test('the same watcher gets one NodeDeleted; other watchers get theirs', () => {
    const w = new WatchManager();
    w.addDataWatch('/a', 1);
    w.addChildWatch('/a', 1);
    w.addChildWatch('/a', 2);
    w.addChildWatch('/', 3);
    const events = w.eventsFor([deleted('/a')]);
    assert.deepEqual(events, [
      ev(1, EventType.NodeDeleted, '/a'),
      ev(2, EventType.NodeDeleted, '/a'),
      ev(3, EventType.NodeChildrenChanged, '/'),
    ]);
    assert.equal(w.watchCount, 0);
  });
});

describe('persistent watches', () => {
  test('stay armed and hear data, delete, create and child changes', () => {
    const w = new WatchManager();
    w.addPersistentWatch('/a', 1, false);
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(w.eventsFor([changed('/a')]), [ev(1, EventType.NodeDataChanged, '/a')]);
    }
    assert.deepEqual(w.eventsFor([created('/a/c')]), [ev(1, EventType.NodeChildrenChanged, '/a')]);
    assert.deepEqual(w.eventsFor([deleted('/a/c')]), [ev(1, EventType.NodeChildrenChanged, '/a')]);
    // deleted: one NodeDeleted, not one per table
    assert.deepEqual(w.eventsFor([deleted('/a')]), [ev(1, EventType.NodeDeleted, '/a')]);
    assert.deepEqual(w.eventsFor([created('/a')]), [ev(1, EventType.NodeCreated, '/a')]);
    assert.equal(w.watchCount, 2); // one entry in each table
  });

  test("a non-recursive persistent watch ignores grandchildren and descendants' data", () => {
    const w = new WatchManager();
    w.addPersistentWatch('/a', 1, false);
    assert.deepEqual(w.eventsFor([created('/a/b/c'), changed('/a/b')]), []);
  });

  test('a one-shot and a persistent watch on the same path: the one-shot is consumed, the persistent stays', () => {
    const w = new WatchManager();
    w.addDataWatch('/a', 1);
    w.addPersistentWatch('/a', 1, false);
    assert.deepEqual(w.eventsFor([changed('/a')]), [ev(1, EventType.NodeDataChanged, '/a')]);
    assert.deepEqual(w.eventsFor([changed('/a')]), [ev(1, EventType.NodeDataChanged, '/a')]);
    assert.equal(w.data.has('/a', 1), true);
  });
});

describe('persistent-recursive watches', () => {
  test('fire for every descendant but never NodeChildrenChanged', () => {
    const w = new WatchManager();
    w.addPersistentWatch('/r', 1, true);
    assert.deepEqual(w.eventsFor([created('/r/a')]), [ev(1, EventType.NodeCreated, '/r/a')]);
    assert.deepEqual(w.eventsFor([created('/r/a/b')]), [ev(1, EventType.NodeCreated, '/r/a/b')]);
    assert.deepEqual(w.eventsFor([changed('/r/a/b')]), [ev(1, EventType.NodeDataChanged, '/r/a/b')]);
    assert.deepEqual(w.eventsFor([deleted('/r/a/b')]), [ev(1, EventType.NodeDeleted, '/r/a/b')]);
    assert.deepEqual(w.eventsFor([changed('/r')]), [ev(1, EventType.NodeDataChanged, '/r')]);
    assert.deepEqual(w.eventsFor([deleted('/r')]), [ev(1, EventType.NodeDeleted, '/r')]);
    assert.deepEqual(w.eventsFor([created('/r')]), [ev(1, EventType.NodeCreated, '/r')]);
    // still armed
    assert.deepEqual(w.eventsFor([changed('/r/x')]), [ev(1, EventType.NodeDataChanged, '/r/x')]);
    assert.ok(w.eventsFor([created('/r/a'), deleted('/r/a')]).every((e) => e.type !== EventType.NodeChildrenChanged));
  });

  test('does not fire outside its subtree (prefix is not ancestry)', () => {
    const w = new WatchManager();
    w.addPersistentWatch('/r', 1, true);
    assert.deepEqual(w.eventsFor([created('/rx'), changed('/'), created('/other/r')]), []);
  });

  test('on "/" hears everything', () => {
    const w = new WatchManager();
    w.addPersistentWatch('/', 9, true);
    assert.deepEqual(w.eventsFor([created('/a'), changed('/a/b/c'), changed('/')]), [
      ev(9, EventType.NodeCreated, '/a'),
      ev(9, EventType.NodeDataChanged, '/a/b/c'),
      ev(9, EventType.NodeDataChanged, '/'),
    ]);
  });

  test('mixed with a one-shot child watch on the same parent', () => {
    const w = new WatchManager();
    w.addPersistentWatch('/r', 1, true);
    w.addChildWatch('/r', 2);
    assert.deepEqual(w.eventsFor([created('/r/c')]), [ev(1, EventType.NodeCreated, '/r/c'), ev(2, EventType.NodeChildrenChanged, '/r')]);
  });

  test('recursive bookkeeping: after removal, ancestors no longer fire', () => {
    const w = new WatchManager();
    w.addPersistentWatch('/r', 1, true);
    w.addPersistentWatch('/r', 1, true);
    assert.equal(w.data.recursiveCount, 1);
    assert.equal(w.data.remove('/r', 1), true);
    assert.equal(w.child.remove('/r', 1), true);
    assert.equal(w.data.recursiveCount, 0);
    assert.deepEqual(w.eventsFor([created('/r/a'), changed('/r')]), []);
  });
});

describe('emptied path lists', () => {
  test('stay for the re-arm, and are swept out once they are most of the table', () => {
    const w = new WatchManager();
    w.addDataWatch('/kept', 7);
    for (let i = 0; i < 5000; i++) {
      w.addDataWatch(`/p${i}`, 1);
      assert.deepEqual(w.eventsFor([changed(`/p${i}`)]), [ev(1, EventType.NodeDataChanged, `/p${i}`)]);
      assert.equal(w.data.watched(`/p${i}`), false);
      // the table holds at most the live path plus the slack of emptied ones, twice over
      assert.ok(w.data.byPath.size <= 2 * 1024 + 2, `table size ${w.data.byPath.size} after ${i + 1} paths`);
    }
    assert.ok(w.data.byPath.size < 5000);
    assert.deepEqual(
      [...w.data.watchedPaths()].map(([p]) => p),
      ['/kept'],
    );
    // a path whose emptied list was swept, and one whose list is still kept, both re-arm
    w.addDataWatch('/p0', 2);
    w.addDataWatch('/p4999', 3);
    assert.deepEqual(w.eventsFor([changed('/p0'), changed('/p4999'), changed('/kept')]), [
      ev(2, EventType.NodeDataChanged, '/p0'),
      ev(3, EventType.NodeDataChanged, '/p4999'),
      ev(7, EventType.NodeDataChanged, '/kept'),
    ]);
    assert.equal(w.watchCount, 0);
  });
});

describe('removal', () => {
  test('WatchTable.remove removes one (path, watcher) and reports whether it existed', () => {
    const w = new WatchManager();
    w.addDataWatch('/a', 1);
    w.addDataWatch('/a', 2);
    assert.equal(w.data.remove('/a', 1), true);
    assert.equal(w.data.remove('/a', 1), false);
    assert.equal(w.data.remove('/zzz', 1), false);
    assert.deepEqual(w.eventsFor([changed('/a')]), [ev(2, EventType.NodeDataChanged, '/a')]);
    assert.equal(w.data.watched('/a'), false);
    assert.deepEqual([...w.data.watchedPaths()], []);
    // As ZooKeeper's watch2Paths: a fired watch leaves its connection's (now empty) entry, which
    // goes when the connection does.
    assert.deepEqual([...w.data.byWatcher.keys()], [2]);
    assert.deepEqual(w.data.pathsOf(2), []);
    w.removeConnection(2);
    assert.equal(w.data.byWatcher.size, 0);
  });

  test('a fire consumes only the one-shot watches at a path; persistent ones stay', () => {
    const w = new WatchManager();
    w.addDataWatch('/a', 1);
    w.addPersistentWatch('/a', 2, false);
    w.addDataWatch('/a', 3);
    assert.deepEqual(w.eventsFor([changed('/a')]), [
      ev(1, EventType.NodeDataChanged, '/a'),
      ev(2, EventType.NodeDataChanged, '/a'),
      ev(3, EventType.NodeDataChanged, '/a'),
    ]);
    assert.deepEqual(w.data.byPath.get('/a')?.pairs(), [[2, WatchMode.persistent]]);
    assert.deepEqual(w.eventsFor([changed('/a')]), [ev(2, EventType.NodeDataChanged, '/a')]);
  });

  test('a path re-armed after its watches fired holds only the new watcher', () => {
    const w = new WatchManager();
    for (let watcher = 1; watcher <= 4; watcher++) w.addDataWatch('/a', watcher);
    assert.equal(w.eventsFor([changed('/a')]).length, 4);
    // the emptied list is reused for the next path armed: nothing of /a may carry over
    w.addDataWatch('/b', 7);
    w.addDataWatch('/a', 5);
    assert.deepEqual(w.eventsFor([changed('/b'), changed('/a')]), [
      ev(7, EventType.NodeDataChanged, '/b'),
      ev(5, EventType.NodeDataChanged, '/a'),
    ]);
    assert.equal(w.watchCount, 0);
  });

  test('removeConnection drops every watch of that watcher in both tables', () => {
    const w = new WatchManager();
    w.addDataWatch('/a', 1);
    w.addChildWatch('/b', 1);
    w.addPersistentWatch('/c', 1, true);
    w.addPersistentWatch('/d', 1, false);
    w.addDataWatch('/a', 2);
    assert.equal(w.watchCount, 7);
    w.removeConnection(1);
    assert.equal(w.watchCount, 1);
    assert.equal(w.data.byWatcher.has(1), false);
    assert.equal(w.child.byWatcher.has(1), false);
    assert.equal(w.data.recursiveCount, 0);
    assert.deepEqual(w.eventsFor([changed('/a'), created('/b/x'), created('/c/x'), changed('/d')]), [
      ev(2, EventType.NodeDataChanged, '/a'),
    ]);
    // unknown watcher: no-op
    w.removeConnection(42);
    assert.equal(w.watchCount, 0);
  });
});

describe('event order', () => {
  test('follows the change list: created node, then its parent', () => {
    const w = new WatchManager();
    w.addDataWatch('/a', 1);
    w.addChildWatch('/', 2);
    w.addDataWatch('/b', 3);
    const events = w.eventsFor([created('/a'), changed('/b')]);
    assert.deepEqual(events, [
      ev(1, EventType.NodeCreated, '/a'),
      ev(2, EventType.NodeChildrenChanged, '/'),
      ev(3, EventType.NodeDataChanged, '/b'),
    ]);
  });
});
