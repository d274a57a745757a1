import type { Config } from './types.js';

/** What the running server knows that a config file cannot: this module never touches the disk. */
export interface ConfRuntime {
  /** The port actually bound, which differs from the config when clientPort=0. */
  readonly clientPort?: number;
  /** Bytes under the snapshot and log directories; ZooKeeper prints 0 when it cannot tell. */
  readonly dataDirSize?: number;
  readonly dataLogSize?: number;
  /** ZooKeeper prints File.getAbsolutePath(); pass a resolver, or paths are printed as configured. */
  readonly absolutePath?: (path: string) => string;
}

/**
 * The `conf` four-letter word's lines, in the order and with the names of ZooKeeper 3.8's
 * ZooKeeperServer.dumpConf for a standalone server (checked against a live 3.8.0). It always prints
 * secureClientPort, as -1 without TLS, and serverId 0 when standalone.
 */
export function describeConfig(config: Config, runtime: ConfRuntime = {}): Array<[string, string]> {
  const absolute = runtime.absolutePath ?? ((p: string) => p);
  // ZooKeeper shows the directories it writes to, which sit in a version-2 subdirectory.
  const versioned = (dir: string): string => `${absolute(dir).replace(/\/+$/, '')}/version-2`;
  return [
    ['clientPort', String(runtime.clientPort ?? config.clientPort)],
    ['secureClientPort', '-1'],
    ['dataDir', versioned(config.dataDir)],
    ['dataDirSize', String(runtime.dataDirSize ?? 0)],
    ['dataLogDir', versioned(config.dataLogDir)],
    ['dataLogSize', String(runtime.dataLogSize ?? 0)],
    ['tickTime', String(config.tickTimeMs)],
    ['maxClientCnxns', String(config.maxClientCnxns)],
    ['minSessionTimeout', String(config.minSessionTimeoutMs)],
    ['maxSessionTimeout', String(config.maxSessionTimeoutMs)],
    ['clientPortListenBacklog', String(config.clientPortListenBacklog)],
    ['serverId', '0'],
  ];
}
