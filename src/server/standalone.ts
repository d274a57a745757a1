/**
 * Composition of a standalone server: core + client listener + timers. Used by the CLI and
 * by tests that want an in-process server.
 */
import type { AddressInfo } from 'node:net';
import { statSync, readdirSync } from 'node:fs';
import { hostname, userInfo, type, arch, release, freemem, totalmem } from 'node:os';
import path from 'node:path';
import { FOUR_LETTER_WORDS, describeConfig, type Config } from '../config/index.js';
import { runFourLetterWord } from '../admin/index.js';
import { ClientListener, type ListenerSettings } from '../net/client-listener.js';
import { SNAPSHOT_SLICE_MS, TXN_ENTRY_EXTRA_BYTES } from '../base/index.js';
import { DurableStore, purge, recover, writeSnapshot } from '../storage/index.js';
import { nodeFileSystem } from '../runtime/node-file-system.js';
import { systemClock, sha1Base64, collectGarbage, EventLoopPacer } from '../runtime/index.js';
import { ZkServer } from './zk-server.js';
import type { Logger } from './types.js';

function dirBytes(dir: string): number {
  let total = 0;
  try {
    for (const name of readdirSync(dir)) {
      try {
        total += statSync(path.join(dir, name)).size;
      } catch {
        // vanished while listing
      }
    }
  } catch {
    return 0;
  }
  return total;
}

export class StandaloneServer {
  private started: { core: ZkServer; listener: ClientListener; store: DurableStore } | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  address: AddressInfo | null = null;

  constructor(
    readonly config: Config,
    private readonly log: Logger,
    /** Called when the disk fails: the server must stop (it can no longer promise durability). */
    private readonly onFatal: (e: Error) => void,
  ) {}

  get core(): ZkServer {
    if (this.started === null) throw new Error('server not started');
    return this.started.core;
  }

  /** Recovers the data directory, then starts serving. */
  async start(): Promise<AddressInfo> {
    const config = this.config;
    const snapDir = path.join(path.resolve(config.dataDir), 'version-2');
    const logDir = path.join(path.resolve(config.dataLogDir), 'version-2');
    const compression = config.snapshotCompressionMethod;
    const maxEntryBytes = config.juteMaxBuffer + TXN_ENTRY_EXTRA_BYTES;
    const recovered = await recover(nodeFileSystem, {
      snapDir,
      logDir,
      extendedTypesEnabled: config.extendedTypesEnabled,
      maxEntryBytes,
      compression,
      warn: (msg, details) => this.log.warn(details, msg),
    });
    this.log.info(
      { snapshot: recovered.snapshotName, replayedTxns: recovered.replayedTxns, zxid: recovered.tree.lastProcessedZxid },
      'data recovered',
    );
    const store = new DurableStore(nodeFileSystem, {
      snapDir,
      logDir,
      snapCount: config.snapCount,
      preAllocBytes: config.preAllocSizeKb * 1024,
      forceSync: config.forceSync,
      compression,
      random: (n) => Math.floor(Math.random() * n),
      pacer: () => new EventLoopPacer(SNAPSHOT_SLICE_MS),
      onFatal: (e) => this.onFatal(e),
      info: (msg, details) => this.log.info(details, msg),
      lastZxid: recovered.tree.lastProcessedZxid,
      maxEntryBytes,
    });
    const core = new ZkServer(
      {
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
        sessionServerId: 1,
      },
      systemClock,
      sha1Base64,
      this.log,
      store,
      recovered.tree,
      recovered.sessions,
    );
    store.attach(core.tree, () => core.sessionTimeouts());
    // The next txn starts a new log file. If logs were replayed, write a snapshot of the
    // recovered state (as ZooKeeper does) so the next start need not replay them again.
    store.log.roll();
    if (recovered.replayedTxns > 0) {
      await writeSnapshot(nodeFileSystem, snapDir, core.tree, core.sessionTimeouts(), compression);
    }
    // Give back what loading took beyond the tree itself before serving (see collectGarbage).
    collectGarbage();
    const listener = new ClientListener(core, this.listenerSettings(snapDir, logDir), this.log);
    this.started = { core, listener, store };
    this.address = await listener.listen();
    this.timers.push(setInterval(() => core.tick(), Math.min(100, config.tickTimeMs)));
    this.timers.push(setInterval(() => core.checkContainers(), config.containerCheckIntervalMs));
    if (config.autopurgePurgeIntervalHours > 0) {
      const every = config.autopurgePurgeIntervalHours * 3600 * 1000;
      this.timers.push(
        setInterval(() => {
          purge(nodeFileSystem, snapDir, logDir, config.autopurgeSnapRetainCount).catch((e: unknown) =>
            this.log.warn({ err: e }, 'autopurge failed'),
          );
        }, every),
      );
    }
    for (const t of this.timers) t.unref();
    return this.address;
  }

  private listenerSettings(snapDir: string, logDir: string): ListenerSettings {
    const config = this.config;
    return {
      host: config.clientPortAddress,
      port: config.clientPort,
      maxClientCnxns: config.maxClientCnxns,
      maxCnxns: config.maxCnxns,
      juteMaxBuffer: config.juteMaxBuffer,
      fourLetterWords: new Set(FOUR_LETTER_WORDS),
      fourLetterWhitelist: config.fourLetterWordWhitelist,
      runFourLetterWord: (word) =>
        runFourLetterWord(word, this.core, {
          conf: () =>
            describeConfig(config, {
              clientPort: this.address?.port ?? config.clientPort,
              dataDirSize: dirBytes(snapDir),
              dataLogSize: dirBytes(logDir),
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
          dirSizes: () => ({ dataDir: dirBytes(snapDir), logDir: dirBytes(logDir) }),
          openFileDescriptors: () => {
            try {
              return readdirSync('/proc/self/fd').length;
            } catch {
              return 0;
            }
          },
          maxFileDescriptors: () => 0,
          nowMs: () => Date.now(),
        }),
    };
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    if (this.started === null) return;
    this.started.core.closeAll('server shutting down');
    await this.started.listener.close();
    await this.started.store.close();
  }
}
