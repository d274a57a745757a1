// Load generator on the official Apache ZooKeeper 3.8 Java client, the second opinion next to
// bench/load (which speaks the protocol itself): get (getData of existing nodes) and set
// (setData) only.
//
//   javac -cp /usr/share/java/zookeeper.jar -d CLASSES bench/java/JavaLoad.java
//   java -cp CLASSES:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-nop.jar JavaLoad \
//        --servers 127.0.0.1:2181 --workload get --sessions 16 --outstanding 32 \
//        --value-size 100 --duration 10 --warmup 2 --nodes 1000 [--label NAME] [--quiet]
//
// Each session is one ZooKeeper handle (its own connection) with a driver thread that issues
// asynchronous requests while a semaphore of --outstanding permits allows; the callback (on
// that handle's event thread) records the latency and gives the permit back. Only replies
// completing inside the measured window (after the warm-up) count. The key space is
// /bench-java-<runid>/n0000.., created before and deleted after the run. Output: a table,
// then one JSON line with the same fields as bench/load. Exit status 1 if anything failed.

import java.lang.management.ManagementFactory;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.zookeeper.AsyncCallback;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;

public final class JavaLoad {

    /** Log-bucketed histogram of nanosecond values: exact below 256, else 128 sub-buckets per power of two. */
    static final class Hist {
        static final int SUB_BITS = 7;
        static final int SUB = 1 << SUB_BITS;
        static final int MAX_BITS = 48;
        static final int BUCKETS = 2 * SUB + (MAX_BITS - SUB_BITS - 1) * SUB;
        final long[] counts = new long[BUCKETS];
        long count;
        long min = Long.MAX_VALUE;
        long max;
        double sum;

        static int indexOf(long v) {
            if (v < 2 * SUB) return (int) v;
            int shift = 63 - Long.numberOfLeadingZeros(v) - SUB_BITS;
            long sub = v >>> shift;
            long idx = 2L * SUB + (long) (shift - 1) * SUB + (sub - SUB);
            return idx < BUCKETS ? (int) idx : BUCKETS - 1;
        }

        static long highestIn(int idx) {
            if (idx < 2 * SUB) return idx;
            int j = idx - 2 * SUB;
            int shift = j / SUB + 1;
            long sub = SUB + (j % SUB);
            return ((sub + 1) << shift) - 1;
        }

        void record(long ns) {
            long v = Math.max(0, ns);
            counts[indexOf(v)]++;
            count++;
            sum += v;
            if (v < min) min = v;
            if (v > max) max = v;
        }

        void add(Hist o) {
            for (int i = 0; i < BUCKETS; i++) counts[i] += o.counts[i];
            if (o.count == 0) return;
            count += o.count;
            sum += o.sum;
            min = Math.min(min, o.min);
            max = Math.max(max, o.max);
        }

        long quantile(double q) {
            if (count == 0) return 0;
            long rank = Math.max(1, (long) Math.ceil(q * count));
            long seen = 0;
            for (int i = 0; i < BUCKETS; i++) {
                seen += counts[i];
                if (seen >= rank) return Math.min(Math.max(highestIn(i), min), max);
            }
            return max;
        }

        double mean() {
            return count == 0 ? 0 : sum / count;
        }
    }

    // ------------------------------------------------------------------ options

    static String servers = "127.0.0.1:2181";
    static String label;
    static String workload = "get";
    static int sessions = 16;
    static int outstanding = 32;
    static int valueSize = 100;
    static double durationS = 10;
    static double warmupS = 2;
    static int nodes = 1000;
    static boolean quiet;
    /** The server's pid: its CPU time over the measured window is reported (Linux /proc). */
    static long serverPid = -1;
    static double serverCpuS = -1;

    /** User + system CPU seconds of process `pid` (all threads), from /proc/PID/stat fields 14 and 15. */
    static double processCpuSeconds(long pid) throws java.io.IOException {
        String stat = new String(java.nio.file.Files.readAllBytes(java.nio.file.Paths.get("/proc/" + pid + "/stat")),
                java.nio.charset.StandardCharsets.ISO_8859_1);
        // the name (field 2) may hold spaces and parentheses: count after the last ')'
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0; // USER_HZ is 100 on Linux
    }

    static void usage(String why) {
        System.err.println("JavaLoad: " + why);
        System.err.println("usage: JavaLoad --servers H:P,... --workload get|set --sessions N --outstanding N"
                + " --value-size B --duration S --warmup S --nodes N [--label NAME] [--server-pid PID] [--quiet]");
        System.exit(2);
    }

    static void parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--quiet")) {
                quiet = true;
                continue;
            }
            if (i + 1 >= args.length) usage("missing value for " + a);
            String v = args[++i];
            try {
                switch (a) {
                    case "--servers": servers = v; break;
                    case "--label": label = v; break;
                    case "--workload": workload = v; break;
                    case "--sessions": sessions = Integer.parseInt(v); break;
                    case "--outstanding": outstanding = Integer.parseInt(v); break;
                    case "--value-size": valueSize = Integer.parseInt(v); break;
                    case "--duration": durationS = Double.parseDouble(v); break;
                    case "--warmup": warmupS = Double.parseDouble(v); break;
                    case "--nodes": nodes = Integer.parseInt(v); break;
                    case "--server-pid": serverPid = Long.parseLong(v); break;
                    default: usage("unknown option " + a);
                }
            } catch (NumberFormatException e) {
                usage("bad number for " + a + ": " + v);
            }
        }
        if (!workload.equals("get") && !workload.equals("set")) usage("--workload: get or set");
        if (sessions < 1 || outstanding < 1 || nodes < 1 || valueSize < 0 || durationS <= 0 || warmupS < 0) usage("bad value");
        if (label == null) label = servers;
    }

    // ------------------------------------------------------------------ errors

    static final AtomicLong errors = new AtomicLong();
    static final Map<String, AtomicLong> errorKinds = new ConcurrentHashMap<>();

    static void error(String msg) {
        errors.incrementAndGet();
        if (errorKinds.size() < 20 || errorKinds.containsKey(msg)) errorKinds.computeIfAbsent(msg, k -> new AtomicLong()).incrementAndGet();
    }

    // ------------------------------------------------------------------ sessions

    static volatile boolean closing;

    static ZooKeeper connect() throws Exception {
        CountDownLatch up = new CountDownLatch(1);
        Watcher w = ev -> {
            if (ev.getState() == Watcher.Event.KeeperState.SyncConnected) up.countDown();
            // Once we close, the server's end of the connection may race our client's own
            // shutdown and show up as Disconnected: that is not a failure.
            else if (!closing && (ev.getState() == Watcher.Event.KeeperState.Expired || ev.getState() == Watcher.Event.KeeperState.Disconnected)) {
                error("session state " + ev.getState());
            }
        };
        ZooKeeper zk = new ZooKeeper(servers, 30000, w);
        if (!up.await(15, TimeUnit.SECONDS)) throw new IllegalStateException("no connection to " + servers + " within 15 s");
        return zk;
    }

    /** Runs `count` async requests with at most `window` in flight; fails on any error not in `allowed`. */
    interface Issue {
        void run(int i, AsyncCallback.VoidCallback done);
    }

    static void pipeline(int count, int window, Issue issue, KeeperException.Code... allowed) throws Exception {
        Semaphore sem = new Semaphore(window);
        CountDownLatch done = new CountDownLatch(count);
        List<String> failures = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            sem.acquire();
            issue.run(i, (rc, path, ctx) -> {
                KeeperException.Code code = KeeperException.Code.get(rc);
                boolean ok = code == KeeperException.Code.OK;
                for (KeeperException.Code c : allowed) ok |= code == c;
                if (!ok) synchronized (failures) { failures.add(path + ": " + code); }
                sem.release();
                done.countDown();
            });
        }
        if (!done.await(120, TimeUnit.SECONDS)) throw new IllegalStateException("setup/teardown requests unanswered");
        if (!failures.isEmpty()) throw new IllegalStateException("setup/teardown failed: " + failures.get(0));
    }

    // ------------------------------------------------------------------ the run

    static final class Driver {
        final ZooKeeper zk;
        final Semaphore permits = new Semaphore(outstanding);
        final Hist hist = new Hist();
        long ops;

        Driver(ZooKeeper zk) {
            this.zk = zk;
        }
    }

    static String fmt(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    static double ms(long ns) {
        return Math.round(ns / 1e3) / 1e3;
    }

    static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    public static void main(String[] args) throws Exception {
        parse(args);
        System.setProperty("zookeeper.sasl.client", "false");
        String runId = Long.toString(System.currentTimeMillis(), 36) + "-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 20), 36);
        String root = "/bench-java-" + runId;
        int width = Math.max(4, String.valueOf(nodes - 1).length());
        String[] paths = new String[nodes];
        for (int i = 0; i < nodes; i++) paths[i] = root + "/n" + String.format("%0" + width + "d", i);
        byte[] value = new byte[valueSize];
        java.util.Arrays.fill(value, (byte) 'a');

        List<Driver> drivers = new ArrayList<>();
        String fatal = null;
        double cpuPct = 0;
        ZooKeeper admin = null;
        boolean created = false;
        try {
            admin = connect();
            ZooKeeper a = admin;
            a.create(root, null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            created = true;
            pipeline(nodes, 512, (i, done) -> a.create(paths[i], value, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT,
                    (rc, path, ctx, name) -> done.processResult(rc, path, ctx), null));
            for (int s = 0; s < sessions; s++) drivers.add(new Driver(connect()));

            final boolean isGet = workload.equals("get");
            final long begin = System.nanoTime();
            final long winStart = begin + (long) (warmupS * 1e9);
            final long winEnd = winStart + (long) (durationS * 1e9);
            List<Thread> threads = new ArrayList<>();
            for (Driver d : drivers) {
                AsyncCallback.DataCallback onGet = (rc, path, ctx, data, stat) -> {
                    long now = System.nanoTime();
                    if (rc != 0) error("getData: " + KeeperException.Code.get(rc));
                    else if (data == null || data.length != valueSize) error("getData: wrong value length");
                    else if (now >= winStart && now < winEnd) {
                        d.ops++;
                        d.hist.record(now - (Long) ctx);
                    }
                    d.permits.release();
                };
                AsyncCallback.StatCallback onSet = (rc, path, ctx, stat) -> {
                    long now = System.nanoTime();
                    if (rc != 0) error("setData: " + KeeperException.Code.get(rc));
                    else if (now >= winStart && now < winEnd) {
                        d.ops++;
                        d.hist.record(now - (Long) ctx);
                    }
                    d.permits.release();
                };
                Thread t = new Thread(() -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    try {
                        while (System.nanoTime() < winEnd) {
                            if (!d.permits.tryAcquire(100, TimeUnit.MILLISECONDS)) continue;
                            String p = paths[rnd.nextInt(nodes)];
                            Long t0 = System.nanoTime();
                            if (isGet) d.zk.getData(p, false, onGet, t0);
                            else d.zk.setData(p, value, -1, onSet, t0);
                        }
                        // drain: every permit back means every request answered
                        if (!d.permits.tryAcquire(outstanding, 30, TimeUnit.SECONDS)) error("requests still unanswered 30 s after the run");
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }, "driver");
                threads.add(t);
            }
            com.sun.management.OperatingSystemMXBean os =
                    (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            for (Thread t : threads) t.start();
            long sleepMs = (winStart - System.nanoTime()) / 1_000_000;
            if (sleepMs > 0) Thread.sleep(sleepMs);
            long cpu0 = os.getProcessCpuTime();
            double serverCpu0 = serverPid > 0 ? processCpuSeconds(serverPid) : 0;
            long wall0 = System.nanoTime();
            sleepMs = (winEnd - System.nanoTime()) / 1_000_000;
            if (sleepMs > 0) Thread.sleep(sleepMs);
            cpuPct = 100.0 * (os.getProcessCpuTime() - cpu0) / Math.max(1, System.nanoTime() - wall0);
            if (serverPid > 0) serverCpuS = processCpuSeconds(serverPid) - serverCpu0;
            for (Thread t : threads) t.join();
        } catch (Exception e) {
            fatal = e.toString();
        } finally {
            closing = true;
            for (Driver d : drivers) {
                try {
                    d.zk.close();
                } catch (Exception e) {
                    error("close: " + e);
                }
            }
            if (admin != null) {
                try {
                    if (created) {
                        ZooKeeper a = admin;
                        pipeline(nodes, 512, (i, done) -> a.delete(paths[i], -1, done, null), KeeperException.Code.NONODE);
                        a.delete(root, -1);
                    }
                    admin.close();
                } catch (Exception e) {
                    error("teardown: " + e);
                }
            }
        }

        Hist h = new Hist();
        long ops = 0;
        for (Driver d : drivers) {
            h.add(d.hist);
            ops += d.ops;
        }
        long errs = errors.get() + (fatal == null ? 0 : 1);
        double opsPerSec = Math.round(ops / durationS * 10) / 10.0;
        Map<String, Object> rec = new LinkedHashMap<>();
        rec.put("workload", json(workload));
        rec.put("server", json(label));
        rec.put("servers", json(servers));
        rec.put("client", json("java"));
        rec.put("ops", ops);
        rec.put("ops_per_sec", opsPerSec);
        rec.put("p50_ms", ms(h.quantile(0.5)));
        rec.put("p99_ms", ms(h.quantile(0.99)));
        rec.put("p999_ms", ms(h.quantile(0.999)));
        rec.put("max_ms", ms(h.max));
        rec.put("mean_ms", ms((long) h.mean()));
        rec.put("errors", errs);
        rec.put("ok", errs == 0);
        rec.put("sessions", sessions);
        rec.put("outstanding", outstanding);
        rec.put("value_size", valueSize);
        rec.put("nodes", nodes);
        rec.put("duration_s", durationS);
        rec.put("warmup_s", warmupS);
        rec.put("client_cpu_pct", Math.round(cpuPct));
        if (serverCpuS >= 0) {
            rec.put("server_cpu_pct", Math.round(100 * serverCpuS / durationS));
            rec.put("server_cpu_us_per_op", ops > 0 ? Math.round(serverCpuS * 1e7 / ops) / 10.0 : 0);
        }
        rec.put("run_id", json(runId));
        rec.put("time", json(Instant.now().toString()));
        if (fatal != null) rec.put("fatal", json(fatal));
        if (!errorKinds.isEmpty()) {
            StringBuilder k = new StringBuilder("{");
            for (Map.Entry<String, AtomicLong> e : errorKinds.entrySet()) {
                if (k.length() > 1) k.append(',');
                k.append(json(e.getKey())).append(':').append(e.getValue().get());
            }
            rec.put("error_kinds", k.append('}').toString());
        }

        if (!quiet) {
            System.out.printf(Locale.ROOT, "# %s against %s (Java client): %d sessions x %d outstanding, %d-byte values, %d nodes, %s s measured after %s s warm-up%n",
                    workload, label, sessions, outstanding, valueSize, nodes, durationS, warmupS);
            System.out.printf(Locale.ROOT, "%-24s %10s %11s %9s %9s %9s %9s %9s%n", "", "ops", "ops/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "mean ms");
            System.out.printf(Locale.ROOT, "%-24s %10d %11.1f %9s %9s %9s %9s %9s%n", workload, ops, opsPerSec,
                    fmt(ms(h.quantile(0.5))), fmt(ms(h.quantile(0.99))), fmt(ms(h.quantile(0.999))), fmt(ms(h.max)), fmt(ms((long) h.mean())));
            System.out.printf(Locale.ROOT, "errors: %d    client CPU: %d %% of one core%s%n", errs, Math.round(cpuPct),
                    serverCpuS < 0 ? "" : String.format(Locale.ROOT, "    server CPU: %d %% of one core, %.1f us per op",
                            Math.round(100 * serverCpuS / durationS), ops > 0 ? serverCpuS * 1e6 / ops : 0.0));
            if (fatal != null) System.out.println("  fatal: " + fatal);
            for (Map.Entry<String, AtomicLong> e : errorKinds.entrySet()) System.out.println("  error: " + e.getKey() + " (x" + e.getValue().get() + ")");
        }
        StringBuilder line = new StringBuilder("{");
        for (Map.Entry<String, Object> e : rec.entrySet()) {
            if (line.length() > 1) line.append(',');
            line.append(json(e.getKey())).append(':').append(e.getValue());
        }
        System.out.println(line.append('}'));
        System.out.flush();
        System.exit(errs == 0 ? 0 : 1);
    }
}
