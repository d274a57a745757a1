/**
 * The parts a standalone server and an ensemble member build alike from their config: the data
 * directories, recovery and txn-log options, the core's settings, and the client port with its
 * four-letter words.
 */
import { hostname, userInfo, type, arch, release, freemem, totalmem } from 'node:os';
import path from 'node:path';
import { FOUR_LETTER_WORDS, describeConfig, type Config } from '../config/index.js';
import { runFourLetterWord, type QuorumFacts } from '../admin/index.js';
import type { ListenerSettings } from '../net/client-listener.js';
import { SNAPSHOT_SLICE_MS, TXN_ENTRY_EXTRA_BYTES } from '../base/index.js';
import { recover, type DurableStoreOptions, type FileSystem, type Recovered } from '../storage/index.js';
import { nodeFileSystem } from '../runtime/node-file-system.js';
import { systemClock, EventLoopPacer, randomInt, dirBytes, openFileDescriptors } from '../runtime/index.js';
import type { ServerSettings, ZkServer } from './zk-server.js';
import type { Clock, Logger } from './types.js';

/** The host's services a server uses; a simulation passes its own. */
export interface ServerEnvironment {
  fs: FileSystem;
  clock: Clock;
  /** Random integer in [0, n). */
  random: (n: number) => number;
  /** Bytes under a directory (`conf`, `mntr`). */
  dirBytes: (dir: string) => number;
  openFileDescriptors: () => number;
}

export const nodeEnvironment: ServerEnvironment = {
  fs: nodeFileSystem,
  clock: systemClock,
  random: randomInt,
  dirBytes,
  openFileDescriptors,
};

export interface DataDirs {
  readonly snapDir: string;
  readonly logDir: string;
}

export function dataDirs(config: Config): DataDirs {
  return {
    snapDir: path.join(path.resolve(config.dataDir), 'version-2'),
    logDir: path.join(path.resolve(config.dataLogDir), 'version-2'),
  };
}

/** The largest txn entry read back from a log (jute.maxbuffer and a record's framing). */
export function maxEntryBytes(config: Config): number {
  return config.juteMaxBuffer + TXN_ENTRY_EXTRA_BYTES;
}

/** The newest valid snapshot and the log replayed over it. */
export function recoverData(env: ServerEnvironment, config: Config, dirs: DataDirs, log: Logger): Promise<Recovered> {
  return recover(env.fs, {
    ...dirs,
    extendedTypesEnabled: config.extendedTypesEnabled,
    maxEntryBytes: maxEntryBytes(config),
    compression: config.snapshotCompressionMethod,
    warn: (msg, details) => log.warn(details, msg),
  });
}

export function storeOptions(
  env: ServerEnvironment,
  config: Config,
  dirs: DataDirs,
  log: Logger,
  lastZxid: number,
  onFatal: (e: Error) => void,
): DurableStoreOptions {
  return {
    ...dirs,
    snapCount: config.snapCount,
    preAllocBytes: config.preAllocSizeKb * 1024,
    forceSync: config.forceSync,
    compression: config.snapshotCompressionMethod,
    random: env.random,
    pacer: () => new EventLoopPacer(SNAPSHOT_SLICE_MS),
    onFatal,
    info: (msg, details) => log.info(details, msg),
    lastZxid,
    maxEntryBytes: maxEntryBytes(config),
  };
}

/** The core's settings; `sessionServerId` is the top byte of the session ids this server makes. */
export function serverSettings(config: Config, sessionServerId: number): ServerSettings {
  return {
    tickTimeMs: config.tickTimeMs,
    minSessionTimeoutMs: config.minSessionTimeoutMs,
    maxSessionTimeoutMs: config.maxSessionTimeoutMs,
    extendedTypesEnabled: config.extendedTypesEnabled,
    skipAcl: config.skipACL,
    enforceQuota: config.enforceQuota,
    superDigest: config.superDigest,
    containerMaxPerMinute: config.containerMaxPerMinute,
    containerMaxNeverUsedIntervalMs: config.containerMaxNeverUsedIntervalMs,
    containerCheckIntervalMs: config.containerCheckIntervalMs,
    sessionServerId,
    globalOutstandingLimit: config.globalOutstandingLimit,
    localSessionsEnabled: config.localSessionsEnabled,
    localSessionsUpgradingEnabled: config.localSessionsUpgradingEnabled,
  };
}

/** What a four-letter word looks at: the serving core (null: not serving), the port, the role. */
export interface FourLetterSource {
  core(): ZkServer | null;
  clientPort(): number;
  quorum?: () => QuorumFacts;
}

/** ZooKeeper's answer to a word while a member is not serving (electing or syncing). */
const NOT_SERVING = 'This ZooKeeper instance is not currently serving requests\n';

function notServingAnswer(word: string): string {
  if (word === 'ruok') return 'imok';
  // ZooKeeper's isro says neither ro nor rw while no server runs.
  if (word === 'isro') return 'null';
  return NOT_SERVING;
}

export function listenerSettings(env: ServerEnvironment, config: Config, dirs: DataDirs, source: FourLetterSource): ListenerSettings {
  return {
    host: config.clientPortAddress,
    port: config.clientPort,
    maxClientCnxns: config.maxClientCnxns,
    maxCnxns: config.maxCnxns,
    juteMaxBuffer: config.juteMaxBuffer,
    fourLetterWords: new Set(FOUR_LETTER_WORDS),
    fourLetterWhitelist: config.fourLetterWordWhitelist,
    clock: env.clock,
    runFourLetterWord: (word) => {
      const core = source.core();
      if (core === null) return notServingAnswer(word);
      return runFourLetterWord(word, core, {
        conf: () =>
          describeConfig(config, {
            clientPort: source.clientPort(),
            dataDirSize: env.dirBytes(dirs.snapDir),
            dataLogSize: env.dirBytes(dirs.logDir),
            absolutePath: (p) => path.resolve(p),
          }),
        environment: () => [
          ['host.name', hostname()],
          ['node.version', process.version],
          ['os.name', type()],
          ['os.arch', arch()],
          ['os.version', release()],
          ['user.name', userInfo().username],
          ['user.home', userInfo().homedir],
          ['user.dir', process.cwd()],
          ['os.memory.free', `${Math.round(freemem() / 1048576)}MB`],
          ['os.memory.total', `${Math.round(totalmem() / 1048576)}MB`],
        ],
        dirSizes: () => ({ dataDir: env.dirBytes(dirs.snapDir), logDir: env.dirBytes(dirs.logDir) }),
        openFileDescriptors: env.openFileDescriptors,
        maxFileDescriptors: () => 0,
        nowMs: () => env.clock.wallMs(),
        ...(source.quorum === undefined ? {} : { quorum: source.quorum }),
      });
    },
  };
}
