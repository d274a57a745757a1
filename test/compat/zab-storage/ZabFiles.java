import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.zookeeper.server.DataNode;
import org.apache.zookeeper.server.DataTree;
import org.apache.zookeeper.server.persistence.FileTxnLog;
import org.apache.zookeeper.server.persistence.FileTxnSnapLog;
import org.apache.zookeeper.server.persistence.TxnLog;

/**
 * Reads (or truncates) a dataDir with Apache ZooKeeper 3.8's own persistence classes, for
 * test/compat/zab-storage: one fact per output line.
 *
 *   ZabFiles log VERSION_DIR             "zxid <hex>" per txn FileTxnLog's iterator reads from the
 *                                        oldest file, then "last <hex>" (getLastLoggedZxid)
 *   ZabFiles restore DATA_DIR            "restored <hex>" (FileTxnSnapLog.restore: snapshot + log,
 *                                        as a server starts), then "child <name>" per child of /
 *   ZabFiles truncate VERSION_DIR HEX    FileTxnLog.truncate(zxid): "truncated <true|false>"
 */
public class ZabFiles {
    public static void main(String[] args) throws Exception {
        switch (args[0]) {
        case "log":
            log(new File(args[1]));
            break;
        case "restore":
            restore(new File(args[1]));
            break;
        case "truncate":
            System.out.println("truncated " + new FileTxnLog(new File(args[1])).truncate(Long.parseLong(args[2], 16)));
            break;
        default:
            throw new IllegalArgumentException("unknown command " + args[0]);
        }
    }

    private static void log(File versionDir) throws Exception {
        FileTxnLog log = new FileTxnLog(versionDir);
        try (TxnLog.TxnIterator it = log.read(0)) {
            while (it.getHeader() != null) {
                System.out.println("zxid " + Long.toHexString(it.getHeader().getZxid()));
                if (!it.next()) {
                    break;
                }
            }
        }
        System.out.println("last " + Long.toHexString(log.getLastLoggedZxid()));
    }

    private static void restore(File dataDir) throws Exception {
        FileTxnSnapLog snapLog = new FileTxnSnapLog(dataDir, dataDir);
        DataTree tree = new DataTree();
        long zxid = snapLog.restore(tree, new ConcurrentHashMap<>(), (hdr, txn, digest) -> { });
        System.out.println("restored " + Long.toHexString(zxid));
        DataNode root = tree.getNode("/");
        List<String> children = new ArrayList<>(root.getChildren());
        children.sort(null);
        for (String child : children) {
            System.out.println("child " + child);
        }
    }
}
