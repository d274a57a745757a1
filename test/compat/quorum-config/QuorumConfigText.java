import org.apache.zookeeper.server.quorum.QuorumPeerConfig;
import org.apache.zookeeper.server.quorum.flexible.QuorumVerifier;

/**
 * Reads each zoo.cfg named on the command line with ZooKeeper's own QuorumPeerConfig and prints
 * what the quorum verifier makes of it, one block per file:
 *
 *   ==== <file>
 *   OK <class simple name>
 *   <QuorumVerifier.toString(), the text /zookeeper/config holds>
 *   ==== end
 *
 * or "ERROR <exception class>: <message>" (and its causes) when ZooKeeper refuses the file.
 * When asked, it also prints "WEIGHT <sid> <weight>" and "QUORUM <sid,sid,...> <true|false>" lines.
 * An argument "properties:<file>" prints the keys of that file in the order java.util.Properties
 * yields them, one a line, which is the order ZooKeeper reads zoo.cfg's lines in.
 */
public class QuorumConfigText {
    public static void main(String[] args) {
        for (String arg : args) {
            if (arg.startsWith("properties:")) {
                printKeys(arg.substring("properties:".length()));
                continue;
            }
            String[] parts = arg.split("\\|");
            System.out.println("==== " + parts[0]);
            try {
                QuorumPeerConfig config = new QuorumPeerConfig();
                config.parse(parts[0]);
                QuorumVerifier qv = config.getQuorumVerifier();
                System.out.println("OK " + qv.getClass().getSimpleName());
                System.out.println(qv.toString());
                for (int i = 1; i < parts.length; i++) {
                    answer(qv, parts[i]);
                }
            } catch (Throwable e) {
                StringBuilder sb = new StringBuilder("ERROR");
                for (Throwable t = e; t != null; t = t.getCause()) {
                    sb.append(' ').append(t.getClass().getSimpleName()).append(": ").append(t.getMessage()).append(';');
                }
                System.out.println(sb);
            }
            System.out.println("==== end");
        }
    }

    private static void printKeys(String file) {
        System.out.println("==== " + file);
        java.util.Properties properties = new java.util.Properties();
        try (java.io.FileInputStream in = new java.io.FileInputStream(file)) {
            properties.load(in);
        } catch (java.io.IOException e) {
            System.out.println("ERROR " + e);
        }
        for (Object key : properties.keySet()) {
            System.out.println(key);
        }
        System.out.println("==== end");
    }

    /** "w:<sid>" asks a weight, "q:<sid>,<sid>" whether a set is a quorum. */
    private static void answer(QuorumVerifier qv, String question) {
        String body = question.substring(2);
        if (question.startsWith("w:")) {
            System.out.println("WEIGHT " + body + " " + qv.getWeight(Long.parseLong(body)));
            return;
        }
        java.util.Set<Long> set = new java.util.HashSet<>();
        for (String sid : body.split(",")) {
            if (!sid.isEmpty()) {
                set.add(Long.parseLong(sid));
            }
        }
        System.out.println("QUORUM " + body + " " + qv.containsQuorum(set));
    }
}
