/** The shapes the config module hands out. Every object is frozen before it leaves. */

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

/** One `server.N=host:quorumPort:electionPort[:role][;[clientAddr:]clientPort]` line. */
export interface ServerSpec {
  readonly id: number;
  readonly host: string;
  readonly quorumPort: number;
  readonly electionPort: number;
  readonly role: ServerRole;
  readonly clientAddress?: string;
  readonly clientPort?: number;
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
  readonly preAllocSizeKb: number;
  readonly autopurgeSnapRetainCount: number;
  readonly autopurgePurgeIntervalHours: number;
  readonly initLimit: number;
  readonly syncLimit: number;
  readonly standaloneEnabled: boolean;
  readonly reconfigEnabled: boolean;
  readonly admin: AdminConfig;
  readonly metricsProviderClassName: string | undefined;
  /** Other `metricsProvider.*` keys with the prefix removed, as ZooKeeper hands them to the provider. */
  readonly metricsProviderConfig: ReadonlyMap<string, string>;
  readonly readonlyModeEnabled: boolean;
  readonly digestEnabled: boolean;
  readonly snapshotCompressionMethod: SnapshotCompression;
  /** Sorted by id; empty for a standalone server. */
  readonly servers: readonly ServerSpec[];
}
