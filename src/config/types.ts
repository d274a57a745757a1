/** The shapes the config module hands out. Every object is frozen before it leaves. */
import type { QuorumConfig } from './versioned.js';

/** Every four-letter word Apache ZooKeeper 3.8 knows; `4lw.commands.whitelist=*` means all of them. */
export const FOUR_LETTER_WORDS: readonly string[] = Object.freeze([
  'ruok',
  'srvr',
  'stat',
  'conf',
  'cons',
  'envi',
  'mntr',
  'wchs',
  'wchc',
  'wchp',
  'dump',
  'isro',
  'dirs',
  'crst',
  'srst',
  'gtmk',
  'stmk',
  'hash',
]);

export type ServerRole = 'participant' | 'observer';

/** A host as written (an IPv6 address without its brackets) and a port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** One `server.N=host:quorumPort:electionPort[:role][;[clientAddr:]clientPort]` line. */
export interface ServerSpec {
  readonly id: number;
  readonly host: string;
  readonly quorumPort: number;
  readonly electionPort: number;
  readonly role: ServerRole;
  /** The part after `;`; a port alone has host 0.0.0.0, as ZooKeeper reads it. */
  readonly client?: HostPort;
}

/** `admin.*` settings. ZephyrCoord parses them so zoo.cfg files load; it runs no admin server. */
export interface AdminConfig {
  readonly enableServer: boolean;
  readonly serverAddress: string;
  readonly serverPort: number;
}

export type SnapshotCompression = '' | 'gz' | 'snappy';

export interface Config {
  readonly tickTimeMs: number;
  readonly clientPort: number;
  readonly clientPortAddress: string;
  /** -1 leaves the listen backlog to the OS, as ZooKeeper does. */
  readonly clientPortListenBacklog: number;
  readonly dataDir: string;
  readonly dataLogDir: string;
  /** Per client IP; 0 = unlimited. */
  readonly maxClientCnxns: number;
  /** Whole server; 0 = unlimited. */
  readonly maxCnxns: number;
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  readonly fourLetterWordWhitelist: ReadonlySet<string>;
  readonly extendedTypesEnabled: boolean;
  readonly containerCheckIntervalMs: number;
  readonly containerMaxPerMinute: number;
  readonly containerMaxNeverUsedIntervalMs: number;
  /** `user:base64(sha1(user:password))`. */
  readonly superDigest: string | undefined;
  readonly juteMaxBuffer: number;
  readonly globalOutstandingLimit: number;
  readonly skipACL: boolean;
  /** `zookeeper.enforceQuota`: hard quota limits refuse creates and setData with QUOTAEXCEEDED. */
  readonly enforceQuota: boolean;
  readonly forceSync: boolean;
  readonly snapCount: number;
  /**
   * `zookeeper.snapshotSizeFactor` (default 0.33): a leader syncs a learner by SNAP rather than
   * from its txn log when the txns to send exceed this share of a snapshot's size; negative: never.
   */
  readonly snapshotSizeFactor: number;
  readonly preAllocSizeKb: number;
  readonly autopurgeSnapRetainCount: number;
  readonly autopurgePurgeIntervalHours: number;
  /** Ticks a follower may take to connect to and sync with the leader; an ensemble must set it. */
  readonly initLimit: number;
  /** Ticks a follower may fall behind the leader; an ensemble must set it. */
  readonly syncLimit: number;
  /** Always 3 (fast leader election): ZooKeeper 3.8 refuses every other value. */
  readonly electionAlg: number;
  /** What this server believes it is; its own server line wins when the two differ, as in ZooKeeper. */
  readonly peerType: ServerRole;
  /** Bind the quorum and election ports on every local address instead of the server line's host. */
  readonly quorumListenOnAllIPs: boolean;
  /** `zookeeper.cnxTimeout`: how long an election connection attempt may take; 0 = no limit. */
  readonly cnxTimeoutMs: number;
  /** `zookeeper.electionPortBindRetry`: attempts to bind the election port; 0 = without end. */
  readonly electionPortBindRetry: number;
  /** One participant line and this true: the server runs standalone (ZooKeeper's rule). */
  readonly standaloneEnabled: boolean;
  /** Ensemble only (a standalone server ignores it, as ZooKeeper's does): new sessions stay on their member, with no txn. */
  readonly localSessionsEnabled: boolean;
  /** With local sessions: the first ephemeral create upgrades the session to a global one instead of failing. */
  readonly localSessionsUpgradingEnabled: boolean;
  readonly reconfigEnabled: boolean;
  /** `dynamicConfigFile`: the file holding the server, group and weight lines (as written, not resolved). */
  readonly dynamicConfigFile: string | undefined;
  /** The membership's version: from the dynamic file's name (its hex suffix), else 0. */
  readonly configVersion: number;
  readonly admin: AdminConfig;
  readonly metricsProviderClassName: string | undefined;
  /** Other `metricsProvider.*` keys with the prefix removed, as ZooKeeper hands them to the provider. */
  readonly metricsProviderConfig: ReadonlyMap<string, string>;
  readonly readonlyModeEnabled: boolean;
  readonly digestEnabled: boolean;
  readonly snapshotCompressionMethod: SnapshotCompression;
  /** Sorted by id; empty for a standalone server. */
  readonly servers: readonly ServerSpec[];
  /** `group.N` lines, ascending by group id; none for a majority quorum. */
  readonly quorumGroups: readonly QuorumGroup[];
  /** `weight.N` lines as written (server id -> weight); participants without one weigh 1. */
  readonly serverWeights: ReadonlyMap<number, number>;
  /**
   * The file's keys in the order ZooKeeper's java.util.Properties yields them, which is the
   * order it fills its server, group and weight maps in; that shows in the quorum config text.
   */
  readonly propertyOrder: readonly string[];
}

/** One `group.N=sid:sid:...` line of a hierarchical quorum. */
export interface QuorumGroup {
  readonly id: number;
  /** Server ids in the order the line lists them. */
  readonly members: readonly number[];
}

/** One member of the ensemble as this server sees it. */
export interface EnsembleMember {
  readonly id: number;
  readonly role: ServerRole;
  /** As written in its server line (an IPv6 address without brackets); names are not resolved here. */
  readonly host: string;
  readonly quorumPort: number;
  readonly electionPort: number;
  /**
   * Where its clients connect: its server line's client part, or for this server, when the line
   * has none, clientPortAddress:clientPort. Undefined for another member whose line has none.
   */
  readonly client: HostPort | undefined;
}

/** Which sets of servers may decide, and who may lead. */
interface QuorumVerifierBase {
  /** Participant ids, ascending. Observers never vote. */
  readonly voters: readonly number[];
  /** True when the voters among `ids` make a quorum (other ids do not count). */
  containsQuorum(ids: Iterable<number>): boolean;
  /** QuorumVerifier.getWeight: a member of weight 0 votes and acks but is never elected. */
  weightOf(id: number): number;
}

/** ZooKeeper's QuorumMaj: more than half of the participants; every id weighs 1. */
export interface MajorityQuorum extends QuorumVerifierBase {
  readonly kind: 'majority';
  /** The fewest voters that make a quorum: more than half of them. */
  readonly quorumSize: number;
}

/**
 * ZooKeeper's QuorumHierarchical: participants in disjoint weighted groups; a quorum holds more
 * than half of the weight of each of more than half of the groups whose weight is not 0.
 */
export interface HierarchicalQuorum extends QuorumVerifierBase {
  readonly kind: 'hierarchical';
  /** Ascending by group id. */
  readonly groups: readonly QuorumGroup[];
  /** Every participant's weight (1 unless a `weight.N` line says otherwise). */
  readonly weights: ReadonlyMap<number, number>;
  /** Groups of weight above 0: only they count towards "more than half of the groups". */
  readonly weightedGroupCount: number;
}

export type QuorumVerifier = MajorityQuorum | HierarchicalQuorum;

/** A validated ensemble configuration for this server: what the replicated server starts from. */
export interface EnsembleConfig {
  /** This server's id, from dataDir/myid. */
  readonly myid: number;
  /** This server's role, from its own server line (which wins over peerType, as in ZooKeeper). */
  readonly role: ServerRole;
  readonly self: EnsembleMember;
  /** Every member, ascending by id, this server included. */
  readonly members: readonly EnsembleMember[];
  readonly quorum: QuorumVerifier;
  /** The committed membership with its version (zoo.cfg's, or its dynamic config file's). */
  readonly committedConfig: QuorumConfig;
  /**
   * The quorum config as ZooKeeper writes it (QuorumVerifier.toString): /zookeeper/config, and
   * what election notifications and NEWLEADER carry.
   */
  readonly configText: string;
  readonly tickTimeMs: number;
  readonly initLimit: number;
  readonly syncLimit: number;
  readonly electionAlg: number;
  readonly cnxTimeoutMs: number;
  readonly electionPortBindRetry: number;
  readonly quorumListenOnAllIPs: boolean;
  readonly reconfigEnabled: boolean;
}

/** What start-up does with a config, decided as ZooKeeper's QuorumPeerMain decides it. */
export type StartupPlan =
  | { readonly mode: 'standalone'; readonly config: Config; readonly warnings: readonly string[] }
  | { readonly mode: 'ensemble'; readonly config: Config; readonly ensemble: EnsembleConfig; readonly warnings: readonly string[] };

/** dataDir/myid as start-up found it: `text` is undefined when there is no such file. */
export interface MyidFile {
  readonly path: string;
  readonly text: string | undefined;
}
