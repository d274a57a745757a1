/**
 * Composition of a standalone server: core + client listener + timers. Used by the CLI and
 * by tests that want an in-process server.
 */
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/index.js';
import { ClientListener } from '../net/client-listener.js';
import { DurableStore, purge, writeSnapshot } from '../storage/index.js';
import { sha1Base64, collectGarbage } from '../runtime/index.js';
import { ZkServer } from './zk-server.js';
import {
  dataDirs,
  listenerSettings,
  nodeEnvironment,
  recoverData,
  serverSettings,
  storeOptions,
  type ServerEnvironment,
} from './composition.js';
import { readNow, type Logger } from './types.js';

export { nodeEnvironment, type ServerEnvironment } from './composition.js';

/** ZooKeeper's standalone server uses 1 as the session-id server byte. */
const STANDALONE_SERVER_ID = 1;

export class StandaloneServer {
  private started: { core: ZkServer; listener: ClientListener; store: DurableStore } | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  address: AddressInfo | null = null;

  constructor(
    readonly config: Config,
    private readonly log: Logger,
    /** Called when the disk fails: the server must stop (it can no longer promise durability). */
    private readonly onFatal: (e: Error) => void,
    private readonly env: ServerEnvironment = nodeEnvironment,
  ) {}

  get core(): ZkServer {
    if (this.started === null) throw new Error('server not started');
    return this.started.core;
  }

  /** Recovers the data directory, then starts serving. */
  async start(): Promise<AddressInfo> {
    const config = this.config;
    const dirs = dataDirs(config);
    const recovered = await recoverData(this.env, config, dirs, this.log);
    this.log.info(
      { snapshot: recovered.snapshotName, replayedTxns: recovered.replayedTxns, zxid: recovered.tree.lastProcessedZxid },
      'data recovered',
    );
    const lastZxid = recovered.tree.lastProcessedZxid;
    const store = new DurableStore(
      this.env.fs,
      storeOptions(this.env, config, dirs, this.log, lastZxid, (e) => this.onFatal(e)),
    );
    const core = new ZkServer(
      // Local sessions are an ensemble's: ZooKeeper's standalone server never reads the keys.
      { ...serverSettings(config, STANDALONE_SERVER_ID), localSessionsEnabled: false },
      this.env.clock,
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
      await writeSnapshot(this.env.fs, dirs.snapDir, core.tree, core.sessionTimeouts(), config.snapshotCompressionMethod);
    }
    // Give back what loading took beyond the tree itself before serving (see collectGarbage).
    collectGarbage();
    const settings = listenerSettings(this.env, config, dirs, {
      core: () => this.started?.core ?? null,
      clientPort: () => this.address?.port ?? config.clientPort,
    });
    const listener = new ClientListener(core, settings, this.log);
    this.started = { core, listener, store };
    this.address = await listener.listen();
    const clock = this.env.clock;
    this.timers.push(setInterval(() => core.tick(readNow(clock)), Math.min(100, config.tickTimeMs)));
    this.timers.push(setInterval(() => core.checkContainers(readNow(clock)), config.containerCheckIntervalMs));
    if (config.autopurgePurgeIntervalHours > 0) {
      const every = config.autopurgePurgeIntervalHours * 3600 * 1000;
      this.timers.push(
        setInterval(() => {
          purge(this.env.fs, dirs.snapDir, dirs.logDir, config.autopurgeSnapRetainCount).catch((e: unknown) =>
            this.log.warn({ err: e }, 'autopurge failed'),
          );
        }, every),
      );
    }
    for (const t of this.timers) t.unref();
    return this.address;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    if (this.started === null) return;
    this.started.core.closeAll('server shutting down');
    await this.started.listener.close();
    await this.started.store.close();
  }
}
