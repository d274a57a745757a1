// Round-trip proof between Apache ZooKeeper 3.8.0 and ZephyrCoord on one dataDir.
// One client program (official ZooKeeper 3.8 Java client) for every server, so both
// servers' views are produced by identical code:
//
//   RoundTrip build HOST:PORT STATEFILE DUMPFILE
//       builds the tree, dumps it, writes STATEFILE (ephemeral session id, password, paths),
//       prints READY and keeps the ephemeral session connected until killed
//   RoundTrip takeover HOST:PORT STATEFILE SRCDUMP SRCLABEL DSTDUMP DSTLABEL [AFTERDUMP]
//       on the server that took the dataDir over: resumes the ephemeral session (same id and
//       password) and checks its ephemerals; dumps to DSTDUMP and compares with SRCDUMP; probes
//       the behaviour of the loaded data (sequence counters, zxids, ACL enforcement, container
//       and TTL kinds via the reaper, closing the resumed session); optionally dumps again
//   RoundTrip dumpcompare HOST:PORT OUT OUTLABEL REFDUMP REFLABEL
//   RoundTrip dump HOST:PORT OUTFILE       super-authenticated walk: one canonical line a node
//   RoundTrip compare A B [LABELA LABELB]  field-by-field comparison of two dumps
//
// Every check prints `ok <name>` or `FAIL <name>: ...`; the exit status is 1 on any failure.

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import org.apache.zookeeper.AsyncCallback;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooDefs.Perms;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

public class RoundTrip {

    static final int SESSION_TIMEOUT_MS = 30000;
    /** Large TTL of the "ordinary" TTL nodes: a week. */
    static final long LONG_TTL_MS = 7L * 24 * 3600 * 1000;
    /** TTL of the probe node: expires as soon as it has no child (its mtime is long past). */
    static final long PROBE_TTL_MS = 1000;

    // ------------------------------------------------------------------ reporting

    static int passed = 0;
    static int failed = 0;

    static synchronized void ok(String name) {
        passed++;
        System.out.println("ok " + name);
    }

    static synchronized void fail(String name, String why) {
        failed++;
        System.out.println("FAIL " + name + ": " + why);
    }

    static void check(String name, boolean cond, String whyIfNot) {
        if (cond) ok(name);
        else fail(name, whyIfNot);
    }

    static void die(String why) {
        System.out.println("FAIL " + why);
        System.out.flush();
        Runtime.getRuntime().halt(2);
    }

    // ------------------------------------------------------------------ connections

    static ZooKeeper connect(String hostPort, long sessionId, byte[] passwd) throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        final KeeperState[] last = new KeeperState[1];
        Watcher w = event -> {
            if (event.getType() == Watcher.Event.EventType.None) {
                synchronized (last) {
                    last[0] = event.getState();
                }
                if (event.getState() == KeeperState.SyncConnected || event.getState() == KeeperState.Expired
                    || event.getState() == KeeperState.AuthFailed) {
                    connected.countDown();
                }
            }
        };
        ZooKeeper zk = passwd == null
            ? new ZooKeeper(hostPort, SESSION_TIMEOUT_MS, w)
            : new ZooKeeper(hostPort, SESSION_TIMEOUT_MS, w, sessionId, passwd);
        if (!connected.await(20, TimeUnit.SECONDS)) throw new IOException("no connection to " + hostPort + " within 20 s");
        synchronized (last) {
            if (last[0] != KeeperState.SyncConnected) throw new IOException("session state " + last[0] + " instead of SyncConnected");
        }
        return zk;
    }

    static ZooKeeper connect(String hostPort) throws Exception {
        return connect(hostPort, 0, null);
    }

    // ------------------------------------------------------------------ async pipeline

    /** A window of outstanding async requests; callbacks record results that were not expected. */
    static final class Pipe {
        static final int WINDOW = 1000;
        final Semaphore window = new Semaphore(WINDOW);
        final ConcurrentLinkedQueue<String> unexpected = new ConcurrentLinkedQueue<>();

        void take() {
            window.acquireUninterruptibly();
        }

        void done(String what, int rc, Code expected) {
            if (rc != expected.intValue()) unexpected.add(what + ": " + Code.get(rc) + " (expected " + expected + ")");
            window.release();
        }

        void drain() {
            window.acquireUninterruptibly(WINDOW);
            window.release(WINDOW);
            if (!unexpected.isEmpty()) {
                for (String s : unexpected) System.out.println("  unexpected result: " + s);
                die("build: " + unexpected.size() + " writes had unexpected results");
            }
        }
    }

    static final Pipe pipe = new Pipe();

    static void create(ZooKeeper zk, String path, byte[] data, List<ACL> acl, CreateMode mode, Code expect) {
        pipe.take();
        zk.create(path, data, acl, mode, (AsyncCallback.StringCallback) (rc, p, ctx, name) -> pipe.done("create " + path, rc, expect), null);
    }

    /** create2 on the wire (the Create2Callback variant), and createTTL for TTL modes. */
    static void create2(ZooKeeper zk, String path, byte[] data, List<ACL> acl, CreateMode mode, long ttl, Code expect) {
        pipe.take();
        zk.create(path, data, acl, mode, (AsyncCallback.Create2Callback) (rc, p, ctx, name, stat) -> pipe.done("create2 " + path, rc, expect), null, ttl);
    }

    static void setData(ZooKeeper zk, String path, byte[] data, int version, Code expect) {
        pipe.take();
        zk.setData(path, data, version, (AsyncCallback.StatCallback) (rc, p, ctx, stat) -> pipe.done("setData " + path, rc, expect), null);
    }

    static void setACL(ZooKeeper zk, String path, List<ACL> acl, int version, Code expect) {
        pipe.take();
        zk.setACL(path, acl, version, (AsyncCallback.StatCallback) (rc, p, ctx, stat) -> pipe.done("setACL " + path, rc, expect), null);
    }

    static void delete(ZooKeeper zk, String path, int version, Code expect) {
        pipe.take();
        zk.delete(path, version, (AsyncCallback.VoidCallback) (rc, p, ctx) -> pipe.done("delete " + path, rc, expect), null);
    }

    static void multi(ZooKeeper zk, String name, List<Op> ops, Code expect) {
        pipe.take();
        zk.multi(ops, (AsyncCallback.MultiCallback) (rc, p, ctx, results) -> pipe.done("multi " + name, rc, expect), null);
    }

    // ------------------------------------------------------------------ build

    static final Random rnd = new Random(20240607L);

    static byte[] bytes(int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        // keep part of it compressible, as real data is (exercises gz snapshots realistically)
        for (int i = 0; i < n / 2; i++) b[i] = (byte) ('a' + (i % 23));
        return b;
    }

    /** Mostly small payloads; a few empty or null ones; a few kilobytes; rarely tens of KiB. */
    static byte[] smallData() {
        int r = rnd.nextInt(1000);
        if (r < 5) return null;
        if (r < 10) return new byte[0];
        if (r < 930) return bytes(1 + rnd.nextInt(256));
        if (r < 998) return bytes(256 + rnd.nextInt(4096));
        return bytes(8192 + rnd.nextInt(56 * 1024));
    }

    static String digestOf(String userPassword) throws Exception {
        return DigestAuthenticationProvider.generateDigest(userPassword);
    }

    static ACL acl(int perms, String scheme, String id) {
        return new ACL(perms, new Id(scheme, id));
    }

    static void build(String hostPort, String stateFile, String dumpFile) throws Exception {
        ZooKeeper zk = connect(hostPort);
        zk.addAuthInfo("digest", "alice:alicepw".getBytes(StandardCharsets.UTF_8));
        zk.addAuthInfo("digest", "bob:bobpw".getBytes(StandardCharsets.UTF_8));
        ZooKeeper eph = connect(hostPort);
        List<String> ephemerals = new ArrayList<>();
        String alice = digestOf("alice:alicepw");
        String bob = digestOf("bob:bobpw");
        String carol = digestOf("carol:carolpw");
        List<ACL> open = Ids.OPEN_ACL_UNSAFE;
        List<ACL> aliceRead = List.of(acl(Perms.READ, "digest", alice), acl(Perms.READ, "world", "anyone"));
        List<ACL> aliceBob = List.of(acl(Perms.READ | Perms.WRITE, "digest", alice), acl(Perms.ALL, "digest", bob));
        List<ACL> bobAlice = List.of(acl(Perms.ALL, "digest", bob), acl(Perms.READ | Perms.WRITE, "digest", alice));
        List<ACL> carolOnly = List.of(acl(Perms.ALL, "digest", carol));
        List<ACL> ipAndAlice = List.of(acl(Perms.ALL, "ip", "127.0.0.1"), acl(Perms.READ | Perms.ADMIN, "digest", alice));
        List<ACL> worldRead = Ids.READ_ACL_UNSAFE;
        List<ACL> creator = Ids.CREATOR_ALL_ACL;

        // skeleton
        create(zk, "/rt", "roundtrip".getBytes(StandardCharsets.UTF_8), open, CreateMode.PERSISTENT, Code.OK);
        for (String s : new String[] {"bulk", "big", "acl", "seq", "cont", "ttl", "eph", "multi", "hist", "probe", "names"}) {
            create(zk, "/rt/" + s, bytes(rnd.nextInt(40)), open, CreateMode.PERSISTENT, Code.OK);
        }

        // a quota on bulk, written as zkCli's setquota writes it (limits, then stats): the server
        // counts every later write there into the stats node, and recounts it from a snapshot
        create(zk, "/zookeeper/quota/rt", null, open, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/zookeeper/quota/rt/bulk", null, open, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/zookeeper/quota/rt/bulk/zookeeper_limits", "count=100000,bytes=-1=;byteHardLimit=-1;countHardLimit=-1".getBytes(StandardCharsets.UTF_8), open, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/zookeeper/quota/rt/bulk/zookeeper_stats", "count=0,bytes=0".getBytes(StandardCharsets.UTF_8), open, CreateMode.PERSISTENT, Code.OK);

        // bulk: 20 x 10 x 50 = 10,000 leaves (+ 220 directories), created in waves so that
        // snapshots taken during the build see partial trees and big nodes
        int leaves = 0;
        for (int a = 0; a < 20; a++) {
            String da = String.format("/rt/bulk/a%02d", a);
            create(zk, da, smallData(), open, CreateMode.PERSISTENT, Code.OK);
            for (int b = 0; b < 10; b++) {
                String db = da + "/b" + b;
                if (b % 3 == 0) create2(zk, db, smallData(), open, CreateMode.PERSISTENT, -1, Code.OK);
                else create(zk, db, smallData(), open, CreateMode.PERSISTENT, Code.OK);
                for (int n = 0; n < 50; n++) {
                    String leaf = String.format("%s/n%03d", db, n);
                    leaves++;
                    List<ACL> a1 = leaves % 97 == 0 ? aliceRead : leaves % 211 == 0 ? creator : leaves % 331 == 0 ? aliceBob : open;
                    if (leaves % 7 == 0) create2(zk, leaf, smallData(), a1, CreateMode.PERSISTENT, -1, Code.OK);
                    else create(zk, leaf, smallData(), a1, CreateMode.PERSISTENT, Code.OK);
                    // aliceRead grants no WRITE: ZooKeeper checks the ACL before the version
                    if (leaves % 53 == 0) setData(zk, leaf, smallData(), 0, a1 == aliceRead ? Code.NOAUTH : Code.OK);
                    if (leaves % 59 == 0) setData(zk, leaf, smallData(), 5, a1 == aliceRead ? Code.NOAUTH : Code.BADVERSION);
                    if (leaves % 61 == 0) create(zk, leaf, null, open, CreateMode.PERSISTENT, Code.NODEEXISTS);
                }
            }
            if (a == 5) {
                // big nodes near the 1 MiB limit, early enough to be in mid-build snapshots
                create(zk, "/rt/big/b0", bytes(1048000), open, CreateMode.PERSISTENT, Code.OK);
                create(zk, "/rt/big/b1", bytes(1047999), aliceBob, CreateMode.PERSISTENT, Code.OK);
                create2(zk, "/rt/big/b2", bytes(1040000), open, CreateMode.PERSISTENT, -1, Code.OK);
                create(zk, "/rt/big/gone", bytes(1048000), open, CreateMode.PERSISTENT, Code.OK);
                create(zk, "/rt/big/s1", bytes(200000), open, CreateMode.PERSISTENT, Code.OK);
            }
            if (a == 12) {
                setData(zk, "/rt/big/b0", bytes(1048000), 0, Code.OK);
                delete(zk, "/rt/big/gone", 0, Code.OK);
                setData(zk, "/rt/big/s1", bytes(1048000), 0, Code.OK);
            }
        }
        pipe.drain();

        // deletions and re-creations inside bulk: pzxid/cversion move, czxid of the new node differs
        for (int a = 0; a < 20; a += 3) {
            for (int n = 0; n < 50; n += 9) {
                String leaf = String.format("/rt/bulk/a%02d/b4/n%03d", a, n);
                delete(zk, leaf, -1, Code.OK);
                if (n % 2 == 0) create(zk, leaf, smallData(), open, CreateMode.PERSISTENT, Code.OK);
            }
            delete(zk, String.format("/rt/bulk/a%02d/b4/n001", a), 7, Code.BADVERSION);
            delete(zk, String.format("/rt/bulk/a%02d/b4/n999", a), -1, Code.NONODE);
            delete(zk, String.format("/rt/bulk/a%02d/b5", a), -1, Code.NOTEMPTY);
        }

        // ACLs
        create(zk, "/rt/acl/d1", bytes(30), aliceBob, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/rt/acl/d1b", bytes(30), bobAlice, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/rt/acl/d2", bytes(30), creator, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/rt/acl/d3", bytes(30), worldRead, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/rt/acl/d4", bytes(30), ipAndAlice, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/rt/acl/d5", "carol's".getBytes(StandardCharsets.UTF_8), carolOnly, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/rt/acl/d6", bytes(30), open, CreateMode.PERSISTENT, Code.OK);
        setACL(zk, "/rt/acl/d6", List.of(acl(Perms.ALL, "digest", alice)), 0, Code.OK);
        setACL(zk, "/rt/acl/d6", List.of(acl(Perms.ALL, "digest", alice), acl(Perms.READ, "world", "anyone")), 1, Code.OK);
        setACL(zk, "/rt/acl/d6", open, 0, Code.BADVERSION);
        setACL(zk, "/rt/acl/d6", creator, -1, Code.OK);
        create(zk, "/rt/acl/d1/child", bytes(10), aliceBob, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/rt/acl/d3/child", bytes(10), open, CreateMode.PERSISTENT, Code.NOAUTH); // failed write: still a zxid
        create(zk, "/rt/acl/x", bytes(10), List.of(acl(Perms.CREATE | Perms.DELETE | Perms.ADMIN, "digest", alice), acl(Perms.READ, "world", "anyone")), CreateMode.PERSISTENT, Code.OK);
        create(zk, "/rt/acl/x/y", bytes(10), open, CreateMode.PERSISTENT, Code.OK);
        setACL(zk, "/rt/acl/x/y", aliceRead, -1, Code.OK);

        // sequential nodes with deletions in between: stored child counter != numChildren
        create(zk, "/rt/seq/q", null, open, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/rt/seq/mix", null, open, CreateMode.PERSISTENT, Code.OK);
        pipe.drain();
        for (int i = 0; i < 60; i++) create(zk, "/rt/seq/q/item-", bytes(rnd.nextInt(64)), open, CreateMode.PERSISTENT_SEQUENTIAL, Code.OK);
        for (int i = 0; i < 60; i += 3) delete(zk, String.format("/rt/seq/q/item-%010d", i), -1, Code.OK);
        for (int i = 0; i < 30; i++) {
            if (i % 4 == 0) create(zk, "/rt/seq/mix/plain" + i, null, open, CreateMode.PERSISTENT, Code.OK);
            else create2(zk, "/rt/seq/mix/s-", bytes(8), open, CreateMode.PERSISTENT_SEQUENTIAL, -1, Code.OK);
            // every create (plain ones too) moves the counter, so s-<i-1> is absent when i-1 was plain
            if (i % 5 == 4) delete(zk, String.format("/rt/seq/mix/s-%010d", i - 1), -1, (i - 1) % 4 == 0 ? Code.NONODE : Code.OK);
        }

        // containers (with children, so not reaped); one nested; one for the probe
        for (int c = 0; c < 5; c++) {
            String p = "/rt/cont/c" + c;
            create(zk, p, bytes(rnd.nextInt(20)), open, CreateMode.CONTAINER, Code.OK);
            for (int k = 0; k < 3; k++) create(zk, p + "/k" + k, bytes(5), open, CreateMode.PERSISTENT, Code.OK);
        }
        create(zk, "/rt/cont/c0/nested", null, open, CreateMode.CONTAINER, Code.OK);
        create(zk, "/rt/cont/c0/nested/leaf", bytes(3), open, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/rt/cont/c5", null, open, CreateMode.CONTAINER, Code.OK); // its only child is ephemeral
        create(zk, "/rt/cont/cprobe", null, open, CreateMode.CONTAINER, Code.OK);
        create(zk, "/rt/cont/cprobe/x1", null, open, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/rt/cont/cprobe/x2", null, open, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/rt/cont/c1", null, open, CreateMode.CONTAINER, Code.NODEEXISTS);

        // TTL nodes (large TTL, so they stay); sequential TTL; a probe with a small TTL and a child
        for (int t = 0; t < 5; t++) {
            create2(zk, "/rt/ttl/t" + t, bytes(rnd.nextInt(100)), t == 3 ? aliceBob : open, CreateMode.PERSISTENT_WITH_TTL, LONG_TTL_MS + t, Code.OK);
        }
        create(zk, "/rt/ttl/t0/child", bytes(4), open, CreateMode.PERSISTENT, Code.OK);
        setData(zk, "/rt/ttl/t1", bytes(44), 0, Code.OK);
        create(zk, "/rt/ttl/s", null, open, CreateMode.PERSISTENT, Code.OK);
        for (int t = 0; t < 4; t++) create2(zk, "/rt/ttl/s/x-", bytes(3), open, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, LONG_TTL_MS, Code.OK);
        delete(zk, "/rt/ttl/s/x-0000000001", -1, Code.OK);
        pipe.drain();
        zk.multi(List.of(
            Op.create("/rt/ttl/tprobe", bytes(7), open, CreateMode.PERSISTENT_WITH_TTL, PROBE_TTL_MS),
            Op.create("/rt/ttl/tprobe/keep", null, open, CreateMode.PERSISTENT)));
        create(zk, "/rt/probe/ctl", null, open, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/rt/probe/ctl/x", null, open, CreateMode.PERSISTENT, Code.OK);

        // data / ACL history on persistent nodes, with failed conditional writes in between
        for (int h = 0; h < 50; h++) {
            String p = "/rt/hist/h" + h;
            create(zk, p, bytes(rnd.nextInt(100)), open, CreateMode.PERSISTENT, Code.OK);
            int writes = h % 6;
            for (int v = 0; v < writes; v++) setData(zk, p, h % 11 == 0 && v == writes - 1 ? null : bytes(rnd.nextInt(300)), v, Code.OK);
            if (h % 4 == 0) setData(zk, p, bytes(3), writes + 3, Code.BADVERSION);
            // (a second setACL only after one that keeps ADMIN: ZooKeeper checks a pipelined
            // setACL against the ACL before the pending one, ZephyrCoord against the pending one)
            if (h % 10 == 0) {
                setACL(zk, p, List.of(acl(Perms.ALL, "digest", alice)), 0, Code.OK);
                setACL(zk, p, aliceBob, 1, Code.OK);
            } else if (h % 5 == 0) setACL(zk, p, aliceRead, 0, Code.OK);
            if (h % 7 == 0) create(zk, p, bytes(1), open, CreateMode.PERSISTENT, Code.NODEEXISTS);
        }
        create(zk, "/rt/hist/again", bytes(5), open, CreateMode.PERSISTENT, Code.OK);
        delete(zk, "/rt/hist/again", 0, Code.OK);
        create(zk, "/rt/hist/again", bytes(6), open, CreateMode.PERSISTENT, Code.OK);
        setData(zk, "/rt/hist/again", new byte[0], -1, Code.OK);

        // awkward names: UTF-8 (2- and 3-byte sequences; ZooKeeper forbids surrogates), spaces, dots
        create(zk, "/rt/names/\u00fcn\u00efc\u00f8d\u00e9", bytes(5), open, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/rt/names/\u540d\u524d", bytes(5), open, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/rt/names/euro-\u20ac-\u00df", bytes(5), open, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/rt/names/with space", bytes(5), open, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/rt/names/..dots..", bytes(5), open, CreateMode.PERSISTENT, Code.OK);
        pipe.drain();

        // ephemerals of a session that stays alive until the server is stopped
        for (int e = 0; e < 10; e++) {
            String p = "/rt/eph/e" + e;
            create(eph, p, bytes(rnd.nextInt(200)), e == 4 ? aliceRead : open, CreateMode.EPHEMERAL, Code.OK);
            ephemerals.add(p);
        }
        create(eph, "/rt/eph/big", bytes(1000000), open, CreateMode.EPHEMERAL, Code.OK);
        ephemerals.add("/rt/eph/big");
        setData(eph, "/rt/eph/e1", bytes(10), 0, Code.OK);
        setData(eph, "/rt/eph/e1", bytes(11), 1, Code.OK);
        delete(eph, "/rt/eph/e9", 0, Code.OK);
        ephemerals.remove("/rt/eph/e9");
        create(eph, "/rt/cont/c5/eph", bytes(3), open, CreateMode.EPHEMERAL, Code.OK);
        ephemerals.add("/rt/cont/c5/eph");
        create(zk, "/rt/seq/e", null, open, CreateMode.PERSISTENT, Code.OK);
        pipe.drain();
        for (int i = 0; i < 10; i++) {
            create(eph, "/rt/seq/e/lock-", bytes(2), open, CreateMode.EPHEMERAL_SEQUENTIAL, Code.OK);
            ephemerals.add(String.format("/rt/seq/e/lock-%010d", i));
        }
        for (int i = 1; i < 10; i += 4) {
            delete(eph, String.format("/rt/seq/e/lock-%010d", i), -1, Code.OK);
            ephemerals.remove(String.format("/rt/seq/e/lock-%010d", i));
        }
        for (int n = 0; n < 50; n += 25) {
            String p = String.format("/rt/bulk/a%02d/b9/eph%d", n / 5, n);
            create(eph, p, bytes(30), open, CreateMode.EPHEMERAL, Code.OK);
            ephemerals.add(p);
        }
        create(eph, "/rt/eph/e0", null, open, CreateMode.EPHEMERAL, Code.NODEEXISTS);
        pipe.drain();
        Collections.sort(ephemerals);

        // multi transactions: successful, failed (NodeExists / BadVersion: still one zxid each),
        // with container and TTL creates inside. Last in the build, so that the target replays
        // them from the log (not only reads their outcome from a snapshot) in every case.
        create(zk, "/rt/multi/base", bytes(9), open, CreateMode.PERSISTENT, Code.OK);
        pipe.drain();
        multi(zk, "ok1", List.of(
            Op.create("/rt/multi/m1", bytes(12), open, CreateMode.PERSISTENT),
            Op.create("/rt/multi/m1/a", bytes(12), aliceBob, CreateMode.PERSISTENT),
            Op.setData("/rt/multi/base", bytes(21), 0),
            Op.check("/rt/multi/base", 1),
            Op.create("/rt/multi/m1/s-", null, open, CreateMode.PERSISTENT_SEQUENTIAL),
            Op.create("/rt/multi/m1/s-", null, open, CreateMode.PERSISTENT_SEQUENTIAL),
            Op.delete("/rt/multi/m1/s-0000000001", -1)), Code.OK);
        multi(zk, "ok2", List.of(
            Op.create("/rt/multi/cont", null, open, CreateMode.CONTAINER),
            Op.create("/rt/multi/cont/x", bytes(2), open, CreateMode.PERSISTENT),
            Op.create("/rt/multi/ttl", bytes(2), open, CreateMode.PERSISTENT_WITH_TTL, LONG_TTL_MS),
            Op.create("/rt/multi/ttl/y", bytes(2), open, CreateMode.PERSISTENT)), Code.OK);
        multi(zk, "nodeexists", List.of(
            Op.create("/rt/multi/never", bytes(5), open, CreateMode.PERSISTENT),
            Op.create("/rt/multi/base", bytes(5), open, CreateMode.PERSISTENT)), Code.NODEEXISTS);
        multi(zk, "badversion", List.of(
            Op.setData("/rt/multi/base", bytes(5), 1),
            Op.check("/rt/multi/base", 7),
            Op.delete("/rt/multi/m1/a", -1)), Code.BADVERSION);
        // failed multis whose leading ops are valid on their own: ZooKeeper logs those ops as
        // real txns followed by the error, and must apply none of them
        create(zk, "/rt/multi/solo", bytes(9), open, CreateMode.PERSISTENT, Code.OK);
        create(zk, "/rt/multi/victim", bytes(9), open, CreateMode.PERSISTENT, Code.OK);
        multi(zk, "badversion2", List.of(
            Op.setData("/rt/multi/solo", bytes(33), 0),
            Op.create("/rt/multi/solo2", bytes(5), open, CreateMode.PERSISTENT),
            Op.delete("/rt/multi/victim", 0),
            Op.check("/rt/multi/base", 99),
            Op.create("/rt/multi/solo3", bytes(5), open, CreateMode.PERSISTENT)), Code.BADVERSION);
        multi(zk, "ok3", List.of(
            Op.setData("/rt/multi/base", null, 1),
            Op.delete("/rt/multi/m1/a", 0),
            Op.create("/rt/multi/m1/a", bytes(1), open, CreateMode.PERSISTENT)), Code.OK);
        pipe.drain();

        // the builder's own session ends cleanly (a closeSession txn)
        zk.close();

        // the source server's view, while the ephemeral session is still connected
        dump(hostPort, dumpFile);

        List<String> state = new ArrayList<>();
        state.add("session " + Long.toHexString(eph.getSessionId()));
        state.add("passwd " + HexFormat.of().formatHex(eph.getSessionPasswd()));
        for (String p : ephemerals) state.add("ephemeral " + p);
        Path tmp = Paths.get(stateFile + ".tmp");
        Files.write(tmp, state, StandardCharsets.UTF_8);
        Files.move(tmp, Paths.get(stateFile));
        System.out.println("READY session 0x" + Long.toHexString(eph.getSessionId()) + ", " + leaves + " bulk leaves, " + ephemerals.size() + " ephemerals");
        System.out.flush();
        // keep the ephemeral session connected until we are killed (after the server stops)
        Thread.sleep(Long.MAX_VALUE);
    }

    // ------------------------------------------------------------------ dump

    static final class NodeView {
        byte[] data;
        Stat dataStat;
        List<ACL> acl;
        Stat aclStat;
        List<String> children;
        Stat childStat;
        String error;
    }

    static String statText(Stat s) {
        return "czxid=0x" + Long.toHexString(s.getCzxid()) + " mzxid=0x" + Long.toHexString(s.getMzxid())
            + " pzxid=0x" + Long.toHexString(s.getPzxid()) + " ctime=" + s.getCtime() + " mtime=" + s.getMtime()
            + " version=" + s.getVersion() + " cversion=" + s.getCversion() + " aversion=" + s.getAversion()
            + " ephemeralOwner=0x" + Long.toHexString(s.getEphemeralOwner()) + " dataLength=" + s.getDataLength()
            + " numChildren=" + s.getNumChildren();
    }

    static String sha1(byte[] data) throws Exception {
        if (data == null) return "null";
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(data));
    }

    static String aclText(List<ACL> acl) {
        if (acl == null) return "null";
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < acl.size(); i++) {
            ACL a = acl.get(i);
            if (i > 0) sb.append(',');
            sb.append(a.getPerms()).append(':').append(a.getId().getScheme()).append(':').append(a.getId().getId());
        }
        return sb.append(']').toString();
    }

    static void dump(String hostPort, String outFile) throws Exception {
        ZooKeeper zk = connect(hostPort);
        zk.addAuthInfo("digest", "super:test".getBytes(StandardCharsets.UTF_8));
        Map<String, NodeView> views = new ConcurrentHashMap<>();
        List<String> level = List.of("/");
        Semaphore window = new Semaphore(Pipe.WINDOW);
        while (!level.isEmpty()) {
            for (String path : level) {
                NodeView v = new NodeView();
                views.put(path, v);
                window.acquireUninterruptibly(2);
                zk.getData(path, false, (AsyncCallback.DataCallback) (rc, p, ctx, data, stat) -> {
                    if (rc == 0) {
                        v.data = data;
                        v.dataStat = stat;
                    } else v.error = "getData " + Code.get(rc);
                    window.release();
                }, null);
                zk.getACL(path, new Stat(), (AsyncCallback.ACLCallback) (rc, p, ctx, acl, stat) -> {
                    if (rc == 0) {
                        v.acl = acl;
                        v.aclStat = stat;
                    } else v.error = "getACL " + Code.get(rc);
                    window.release();
                }, null);
            }
            window.acquireUninterruptibly(Pipe.WINDOW);
            window.release(Pipe.WINDOW);
            // children only where Stat says there are some (a third fewer requests); a leaf's
            // empty list is then taken from its Stat
            for (String path : level) {
                NodeView v = views.get(path);
                if (v.error != null) continue;
                if (v.dataStat.getNumChildren() == 0) {
                    v.children = List.of();
                    v.childStat = v.dataStat;
                    continue;
                }
                window.acquireUninterruptibly();
                zk.getChildren(path, false, (AsyncCallback.Children2Callback) (rc, p, ctx, children, stat) -> {
                    if (rc == 0) {
                        v.children = children;
                        v.childStat = stat;
                    } else v.error = "getChildren " + Code.get(rc);
                    window.release();
                }, null);
            }
            window.acquireUninterruptibly(Pipe.WINDOW);
            window.release(Pipe.WINDOW);
            List<String> next = new ArrayList<>();
            for (String path : level) {
                NodeView v = views.get(path);
                if (v.children == null) continue;
                for (String c : v.children) next.add(path.equals("/") ? "/" + c : path + "/" + c);
            }
            level = next;
        }
        zk.close();
        TreeMap<String, NodeView> sorted = new TreeMap<>(views);
        int ephemeralCount = 0;
        long bytes = 0;
        try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(Paths.get(outFile), StandardCharsets.UTF_8))) {
            for (Map.Entry<String, NodeView> e : sorted.entrySet()) {
                NodeView v = e.getValue();
                StringBuilder line = new StringBuilder(e.getKey());
                if (v.error != null) {
                    line.append(" | ERROR ").append(v.error);
                } else {
                    line.append(" | data=").append(sha1(v.data));
                    line.append(" | ").append(statText(v.dataStat));
                    line.append(" | acl=").append(aclText(v.acl));
                    List<String> kids = new ArrayList<>(v.children);
                    Collections.sort(kids);
                    line.append(" | children=").append(kids);
                    // self-consistency of what the server returned (not compared field by field:
                    // any inconsistency shows up as an extra suffix that the reference lacks)
                    String dataStat = statText(v.dataStat);
                    if (!statText(v.aclStat).equals(dataStat)) line.append(" | INCONSISTENT getACL stat ").append(statText(v.aclStat));
                    if (!statText(v.childStat).equals(dataStat)) line.append(" | INCONSISTENT getChildren2 stat ").append(statText(v.childStat));
                    int len = v.data == null ? 0 : v.data.length;
                    if (len != v.dataStat.getDataLength()) line.append(" | INCONSISTENT dataLength vs data ").append(len);
                    if (v.children.size() != v.dataStat.getNumChildren()) line.append(" | INCONSISTENT numChildren vs children ").append(v.children.size());
                    if (v.dataStat.getEphemeralOwner() != 0) ephemeralCount++;
                    bytes += len;
                }
                out.println(line);
            }
        }
        System.out.println("dumped " + sorted.size() + " znodes (" + ephemeralCount + " ephemeral, " + bytes + " data bytes) to " + outFile);
    }

    // ------------------------------------------------------------------ compare

    static LinkedHashMap<String, String> readDump(String file) throws IOException {
        LinkedHashMap<String, String> m = new LinkedHashMap<>();
        try (BufferedReader r = Files.newBufferedReader(Paths.get(file), StandardCharsets.UTF_8)) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                int bar = line.indexOf(" | ");
                m.put(bar < 0 ? line : line.substring(0, bar), bar < 0 ? "" : line.substring(bar + 3));
            }
        }
        return m;
    }

    /** "k=v k=v | acl=... | children=..." -> field -> value */
    static Map<String, String> fields(String rest) {
        Map<String, String> f = new LinkedHashMap<>();
        int extra = 0;
        for (String part : rest.split(" \\| ")) {
            if (part.startsWith("acl=") || part.startsWith("children=") || part.startsWith("data=")) {
                int eq = part.indexOf('=');
                f.put(part.substring(0, eq), part.substring(eq + 1));
            } else if (part.startsWith("czxid=")) {
                for (String kv : part.split(" ")) {
                    int eq = kv.indexOf('=');
                    f.put(kv.substring(0, eq), kv.substring(eq + 1));
                }
            } else {
                f.put("extra" + (extra++), part);
            }
        }
        return f;
    }

    static String kind(Map<String, String> f) {
        String owner = f.getOrDefault("ephemeralOwner", "?");
        return owner.equals("0x0") ? "persistent/container/ttl" : "ephemeral";
    }

    static int compare(String fileA, String fileB, String labelA, String labelB) throws Exception {
        LinkedHashMap<String, String> a = readDump(fileA);
        LinkedHashMap<String, String> b = readDump(fileB);
        int diffNodes = 0;
        int shown = 0;
        TreeMap<String, Integer> byField = new TreeMap<>();
        TreeSet<String> all = new TreeSet<>(a.keySet());
        all.addAll(b.keySet());
        for (String path : all) {
            String ra = a.get(path);
            String rb = b.get(path);
            if (ra != null && ra.equals(rb)) continue;
            diffNodes++;
            if (ra == null || rb == null) {
                byField.merge(ra == null ? "only-in-" + labelB : "only-in-" + labelA, 1, Integer::sum);
                if (shown++ < 40) System.out.println("  " + path + ": only in " + (ra == null ? labelB : labelA));
                continue;
            }
            Map<String, String> fa = fields(ra);
            Map<String, String> fb = fields(rb);
            TreeSet<String> keys = new TreeSet<>(fa.keySet());
            keys.addAll(fb.keySet());
            StringBuilder sb = new StringBuilder();
            for (String k : keys) {
                String va = fa.get(k);
                String vb = fb.get(k);
                if (va != null && va.equals(vb)) continue;
                byField.merge(k, 1, Integer::sum);
                sb.append("\n      ").append(k).append(": ").append(labelA).append('=').append(va).append("  ").append(labelB).append('=').append(vb);
            }
            if (shown++ < 40) System.out.println("  " + path + " (" + kind(fa) + "):" + sb);
        }
        if (diffNodes == 0) {
            System.out.println(labelA + " and " + labelB + " dumps identical: " + a.size() + " znodes");
        } else {
            System.out.println(diffNodes + " of " + all.size() + " znodes differ; by field: " + byField);
        }
        return diffNodes;
    }

    // ------------------------------------------------------------------ reattach / probe

    static final class State {
        long session;
        byte[] passwd;
        List<String> ephemerals = new ArrayList<>();
    }

    static State readState(String file) throws IOException {
        State s = new State();
        for (String line : Files.readAllLines(Paths.get(file), StandardCharsets.UTF_8)) {
            int sp = line.indexOf(' ');
            String k = line.substring(0, sp);
            String v = line.substring(sp + 1);
            if (k.equals("session")) s.session = Long.parseUnsignedLong(v, 16);
            else if (k.equals("passwd")) s.passwd = HexFormat.of().parseHex(v);
            else if (k.equals("ephemeral")) s.ephemerals.add(v);
        }
        return s;
    }

    /** Resumes the ephemeral session; null (after a FAIL) if the server refused it. */
    static ZooKeeper resume(String hostPort, State st, String name) {
        try {
            ZooKeeper zk = connect(hostPort, st.session, st.passwd);
            if (zk.getSessionId() != st.session) {
                fail(name, "got session 0x" + Long.toHexString(zk.getSessionId()) + " instead of 0x" + Long.toHexString(st.session));
                return null;
            }
            ok(name);
            return zk;
        } catch (Exception e) {
            fail(name, "session 0x" + Long.toHexString(st.session) + " not resumed: " + e.getMessage());
            return null;
        }
    }

    /** Resumes the builder's ephemeral session and checks its ephemerals; returns it, still open. */
    static ZooKeeper reattach(String hostPort, String stateFile) throws Exception {
        State st = readState(stateFile);
        ZooKeeper zk = resume(hostPort, st, "session 0x" + Long.toHexString(st.session) + " resumes with its id and password");
        if (zk == null) return null;
        List<String> missing = new ArrayList<>();
        for (String p : st.ephemerals) {
            Stat s = zk.exists(p, false);
            if (s == null || s.getEphemeralOwner() != st.session) missing.add(p + (s == null ? " (absent)" : " (owner 0x" + Long.toHexString(s.getEphemeralOwner()) + ")"));
        }
        check("its " + st.ephemerals.size() + " ephemerals survive with their owner", missing.isEmpty(), "missing or foreign: " + missing);
        List<String> listed = new ArrayList<>(zk.getEphemerals());
        Collections.sort(listed);
        check("getEphemerals lists exactly them", listed.equals(st.ephemerals), "expected " + st.ephemerals + ", got " + listed);
        // leave the session open: the dump that follows must still see the ephemerals
        return zk;
    }

    static Map<String, Map<String, String>> dumpFields(String file) throws IOException {
        Map<String, Map<String, String>> m = new TreeMap<>();
        for (Map.Entry<String, String> e : readDump(file).entrySet()) m.put(e.getKey(), fields(e.getValue()));
        return m;
    }

    static boolean waitGone(ZooKeeper zk, List<String> paths, long ms) throws Exception {
        long end = System.currentTimeMillis() + ms;
        while (true) {
            boolean all = true;
            for (String p : paths) if (zk.exists(p, false) != null) all = false;
            if (all) return true;
            if (System.currentTimeMillis() > end) return false;
            Thread.sleep(100);
        }
    }

    /** eph: the resumed ephemeral session (closed here), or null if it could not be resumed. */
    static void probe(String hostPort, String stateFile, String dumpFile, ZooKeeper eph) throws Exception {
        State st = readState(stateFile);
        Map<String, Map<String, String>> dump = dumpFields(dumpFile);
        ZooKeeper zk = connect(hostPort);

        // new writes continue after every zxid the loaded tree holds
        long maxZxid = 0;
        for (Map<String, String> f : dump.values()) {
            for (String k : new String[] {"czxid", "mzxid", "pzxid"}) {
                String v = f.get(k);
                if (v != null) maxZxid = Math.max(maxZxid, Long.parseUnsignedLong(v.substring(2), 16));
            }
        }
        Stat created = new Stat();
        zk.create("/rt/probe/after", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT, created);
        check("new write's zxid follows the loaded ones", created.getCzxid() > maxZxid,
            "czxid 0x" + Long.toHexString(created.getCzxid()) + " <= 0x" + Long.toHexString(maxZxid));

        // sequential suffix = stored child counter = (cversion + numChildren) / 2 of the loaded parent
        for (String parent : new String[] {"/rt/seq/q", "/rt/seq/mix", "/rt/seq/e", "/rt/ttl/s", "/rt/multi/m1", "/rt/bulk/a00/b4"}) {
            Map<String, String> f = dump.get(parent);
            if (f == null) {
                fail("sequence counter of " + parent, "not in dump");
                continue;
            }
            int stored = (Integer.parseInt(f.get("cversion")) + Integer.parseInt(f.get("numChildren"))) / 2;
            String name = zk.create(parent + "/probe-", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_SEQUENTIAL);
            String expected = parent + "/probe-" + String.format("%010d", stored);
            check("sequence counter of " + parent + " continues at " + stored, name.equals(expected), "created " + name + ", expected " + expected);
        }

        // ACLs are enforced as stored (carol-only node: NoAuth without carol, readable with)
        try {
            zk.getData("/rt/acl/d5", false, null);
            fail("digest ACL enforced on loaded node", "read without auth succeeded");
        } catch (KeeperException.NoAuthException e) {
            zk.addAuthInfo("digest", "carol:carolpw".getBytes(StandardCharsets.UTF_8));
            byte[] d = zk.getData("/rt/acl/d5", false, null);
            check("digest ACL enforced on loaded node", new String(d, StandardCharsets.UTF_8).equals("carol's"), "data after auth: " + Arrays.toString(d));
        }

        // node kinds: container and TTL are not visible in Stat; the server's reaper shows them.
        // cprobe (container) and tprobe (TTL 1 s, mtime long past) go once childless; ctl
        // (persistent) stays; c5 (container) goes once the ephemeral session closes.
        zk.delete("/rt/cont/cprobe/x1", -1);
        zk.delete("/rt/cont/cprobe/x2", -1);
        zk.delete("/rt/ttl/tprobe/keep", -1);
        zk.delete("/rt/probe/ctl/x", -1);
        if (eph != null) {
            eph.close();
            List<String> left = new ArrayList<>();
            for (String p : st.ephemerals) if (zk.exists(p, false) != null) left.add(p);
            check("closing the resumed session deletes its ephemerals", left.isEmpty(), "still there: " + left);
        }
        boolean reaped = waitGone(zk, List.of("/rt/cont/cprobe", "/rt/ttl/tprobe", "/rt/cont/c5"), 8000);
        check("container cprobe reaped once empty", zk.exists("/rt/cont/cprobe", false) == null, "still there after 8 s");
        check("TTL node tprobe expired once childless", zk.exists("/rt/ttl/tprobe", false) == null, "still there after 8 s");
        check("container c5 reaped after its ephemeral child's session closed", zk.exists("/rt/cont/c5", false) == null, "still there after 8 s");
        check("persistent ctl not reaped", zk.exists("/rt/probe/ctl", false) != null, "gone");
        check("long-TTL and containers with children stay", zk.exists("/rt/ttl/t1", false) != null && zk.exists("/rt/cont/c0", false) != null
            && zk.exists("/rt/ttl/s/x-0000000000", false) != null && zk.exists("/rt/multi/cont", false) != null, "some gone");
        if (!reaped) System.out.println("  (reaper wait timed out)");
        zk.close();
    }

    // ------------------------------------------------------------------ main

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "";
        switch (mode) {
            case "build":
                build(args[1], args[2], args[3]);
                return;
            case "takeover": {
                // takeover HOST:PORT STATE SRCDUMP SRCLABEL DSTDUMP DSTLABEL [AFTERDUMP]
                ZooKeeper eph = reattach(args[1], args[2]);
                dump(args[1], args[5]);
                int diff = compare(args[3], args[5], args[4], args[6]);
                check("dumps identical (" + args[4] + " before stop, " + args[6] + " after takeover)", diff == 0, diff + " znodes differ (listed above)");
                probe(args[1], args[2], args[5], eph);
                if (args.length > 7) dump(args[1], args[7]);
                break;
            }
            case "dumpcompare": {
                // dumpcompare HOST:PORT OUT OUTLABEL REFDUMP REFLABEL
                dump(args[1], args[2]);
                int diff = compare(args[4], args[2], args[5], args[3]);
                check("dumps identical (" + args[5] + " before stop, " + args[3] + " after takeover)", diff == 0, diff + " znodes differ (listed above)");
                break;
            }
            case "dump":
                dump(args[1], args[2]);
                break;
            case "compare":
                failed = compare(args[1], args[2], args.length > 3 ? args[3] : "A", args.length > 4 ? args[4] : "B");
                break;
            default:
                System.err.println("usage: RoundTrip build|takeover|dumpcompare|dump|compare ...");
                System.exit(2);
        }
        System.out.flush();
        // halt: do not let the client close a session that must stay open (reattach)
        Runtime.getRuntime().halt(failed == 0 ? 0 : 1);
    }
}
