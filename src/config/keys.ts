import { fail, type Where } from './errors.js';
import type { HierarchyDraft } from './hierarchy.js';
import type { AdminConfig, Config, ServerSpec } from './types.js';
import {
  INT_MIN,
  parseBool,
  parseCompression,
  parseInt32,
  parseInt53,
  parsePort,
  parseRole,
  parseSuperDigest,
  parseText,
  parseWhitelist,
  parseYesNo,
  parseDouble,
} from './values.js';

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Config while it is being read: a few fields stay unresolved until every line has been seen. */
export interface Draft
  extends
    HierarchyDraft,
    Mutable<
      Omit<
        Config,
        | 'dataLogDir'
        | 'fourLetterWordWhitelist'
        | 'admin'
        | 'metricsProviderConfig'
        | 'servers'
        | 'quorumGroups'
        | 'serverWeights'
        | 'propertyOrder'
      >
    > {
  dataLogDir: string | undefined;
  /** The words listed; `srvr` (and `isro` in read-only mode) are added at the end, as ZooKeeper does. */
  fourLetterWordWhitelist: Set<string>;
  admin: Mutable<AdminConfig>;
  metricsProviderConfig: Map<string, string>;
  servers: Map<number, ServerSpec>;
  /** -1 = "derive from tickTime", ZooKeeper's own sentinel. */
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
}

export function emptyDraft(): Draft {
  return {
    // ZooKeeperServer.DEFAULT_TICK_TIME; the 2000 of the sample zoo.cfg is a setting, not the default.
    tickTimeMs: 3000,
    clientPort: 2181,
    clientPortAddress: '0.0.0.0',
    clientPortListenBacklog: -1,
    dataDir: './data',
    dataLogDir: undefined,
    maxClientCnxns: 60,
    maxCnxns: 0,
    minSessionTimeoutMs: -1,
    maxSessionTimeoutMs: -1,
    fourLetterWordWhitelist: new Set(),
    extendedTypesEnabled: false,
    containerCheckIntervalMs: 60000,
    containerMaxPerMinute: 10000,
    containerMaxNeverUsedIntervalMs: 0,
    superDigest: undefined,
    juteMaxBuffer: 0xfffff,
    globalOutstandingLimit: 1000,
    skipACL: false,
    enforceQuota: false,
    forceSync: true,
    snapCount: 100000,
    snapshotSizeFactor: 0.33,
    preAllocSizeKb: 65536,
    autopurgeSnapRetainCount: 3,
    autopurgePurgeIntervalHours: 0,
    initLimit: 10,
    syncLimit: 5,
    electionAlg: 3,
    peerType: 'participant',
    quorumListenOnAllIPs: false,
    cnxTimeoutMs: 5000,
    electionPortBindRetry: 3,
    standaloneEnabled: true,
    localSessionsEnabled: false,
    localSessionsUpgradingEnabled: false,
    reconfigEnabled: false,
    dynamicConfigFile: undefined,
    configVersion: 0,
    admin: { enableServer: true, serverAddress: '0.0.0.0', serverPort: 8080 },
    metricsProviderClassName: undefined,
    metricsProviderConfig: new Map(),
    readonlyModeEnabled: false,
    digestEnabled: true,
    snapshotCompressionMethod: '',
    servers: new Map(),
    quorumGroups: new Map(),
    serverWeights: new Map(),
  };
}

type Setter = (d: Draft, value: string, at: Where, warn: (at: Where, msg: string) => void) => void;
type Parser<T> = (value: string, at: Where) => T;

/** A setter that parses the value and stores it in one field. */
function set<K extends keyof Draft>(field: K, parse: Parser<Draft[K]>): Setter {
  return (d, v, at) => {
    d[field] = parse(v, at);
  };
}

function setAdmin<K extends keyof AdminConfig>(field: K, parse: Parser<AdminConfig[K]>): Setter {
  return (d, v, at) => {
    d.admin[field] = parse(v, at);
  };
}

const int =
  (min: number): Parser<number> =>
  (v, at) =>
    parseInt32(v, at, min);
const long =
  (min: number): Parser<number> =>
  (v, at) =>
    parseInt53(v, at, min);

/** ZooKeeper raises snapCount and autopurge.snapRetainCount to a floor with a warning instead of failing. */
function atLeast(floor: number, field: 'snapCount' | 'autopurgeSnapRetainCount'): Setter {
  return (d, v, at, warn) => {
    const n = parseInt32(v, at, INT_MIN);
    if (n < floor) warn(at, `${n} is below the minimum ${floor}; using ${floor}`);
    d[field] = Math.max(n, floor);
  };
}

/** QuorumPeerConfig refuses anything but 3 (fast leader election); the older algorithms are gone. */
const setElectionAlg: Setter = (d, v, at) => {
  const n = parseInt32(v, at, INT_MIN);
  if (n !== 3) fail(at, `only 3 (fast leader election) is supported, as in ZooKeeper 3.8, got ${n}`);
  d.electionAlg = n;
};

/** ZooKeeper falls back to 3 retries, with a log line, on a negative count. */
const setElectionPortBindRetry: Setter = (d, v, at, warn) => {
  const n = parseInt32(v, at, INT_MIN);
  if (n < 0) warn(at, `${n} is negative; using 3`);
  d.electionPortBindRetry = n < 0 ? 3 : n;
};

/**
 * Keys under the names ZooKeeper reads them: plain zoo.cfg keys as QuorumPeerConfig knows them, and
 * system properties under their full property name (so `zookeeper.`-prefixed where ZooKeeper's is).
 */
export const KEYS: ReadonlyMap<string, Setter> = new Map<string, Setter>([
  ['tickTime', set('tickTimeMs', int(1))],
  ['clientPort', set('clientPort', parsePort)],
  ['clientPortAddress', set('clientPortAddress', parseText)],
  ['clientPortListenBacklog', set('clientPortListenBacklog', int(-1))],
  ['dataDir', set('dataDir', parseText)],
  ['dataLogDir', set('dataLogDir', parseText)],
  ['maxClientCnxns', set('maxClientCnxns', int(0))],
  ['minSessionTimeout', set('minSessionTimeoutMs', int(-1))],
  ['maxSessionTimeout', set('maxSessionTimeoutMs', int(-1))],
  ['initLimit', set('initLimit', int(1))],
  ['syncLimit', set('syncLimit', int(1))],
  ['autopurge.snapRetainCount', atLeast(3, 'autopurgeSnapRetainCount')],
  ['autopurge.purgeInterval', set('autopurgePurgeIntervalHours', int(0))],
  ['electionAlg', setElectionAlg],
  ['peerType', set('peerType', parseRole)],
  ['quorumListenOnAllIPs', set('quorumListenOnAllIPs', parseBool)],
  ['standaloneEnabled', set('standaloneEnabled', parseBool)],
  ['localSessionsEnabled', set('localSessionsEnabled', parseBool)],
  ['localSessionsUpgradingEnabled', set('localSessionsUpgradingEnabled', parseBool)],
  ['reconfigEnabled', set('reconfigEnabled', parseBool)],
  ['dynamicConfigFile', set('dynamicConfigFile', parseText)],
  ['metricsProvider.className', set('metricsProviderClassName', parseText)],
  ['zookeeper.4lw.commands.whitelist', set('fourLetterWordWhitelist', parseWhitelist)],
  ['zookeeper.maxCnxns', set('maxCnxns', int(0))],
  ['zookeeper.extendedTypesEnabled', set('extendedTypesEnabled', parseBool)],
  ['zookeeper.DigestAuthenticationProvider.superDigest', set('superDigest', parseSuperDigest)],
  ['zookeeper.globalOutstandingLimit', set('globalOutstandingLimit', int(1))],
  ['zookeeper.skipACL', set('skipACL', parseYesNo)],
  ['zookeeper.enforceQuota', set('enforceQuota', parseBool)],
  ['zookeeper.forceSync', set('forceSync', parseYesNo)],
  ['zookeeper.snapCount', atLeast(2, 'snapCount')],
  ['zookeeper.snapshotSizeFactor', set('snapshotSizeFactor', parseDouble)],
  ['zookeeper.preAllocSize', set('preAllocSizeKb', long(1))],
  ['zookeeper.admin.enableServer', setAdmin('enableServer', parseBool)],
  ['zookeeper.admin.serverAddress', setAdmin('serverAddress', parseText)],
  ['zookeeper.admin.serverPort', setAdmin('serverPort', parsePort)],
  ['zookeeper.digest.enabled', set('digestEnabled', parseBool)],
  ['zookeeper.snapshot.compression.method', set('snapshotCompressionMethod', parseCompression)],
  ['zookeeper.cnxTimeout', set('cnxTimeoutMs', int(0))],
  ['zookeeper.electionPortBindRetry', setElectionPortBindRetry],
  // These three families are read by ZooKeeper without the `zookeeper.` prefix.
  ['jute.maxbuffer', set('juteMaxBuffer', int(1))],
  ['readonlymode.enabled', set('readonlyModeEnabled', parseBool)],
  ['znode.container.checkIntervalMs', set('containerCheckIntervalMs', int(1))],
  ['znode.container.maxPerMinute', set('containerMaxPerMinute', int(0))],
  ['znode.container.maxNeverUsedIntervalMs', set('containerMaxNeverUsedIntervalMs', long(0))],
]);

/**
 * The name a key is stored under. QuorumPeerConfig turns any key it does not know into the system
 * property `zookeeper.<key>`, so `skipACL=yes` in zoo.cfg sets `zookeeper.skipACL`.
 */
export function canonicalKey(key: string): string | undefined {
  if (KEYS.has(key)) return key;
  const prefixed = `zookeeper.${key}`;
  return KEYS.has(prefixed) ? prefixed : undefined;
}
