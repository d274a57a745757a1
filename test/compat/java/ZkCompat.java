// Compatibility program for the official Apache ZooKeeper 3.8 Java client.
//
//   java -cp <zookeeper jars>:<classes> ZkCompat 127.0.0.1:PORT
//
// Drives the whole public client API (plus the lock, leader-election and queue recipes)
// against the server behind the connect string and asserts on every result.  Each check
// prints `ok <name>` or `FAIL <name>: <expected vs seen>`; the last line is
// `N passed, N failed`; the exit status is 1 when anything failed.  All work happens under
// a root znode that is unique to the run, and every wait is bounded.
//
// A handful of checks ("raw ...") bypass the client's own argument validation by handing a
// request record straight to the connection, so that the *server's* answer to malformed
// input (bad paths, bad ACLs, bad TTLs) is what gets asserted.

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;

import org.apache.jute.Record;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.AsyncCallback;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.EventType;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.Watcher.WatcherType;
import org.apache.zookeeper.ZKUtil;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooDefs.OpCode;
import org.apache.zookeeper.ZooDefs.Perms;
import org.apache.zookeeper.StatsTrack;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.cli.DelQuotaCommand;
import org.apache.zookeeper.cli.ListQuotaCommand;
import org.apache.zookeeper.cli.SetQuotaCommand;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.proto.CheckWatchesRequest;
import org.apache.zookeeper.proto.CreateRequest;
import org.apache.zookeeper.proto.CreateResponse;
import org.apache.zookeeper.proto.CreateTTLRequest;
import org.apache.zookeeper.proto.DeleteRequest;
import org.apache.zookeeper.proto.ExistsRequest;
import org.apache.zookeeper.proto.GetChildrenRequest;
import org.apache.zookeeper.proto.GetChildrenResponse;
import org.apache.zookeeper.proto.GetDataRequest;
import org.apache.zookeeper.proto.GetDataResponse;
import org.apache.zookeeper.proto.ReplyHeader;
import org.apache.zookeeper.proto.RequestHeader;
import org.apache.zookeeper.proto.SetACLRequest;
import org.apache.zookeeper.proto.SetDataRequest;
import org.apache.zookeeper.proto.SetDataResponse;
import org.apache.zookeeper.recipes.leader.LeaderElectionAware;
import org.apache.zookeeper.recipes.leader.LeaderElectionSupport;
import org.apache.zookeeper.recipes.lock.LockListener;
import org.apache.zookeeper.recipes.lock.WriteLock;
import org.apache.zookeeper.recipes.queue.DistributedQueue;

public class ZkCompat {

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

    static String show(Object o) {
        if (o == null) return "null";
        if (o instanceof byte[]) return "bytes\"" + new String((byte[]) o, StandardCharsets.UTF_8) + "\"";
        if (o instanceof Stat) return "Stat{" + o.toString().trim().replace('\n', ' ') + "}";
        return String.valueOf(o);
    }

    static void eq(String name, Object expected, Object seen) {
        if (Objects.deepEquals(expected, seen)) ok(name);
        else fail(name, "expected " + show(expected) + ", seen " + show(seen));
    }

    interface Body {
        void run() throws Exception;
    }

    /** Runs a call that must fail with the given KeeperException code. */
    static void code(String name, Code expected, Body body) {
        try {
            body.run();
            fail(name, "expected KeeperException " + expected + " but the call succeeded");
        } catch (KeeperException e) {
            if (e.code() == expected) ok(name);
            else fail(name, "expected " + expected + " (" + expected.intValue() + "), seen " + e.code() + " (" + e.code().intValue() + ")");
        } catch (Throwable t) {
            fail(name, "expected KeeperException " + expected + ", seen " + t);
        }
    }

    /** Runs a call that the client library itself must reject with IllegalArgumentException. */
    static void illegal(String name, Body body) {
        try {
            body.run();
            fail(name, "expected IllegalArgumentException but the call succeeded");
        } catch (IllegalArgumentException e) {
            ok(name);
        } catch (Throwable t) {
            fail(name, "expected IllegalArgumentException, seen " + t);
        }
    }

    /** A group of checks; an unexpected exception aborts the group and counts as one failure. */
    static void section(String name, Body body) {
        System.out.println("# " + name);
        long t0 = System.nanoTime();
        try {
            body.run();
        } catch (Throwable t) {
            StringBuilder sb = new StringBuilder(t.toString());
            for (StackTraceElement el : t.getStackTrace()) {
                if (el.getClassName().startsWith("ZkCompat")) {
                    sb.append(" at ").append(el.getClassName()).append(':').append(el.getLineNumber());
                    break;
                }
            }
            fail(name + " (section aborted)", "unexpected " + sb);
        }
        System.out.println("# " + name + " took " + (System.nanoTime() - t0) / 1_000_000 + " ms");
    }

    static void note(String s) {
        System.out.println("# " + s);
    }

    // ------------------------------------------------------------------ helpers

    static String CONNECT;
    static String ROOT;
    static final List<ACL> OPEN = Ids.OPEN_ACL_UNSAFE;
    static final List<ZooKeeper> OPENED = new CopyOnWriteArrayList<>();

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String str(byte[] d) {
        return d == null ? null : new String(d, StandardCharsets.UTF_8);
    }

    static List<String> sorted(List<String> l) {
        List<String> c = new ArrayList<>(l);
        Collections.sort(c);
        return c;
    }

    /** Default watcher of a handle: remembers session states, forwards node events. */
    static class SessionWatcher implements Watcher {
        final LinkedBlockingQueue<KeeperState> states = new LinkedBlockingQueue<>();
        final LinkedBlockingQueue<WatchedEvent> nodeEvents = new LinkedBlockingQueue<>();
        volatile CountDownLatch connected = new CountDownLatch(1);

        @Override
        public void process(WatchedEvent e) {
            if (e.getType() == EventType.None) {
                states.add(e.getState());
                if (e.getState() == KeeperState.SyncConnected) connected.countDown();
            } else {
                nodeEvents.add(e);
            }
        }

        /** Waits for the given state, discarding others; false on timeout. */
        boolean await(KeeperState want, long ms) throws InterruptedException {
            long end = System.currentTimeMillis() + ms;
            while (true) {
                long left = end - System.currentTimeMillis();
                if (left <= 0) return false;
                KeeperState s = states.poll(left, TimeUnit.MILLISECONDS);
                if (s == null) return false;
                if (s == want) return true;
            }
        }
    }

    /** Records the node events it is given (connection-state events go to every watcher; ignored). */
    static class Rec implements Watcher {
        final LinkedBlockingQueue<WatchedEvent> q = new LinkedBlockingQueue<>();

        @Override
        public void process(WatchedEvent e) {
            if (e.getType() != EventType.None) q.add(e);
        }

        WatchedEvent next(long ms) throws InterruptedException {
            return q.poll(ms, TimeUnit.MILLISECONDS);
        }
    }

    static String ev(WatchedEvent e) {
        return e == null ? "no event" : e.getType() + " " + e.getPath() + " (" + e.getState() + ")";
    }

    static void expectEvent(String name, Rec r, EventType type, String path, long ms) throws InterruptedException {
        WatchedEvent e = r.next(ms);
        if (e != null && e.getType() == type && Objects.equals(e.getPath(), path) && e.getState() == KeeperState.SyncConnected) ok(name);
        else fail(name, "expected " + type + " " + path + " (SyncConnected), seen " + ev(e));
    }

    static void expectNoEvent(String name, Rec r, long ms) throws InterruptedException {
        WatchedEvent e = r.next(ms);
        if (e == null) ok(name);
        else fail(name, "expected no further event, seen " + ev(e));
    }

    static ZooKeeper open(SessionWatcher w, int timeoutMs) throws Exception {
        ZooKeeper z = new ZooKeeper(CONNECT, timeoutMs, w);
        OPENED.add(z);
        if (!w.connected.await(15, TimeUnit.SECONDS)) throw new IllegalStateException("no SyncConnected within 15 s");
        return z;
    }

    static ZooKeeper open() throws Exception {
        return open(new SessionWatcher(), 10000);
    }

    static void closeQuietly(ZooKeeper z) {
        if (z == null) return;
        try {
            z.close(5000);
        } catch (Throwable ignored) {
        }
    }

    static Object field(Object target, Class<?> cls, String name) throws Exception {
        Field f = cls.getDeclaredField(name);
        f.setAccessible(true);
        return f.get(target);
    }

    /** Drops the handle's TCP connection without closing the session (like a process crash). */
    static void abandon(ZooKeeper z) throws Exception {
        Object cnxn = field(z, ZooKeeper.class, "cnxn");
        Method m = cnxn.getClass().getMethod("disconnect");
        m.invoke(cnxn);
    }

    /** Closes just the socket; the client reconnects on its own and re-registers its watches. */
    static void dropSocket(ZooKeeper z) throws Exception {
        Object cnxn = field(z, ZooKeeper.class, "cnxn");
        Object sendThread = field(cnxn, cnxn.getClass(), "sendThread");
        Method m = sendThread.getClass().getDeclaredMethod("testableCloseSocket");
        m.setAccessible(true);
        m.invoke(sendThread);
    }

    /** Sends a request record as-is (no client-side validation); returns the server's error code. */
    static int raw(ZooKeeper z, int opCode, Record request, Record response) throws Exception {
        Object cnxn = field(z, ZooKeeper.class, "cnxn");
        Method submit = null;
        for (Method m : cnxn.getClass().getMethods()) {
            if (m.getName().equals("submitRequest") && m.getParameterCount() == 4) submit = m;
        }
        RequestHeader h = new RequestHeader();
        h.setType(opCode);
        ReplyHeader r = (ReplyHeader) submit.invoke(cnxn, h, request, response, null);
        return r.getErr();
    }

    static void rawCode(String name, Code expected, ZooKeeper z, int opCode, Record request, Record response) {
        try {
            int err = raw(z, opCode, request, response);
            if (err == expected.intValue()) ok(name);
            else fail(name, "expected " + expected + " (" + expected.intValue() + "), seen " + Code.get(err) + " (" + err + ")");
        } catch (Throwable t) {
            fail(name, "expected server error " + expected + ", seen " + t);
        }
    }

    static String digest(String userPass) throws Exception {
        MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
        String user = userPass.substring(0, userPass.indexOf(':'));
        return user + ":" + Base64.getEncoder().encodeToString(sha1.digest(b(userPass)));
    }

    static boolean waitGone(ZooKeeper z, String path, long ms) throws Exception {
        long end = System.currentTimeMillis() + ms;
        while (System.currentTimeMillis() < end) {
            if (z.exists(path, false) == null) return true;
            Thread.sleep(100);
        }
        return z.exists(path, false) == null;
    }

    /** A mutable ACL list (the client calls acl.contains(null), which List.of rejects). */
    static List<ACL> acl(ACL... entries) {
        return new ArrayList<>(Arrays.asList(entries));
    }

    static Stat getStat(ZooKeeper zk, String path) throws Exception {
        Stat st = new Stat();
        zk.getData(path, false, st);
        return st;
    }

    // ------------------------------------------------------------------ main

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: ZkCompat host:port");
            System.exit(2);
        }
        CONNECT = args[0];
        ROOT = "/zkcompat-" + ProcessHandle.current().pid() + "-" + System.currentTimeMillis();
        long t0 = System.currentTimeMillis();

        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(240_000);
                System.out.println("FAIL watchdog: program still running after 240 s");
                System.out.println(passed + " passed, " + (failed + 1) + " failed");
                System.out.flush();
                Runtime.getRuntime().halt(1);
            } catch (InterruptedException ignored) {
            }
        });
        watchdog.setDaemon(true);
        watchdog.start();

        ZooKeeper zk = null;
        try {
            SessionWatcher sw = new SessionWatcher();
            zk = open(sw, 10000);
            ok("connect " + CONNECT);
            final ZooKeeper z = zk;
            note("root " + ROOT + ", session 0x" + Long.toHexString(z.getSessionId()));
            section("create modes and stats", () -> createModes(z));
            section("sequential numbering", () -> sequential(z));
            section("containers and TTL nodes", () -> containersAndTtl(z));
            section("error codes", () -> errors(z));
            section("bad paths", () -> badPaths(z));
            section("data and versions", () -> dataAndVersions(z));
            section("children", () -> children(z));
            section("ACLs", () -> acls(z));
            section("auth and whoAmI", () -> authAndWhoAmI(z));
            section("multi", () -> multi(z));
            section("multiRead", () -> multiRead(z));
            section("async API and sync", () -> asyncAndSync(z));
            section("one-shot watches", () -> oneShotWatches(z));
            section("persistent watches", () -> persistentWatches(z));
            section("removeWatches", () -> removeWatches(z));
            section("watches survive reconnect", () -> reconnectWatches(z));
            section("chroot", () -> chroot(z));
            section("sessions", () -> sessions(z));
            section("/zookeeper system nodes", () -> systemNodes(z));
            section("quotas (zkCli's setquota / listquota / delquota)", () -> quotas(z));
            section("recipe WriteLock", () -> lockRecipe(z));
            section("recipe LeaderElectionSupport", () -> electionRecipe(z));
            section("recipe DistributedQueue", () -> queueRecipe(z));
        } catch (Throwable t) {
            fail("setup", "unexpected " + t);
        } finally {
            for (ZooKeeper o : OPENED) {
                if (o != zk) closeQuietly(o);
            }
            try {
                SessionWatcher w = new SessionWatcher();
                ZooKeeper su = new ZooKeeper(CONNECT, 10000, w);
                if (w.connected.await(15, TimeUnit.SECONDS)) {
                    su.addAuthInfo("digest", b("super:test"));
                    if (su.exists(ROOT, false) != null) ZKUtil.deleteRecursive(su, ROOT);
                }
                su.close(5000);
            } catch (Throwable t) {
                note("cleanup of " + ROOT + " failed: " + t);
            }
            closeQuietly(zk);
        }
        note("total " + (System.currentTimeMillis() - t0) + " ms");
        System.out.println(passed + " passed, " + failed + " failed");
        System.out.flush();
        System.exit(failed == 0 ? 0 : 1);
    }

    // ------------------------------------------------------------------ sections

    static void createModes(ZooKeeper zk) throws Exception {
        long before = System.currentTimeMillis();
        Stat st = new Stat();
        String got = zk.create(ROOT, b("root"), OPEN, CreateMode.PERSISTENT, st);
        eq("create PERSISTENT returns path", ROOT, got);
        eq("create stat version", 0, st.getVersion());
        eq("create stat cversion", 0, st.getCversion());
        eq("create stat aversion", 0, st.getAversion());
        eq("create stat ephemeralOwner", 0L, st.getEphemeralOwner());
        eq("create stat dataLength", 4, st.getDataLength());
        eq("create stat numChildren", 0, st.getNumChildren());
        check("create stat czxid == mzxid == pzxid", st.getCzxid() == st.getMzxid() && st.getMzxid() == st.getPzxid() && st.getCzxid() > 0, show(st));
        check("create stat ctime == mtime, close to wall clock", st.getCtime() == st.getMtime() && Math.abs(st.getCtime() - before) < 60_000, show(st) + " now " + before);
        eq("exists returns the create Stat", st, zk.exists(ROOT, false));

        Stat gs = new Stat();
        eq("getData of new node", b("root"), zk.getData(ROOT, false, gs));
        eq("getData Stat equals create Stat", st, gs);

        Stat pst = new Stat();
        eq("create child PERSISTENT (create without Stat)", ROOT + "/p", zk.create(ROOT + "/p", b("hello"), OPEN, CreateMode.PERSISTENT));
        zk.getData(ROOT + "/p", false, pst);
        check("child czxid > parent czxid", pst.getCzxid() > st.getCzxid(), show(pst));
        Stat rst = zk.exists(ROOT, false);
        eq("parent numChildren after child create", 1, rst.getNumChildren());
        eq("parent cversion after child create", 1, rst.getCversion());
        eq("parent pzxid == child czxid", pst.getCzxid(), rst.getPzxid());
        eq("parent mzxid unchanged by child create", st.getMzxid(), rst.getMzxid());
        eq("parent version unchanged by child create", 0, rst.getVersion());

        Stat est = new Stat();
        eq("create EPHEMERAL returns path", ROOT + "/eph", zk.create(ROOT + "/eph", b("e"), OPEN, CreateMode.EPHEMERAL, est));
        eq("EPHEMERAL ephemeralOwner == session id", zk.getSessionId(), est.getEphemeralOwner());

        Stat sst = new Stat();
        String seq = zk.create(ROOT + "/ps-", b("s"), OPEN, CreateMode.PERSISTENT_SEQUENTIAL, sst);
        eq("create PERSISTENT_SEQUENTIAL: suffix = child creations so far", ROOT + "/ps-0000000002", seq);
        eq("PERSISTENT_SEQUENTIAL ephemeralOwner", 0L, sst.getEphemeralOwner());

        Stat esst = new Stat();
        String eseq = zk.create(ROOT + "/es-", b("s"), OPEN, CreateMode.EPHEMERAL_SEQUENTIAL, esst);
        eq("create EPHEMERAL_SEQUENTIAL", ROOT + "/es-0000000003", eseq);
        eq("EPHEMERAL_SEQUENTIAL ephemeralOwner", zk.getSessionId(), esst.getEphemeralOwner());

        Stat cst = new Stat();
        eq("create CONTAINER returns path", ROOT + "/cont", zk.create(ROOT + "/cont", b("c"), OPEN, CreateMode.CONTAINER, cst));
        eq("CONTAINER ephemeralOwner reported to clients as 0", 0L, cst.getEphemeralOwner());
        eq("CONTAINER ephemeralOwner via exists is 0 too", 0L, zk.exists(ROOT + "/cont", false).getEphemeralOwner());

        Stat tst = new Stat();
        eq("create PERSISTENT_WITH_TTL returns path", ROOT + "/ttl", zk.create(ROOT + "/ttl", b("t"), OPEN, CreateMode.PERSISTENT_WITH_TTL, tst, 3_600_000L));
        eq("PERSISTENT_WITH_TTL ephemeralOwner reported to clients as 0", 0L, tst.getEphemeralOwner());
        eq("PERSISTENT_WITH_TTL ephemeralOwner via getData is 0 too", 0L, getStat(zk, ROOT + "/ttl").getEphemeralOwner());

        Stat tsst = new Stat();
        String tseq = zk.create(ROOT + "/ttls-", b("t"), OPEN, CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, tsst, 3_600_000L);
        eq("create PERSISTENT_SEQUENTIAL_WITH_TTL", ROOT + "/ttls-0000000006", tseq);
        eq("PERSISTENT_SEQUENTIAL_WITH_TTL ephemeralOwner reported as 0", 0L, tsst.getEphemeralOwner());

        eq("children after creating one of each mode",
                Arrays.asList("cont", "eph", "es-0000000003", "p", "ps-0000000002", "ttl", "ttls-0000000006"),
                sorted(zk.getChildren(ROOT, false)));

        // null and empty payloads, and a large one
        zk.create(ROOT + "/nulldata", null, OPEN, CreateMode.PERSISTENT);
        Stat ns = new Stat();
        byte[] nd = zk.getData(ROOT + "/nulldata", false, ns);
        check("create with null data reads back as empty/null", nd == null || nd.length == 0, show(nd));
        note("getData of a node created with null data returns " + (nd == null ? "null" : "byte[" + nd.length + "]"));
        eq("null data dataLength", 0, ns.getDataLength());
        zk.create(ROOT + "/emptydata", new byte[0], OPEN, CreateMode.PERSISTENT);
        byte[] ed = zk.getData(ROOT + "/emptydata", false, null);
        check("create with empty data reads back as empty/null", ed == null || ed.length == 0, show(ed));
        note("getData of a node created with byte[0] returns " + (ed == null ? "null" : "byte[" + ed.length + "]"));
        byte[] big = new byte[512 * 1024];
        for (int i = 0; i < big.length; i++) big[i] = (byte) (i * 31 + 7);
        zk.create(ROOT + "/big", big, OPEN, CreateMode.PERSISTENT);
        Stat bs = new Stat();
        check("512 KiB payload round-trips", Arrays.equals(big, zk.getData(ROOT + "/big", false, bs)), "data differs");
        eq("512 KiB dataLength", big.length, bs.getDataLength());
        zk.delete(ROOT + "/big", -1);
    }

    static void sequential(ZooKeeper zk) throws Exception {
        String d = ROOT + "/seq";
        zk.create(d, null, OPEN, CreateMode.PERSISTENT);
        eq("first sequential child is 0000000000", d + "/s-0000000000", zk.create(d + "/s-", null, OPEN, CreateMode.PERSISTENT_SEQUENTIAL));
        eq("second sequential child is 0000000001", d + "/s-0000000001", zk.create(d + "/s-", null, OPEN, CreateMode.PERSISTENT_SEQUENTIAL));
        zk.create(d + "/plain", null, OPEN, CreateMode.PERSISTENT);
        zk.delete(d + "/s-0000000001", -1);
        zk.delete(d + "/plain", -1);
        // ZooKeeper stores the number of child creations (this drives the sequence suffix) and
        // reports cversion = 2 * creations - numChildren, i.e. creations + deletions.
        Stat ps = zk.exists(d, false);
        eq("reported cversion = creations + deletions (3 creates, 2 deletes)", 5, ps.getCversion());
        eq("numChildren after deletes", 1, ps.getNumChildren());
        eq("sequence after plain create and deletes is 0000000003", d + "/s-0000000003", zk.create(d + "/s-", null, OPEN, CreateMode.PERSISTENT_SEQUENTIAL));
        eq("different prefix shares the parent counter", d + "/other-0000000004", zk.create(d + "/other-", null, OPEN, CreateMode.PERSISTENT_SEQUENTIAL));
        eq("EPHEMERAL_SEQUENTIAL shares the parent counter", d + "/e-0000000005", zk.create(d + "/e-", null, OPEN, CreateMode.EPHEMERAL_SEQUENTIAL));
        eq("sequential with trailing slash names the child by number only", d + "/0000000006", zk.create(d + "/", null, OPEN, CreateMode.PERSISTENT_SEQUENTIAL));
        code("plain create with an existing sequential name: NodeExists", Code.NODEEXISTS, () -> zk.create(d + "/s-0000000000", null, OPEN, CreateMode.PERSISTENT));
        Stat after = zk.exists(d, false);
        eq("failed create does not bump cversion (7 creates, 2 deletes)", 9, after.getCversion());
        eq("sequence after failed create is 0000000007", d + "/s-0000000007", zk.create(d + "/s-", null, OPEN, CreateMode.PERSISTENT_SEQUENTIAL));
    }

    static void containersAndTtl(ZooKeeper zk) throws Exception {
        String keep = ROOT + "/ct-never-had-children";
        String reap = ROOT + "/ct-emptied";
        String ttlShort = ROOT + "/ttl-short";
        String ttlWithChild = ROOT + "/ttl-with-child";
        zk.create(keep, null, OPEN, CreateMode.CONTAINER);
        zk.create(reap, null, OPEN, CreateMode.CONTAINER);
        zk.create(reap + "/child", null, OPEN, CreateMode.PERSISTENT);
        Rec w = new Rec();
        zk.exists(reap, w);
        zk.delete(reap + "/child", -1);
        expectEvent("exists watch on an emptied container fires NodeDeleted when the server reaps it", w, EventType.NodeDeleted, reap, 15_000);
        check("container whose last child was deleted is removed by the server", zk.exists(reap, false) == null, "still exists");

        zk.create(ttlShort, null, OPEN, CreateMode.PERSISTENT_WITH_TTL, null, 300L);
        zk.create(ttlWithChild, null, OPEN, CreateMode.PERSISTENT_WITH_TTL, null, 300L);
        zk.create(ttlWithChild + "/c", null, OPEN, CreateMode.PERSISTENT);
        long t0 = System.currentTimeMillis();
        check("TTL node without children expires", waitGone(zk, ttlShort, 15_000), "still exists after 15 s");
        note("TTL(300 ms) node expired after ~" + (System.currentTimeMillis() - t0) + " ms");
        check("TTL node with a child is kept", zk.exists(ttlWithChild, false) != null, "was deleted");
        check("container that never had children is kept", zk.exists(keep, false) != null, "was deleted");

        // a container is also reaped after an ephemeral child goes away with its session
        String reap2 = ROOT + "/ct-eph";
        zk.create(reap2, null, OPEN, CreateMode.CONTAINER);
        ZooKeeper other = open();
        other.create(reap2 + "/e", null, OPEN, CreateMode.EPHEMERAL);
        other.close();
        check("container emptied by session close is removed", waitGone(zk, reap2, 15_000), "still exists after 15 s");

        // the server's own answers to malformed TTL requests
        rawCode("raw createTTL with ttl 0: BadArguments", Code.BADARGUMENTS, zk, OpCode.createTTL,
                new CreateTTLRequest(ROOT + "/rawttl0", null, OPEN, CreateMode.PERSISTENT_WITH_TTL.toFlag(), 0), new CreateResponse());
        rawCode("raw createTTL with ttl beyond 2^40-1: BadArguments", Code.BADARGUMENTS, zk, OpCode.createTTL,
                new CreateTTLRequest(ROOT + "/rawttl1", null, OPEN, CreateMode.PERSISTENT_WITH_TTL.toFlag(), 1L << 41), new CreateResponse());
        rawCode("raw createTTL with a non-TTL mode: BadArguments", Code.BADARGUMENTS, zk, OpCode.createTTL,
                new CreateTTLRequest(ROOT + "/rawttl2", null, OPEN, CreateMode.PERSISTENT.toFlag(), 1000), new CreateResponse());
        rawCode("raw plain create carrying the TTL flag: BadArguments", Code.BADARGUMENTS, zk, OpCode.create,
                new CreateRequest(ROOT + "/rawttl3", null, OPEN, CreateMode.PERSISTENT_WITH_TTL.toFlag()), new CreateResponse());
        rawCode("raw create with unknown mode flag 42: BadArguments", Code.BADARGUMENTS, zk, OpCode.create,
                new CreateRequest(ROOT + "/rawflag", null, OPEN, 42), new CreateResponse());
    }

    static void errors(ZooKeeper zk) throws Exception {
        String e = ROOT + "/err";
        zk.create(e, b("v0"), OPEN, CreateMode.PERSISTENT);
        code("create existing: NodeExists", Code.NODEEXISTS, () -> zk.create(e, null, OPEN, CreateMode.PERSISTENT));
        code("create under missing parent: NoNode", Code.NONODE, () -> zk.create(e + "/missing/child", null, OPEN, CreateMode.PERSISTENT));
        code("sequential create under missing parent: NoNode", Code.NONODE, () -> zk.create(e + "/missing/s-", null, OPEN, CreateMode.PERSISTENT_SEQUENTIAL));
        code("getData missing: NoNode", Code.NONODE, () -> zk.getData(e + "/missing", false, null));
        code("setData missing: NoNode", Code.NONODE, () -> zk.setData(e + "/missing", null, -1));
        code("delete missing: NoNode", Code.NONODE, () -> zk.delete(e + "/missing", -1));
        code("getChildren missing: NoNode", Code.NONODE, () -> zk.getChildren(e + "/missing", false));
        code("getACL missing: NoNode", Code.NONODE, () -> zk.getACL(e + "/missing", new Stat()));
        code("setACL missing: NoNode", Code.NONODE, () -> zk.setACL(e + "/missing", OPEN, -1));
        code("getAllChildrenNumber missing: NoNode", Code.NONODE, () -> zk.getAllChildrenNumber(e + "/missing"));
        eq("exists missing returns null", null, zk.exists(e + "/missing", false));
        code("setData wrong version: BadVersion", Code.BADVERSION, () -> zk.setData(e, null, 5));
        code("delete wrong version: BadVersion", Code.BADVERSION, () -> zk.delete(e, 3));
        code("setACL wrong version: BadVersion", Code.BADVERSION, () -> zk.setACL(e, OPEN, 9));
        zk.create(e + "/kid", null, OPEN, CreateMode.PERSISTENT);
        code("delete non-empty: NotEmpty", Code.NOTEMPTY, () -> zk.delete(e, -1));
        code("delete non-empty with right version: NotEmpty", Code.NOTEMPTY, () -> zk.delete(e, 0));
        zk.create(e + "/eph", null, OPEN, CreateMode.EPHEMERAL);
        code("child of ephemeral: NoChildrenForEphemerals", Code.NOCHILDRENFOREPHEMERALS, () -> zk.create(e + "/eph/c", null, OPEN, CreateMode.PERSISTENT));
        code("sequential child of ephemeral: NoChildrenForEphemerals", Code.NOCHILDRENFOREPHEMERALS, () -> zk.create(e + "/eph/c-", null, OPEN, CreateMode.EPHEMERAL_SEQUENTIAL));
        code("empty ACL list (client-side check): InvalidACL", Code.INVALIDACL, () -> zk.create(e + "/noacl", null, new ArrayList<>(), CreateMode.PERSISTENT));
        code("CREATOR_ALL_ACL without auth: InvalidACL", Code.INVALIDACL, () -> zk.create(e + "/creator", null, Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT));
        code("unknown ACL scheme: InvalidACL", Code.INVALIDACL, () -> zk.create(e + "/bogus", null, acl(new ACL(Perms.ALL, new Id("bogus", "x"))), CreateMode.PERSISTENT));
        code("digest ACL id without colon: InvalidACL", Code.INVALIDACL, () -> zk.create(e + "/badid", null, acl(new ACL(Perms.ALL, new Id("digest", "nocolon"))), CreateMode.PERSISTENT));
        code("ip ACL with a malformed address: InvalidACL", Code.INVALIDACL, () -> zk.create(e + "/badip", null, acl(new ACL(Perms.ALL, new Id("ip", "not-an-ip"))), CreateMode.PERSISTENT));
        code("world ACL with id other than anyone: InvalidACL", Code.INVALIDACL, () -> zk.create(e + "/badworld", null, acl(new ACL(Perms.ALL, new Id("world", "someone"))), CreateMode.PERSISTENT));
        code("setACL with unknown scheme: InvalidACL", Code.INVALIDACL, () -> zk.setACL(e, acl(new ACL(Perms.ALL, new Id("bogus", "x"))), -1));
        rawCode("raw create with empty ACL list: InvalidACL", Code.INVALIDACL, zk, OpCode.create,
                new CreateRequest(e + "/rawnoacl", null, new ArrayList<>(), 0), new CreateResponse());
        rawCode("raw setACL with empty ACL list: InvalidACL", Code.INVALIDACL, zk, OpCode.setACL,
                new SetACLRequest(e, new ArrayList<>(), -1), null);
        check("nothing was created by the failed creates", sorted(zk.getChildren(e, false)).equals(Arrays.asList("eph", "kid")), String.valueOf(zk.getChildren(e, false)));
        code("delete / : BadArguments", Code.BADARGUMENTS, () -> zk.delete("/", -1));
        code("delete /zookeeper : BadArguments", Code.BADARGUMENTS, () -> zk.delete("/zookeeper", -1));
        code("create / : NodeExists", Code.NODEEXISTS, () -> zk.create("/", null, OPEN, CreateMode.PERSISTENT));
        code("create /zookeeper : NodeExists", Code.NODEEXISTS, () -> zk.create("/zookeeper", null, OPEN, CreateMode.PERSISTENT));
    }

    static void badPaths(ZooKeeper zk) throws Exception {
        // The client rejects malformed paths before anything is sent.
        illegal("client rejects empty path", () -> zk.create("", null, OPEN, CreateMode.PERSISTENT));
        illegal("client rejects relative path", () -> zk.create("relative", null, OPEN, CreateMode.PERSISTENT));
        illegal("client rejects trailing slash", () -> zk.create(ROOT + "/x/", null, OPEN, CreateMode.PERSISTENT));
        illegal("client rejects empty component", () -> zk.getData(ROOT + "//x", false, null));
        illegal("client rejects '.' component", () -> zk.exists(ROOT + "/./x", false));
        illegal("client rejects '..' component", () -> zk.delete(ROOT + "/../x", -1));
        illegal("client rejects NUL character", () -> zk.setData(ROOT + "/a\u0000b", null, -1));
        illegal("client rejects TTL on a non-TTL mode", () -> zk.create(ROOT + "/x", null, OPEN, CreateMode.PERSISTENT, null, 1000));
        illegal("client rejects TTL 0", () -> zk.create(ROOT + "/x", null, OPEN, CreateMode.PERSISTENT_WITH_TTL, null, 0));
        illegal("client rejects mixing reads and writes in multi", () -> zk.multi(Arrays.asList(Op.getData(ROOT), Op.check(ROOT, -1))));

        // What the server itself answers when such paths reach it.  ZooKeeper rejects a path
        // with no '/' or with a NUL outright (BadArguments), then looks up the parent (NoNode if
        // missing) and only then validates the full path (BadArguments).
        String[] badOutright = {"relative", "", ROOT + "/a\u0000b"};
        for (String p : badOutright) {
            rawCode("raw create '" + shown(p) + "': BadArguments", Code.BADARGUMENTS, zk, OpCode.create,
                    new CreateRequest(p, null, OPEN, 0), new CreateResponse());
        }
        String[] missingParent = {ROOT + "//x", ROOT + "/nope/", ROOT + "/./x", ROOT + "/nope/.."};
        for (String p : missingParent) {
            rawCode("raw create '" + shown(p) + "' (parent path missing): NoNode", Code.NONODE, zk, OpCode.create,
                    new CreateRequest(p, null, OPEN, 0), new CreateResponse());
        }
        zk.create(ROOT + "/bp", null, OPEN, CreateMode.PERSISTENT);
        String[] existingParent = {ROOT + "/bp/", ROOT + "/bp/.", ROOT + "/bp/..", ROOT + "/"};
        for (String p : existingParent) {
            rawCode("raw create '" + shown(p) + "' (parent exists): BadArguments", Code.BADARGUMENTS, zk, OpCode.create,
                    new CreateRequest(p, null, OPEN, 0), new CreateResponse());
        }
        rawCode("raw sequential create 'ROOT/bp/' (parent exists): ok", Code.OK, zk, OpCode.create,
                new CreateRequest(ROOT + "/bp/", null, OPEN, CreateMode.PERSISTENT_SEQUENTIAL.toFlag()), new CreateResponse());
        rawCode("raw create 'ROOT/bp/x\\1y' (control char): BadArguments", Code.BADARGUMENTS, zk, OpCode.create,
                new CreateRequest(ROOT + "/bp/x\u0001y", null, OPEN, 0), new CreateResponse());
        eq("only the sequential node was created under ROOT/bp", Arrays.asList("0000000000"), zk.getChildren(ROOT + "/bp", false));
        rawCode("raw create2 'ROOT/bp/.': BadArguments", Code.BADARGUMENTS, zk, OpCode.create2,
                new CreateRequest(ROOT + "/bp/.", null, OPEN, 0), new org.apache.zookeeper.proto.Create2Response());
        rawCode("raw setData on relative path: BadArguments", Code.BADARGUMENTS, zk, OpCode.setData,
                new SetDataRequest("relative", null, -1), new SetDataResponse());
        rawCode("raw delete on relative path: BadArguments", Code.BADARGUMENTS, zk, OpCode.delete,
                new DeleteRequest("relative", -1), null);
        rawCode("raw getData on relative path: NoNode", Code.NONODE, zk, OpCode.getData,
                new GetDataRequest("relative", false), new GetDataResponse());
        rawCode("raw exists on '//x': NoNode", Code.NONODE, zk, OpCode.exists,
                new ExistsRequest(ROOT + "//x", false), new org.apache.zookeeper.proto.ExistsResponse());
        rawCode("raw getChildren on trailing slash: NoNode", Code.NONODE, zk, OpCode.getChildren,
                new GetChildrenRequest(ROOT + "/", false), new GetChildrenResponse());
        check("connection still usable after malformed requests", zk.exists(ROOT, false) != null, "exists failed");
    }

    static String shown(String p) {
        return p.replace("\u0000", "\\0").replace("\u0001", "\\1").replace(ROOT, "ROOT");
    }

    static void dataAndVersions(ZooKeeper zk) throws Exception {
        String p = ROOT + "/data";
        Stat c = new Stat();
        zk.create(p, b("one"), OPEN, CreateMode.PERSISTENT, c);
        Thread.sleep(5);
        Stat s1 = zk.setData(p, b("two"), 0);
        eq("setData with matching version bumps version", 1, s1.getVersion());
        check("setData bumps mzxid and keeps czxid/ctime", s1.getMzxid() > c.getMzxid() && s1.getCzxid() == c.getCzxid() && s1.getCtime() == c.getCtime(), show(s1));
        check("setData updates mtime", s1.getMtime() >= c.getMtime(), show(s1));
        eq("setData keeps pzxid", c.getPzxid(), s1.getPzxid());
        eq("setData dataLength", 3, s1.getDataLength());
        Stat s2 = zk.setData(p, b("three"), -1);
        eq("setData -1 bumps version", 2, s2.getVersion());
        Stat gs = new Stat();
        eq("getData after setData", b("three"), zk.getData(p, false, gs));
        eq("getData Stat equals setData Stat", s2, gs);
        Stat s3 = zk.setData(p, b("three"), 2);
        eq("setData with identical bytes still bumps version", 3, s3.getVersion());
        code("setData with stale version: BadVersion", Code.BADVERSION, () -> zk.setData(p, b("x"), 2));
        eq("failed setData left data intact", b("three"), zk.getData(p, false, null));
        code("delete with stale version: BadVersion", Code.BADVERSION, () -> zk.delete(p, 2));
        zk.delete(p, 3);
        eq("delete with matching version removes node", null, zk.exists(p, false));
        zk.create(p, null, OPEN, CreateMode.PERSISTENT);
        eq("re-created node starts at version 0", 0, zk.exists(p, false).getVersion());
        zk.delete(p, -1);
        eq("delete -1 removes node", null, zk.exists(p, false));
    }

    static void children(ZooKeeper zk) throws Exception {
        String d = ROOT + "/kids";
        zk.create(d, null, OPEN, CreateMode.PERSISTENT);
        eq("getChildren of leaf is empty", Collections.emptyList(), zk.getChildren(d, false));
        for (String k : new String[] {"b", "a", "c"}) zk.create(d + "/" + k, null, OPEN, CreateMode.PERSISTENT);
        zk.create(d + "/a/x", null, OPEN, CreateMode.PERSISTENT);
        zk.create(d + "/a/x/y", null, OPEN, CreateMode.PERSISTENT);
        zk.create(d + "/c/e1", null, OPEN, CreateMode.EPHEMERAL);
        eq("getChildren names (sorted here)", Arrays.asList("a", "b", "c"), sorted(zk.getChildren(d, false)));
        Stat st = new Stat();
        List<String> kids = zk.getChildren(d, false, st);
        eq("getChildren with Stat: names", Arrays.asList("a", "b", "c"), sorted(kids));
        eq("getChildren with Stat: numChildren", 3, st.getNumChildren());
        eq("getChildren with Stat: cversion", 3, st.getCversion());
        eq("getChildren with Stat equals exists Stat", zk.exists(d, false), st);
        eq("getAllChildrenNumber counts all descendants", 6, zk.getAllChildrenNumber(d));
        eq("getAllChildrenNumber of leaf", 0, zk.getAllChildrenNumber(d + "/b"));
        List<String> mine = zk.getEphemerals(ROOT);
        check("getEphemerals(prefix) lists this session's ephemerals under the root",
                mine.contains(d + "/c/e1") && mine.contains(ROOT + "/eph") && !mine.contains(d + "/a"), String.valueOf(mine));
        eq("getEphemerals(prefix) is a plain string prefix", Arrays.asList(d + "/c/e1"), zk.getEphemerals(d + "/c/e"));
        eq("getEphemerals(no match)", Collections.emptyList(), zk.getEphemerals(d + "/zzz"));
        List<String> all = zk.getEphemerals();
        check("getEphemerals() includes them too", all.containsAll(mine), all + " vs " + mine);
        ZooKeeper other = open();
        try {
            other.create(d + "/b/theirs", null, OPEN, CreateMode.EPHEMERAL);
            eq("getEphemerals is per session", Collections.emptyList(), zk.getEphemerals(d + "/b"));
            eq("getEphemerals of the other session", Arrays.asList(d + "/b/theirs"), other.getEphemerals(d));
        } finally {
            other.close();
        }
        zk.delete(d + "/a/x/y", -1);
        Stat xs = zk.exists(d + "/a/x", false);
        eq("delete of a child: numChildren", 0, xs.getNumChildren());
        eq("delete of a child: reported cversion counts the delete", 2, xs.getCversion());
        check("delete of a child: pzxid advances past the child's czxid", xs.getPzxid() > zk.exists(d + "/a", false).getCzxid(), show(xs));
    }

    static void acls(ZooKeeper zk) throws Exception {
        String a = ROOT + "/acl";
        zk.create(a, b("x"), OPEN, CreateMode.PERSISTENT);
        Stat st = new Stat();
        eq("getACL default is world:anyone ALL", OPEN, zk.getACL(a, st));
        eq("getACL Stat aversion 0", 0, st.getAversion());
        List<ACL> readOnly = Ids.READ_ACL_UNSAFE;
        Stat s1 = zk.setACL(a, readOnly, 0);
        eq("setACL with matching aversion bumps aversion", 1, s1.getAversion());
        eq("setACL does not bump version", 0, s1.getVersion());
        eq("getACL after setACL", readOnly, zk.getACL(a, new Stat()));
        code("setData on read-only node: NoAuth", Code.NOAUTH, () -> zk.setData(a, b("y"), -1));
        code("create under read-only node: NoAuth", Code.NOAUTH, () -> zk.create(a + "/c", null, OPEN, CreateMode.PERSISTENT));
        code("setACL without ADMIN: NoAuth", Code.NOAUTH, () -> zk.setACL(a, OPEN, -1));
        eq("getData on read-only node works", b("x"), zk.getData(a, false, null));

        String cr = ROOT + "/acl-create-only";
        zk.create(cr, b("secret"), acl(new ACL(Perms.CREATE | Perms.DELETE, Ids.ANYONE_ID_UNSAFE)), CreateMode.PERSISTENT);
        code("getData without READ: NoAuth", Code.NOAUTH, () -> zk.getData(cr, false, null));
        code("getChildren without READ: NoAuth", Code.NOAUTH, () -> zk.getChildren(cr, false));
        check("exists needs no permission", zk.exists(cr, false) != null, "null");
        eq("create with CREATE permission", cr + "/k", zk.create(cr + "/k", null, OPEN, CreateMode.PERSISTENT));
        zk.delete(cr + "/k", -1);
        ok("delete child with DELETE permission on parent");
        code("setData without WRITE: NoAuth", Code.NOAUTH, () -> zk.setData(cr, null, -1));
        code("getACL without READ or ADMIN: NoAuth", Code.NOAUTH, () -> zk.getACL(cr, new Stat()));

        String nodel = ROOT + "/acl-no-delete";
        zk.create(nodel, null, acl(new ACL(Perms.ALL & ~Perms.DELETE, Ids.ANYONE_ID_UNSAFE)), CreateMode.PERSISTENT);
        zk.create(nodel + "/k", null, OPEN, CreateMode.PERSISTENT);
        code("delete child without DELETE on parent: NoAuth", Code.NOAUTH, () -> zk.delete(nodel + "/k", -1));
        String nodelKid = ROOT + "/acl-kid-locked";
        zk.create(nodelKid, null, OPEN, CreateMode.PERSISTENT);
        zk.create(nodelKid + "/k", null, acl(new ACL(0, Ids.ANYONE_ID_UNSAFE)), CreateMode.PERSISTENT);
        zk.delete(nodelKid + "/k", -1);
        ok("delete is governed by the parent's ACL, not the node's own");

        // ip scheme
        String ip = ROOT + "/acl-ip";
        zk.create(ip, b("ip"), acl(new ACL(Perms.ALL, new Id("ip", "127.0.0.1"))), CreateMode.PERSISTENT);
        eq("ip:127.0.0.1 ACL grants access to a local client", b("ip"), zk.getData(ip, false, null));
        zk.setACL(ip, acl(new ACL(Perms.ALL, new Id("ip", "127.0.0.0/8"))), -1);
        eq("ip:127.0.0.0/8 ACL grants access", b("ip"), zk.getData(ip, false, null));
        zk.setACL(ip, acl(new ACL(Perms.ALL, new Id("ip", "10.9.8.7"))), -1);
        code("ip ACL for another address: NoAuth", Code.NOAUTH, () -> zk.getData(ip, false, null));

        // digest scheme
        String alice = digest("alice:secret");
        String dg = ROOT + "/acl-digest";
        List<ACL> aliceOnly = acl(new ACL(Perms.ALL, new Id("digest", alice)));
        zk.create(dg, b("for alice"), aliceOnly, CreateMode.PERSISTENT);
        code("digest-protected node, no auth: NoAuth", Code.NOAUTH, () -> zk.getData(dg, false, null));
        ZooKeeper za = open();
        za.addAuthInfo("digest", b("alice:secret"));
        eq("digest user alice can read", b("for alice"), za.getData(dg, false, null));
        za.setData(dg, b("alice wrote"), -1);
        ok("digest user alice can write");
        ZooKeeper zb = open();
        zb.addAuthInfo("digest", b("bob:secret"));
        code("digest user bob: NoAuth", Code.NOAUTH, () -> zb.getData(dg, false, null));
        ZooKeeper zw = open();
        zw.addAuthInfo("digest", b("alice:wrong"));
        code("alice with wrong password: NoAuth", Code.NOAUTH, () -> zw.getData(dg, false, null));
        zw.close();
        eq("getACL shows the digest id to its owner", aliceOnly, za.getACL(dg, new Stat()));

        // READ without ADMIN: the digest hash is hidden
        String red = ROOT + "/acl-redacted";
        zk.create(red, null, acl(new ACL(Perms.ALL, new Id("digest", alice)), new ACL(Perms.READ, Ids.ANYONE_ID_UNSAFE)), CreateMode.PERSISTENT);
        List<ACL> seen = zk.getACL(red, new Stat());
        eq("getACL with READ but not ADMIN redacts digest passwords", acl(new ACL(Perms.ALL, new Id("digest", "alice:x")), new ACL(Perms.READ, Ids.ANYONE_ID_UNSAFE)), seen);
        eq("getACL with ADMIN shows full digest", acl(new ACL(Perms.ALL, new Id("digest", alice)), new ACL(Perms.READ, Ids.ANYONE_ID_UNSAFE)), za.getACL(red, new Stat()));

        // auth scheme: expands to the session's authenticated ids
        String au = ROOT + "/acl-auth";
        eq("create with CREATOR_ALL_ACL when authenticated", au, za.create(au, b("a"), Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT));
        eq("auth ACL is stored as the creator's digest", acl(new ACL(Perms.ALL, new Id("digest", alice))), za.getACL(au, new Stat()));
        code("auth-ACL node, other user: NoAuth", Code.NOAUTH, () -> zb.getData(au, false, null));
        ZooKeeper zab = open();
        zab.addAuthInfo("digest", b("alice:secret"));
        zab.addAuthInfo("digest", b("carol:pw"));
        String au2 = ROOT + "/acl-auth2";
        zab.create(au2, null, acl(new ACL(Perms.READ | Perms.WRITE, new Id("auth", ""))), CreateMode.PERSISTENT);
        Set<ACL> got = new HashSet<>(zab.getACL(au2, new Stat()));
        // without ADMIN in the ACL, getACL redacts the digests even for their owner
        eq("auth ACL with two digest identities stores both (READ|WRITE: shown redacted)", Set.of(new ACL(Perms.READ | Perms.WRITE, new Id("digest", "alice:x")), new ACL(Perms.READ | Perms.WRITE, new Id("digest", "carol:x"))), got);
        String au3 = ROOT + "/acl-auth3";
        zab.create(au3, null, acl(new ACL(Perms.ALL, new Id("auth", ""))), CreateMode.PERSISTENT);
        eq("auth ACL with two digest identities stores both (ALL: shown in full)", Set.of(new ACL(Perms.ALL, new Id("digest", alice)), new ACL(Perms.ALL, new Id("digest", digest("carol:pw")))), new HashSet<>(zab.getACL(au3, new Stat())));
        zab.close();

        // superuser
        ZooKeeper su = open();
        su.addAuthInfo("digest", b("super:test"));
        eq("super can read a digest-protected node", b("alice wrote"), su.getData(dg, false, null));
        eq("super can read a node with no permissions at all", b("ip"), su.getData(ip, false, null));
        su.setData(cr, b("super wrote"), -1);
        eq("super can write a node without WRITE", b("super wrote"), su.getData(cr, false, null));
        su.setACL(dg, OPEN, -1);
        eq("super can setACL without ADMIN", OPEN, zk.getACL(dg, new Stat()));
        su.delete(nodel + "/k", -1);
        ok("super can delete without DELETE");
        su.close();
        za.close();
        zb.close();
    }

    static void authAndWhoAmI(ZooKeeper zk) throws Exception {
        List<ClientInfo> me = zk.whoAmI();
        note("whoAmI unauthenticated: " + infos(me));
        eq("whoAmI unauthenticated is ip 127.0.0.1", List.of("ip:127.0.0.1"), infos(me));
        ZooKeeper za = open();
        za.addAuthInfo("digest", b("alice:secret"));
        List<ClientInfo> ai = za.whoAmI();
        note("whoAmI after digest alice: " + infos(ai));
        eq("whoAmI after digest auth", new TreeSet<>(List.of("ip:127.0.0.1", "digest:alice")), new TreeSet<>(infos(ai)));
        za.close();
        ZooKeeper su = open();
        su.addAuthInfo("digest", b("super:test"));
        List<ClientInfo> si = su.whoAmI();
        note("whoAmI after digest super:test: " + infos(si));
        eq("whoAmI of superuser", new TreeSet<>(List.of("super:", "ip:127.0.0.1", "digest:super")), new TreeSet<>(infos(si)));
        su.close();

        // unknown auth scheme: the server fails the session
        SessionWatcher w = new SessionWatcher();
        ZooKeeper bad = open(w, 10000);
        bad.addAuthInfo("nosuchscheme", b("x"));
        check("unknown auth scheme yields AuthFailed", w.await(KeeperState.AuthFailed, 10_000), "states seen " + w.states);
        try {
            bad.exists(ROOT, false);
            fail("requests after AuthFailed fail", "exists succeeded");
        } catch (KeeperException e) {
            check("requests after AuthFailed fail with AuthFailed/SessionExpired/ConnectionLoss",
                    e.code() == Code.AUTHFAILED || e.code() == Code.SESSIONEXPIRED || e.code() == Code.CONNECTIONLOSS, String.valueOf(e.code()));
            note("request after AuthFailed: " + e.code());
        }
        closeQuietly(bad);
    }

    static String statFields(Stat s) {
        return s.getCzxid() + "," + s.getMzxid() + "," + s.getCtime() + "," + s.getMtime() + "," + s.getVersion() + "," + s.getCversion()
                + "," + s.getAversion() + "," + s.getEphemeralOwner() + "," + s.getDataLength() + "," + s.getNumChildren() + "," + s.getPzxid();
    }

    static List<String> infos(List<ClientInfo> l) {
        List<String> out = new ArrayList<>();
        for (ClientInfo c : l) out.add(c.getAuthScheme() + ":" + c.getUser());
        return out;
    }

    static void multi(ZooKeeper zk) throws Exception {
        String m = ROOT + "/multi";
        zk.create(m, null, OPEN, CreateMode.PERSISTENT);
        List<OpResult> res = zk.multi(Arrays.asList(
                Op.create(m + "/a", b("a"), OPEN, CreateMode.PERSISTENT),
                Op.setData(m + "/a", b("a2"), 0),
                Op.check(m + "/a", 1),
                Op.create(m + "/s-", null, OPEN, CreateMode.PERSISTENT_SEQUENTIAL),
                Op.create(m + "/b", null, OPEN, CreateMode.PERSISTENT),
                Op.delete(m + "/b", 0),
                Op.create(m + "/t", null, OPEN, CreateMode.PERSISTENT_WITH_TTL, 3_600_000L),
                Op.create(m + "/c", null, OPEN, CreateMode.CONTAINER)));
        eq("multi returns one result per op", 8, res.size());
        check("multi[0] CreateResult path", res.get(0) instanceof OpResult.CreateResult && ((OpResult.CreateResult) res.get(0)).getPath().equals(m + "/a"), String.valueOf(res.get(0)));
        check("multi[1] SetDataResult version 1", res.get(1) instanceof OpResult.SetDataResult && ((OpResult.SetDataResult) res.get(1)).getStat().getVersion() == 1, String.valueOf(res.get(1)));
        check("multi[2] CheckResult", res.get(2) instanceof OpResult.CheckResult, String.valueOf(res.get(2)));
        check("multi[3] sequential create numbered after earlier create in same multi",
                res.get(3) instanceof OpResult.CreateResult && ((OpResult.CreateResult) res.get(3)).getPath().equals(m + "/s-0000000001"), show(res.get(3) instanceof OpResult.CreateResult ? ((OpResult.CreateResult) res.get(3)).getPath() : res.get(3)));
        check("multi[5] DeleteResult", res.get(5) instanceof OpResult.DeleteResult, String.valueOf(res.get(5)));
        check("multi[6] TTL create", res.get(6) instanceof OpResult.CreateResult && ((OpResult.CreateResult) res.get(6)).getPath().equals(m + "/t"), String.valueOf(res.get(6)));
        eq("multi TTL node ephemeralOwner reported as 0", 0L, zk.exists(m + "/t", false).getEphemeralOwner());
        eq("multi container ephemeralOwner reported as 0", 0L, zk.exists(m + "/c", false).getEphemeralOwner());
        eq("multi effects visible", Arrays.asList("a", "c", "s-0000000001", "t"), sorted(zk.getChildren(m, false)));
        eq("multi setData applied", b("a2"), zk.getData(m + "/a", false, null));

        // failing transaction: nothing applied, per-op results
        failingMulti("middle op fails", zk, Arrays.asList(
                Op.create(m + "/x1", null, OPEN, CreateMode.PERSISTENT),
                Op.check(m + "/a", 99),
                Op.create(m + "/x2", null, OPEN, CreateMode.PERSISTENT)),
                Code.BADVERSION, new int[] {0, Code.BADVERSION.intValue(), Code.RUNTIMEINCONSISTENCY.intValue()});
        failingMulti("first op fails", zk, Arrays.asList(
                Op.create(m + "/a", null, OPEN, CreateMode.PERSISTENT),
                Op.create(m + "/x3", null, OPEN, CreateMode.PERSISTENT),
                Op.delete(m + "/s-0000000001", -1)),
                Code.NODEEXISTS, new int[] {Code.NODEEXISTS.intValue(), -2, -2});
        failingMulti("last op fails", zk, Arrays.asList(
                Op.create(m + "/x4", null, OPEN, CreateMode.PERSISTENT),
                Op.setData(m + "/a", b("zzz"), -1),
                Op.delete(m + "/missing", -1)),
                Code.NONODE, new int[] {0, 0, Code.NONODE.intValue()});
        failingMulti("delete of node with child fails", zk, Arrays.asList(
                Op.create(m + "/a/kid", null, OPEN, CreateMode.PERSISTENT),
                Op.delete(m + "/a", -1)),
                Code.NOTEMPTY, new int[] {0, Code.NOTEMPTY.intValue()});
        failingMulti("create under an ephemeral fails", zk, Arrays.asList(
                Op.create(m + "/e", null, OPEN, CreateMode.EPHEMERAL),
                Op.create(m + "/e/kid", null, OPEN, CreateMode.PERSISTENT)),
                Code.NOCHILDRENFOREPHEMERALS, new int[] {0, Code.NOCHILDRENFOREPHEMERALS.intValue()});
        eq("failed multis left no trace", Arrays.asList("a", "c", "s-0000000001", "t"), sorted(zk.getChildren(m, false)));
        eq("failed multis left data", b("a2"), zk.getData(m + "/a", false, null));
        eq("failed multis did not advance the sequence counter", m + "/s-0000000005",
                zk.create(m + "/s-", null, OPEN, CreateMode.PERSISTENT_SEQUENTIAL));

        // an op within the multi that depends on an earlier op of the same multi
        List<OpResult> dep = zk.multi(Arrays.asList(
                Op.create(m + "/d", null, OPEN, CreateMode.PERSISTENT),
                Op.create(m + "/d/e", null, OPEN, CreateMode.PERSISTENT),
                Op.delete(m + "/d/e", 0),
                Op.delete(m + "/d", -1)));
        eq("multi with ops depending on each other", 4, dep.size());
        eq("... leaves nothing behind", null, zk.exists(m + "/d", false));

        eq("empty multi returns empty list", Collections.emptyList(), zk.multi(new ArrayList<>()));

        List<OpResult> tx = zk.transaction().create(m + "/tx", b("t"), OPEN, CreateMode.PERSISTENT).setData(m + "/tx", b("t2"), 0).check(m + "/tx", 1).commit();
        eq("Transaction API commit", 3, tx.size());
        eq("Transaction API effect", b("t2"), zk.getData(m + "/tx", false, null));

        CountDownLatch done = new CountDownLatch(1);
        AtomicReference<Object[]> cb = new AtomicReference<>();
        zk.multi(Arrays.asList(Op.setData(m + "/tx", b("t3"), 1), Op.check(m + "/tx", 5)), (rc, path, ctx, results) -> {
            cb.set(new Object[] {rc, results, ctx});
            done.countDown();
        }, "ctx");
        check("async failing multi calls back", done.await(10, TimeUnit.SECONDS), "no callback");
        Object[] r = cb.get();
        if (r != null) {
            eq("async failing multi rc", Code.BADVERSION.intValue(), r[0]);
            @SuppressWarnings("unchecked") List<OpResult> rl = (List<OpResult>) r[1];
            eq("async failing multi results", Arrays.asList(0, Code.BADVERSION.intValue()), errs(rl));
            eq("async multi ctx", "ctx", r[2]);
        }
        code("multi check on a missing node: NoNode", Code.NONODE, () -> zk.multi(List.of(Op.check(m + "/missing", -1))));
        code("multi with wrong ACL: InvalidACL", Code.INVALIDACL, () -> zk.multi(List.of(Op.create(m + "/q", null, acl(new ACL(Perms.ALL, new Id("bogus", "x"))), CreateMode.PERSISTENT))));
    }

    static List<Integer> errs(List<OpResult> l) {
        List<Integer> out = new ArrayList<>();
        if (l == null) return null;
        for (OpResult o : l) out.add(o instanceof OpResult.ErrorResult ? ((OpResult.ErrorResult) o).getErr() : Integer.MIN_VALUE);
        return out;
    }

    static void failingMulti(String name, ZooKeeper zk, List<Op> ops, Code expect, int[] perOp) {
        try {
            zk.multi(ops);
            fail("failing multi (" + name + ")", "expected " + expect + " but multi succeeded");
        } catch (KeeperException e) {
            eq("failing multi (" + name + ") throws first error", expect, e.code());
            List<Integer> want = new ArrayList<>();
            for (int i : perOp) want.add(i);
            eq("failing multi (" + name + ") ErrorResult codes", want, errs(e.getResults()));
        } catch (Throwable t) {
            fail("failing multi (" + name + ")", "unexpected " + t);
        }
    }

    static void multiRead(ZooKeeper zk) throws Exception {
        String m = ROOT + "/mread";
        zk.create(m, b("top"), OPEN, CreateMode.PERSISTENT);
        zk.create(m + "/k1", b("one"), OPEN, CreateMode.PERSISTENT);
        zk.create(m + "/k2", null, OPEN, CreateMode.PERSISTENT);
        zk.setData(m + "/k1", b("one!"), -1);
        String locked = m + "/locked";
        zk.create(locked, null, acl(new ACL(Perms.CREATE, Ids.ANYONE_ID_UNSAFE)), CreateMode.PERSISTENT);
        List<OpResult> r = zk.multi(Arrays.asList(
                Op.getData(m + "/k1"),
                Op.getChildren(m),
                Op.getData(m + "/missing"),
                Op.getChildren(m + "/missing"),
                Op.getData(locked),
                Op.getData(m)));
        eq("multiRead result count", 6, r.size());
        if (r.size() == 6) {
            check("multiRead getData result", r.get(0) instanceof OpResult.GetDataResult && Arrays.equals(b("one!"), ((OpResult.GetDataResult) r.get(0)).getData()), String.valueOf(r.get(0)));
            if (r.get(0) instanceof OpResult.GetDataResult) eq("multiRead getData stat version", 1, ((OpResult.GetDataResult) r.get(0)).getStat().getVersion());
            check("multiRead getChildren result", r.get(1) instanceof OpResult.GetChildrenResult && sorted(((OpResult.GetChildrenResult) r.get(1)).getChildren()).equals(Arrays.asList("k1", "k2", "locked")), String.valueOf(r.get(1)));
            eq("multiRead failing ops give ErrorResult, others still answered", Arrays.asList(Integer.MIN_VALUE, Integer.MIN_VALUE, Code.NONODE.intValue(), Code.NONODE.intValue(), Code.NOAUTH.intValue(), Integer.MIN_VALUE), errs(r));
            check("multiRead last getData", r.get(5) instanceof OpResult.GetDataResult && Arrays.equals(b("top"), ((OpResult.GetDataResult) r.get(5)).getData()), String.valueOf(r.get(5)));
        }
    }

    static void asyncAndSync(ZooKeeper zk) throws Exception {
        String a = ROOT + "/async";
        LinkedBlockingQueue<Object[]> q = new LinkedBlockingQueue<>();
        zk.create(a, b("async"), OPEN, CreateMode.PERSISTENT, (AsyncCallback.Create2Callback) (rc, path, ctx, name, stat) -> q.add(new Object[] {rc, path, ctx, name, stat}), "c1");
        Object[] c = q.poll(10, TimeUnit.SECONDS);
        check("async create2 callback", c != null && (int) c[0] == 0 && a.equals(c[3]) && "c1".equals(c[2]) && c[4] != null, c == null ? "none" : Arrays.toString(c));
        zk.create(a, null, OPEN, CreateMode.PERSISTENT, (AsyncCallback.StringCallback) (rc, path, ctx, name) -> q.add(new Object[] {rc, path, ctx, name}), "c2");
        c = q.poll(10, TimeUnit.SECONDS);
        check("async create of existing: rc NodeExists, name null", c != null && (int) c[0] == Code.NODEEXISTS.intValue() && c[3] == null, c == null ? "none" : Arrays.toString(c));
        zk.getData(a, false, (rc, path, ctx, data, stat) -> q.add(new Object[] {rc, path, ctx, data, stat}), "g");
        c = q.poll(10, TimeUnit.SECONDS);
        check("async getData", c != null && (int) c[0] == 0 && Arrays.equals(b("async"), (byte[]) c[3]), c == null ? "none" : Arrays.toString(c));
        zk.getChildren(ROOT, false, (AsyncCallback.Children2Callback) (rc, path, ctx, kids, stat) -> q.add(new Object[] {rc, path, ctx, kids, stat}), null);
        c = q.poll(10, TimeUnit.SECONDS);
        check("async getChildren2", c != null && (int) c[0] == 0 && ((List<?>) c[3]).contains("async") && ((Stat) c[4]).getNumChildren() == ((List<?>) c[3]).size(), c == null ? "none" : Arrays.toString(c));
        zk.exists(a + "/missing", false, (rc, path, ctx, stat) -> q.add(new Object[] {rc, path, ctx, stat}), null);
        c = q.poll(10, TimeUnit.SECONDS);
        check("async exists on missing: rc NoNode, stat null", c != null && (int) c[0] == Code.NONODE.intValue() && c[3] == null, c == null ? "none" : Arrays.toString(c));
        zk.delete(a + "/missing", -1, (rc, path, ctx) -> q.add(new Object[] {rc, path, ctx}), null);
        c = q.poll(10, TimeUnit.SECONDS);
        check("async delete on missing: rc NoNode", c != null && (int) c[0] == Code.NONODE.intValue(), c == null ? "none" : Arrays.toString(c));

        // Pipelining: many async writes are answered in submission order.
        List<Integer> order = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch all = new CountDownLatch(50);
        for (int i = 0; i < 50; i++) {
            final int n = i;
            zk.setData(a, b("v" + i), -1, (rc, path, ctx, stat) -> {
                if (rc == 0) order.add(stat.getVersion());
                all.countDown();
            }, null);
        }
        check("50 pipelined async setData complete", all.await(20, TimeUnit.SECONDS), "only " + (50 - all.getCount()));
        List<Integer> want = new ArrayList<>();
        for (int i = 1; i <= 50; i++) want.add(i);
        eq("pipelined replies arrive in order", want, order);

        zk.sync(a, (rc, path, ctx) -> q.add(new Object[] {rc, path, ctx}), "s");
        c = q.poll(10, TimeUnit.SECONDS);
        check("sync callback rc 0 with path", c != null && (int) c[0] == 0 && a.equals(c[1]) && "s".equals(c[2]), c == null ? "none" : Arrays.toString(c));
        zk.sync(ROOT + "/no/such/node", (rc, path, ctx) -> q.add(new Object[] {rc, path, ctx}), null);
        c = q.poll(10, TimeUnit.SECONDS);
        check("sync on a missing path still answers rc 0", c != null && (int) c[0] == 0, c == null ? "none" : Arrays.toString(c));
        ZooKeeper other = open();
        other.setData(a, b("from other"), -1);
        CountDownLatch s = new CountDownLatch(1);
        zk.sync(a, (rc, path, ctx) -> s.countDown(), null);
        check("sync completes", s.await(10, TimeUnit.SECONDS), "no callback");
        eq("read after sync sees other session's write", b("from other"), zk.getData(a, false, null));
        other.close();
    }

    static void oneShotWatches(ZooKeeper zk) throws Exception {
        String w = ROOT + "/watch";
        zk.create(w, b("0"), OPEN, CreateMode.PERSISTENT);
        ZooKeeper other = open();
        try {
            Rec data = new Rec();
            zk.getData(w, data, null);
            other.setData(w, b("1"), -1);
            expectEvent("getData watch fires NodeDataChanged", data, EventType.NodeDataChanged, w, 5_000);
            other.setData(w, b("2"), -1);
            expectNoEvent("data watch is one-shot", data, 400);

            Rec ex = new Rec();
            eq("exists on missing node returns null and sets a watch", null, zk.exists(w + "/new", ex));
            other.create(w + "/new", null, OPEN, CreateMode.PERSISTENT);
            expectEvent("exists watch on missing node fires NodeCreated", ex, EventType.NodeCreated, w + "/new", 5_000);
            zk.exists(w + "/new", ex);
            other.setData(w + "/new", b("x"), -1);
            expectEvent("exists watch on existing node fires NodeDataChanged", ex, EventType.NodeDataChanged, w + "/new", 5_000);
            zk.exists(w + "/new", ex);
            other.delete(w + "/new", -1);
            expectEvent("exists watch fires NodeDeleted", ex, EventType.NodeDeleted, w + "/new", 5_000);

            Rec kids = new Rec();
            zk.getChildren(w, kids);
            other.setData(w, b("3"), -1);
            expectNoEvent("child watch ignores data changes", kids, 300);
            other.create(w + "/c1", null, OPEN, CreateMode.PERSISTENT);
            expectEvent("child watch fires NodeChildrenChanged on create", kids, EventType.NodeChildrenChanged, w, 5_000);
            other.create(w + "/c2", null, OPEN, CreateMode.PERSISTENT);
            expectNoEvent("child watch is one-shot", kids, 300);
            zk.getChildren(w, kids, new Stat());
            other.delete(w + "/c2", -1);
            expectEvent("child watch (getChildren2) fires on delete", kids, EventType.NodeChildrenChanged, w, 5_000);
            Rec grand = new Rec();
            zk.getChildren(w, grand);
            other.create(w + "/c1/grandchild", null, OPEN, CreateMode.PERSISTENT);
            expectNoEvent("child watch ignores grandchildren", grand, 300);

            Rec both = new Rec();
            zk.getData(w + "/c1", both, null);
            zk.getChildren(w + "/c1", both);
            other.delete(w + "/c1/grandchild", -1);
            expectEvent("child watch fires for the watched node's child delete", both, EventType.NodeChildrenChanged, w + "/c1", 5_000);
            other.delete(w + "/c1", -1);
            expectEvent("data watch fires NodeDeleted on delete", both, EventType.NodeDeleted, w + "/c1", 5_000);
            expectNoEvent("one NodeDeleted per watcher object even with data+child watch", both, 300);

            Rec dataAndChild = new Rec();
            zk.create(w + "/dc", null, OPEN, CreateMode.PERSISTENT);
            zk.getData(w + "/dc", dataAndChild, null);
            Rec childOnly = new Rec();
            zk.getChildren(w + "/dc", childOnly);
            other.delete(w + "/dc", -1);
            expectEvent("delete triggers data watcher", dataAndChild, EventType.NodeDeleted, w + "/dc", 5_000);
            expectEvent("delete triggers child watcher with NodeDeleted", childOnly, EventType.NodeDeleted, w + "/dc", 5_000);

            // the same watcher object registered twice on the same node fires once
            Rec twice = new Rec();
            zk.getData(w, twice, null);
            zk.exists(w, twice);
            other.setData(w, b("4"), -1);
            expectEvent("same watcher via getData and exists: NodeDataChanged", twice, EventType.NodeDataChanged, w, 5_000);
            expectNoEvent("... delivered only once", twice, 300);

            // default watcher via watch=true
            SessionWatcher sw = new SessionWatcher();
            ZooKeeper zd = open(sw, 10000);
            zd.getData(w, true, null);
            other.setData(w, b("5"), -1);
            WatchedEvent de = sw.nodeEvents.poll(10, TimeUnit.SECONDS);
            check("watch=true delivers to the default watcher", de != null && de.getType() == EventType.NodeDataChanged && w.equals(de.getPath()), ev(de));
            zd.close();

            // own writes trigger own watches, and the event precedes the reply's consumer seeing the data
            Rec self = new Rec();
            zk.getData(w, self, null);
            zk.setData(w, b("6"), -1);
            expectEvent("a session's own write triggers its watch", self, EventType.NodeDataChanged, w, 5_000);
        } finally {
            other.close();
        }
    }

    static void persistentWatches(ZooKeeper zk) throws Exception {
        String p = ROOT + "/pw";
        zk.create(p, null, OPEN, CreateMode.PERSISTENT);
        ZooKeeper other = open();
        try {
            Rec pw = new Rec();
            zk.addWatch(p, pw, AddWatchMode.PERSISTENT);
            other.setData(p, b("1"), -1);
            expectEvent("PERSISTENT watch: NodeDataChanged", pw, EventType.NodeDataChanged, p, 5_000);
            other.setData(p, b("2"), -1);
            expectEvent("PERSISTENT watch fires again", pw, EventType.NodeDataChanged, p, 5_000);
            other.create(p + "/k", null, OPEN, CreateMode.PERSISTENT);
            expectEvent("PERSISTENT watch: NodeChildrenChanged", pw, EventType.NodeChildrenChanged, p, 5_000);
            other.setData(p + "/k", b("x"), -1);
            expectNoEvent("PERSISTENT watch ignores child data", pw, 300);
            other.delete(p + "/k", -1);
            expectEvent("PERSISTENT watch: NodeChildrenChanged on child delete", pw, EventType.NodeChildrenChanged, p, 5_000);
            other.delete(p, -1);
            expectEvent("PERSISTENT watch: NodeDeleted", pw, EventType.NodeDeleted, p, 5_000);
            other.create(p, null, OPEN, CreateMode.PERSISTENT);
            expectEvent("PERSISTENT watch survives delete: NodeCreated", pw, EventType.NodeCreated, p, 5_000);

            String r = ROOT + "/prw";
            Rec rw = new Rec();
            zk.addWatch(r, rw, AddWatchMode.PERSISTENT_RECURSIVE);
            ok("addWatch PERSISTENT_RECURSIVE on a missing node is accepted");
            other.create(r, null, OPEN, CreateMode.PERSISTENT);
            expectEvent("recursive: NodeCreated on root", rw, EventType.NodeCreated, r, 5_000);
            other.create(r + "/a", null, OPEN, CreateMode.PERSISTENT);
            expectEvent("recursive: NodeCreated on child", rw, EventType.NodeCreated, r + "/a", 5_000);
            other.create(r + "/a/b", null, OPEN, CreateMode.PERSISTENT);
            expectEvent("recursive: NodeCreated on grandchild", rw, EventType.NodeCreated, r + "/a/b", 5_000);
            other.setData(r + "/a/b", b("x"), -1);
            expectEvent("recursive: NodeDataChanged on grandchild", rw, EventType.NodeDataChanged, r + "/a/b", 5_000);
            other.delete(r + "/a/b", -1);
            expectEvent("recursive: NodeDeleted on grandchild (no NodeChildrenChanged)", rw, EventType.NodeDeleted, r + "/a/b", 5_000);
            other.setData(r, b("y"), -1);
            expectEvent("recursive: NodeDataChanged on root", rw, EventType.NodeDataChanged, r, 5_000);
            other.create(r + "x", null, OPEN, CreateMode.PERSISTENT);
            expectNoEvent("recursive watch does not match a sibling sharing the name prefix", rw, 300);

            // a one-shot and a persistent watch on the same node both fire
            Rec once = new Rec();
            zk.getData(r, once, null);
            other.setData(r, b("z"), -1);
            expectEvent("one-shot watch alongside recursive fires", once, EventType.NodeDataChanged, r, 5_000);
            expectEvent("recursive watch alongside one-shot fires", rw, EventType.NodeDataChanged, r, 5_000);

            // persistent watch via the default watcher
            SessionWatcher sw = new SessionWatcher();
            ZooKeeper zd = open(sw, 10000);
            zd.addWatch(r, AddWatchMode.PERSISTENT_RECURSIVE);
            other.create(r + "/dflt", null, OPEN, CreateMode.EPHEMERAL);
            WatchedEvent de = sw.nodeEvents.poll(10, TimeUnit.SECONDS);
            check("addWatch without watcher uses the default watcher", de != null && de.getType() == EventType.NodeCreated && (r + "/dflt").equals(de.getPath()), ev(de));
            zd.close();
        } finally {
            other.close();
        }
    }

    static void removeWatches(ZooKeeper zk) throws Exception {
        String p = ROOT + "/rw";
        zk.create(p, null, OPEN, CreateMode.PERSISTENT);
        ZooKeeper other = open();
        try {
            Rec d = new Rec();
            zk.getData(p, d, null);
            zk.removeWatches(p, d, WatcherType.Data, false);
            expectEvent("removeWatches(Data) notifies DataWatchRemoved", d, EventType.DataWatchRemoved, p, 5_000);
            other.setData(p, b("1"), -1);
            expectNoEvent("removed data watch does not fire", d, 400);

            Rec c = new Rec();
            zk.getChildren(p, c);
            zk.removeWatches(p, c, WatcherType.Children, false);
            expectEvent("removeWatches(Children) notifies ChildWatchRemoved", c, EventType.ChildWatchRemoved, p, 5_000);
            other.create(p + "/k", null, OPEN, CreateMode.PERSISTENT);
            expectNoEvent("removed child watch does not fire", c, 400);

            Rec never = new Rec();
            code("removeWatches for a watcher never registered: NoWatcher", Code.NOWATCHER, () -> zk.removeWatches(p, never, WatcherType.Data, false));
            Rec onlyData = new Rec();
            zk.getData(p, onlyData, null);
            code("removeWatches of wrong type: NoWatcher", Code.NOWATCHER, () -> zk.removeWatches(p, onlyData, WatcherType.Children, false));
            code("removeAllWatches on a path without watches: NoWatcher", Code.NOWATCHER, () -> zk.removeAllWatches(p + "/k", WatcherType.Any, false));

            Rec x = new Rec();
            Rec y = new Rec();
            zk.getData(p, x, null);
            zk.getChildren(p, y);
            zk.removeAllWatches(p, WatcherType.Any, false);
            Set<String> removed = new TreeSet<>();
            for (Rec r : new Rec[] {x, y, onlyData}) {
                WatchedEvent e;
                while ((e = r.next(500)) != null) removed.add(e.getType().toString());
            }
            eq("removeAllWatches(Any) notifies every watcher", new TreeSet<>(List.of("ChildWatchRemoved", "DataWatchRemoved")), removed);
            other.setData(p, b("2"), -1);
            other.create(p + "/k2", null, OPEN, CreateMode.PERSISTENT);
            expectNoEvent("no data events after removeAllWatches", x, 300);
            expectNoEvent("no child events after removeAllWatches", y, 100);

            // The server answers checkWatches itself: no watch there -> NoWatcher.
            rawCode("raw checkWatches (Data) with no server watch: NoWatcher", Code.NOWATCHER, zk, OpCode.checkWatches,
                    new CheckWatchesRequest(p + "/k2", WatcherType.Data.getIntValue()), null);
            Rec z = new Rec();
            zk.getData(p + "/k2", z, null);
            rawCode("raw checkWatches (Data) with a server watch: ok", Code.OK, zk, OpCode.checkWatches,
                    new CheckWatchesRequest(p + "/k2", WatcherType.Data.getIntValue()), null);
            rawCode("raw checkWatches (Children) where only a data watch exists: NoWatcher", Code.NOWATCHER, zk, OpCode.checkWatches,
                    new CheckWatchesRequest(p + "/k2", WatcherType.Children.getIntValue()), null);

            // local removal while keeping the server side
            Rec loc = new Rec();
            zk.getData(p + "/k", loc, null);
            zk.removeWatches(p + "/k", loc, WatcherType.Data, true);
            expectEvent("local removeWatches notifies DataWatchRemoved", loc, EventType.DataWatchRemoved, p + "/k", 5_000);
            other.setData(p + "/k", b("3"), -1);
            expectNoEvent("locally removed watch is not delivered", loc, 300);

            // persistent watches can be removed with Any
            Rec pers = new Rec();
            zk.addWatch(p + "/k2", pers, AddWatchMode.PERSISTENT);
            zk.removeWatches(p + "/k2", pers, WatcherType.Any, false);
            expectEvent("removeWatches(Any) of a PERSISTENT watch notifies PersistentWatchRemoved", pers, EventType.PersistentWatchRemoved, p + "/k2", 5_000);
            other.setData(p + "/k2", b("4"), -1);
            WatchedEvent after;
            boolean sawData = false;
            while ((after = pers.next(400)) != null) if (after.getType() == EventType.NodeDataChanged) sawData = true;
            check("removed PERSISTENT watch no longer fires", !sawData, "NodeDataChanged delivered");
        } finally {
            other.close();
        }
    }

    static void reconnectWatches(ZooKeeper unused) throws Exception {
        String p = ROOT + "/reconn";
        SessionWatcher sw = new SessionWatcher();
        ZooKeeper zk = open(sw, 10000);
        ZooKeeper other = open();
        try {
            zk.create(p, null, OPEN, CreateMode.PERSISTENT);
            zk.create(p + "/data", null, OPEN, CreateMode.PERSISTENT);
            zk.create(p + "/kids", null, OPEN, CreateMode.PERSISTENT);
            zk.create(p + "/pers", null, OPEN, CreateMode.PERSISTENT);
            zk.create(p + "/eph", null, OPEN, CreateMode.EPHEMERAL);
            Rec dataEarly = new Rec(), dataLate = new Rec(), exists = new Rec(), kids = new Rec(), pers = new Rec(), rec = new Rec();
            zk.getData(p + "/data", dataEarly, null);
            zk.getData(p + "/data", dataLate, null);
            zk.exists(p + "/created", exists);
            zk.getChildren(p + "/kids", kids);
            zk.addWatch(p + "/pers", pers, AddWatchMode.PERSISTENT);
            zk.addWatch(p + "/rec", rec, AddWatchMode.PERSISTENT_RECURSIVE);
            long sid = zk.getSessionId();
            dropSocket(zk);
            // change things while the client is (most likely) still disconnected
            other.setData(p + "/data", b("while away"), -1);
            other.create(p + "/created", null, OPEN, CreateMode.PERSISTENT);
            check("client notices the dropped connection", sw.await(KeeperState.Disconnected, 10_000), "states " + sw.states);
            check("client reconnects to the same session", sw.await(KeeperState.SyncConnected, 15_000) && zk.getSessionId() == sid, "states " + sw.states);
            expectEvent("data watch set before the drop fires for a change made while disconnected", dataEarly, EventType.NodeDataChanged, p + "/data", 5_000);
            expectEvent("exists watch fires for a node created while disconnected", exists, EventType.NodeCreated, p + "/created", 5_000);
            expectEvent("second data watcher on the same node fires too", dataLate, EventType.NodeDataChanged, p + "/data", 5_000);
            other.create(p + "/kids/k", null, OPEN, CreateMode.PERSISTENT);
            expectEvent("child watch re-registered after reconnect fires", kids, EventType.NodeChildrenChanged, p + "/kids", 5_000);
            other.setData(p + "/pers", b("x"), -1);
            expectEvent("PERSISTENT watch re-registered after reconnect fires", pers, EventType.NodeDataChanged, p + "/pers", 5_000);
            other.setData(p + "/pers", b("y"), -1);
            expectEvent("PERSISTENT watch still persistent after reconnect", pers, EventType.NodeDataChanged, p + "/pers", 5_000);
            other.create(p + "/rec", null, OPEN, CreateMode.PERSISTENT);
            other.create(p + "/rec/deep", null, OPEN, CreateMode.PERSISTENT);
            expectEvent("recursive watch re-registered after reconnect: root", rec, EventType.NodeCreated, p + "/rec", 5_000);
            expectEvent("recursive watch re-registered after reconnect: descendant", rec, EventType.NodeCreated, p + "/rec/deep", 5_000);
            check("ephemeral survives a reconnect", other.exists(p + "/eph", false) != null, "gone");
        } finally {
            other.close();
            zk.close();
        }
    }

    /**
     * Waits until zk's server has everything the leader committed before now: a read of another
     * session's write needs it when the two sessions may be on different ensemble members
     * (ZooKeeper promises one session's order, not two sessions' agreement).
     */
    static void syncWith(ZooKeeper zk, String path) throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        zk.sync(path, (rc, p, ctx) -> done.countDown(), null);
        check("sync completes", done.await(10, TimeUnit.SECONDS), "no callback");
    }

    static void chroot(ZooKeeper zk) throws Exception {
        String base = ROOT + "/chroot";
        zk.create(base, null, OPEN, CreateMode.PERSISTENT);
        SessionWatcher sw = new SessionWatcher();
        ZooKeeper cz = new ZooKeeper(CONNECT + base, 10000, sw);
        OPENED.add(cz);
        check("chrooted client connects", sw.connected.await(15, TimeUnit.SECONDS), "no SyncConnected");
        eq("chroot create returns the client path", "/x", cz.create("/x", b("c"), OPEN, CreateMode.PERSISTENT));
        syncWith(zk, base + "/x");
        eq("chroot node is visible at the full path", b("c"), zk.getData(base + "/x", false, null));
        eq("chroot sequential path is relative", "/s-0000000001", cz.create("/s-", null, OPEN, CreateMode.PERSISTENT_SEQUENTIAL));
        eq("chroot getChildren of /", Arrays.asList("s-0000000001", "x"), sorted(cz.getChildren("/", false)));
        Rec w = new Rec();
        cz.getData("/x", w, null);
        zk.setData(base + "/x", b("d"), -1);
        expectEvent("chroot watch event path is relative", w, EventType.NodeDataChanged, "/x", 5_000);
        List<OpResult> r = cz.multi(List.of(Op.create("/m", null, OPEN, CreateMode.PERSISTENT)));
        // The 3.8 Java client does not strip the chroot from multi CreateResult paths, so it shows
        // whatever the server sent: the full server-side path.
        eq("chroot multi CreateResult path (3.8 client shows the server's full path)", base + "/m", ((OpResult.CreateResult) r.get(0)).getPath());
        cz.close();
    }

    static void sessions(ZooKeeper zk) throws Exception {
        String s = ROOT + "/sess";
        zk.create(s, null, OPEN, CreateMode.PERSISTENT);

        // ephemeral removed when its session closes
        ZooKeeper z2 = open();
        long sid2 = z2.getSessionId();
        check("distinct sessions get distinct ids", sid2 != zk.getSessionId() && sid2 != 0, Long.toHexString(sid2));
        Stat st = new Stat();
        z2.create(s + "/e2", b("x"), OPEN, CreateMode.EPHEMERAL, st);
        eq("ephemeral owner is the creating session", sid2, st.getEphemeralOwner());
        syncWith(zk, s + "/e2");
        eq("other session's ephemeral visible", sid2, zk.exists(s + "/e2", false).getEphemeralOwner());
        Rec w = new Rec();
        zk.exists(s + "/e2", w);
        Rec kids = new Rec();
        zk.getChildren(s, kids);
        z2.close();
        expectEvent("close of owning session fires NodeDeleted", w, EventType.NodeDeleted, s + "/e2", 5_000);
        expectEvent("close of owning session fires parent's NodeChildrenChanged", kids, EventType.NodeChildrenChanged, s, 5_000);
        eq("ephemeral gone after session close", null, zk.exists(s + "/e2", false));

        // re-attach with session id + password keeps ephemerals
        SessionWatcher w3 = new SessionWatcher();
        ZooKeeper z3 = open(w3, 10000);
        long sid3 = z3.getSessionId();
        byte[] pw3 = z3.getSessionPasswd();
        z3.create(s + "/e3", null, OPEN, CreateMode.EPHEMERAL);
        abandon(z3);
        Thread.sleep(300);
        syncWith(zk, s + "/e3");
        check("ephemeral survives an abandoned connection", zk.exists(s + "/e3", false) != null, "gone");
        SessionWatcher w4 = new SessionWatcher();
        ZooKeeper z4 = new ZooKeeper(CONNECT, 10000, w4, sid3, pw3);
        OPENED.add(z4);
        check("re-attach with session id and password connects", w4.connected.await(15, TimeUnit.SECONDS), "states " + w4.states);
        eq("re-attached handle has the same session id", Long.toHexString(sid3), Long.toHexString(z4.getSessionId()));
        eq("re-attached session still owns its ephemeral", sid3, z4.exists(s + "/e3", false).getEphemeralOwner());
        eq("getEphemerals on the re-attached session", List.of(s + "/e3"), z4.getEphemerals(s));
        z4.create(s + "/e4", null, OPEN, CreateMode.EPHEMERAL);
        Rec w34 = new Rec();
        zk.exists(s + "/e3", w34);
        z4.close();
        expectEvent("closing the re-attached session deletes its ephemerals", w34, EventType.NodeDeleted, s + "/e3", 5_000);
        eq("all of that session's ephemerals are gone", Collections.emptyList(), zk.getChildren(s, false));

        // re-attach with a wrong password
        ZooKeeper z5 = open();
        long sid5 = z5.getSessionId();
        byte[] badpw = z5.getSessionPasswd().clone();
        badpw[0] ^= 0x55;
        SessionWatcher w6 = new SessionWatcher();
        ZooKeeper z6 = new ZooKeeper(CONNECT, 10000, w6, sid5, badpw);
        OPENED.add(z6);
        check("re-attach with a wrong password is told Expired", w6.await(KeeperState.Expired, 15_000), "states " + w6.states);
        closeQuietly(z6);
        z5.create(s + "/still", null, OPEN, CreateMode.EPHEMERAL);
        ok("the genuine session is unaffected by the bad re-attach");
        z5.close();

        // re-attach to a closed session
        SessionWatcher w7 = new SessionWatcher();
        ZooKeeper z7 = new ZooKeeper(CONNECT, 10000, w7, sid5, z5.getSessionPasswd());
        OPENED.add(z7);
        check("re-attach to a closed session is told Expired", w7.await(KeeperState.Expired, 15_000), "states " + w7.states);
        closeQuietly(z7);

        // negotiated timeouts (tickTime 2000: min 4000, max 40000)
        ZooKeeper lo = open(new SessionWatcher(), 1000);
        eq("session timeout below min is raised to 2*tickTime", 4000, lo.getSessionTimeout());
        lo.close();
        ZooKeeper hi = open(new SessionWatcher(), 100_000);
        eq("session timeout above max is capped at 20*tickTime", 40000, hi.getSessionTimeout());
        hi.close();

        // expiry by timeout when the client goes silent
        ZooKeeper z8 = open(new SessionWatcher(), 4000);
        eq("negotiated session timeout 4000", 4000, z8.getSessionTimeout());
        z8.create(s + "/e8", null, OPEN, CreateMode.EPHEMERAL);
        Rec w8 = new Rec();
        zk.exists(s + "/e8", w8);
        long t0 = System.currentTimeMillis();
        abandon(z8);
        WatchedEvent e8 = w8.next(20_000);
        long took = System.currentTimeMillis() - t0;
        check("silent session expires and its ephemeral is deleted", e8 != null && e8.getType() == EventType.NodeDeleted, ev(e8));
        note("silent 4000 ms session expired after " + took + " ms");
        check("expiry waits for the session timeout (>= 3000 ms)", took >= 3000, took + " ms");
        check("expiry happens within timeout + a few ticks (<= 12000 ms)", took <= 12000, took + " ms");
    }

    static void systemNodes(ZooKeeper zk) throws Exception {
        check("/zookeeper exists", zk.exists("/zookeeper", false) != null, "missing");
        List<String> kids = sorted(zk.getChildren("/zookeeper", false));
        note("children of /zookeeper: " + kids);
        check("/zookeeper has config and quota", kids.contains("config") && kids.contains("quota"), kids.toString());
        Stat cs = new Stat();
        byte[] cfg = zk.getData("/zookeeper/config", false, cs);
        note("/zookeeper/config data: " + (cfg == null ? "null" : "\"" + str(cfg).replace("\n", "\\n") + "\"") + " stat " + show(cs));
        Stat gs = new Stat();
        byte[] viaApi = zk.getConfig(false, gs);
        eq("getConfig returns the /zookeeper/config data", cfg, viaApi);
        eq("getConfig Stat equals getData Stat", cs, gs);
        if (CONNECT.contains(",")) {
            // an ensemble: the membership, each member with the client address we were given
            for (String member : CONNECT.split(",")) {
                Pattern line = Pattern.compile("(?m)^server\\.\\d+=.*;" + Pattern.quote(member) + "$");
                check("/zookeeper/config lists member " + member, line.matcher(str(cfg)).find(), show(cfg));
            }
        } else {
            check("/zookeeper/config on a standalone server is empty", cfg == null || cfg.length == 0, show(cfg));
            eq("/zookeeper/config stat: all zero, aversion -1", "0,0,0,0,0,0,-1,0,0,0,0", statFields(cs));
        }
        eq("/zookeeper/config ACL is world:anyone READ", Ids.READ_ACL_UNSAFE, zk.getACL("/zookeeper/config", new Stat()));
        code("setData /zookeeper/config: NoAuth", Code.NOAUTH, () -> zk.setData("/zookeeper/config", b("x"), -1));
        Stat qs = new Stat();
        byte[] q = zk.getData("/zookeeper/quota", false, qs);
        note("/zookeeper/quota data: " + (q == null ? "null" : "byte[" + q.length + "]") + ", children " + zk.getChildren("/zookeeper/quota", false));
        check("/zookeeper/quota readable", qs != null, "no stat");
        eq("getACL /zookeeper/quota", OPEN, zk.getACL("/zookeeper/quota", new Stat()));
        List<String> rootKids = zk.getChildren("/", false);
        check("/ lists zookeeper and our root", rootKids.contains("zookeeper") && rootKids.contains(ROOT.substring(1)), rootKids.toString());
        Stat rs = zk.exists("/", false);
        note("stat of /: " + show(rs));
        check("stat of / numChildren matches getChildren", rs.getNumChildren() == rootKids.size(), show(rs) + " vs " + rootKids.size());
    }

    // A quota as zkCli's setquota writes it: /zookeeper/quota/<path>/zookeeper_limits holds the
    // limits, and the server keeps zookeeper_stats (count and bytes of <path>'s subtree) up to
    // date. Quotas are soft here (no zookeeper.enforceQuota): writes over the limit succeed.
    static void quotas(ZooKeeper zk) throws Exception {
        String q = ROOT + "/quota";
        String stats = "/zookeeper/quota" + q + "/zookeeper_stats";
        String limits = "/zookeeper/quota" + q + "/zookeeper_limits";
        zk.create(q, b("abc"), OPEN, CreateMode.PERSISTENT);
        zk.create(q + "/c1", b("12345"), OPEN, CreateMode.PERSISTENT);
        zk.create(q + "/c2", null, OPEN, CreateMode.PERSISTENT);
        StatsTrack limit = new StatsTrack();
        limit.setCount(4);
        limit.setBytes(100);
        check("createQuota succeeds", SetQuotaCommand.createQuota(zk, q, limit), "returned false");
        eq("zookeeper_limits holds the limits", "count=4,bytes=100", str(zk.getData(limits, false, null)));
        eq("stats count the existing subtree (3 nodes, 8 bytes)", "count=3,bytes=8", str(zk.getData(stats, false, null)));
        Stat created = zk.exists(stats, false);

        zk.create(q + "/c3", b("wxyz"), OPEN, CreateMode.PERSISTENT);
        eq("create below the quota root counts", "count=4,bytes=12", str(zk.getData(stats, false, null)));
        zk.setData(q + "/c1", b("1"), -1);
        eq("setData below the quota root changes the bytes", "count=4,bytes=8", str(zk.getData(stats, false, null)));
        zk.create(q + "/c3/deep", b("dd"), OPEN, CreateMode.EPHEMERAL);
        eq("a soft limit does not refuse a write (5 nodes > count=4)", "count=5,bytes=10", str(zk.getData(stats, false, null)));
        zk.delete(q + "/c2", -1);
        eq("delete below the quota root counts", "count=4,bytes=10", str(zk.getData(stats, false, null)));
        zk.multi(Arrays.asList(
            Op.create(q + "/m", b("mm"), OPEN, CreateMode.PERSISTENT),
            Op.setData(q + "/c3", b("w"), -1),
            Op.delete(q + "/c3/deep", -1)));
        eq("a multi's ops all count", "count=4,bytes=7", str(zk.getData(stats, false, null)));
        zk.create(ROOT + "/quotaless", b("not counted"), OPEN, CreateMode.PERSISTENT);
        zk.setData(q, b("abcdef"), -1);
        eq("writes outside the subtree do not count; the root itself does", "count=4,bytes=10", str(zk.getData(stats, false, null)));

        Stat after = zk.exists(stats, false);
        eq("the server rewrites zookeeper_stats without a new mzxid", created.getMzxid(), after.getMzxid());
        eq("the server rewrites zookeeper_stats without a new version", 0, after.getVersion());
        eq("zookeeper_stats dataLength follows its data", "count=4,bytes=10".length(), after.getDataLength());

        List<StatsTrack> listed = ListQuotaCommand.listQuota(zk, q);
        eq("listQuota: limits", "count=4,bytes=100", listed.get(0).toString());
        eq("listQuota: usage", "count=4,bytes=10", listed.get(1).toString());
        illegal("createQuota below a quota root is refused (client side, from the server's tree)",
            () -> SetQuotaCommand.createQuota(zk, q + "/c1", limit));
        illegal("createQuota above a quota root is refused", () -> SetQuotaCommand.createQuota(zk, ROOT, limit));

        StatsTrack raise = new StatsTrack();
        raise.setCount(10);
        check("createQuota again updates the limits", SetQuotaCommand.createQuota(zk, q, raise), "returned false");
        eq("zookeeper_limits after the update", "count=10,bytes=100", str(zk.getData(limits, false, null)));
        StatsTrack dropBytes = new StatsTrack();
        dropBytes.setBytes(1);
        DelQuotaCommand.delQuota(zk, q, dropBytes);
        eq("delQuota -b clears the byte limit", "count=10,bytes=-1", str(zk.getData(limits, false, null)));
        DelQuotaCommand.delQuota(zk, q, null);
        check("delQuota removes the quota nodes", zk.exists("/zookeeper/quota" + q, false) == null, "still there");
        check("delQuota trims the empty parents", zk.exists("/zookeeper/quota" + ROOT, false) == null, "still there");
        zk.create(q + "/after", b("x"), OPEN, CreateMode.PERSISTENT);
        check("writes after delQuota succeed", zk.exists(q + "/after", false) != null, "missing");
    }

    // ------------------------------------------------------------------ recipes

    static void lockRecipe(ZooKeeper zk) throws Exception {
        final String dir = ROOT + "/lock";
        final int clients = 4;
        final int rounds = 2;
        AtomicInteger holders = new AtomicInteger();
        AtomicInteger maxHolders = new AtomicInteger();
        AtomicInteger acquisitions = new AtomicInteger();
        Map<Integer, AtomicInteger> perClient = new ConcurrentHashMap<>();
        CountDownLatch allDone = new CountDownLatch(clients * rounds);
        ExecutorService pool = Executors.newCachedThreadPool();
        List<WriteLock> locks = new ArrayList<>();
        List<String> errors = new CopyOnWriteArrayList<>();
        try {
            for (int i = 0; i < clients; i++) {
                final int id = i;
                ZooKeeper c = open();
                perClient.put(id, new AtomicInteger());
                final WriteLock[] self = new WriteLock[1];
                LockListener l = new LockListener() {
                    @Override
                    public void lockAcquired() {
                        pool.submit(() -> {
                            try {
                                int h = holders.incrementAndGet();
                                maxHolders.accumulateAndGet(h, Math::max);
                                acquisitions.incrementAndGet();
                                Thread.sleep(60);
                                holders.decrementAndGet();
                                int n = perClient.get(id).incrementAndGet();
                                self[0].unlock();
                                allDone.countDown();
                                if (n < rounds) self[0].lock();
                            } catch (Throwable t) {
                                errors.add("client " + id + ": " + t);
                            }
                        });
                    }

                    @Override
                    public void lockReleased() {
                    }
                };
                self[0] = new WriteLock(c, dir, OPEN, l);
                locks.add(self[0]);
            }
            // all clients contend at once
            List<Future<Boolean>> first = new ArrayList<>();
            for (WriteLock wl : locks) first.add(pool.submit(wl::lock));
            int immediate = 0;
            for (Future<Boolean> f : first) if (f.get(20, TimeUnit.SECONDS)) immediate++;
            note("WriteLock: " + immediate + " of " + clients + " got the lock straight from lock()");
            check("WriteLock: every client acquires (" + rounds + " rounds each)", allDone.await(60, TimeUnit.SECONDS), acquisitions.get() + " acquisitions of " + clients * rounds + ", errors " + errors);
            eq("WriteLock: mutual exclusion (max simultaneous holders)", 1, maxHolders.get());
            eq("WriteLock: total acquisitions", clients * rounds, acquisitions.get());
            eq("WriteLock: no errors", Collections.emptyList(), errors);
            Thread.sleep(200);
            eq("WriteLock: lock dir empty after all unlocks", Collections.emptyList(), zk.getChildren(dir, false));
        } finally {
            for (WriteLock wl : locks) {
                try {
                    wl.close();
                } catch (Throwable ignored) {
                }
                closeQuietly(wl.getZookeeper());
            }
            pool.shutdownNow();
        }
    }

    static void electionRecipe(ZooKeeper zk) throws Exception {
        final String dir = ROOT + "/election";
        zk.create(dir, null, OPEN, CreateMode.PERSISTENT);
        final int n = 3;
        List<LeaderElectionSupport> cands = new ArrayList<>();
        Map<String, List<LeaderElectionSupport.EventType>> events = new ConcurrentHashMap<>();
        LinkedBlockingQueue<String> elected = new LinkedBlockingQueue<>();
        LinkedBlockingQueue<String> settled = new LinkedBlockingQueue<>();
        try {
            for (int i = 0; i < n; i++) {
                final String host = "candidate-" + i;
                ZooKeeper c = open();
                LeaderElectionSupport les = new LeaderElectionSupport();
                les.setZooKeeper(c);
                les.setRootNodeName(dir);
                les.setHostName(host);
                events.put(host, new CopyOnWriteArrayList<>());
                les.addListener(et -> {
                    events.get(host).add(et);
                    if (et == LeaderElectionSupport.EventType.ELECTED_COMPLETE) elected.add(host);
                    if (et == LeaderElectionSupport.EventType.ELECTED_COMPLETE || et == LeaderElectionSupport.EventType.READY_COMPLETE) settled.add(host);
                });
                cands.add(les);
            }
            for (LeaderElectionSupport les : cands) les.start();
            Set<String> settledHosts = new HashSet<>();
            long end = System.currentTimeMillis() + 20_000;
            while (settledHosts.size() < n && System.currentTimeMillis() < end) {
                String h = settled.poll(500, TimeUnit.MILLISECONDS);
                if (h != null) settledHosts.add(h);
            }
            eq("election: all candidates settle (elected or ready)", n, settledHosts.size());
            Thread.sleep(300);
            List<String> leaders = new ArrayList<>(elected);
            elected.clear();
            eq("election: exactly one leader", 1, leaders.size());
            check("election: no candidate FAILED", events.values().stream().noneMatch(l -> l.contains(LeaderElectionSupport.EventType.FAILED)), events.toString());
            if (leaders.size() != 1) return;
            String leader = leaders.get(0);
            eq("election: first candidate to offer is leader", "candidate-0", leader);
            for (LeaderElectionSupport les : cands) eq("election: " + les.getHostName() + " sees the leader", leader, les.getLeaderHostName());
            eq("election: one offer znode per candidate", n, zk.getChildren(dir, false).size());

            LeaderElectionSupport old = null;
            for (LeaderElectionSupport les : cands) if (les.getHostName().equals(leader)) old = les;
            old.stop();
            String next = elected.poll(15, TimeUnit.SECONDS);
            check("election: a new leader takes over after the leader stops", next != null && !next.equals(leader), "new leader " + next);
            String extra = elected.poll(500, TimeUnit.MILLISECONDS);
            eq("election: only one takes over", null, extra);
            if (next != null) {
                eq("election: the next offer in line takes over", "candidate-1", next);
                for (LeaderElectionSupport les : cands) {
                    if (les == old) continue;
                    eq("election: " + les.getHostName() + " sees the new leader", next, les.getLeaderHostName());
                }
            }
            eq("election: stopped candidate's offer removed", n - 1, zk.getChildren(dir, false).size());

            // the new leader's session dies: the last candidate takes over
            LeaderElectionSupport second = null;
            for (LeaderElectionSupport les : cands) if (les.getHostName().equals(next)) second = les;
            if (second != null) {
                second.getZooKeeper().close();
                String third = elected.poll(15, TimeUnit.SECONDS);
                eq("election: leader whose session closes is replaced", "candidate-2", third);
            }
        } finally {
            for (LeaderElectionSupport les : cands) {
                try {
                    les.stop();
                } catch (Throwable ignored) {
                }
                closeQuietly(les.getZooKeeper());
            }
        }
    }

    static void queueRecipe(ZooKeeper zk) throws Exception {
        final String dir = ROOT + "/queue";
        zk.create(dir, null, OPEN, CreateMode.PERSISTENT);
        DistributedQueue q0 = new DistributedQueue(zk, dir, OPEN);
        eq("queue: peek on empty queue", null, q0.peek());
        eq("queue: poll on empty queue", null, q0.poll());
        try {
            q0.element();
            fail("queue: element on empty queue throws", "returned");
        } catch (java.util.NoSuchElementException e) {
            ok("queue: element on empty queue throws NoSuchElementException");
        }
        q0.offer(b("first"));
        q0.offer(b("second"));
        eq("queue: peek shows head without removing", b("first"), q0.peek());
        eq("queue: element shows head", b("first"), q0.element());
        eq("queue: remove takes head", b("first"), q0.remove());
        eq("queue: take returns next", b("second"), q0.take());

        // take blocks until an element arrives from another client
        ExecutorService pool = Executors.newCachedThreadPool();
        List<ZooKeeper> conns = new ArrayList<>();
        try {
            ZooKeeper tc = open();
            conns.add(tc);
            DistributedQueue tq = new DistributedQueue(tc, dir, OPEN);
            Future<byte[]> taken = pool.submit(tq::take);
            Thread.sleep(300);
            check("queue: take blocks on empty queue", !taken.isDone(), "returned early");
            q0.offer(b("late"));
            byte[] got = null;
            try {
                got = taken.get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException te) {
                taken.cancel(true);
            }
            eq("queue: blocked take wakes up on offer (child watch)", b("late"), got);

            final int producers = 3, consumers = 3, perProducer = 25;
            final int total = producers * perProducer;
            List<Future<?>> futures = new ArrayList<>();
            Map<Integer, List<String>> consumed = new ConcurrentHashMap<>();
            AtomicInteger count = new AtomicInteger();
            List<String> errors = new CopyOnWriteArrayList<>();
            long deadline = System.currentTimeMillis() + 60_000;
            for (int c = 0; c < consumers; c++) {
                final int cid = c;
                ZooKeeper cz = open();
                conns.add(cz);
                DistributedQueue cq = new DistributedQueue(cz, dir, OPEN);
                consumed.put(cid, new CopyOnWriteArrayList<>());
                futures.add(pool.submit(() -> {
                    try {
                        while (count.get() < total && System.currentTimeMillis() < deadline) {
                            byte[] d = cq.poll();
                            if (d == null) {
                                Thread.sleep(20);
                                continue;
                            }
                            consumed.get(cid).add(str(d));
                            count.incrementAndGet();
                        }
                    } catch (Throwable t) {
                        errors.add("consumer " + cid + ": " + t);
                    }
                    return null;
                }));
            }
            for (int p = 0; p < producers; p++) {
                final int pid = p;
                ZooKeeper pz = open();
                conns.add(pz);
                DistributedQueue pq = new DistributedQueue(pz, dir, OPEN);
                futures.add(pool.submit(() -> {
                    try {
                        for (int i = 0; i < perProducer; i++) {
                            if (!pq.offer(b("p" + pid + "-" + i))) errors.add("offer returned false");
                        }
                    } catch (Throwable t) {
                        errors.add("producer " + pid + ": " + t);
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                try {
                    f.get(Math.max(1, deadline - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.TimeoutException te) {
                    errors.add("worker timed out");
                }
            }
            eq("queue: no worker errors", Collections.emptyList(), errors);
            List<String> all = new ArrayList<>();
            for (List<String> l : consumed.values()) all.addAll(l);
            eq("queue: every element consumed", total, all.size());
            eq("queue: no element consumed twice", all.size(), new HashSet<>(all).size());
            Set<String> expected = new HashSet<>();
            for (int p = 0; p < producers; p++) for (int i = 0; i < perProducer; i++) expected.add("p" + p + "-" + i);
            eq("queue: consumed set equals produced set", expected, new HashSet<>(all));
            boolean fifo = true;
            String why = "";
            for (Map.Entry<Integer, List<String>> e : consumed.entrySet()) {
                Map<String, Integer> last = new HashMap<>();
                for (String item : e.getValue()) {
                    String prod = item.substring(0, item.indexOf('-'));
                    int seq = Integer.parseInt(item.substring(item.indexOf('-') + 1));
                    Integer prev = last.put(prod, seq);
                    if (prev != null && prev >= seq) {
                        fifo = false;
                        why = "consumer " + e.getKey() + " got " + prod + "-" + seq + " after " + prod + "-" + prev;
                    }
                }
            }
            check("queue: FIFO per producer (as seen by each consumer)", fifo, why);
            List<String> sizes = new ArrayList<>();
            for (Map.Entry<Integer, List<String>> e : consumed.entrySet()) sizes.add("c" + e.getKey() + "=" + e.getValue().size());
            note("queue: per-consumer counts " + sizes);
            eq("queue: empty at the end", null, q0.poll());
            eq("queue: no znodes left", Collections.emptyList(), zk.getChildren(dir, false));

            // single-consumer strict FIFO across producers' sequential offers
            for (int i = 0; i < 10; i++) q0.offer(b("s" + i));
            List<String> order = new ArrayList<>();
            byte[] d;
            while ((d = q0.poll()) != null) order.add(str(d));
            List<String> want = new ArrayList<>();
            for (int i = 0; i < 10; i++) want.add("s" + i);
            eq("queue: single consumer sees strict FIFO", want, order);
        } finally {
            pool.shutdownNow();
            for (ZooKeeper c : conns) closeQuietly(c);
        }
    }
}
