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
import { ClientListener } from '../net/client-listener.js';
import { systemClock, sha1Base64 } from '../runtime/index.js';
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
  readonly core: ZkServer;
  private readonly listener: ClientListener;
  private readonly timers: NodeJS.Timeout[] = [];
  address: AddressInfo | null = null;

  constructor(
    readonly config: Config,
    private readonly log: Logger,
  ) {
    this.core = new ZkServer(
      {
        tickTimeMs: config.tickTimeMs,
        minSessionTimeoutMs: config.minSessionTimeoutMs,
        maxSessionTimeoutMs: config.maxSessionTimeoutMs,
        extendedTypesEnabled: config.extendedTypesEnabled,
        skipAcl: config.skipACL,
        superDigest: config.superDigest,
        containerMaxPerMinute: config.containerMaxPerMinute,
        containerMaxNeverUsedIntervalMs: config.containerMaxNeverUsedIntervalMs,
        containerCheckIntervalMs: config.containerCheckIntervalMs,
        sessionServerId: 1,
      },
      systemClock,
      sha1Base64,
      log,
    );
    const versionDir = (dir: string): string => path.join(path.resolve(dir), 'version-2');
    this.listener = new ClientListener(
      this.core,
      {
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
                dataDirSize: dirBytes(versionDir(config.dataDir)),
                dataLogSize: dirBytes(versionDir(config.dataLogDir)),
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
            dirSizes: () => ({ dataDir: dirBytes(versionDir(config.dataDir)), logDir: dirBytes(versionDir(config.dataLogDir)) }),
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
      },
      log,
    );
  }

  async start(): Promise<AddressInfo> {
    this.address = await this.listener.listen();
    this.timers.push(setInterval(() => this.core.tick(), Math.min(100, this.config.tickTimeMs)));
    this.timers.push(setInterval(() => this.core.checkContainers(), this.config.containerCheckIntervalMs));
    for (const t of this.timers) t.unref();
    return this.address;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.core.closeAll('server shutting down');
    await this.listener.close();
  }
}
