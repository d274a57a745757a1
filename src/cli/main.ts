/**
 * `zephyr-coord [--config zoo.cfg] [--port N] [--data-dir DIR]`: a standalone server in the foreground.
 * `zephyr-coord purge [--config zoo.cfg] [--data-dir DIR] [-n COUNT]`: ZooKeeper's zkCleanup.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import {
  ConfigError,
  applyOverrides,
  decideStartup,
  defaultConfig,
  describeEnsemble,
  dynamicConfigFileOf,
  parseQuorumConfigText,
  parseZooCfg,
  type Config,
  type DynamicFile,
  type QuorumConfig,
  type StartupPlan,
  type Where,
} from '../config/index.js';
import path from 'node:path';
import { StandaloneServer } from '../server/standalone.js';
import { FastLeaderElection, QuorumPeer } from '../ensemble/index.js';
import { purge } from '../storage/index.js';
import { nodeFileSystem } from '../runtime/node-file-system.js';
import { ConfigFiles, readOptionalTextFile, systemClock } from '../runtime/index.js';
import type { Logger } from '../server/types.js';

const USAGE = `usage: zephyr-coord [--config zoo.cfg] [--port N] [--data-dir DIR]
       zephyr-coord purge [--config zoo.cfg] [--data-dir DIR] [-n COUNT]
Runs a ZooKeeper-compatible server in the foreground: standalone, or a member of the
ensemble its config's server.N lines describe (its id in dataDir/myid).
Without a config file it listens on 2181 with data in ./data.
purge keeps the newest COUNT snapshots (at least 3, default 3) and the txn logs they need,
and deletes older ones, as ZooKeeper's zkCleanup does.`;

/** Exit codes: 1 could not start, 2 bad configuration or arguments, 3 storage failure while running. */
const EXIT_STORAGE_FAILURE = 3;

interface Loaded {
  config: Config;
  /** Where each key was set; --port counts as setting clientPort. */
  origins: ReadonlyMap<string, Where>;
  file: string;
  /** zoo.cfg's path as given, when there is one. */
  configPath: string | undefined;
  count: number | undefined;
}

function loadConfig(argv: readonly string[], log: Logger): Loaded {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      'data-dir': { type: 'string', short: 'd' },
      count: { type: 'string', short: 'n' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  let config = defaultConfig();
  const origins = new Map<string, Where>();
  if (values.config !== undefined) {
    let text: string;
    try {
      text = readFileSync(values.config, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read config file: ${(e as Error).message}`, { file: values.config });
    }
    const parsed = parseZooCfg(text, values.config, readDynamicFile(text));
    for (const w of parsed.warnings) log.warn({ file: values.config }, w);
    config = parsed.config;
    for (const [key, where] of parsed.origins) origins.set(key, where);
  }
  const overrides: { clientPort?: number; dataDir?: string } = {};
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new ConfigError(`--port: expected a port number, got "${values.port}"`, {});
    overrides.clientPort = port;
    origins.set('clientPort', { key: '--port' });
  }
  if (values['data-dir'] !== undefined) overrides.dataDir = values['data-dir'];
  let count: number | undefined;
  if (values.count !== undefined) {
    count = Number(values.count);
    if (!Number.isInteger(count) || count < 3) throw new ConfigError(`-n: expected a count of at least 3, got "${values.count}"`, {});
  }
  return {
    config: applyOverrides(config, overrides),
    origins,
    file: values.config ?? '(no config file)',
    configPath: values.config,
    count,
  };
}

/** The dynamic config file zoo.cfg names, if any (a relative name is taken from the working directory, as ZooKeeper does). */
function readDynamicFile(zooCfg: string): DynamicFile | undefined {
  const fileName = dynamicConfigFileOf(zooCfg);
  if (fileName === undefined) return undefined;
  try {
    return { fileName, text: readFileSync(fileName, 'utf8') };
  } catch (e) {
    throw new ConfigError(`cannot read dynamic config file: ${(e as Error).message}`, { file: fileName });
  }
}

/**
 * zoo.cfg's companions under dynamic reconfiguration: the `.dynamic.next` membership (read only
 * with a dynamic config file, as ZooKeeper does), and the backup of a single-file config that
 * will be split on the first commit (QuorumPeerConfig.backupOldConfig).
 */
function prepareConfigFiles(
  loaded: Loaded,
  plan: StartupPlan,
  log: Logger,
): { files: ConfigFiles; next: QuorumConfig | undefined } | undefined {
  if (plan.mode !== 'ensemble' || loaded.configPath === undefined) return undefined;
  const files = new ConfigFiles(loaded.configPath);
  if (!plan.config.reconfigEnabled) return { files, next: undefined };
  if (plan.config.dynamicConfigFile === undefined) {
    files.backup();
    return { files, next: undefined };
  }
  const text = files.readNext();
  if (text === undefined) return { files, next: undefined };
  const next = parseQuorumConfigText(text, files.nextFile);
  log.info({ file: files.nextFile, version: next.version.toString(16) }, 'a proposed membership is pending');
  return { files, next };
}

/** ZooKeeper's start-up decision, with this server's id from dataDir/myid. */
function planStartup(loaded: Loaded, log: Logger): StartupPlan {
  const myidPath = path.join(loaded.config.dataDir, 'myid');
  let text: string | undefined;
  try {
    text = readOptionalTextFile(myidPath);
  } catch (e) {
    throw new ConfigError(`cannot read myid file: ${(e as Error).message}`, { file: myidPath });
  }
  const plan = decideStartup(loaded, loaded.file, { path: myidPath, text });
  for (const w of plan.warnings) log.warn({ file: loaded.file }, w);
  return plan;
}

async function purgeCommand(config: Config, count: number | undefined): Promise<void> {
  const snapDir = path.join(path.resolve(config.dataDir), 'version-2');
  const logDir = path.join(path.resolve(config.dataLogDir), 'version-2');
  const deleted = await purge(nodeFileSystem, snapDir, logDir, count ?? config.autopurgeSnapRetainCount);
  for (const name of deleted) process.stdout.write(`deleted ${name}\n`);
  process.stdout.write(`purge: ${deleted.length} file(s) deleted\n`);
}

export async function main(argv: readonly string[]): Promise<void> {
  const log = pino({ base: { svc: 'zephyr-coord' } });
  const isPurge = argv[0] === 'purge';
  let loaded: Loaded;
  let plan: StartupPlan | undefined;
  let configFiles: ReturnType<typeof prepareConfigFiles>;
  try {
    loaded = loadConfig(isPurge ? argv.slice(1) : argv, log);
    if (!isPurge) {
      plan = planStartup(loaded, log);
      configFiles = prepareConfigFiles(loaded, plan, log);
    }
  } catch (e) {
    process.stderr.write(`zephyr-coord: ${(e as Error).message}\n${e instanceof ConfigError ? '' : USAGE + '\n'}`);
    process.exit(2);
  }
  if (plan === undefined) {
    await purgeCommand(loaded.config, loaded.count).catch((e: unknown) => {
      process.stderr.write(`zephyr-coord purge: ${(e as Error).message}\n`);
      process.exit(1);
    });
    return;
  }
  const config = plan.config;
  // The disk failed: what is durable is no longer known, so stop serving at once.
  const onFatal = (e: Error): void => {
    log.fatal({ err: e.message }, 'storage failure: stopping the server');
    process.exit(EXIT_STORAGE_FAILURE);
  };
  let server: StandaloneServer | QuorumPeer;
  if (plan.mode === 'ensemble') {
    log.info({}, describeEnsemble(plan.ensemble));
    const election = new FastLeaderElection(plan.ensemble, log, systemClock);
    server = new QuorumPeer(config, plan.ensemble, election, log, onFatal, undefined, configFiles);
    await election.listen().catch((e: unknown) => {
      const m = plan.ensemble.self;
      process.stderr.write(`zephyr-coord: cannot listen on the election port ${m.host}:${m.electionPort}: ${(e as Error).message}\n`);
      process.exit(1);
    });
  } else server = new StandaloneServer(config, log, onFatal);
  let address;
  try {
    address = await server.start();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const what =
      err.code === 'EADDRINUSE' || err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL'
        ? `cannot listen on ${config.clientPortAddress}:${config.clientPort}`
        : `cannot start with dataDir ${config.dataDir}`;
    process.stderr.write(`zephyr-coord: ${what}: ${err.message}\n`);
    process.exit(1);
  }
  log.info(
    { host: address.address, port: address.port, dataDir: config.dataDir },
    `ZephyrCoord listening on ${address.address}:${address.port}`,
  );
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}
