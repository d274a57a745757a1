/** `zephyr-coord [--config zoo.cfg] [--port N] [--data-dir DIR]`: a standalone server in the foreground. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { ConfigError, applyOverrides, defaultConfig, parseZooCfg, type Config } from '../config/index.js';
import { StandaloneServer } from '../server/standalone.js';
import type { Logger } from '../server/types.js';

const USAGE = `usage: zephyr-coord [--config zoo.cfg] [--port N] [--data-dir DIR]
Runs a standalone ZooKeeper-compatible server in the foreground.
Without a config file it listens on 2181 with data in ./data.`;

function loadConfig(argv: readonly string[], log: Logger): Config {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string', short: 'p' },
      'data-dir': { type: 'string', short: 'd' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
  });
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  let config = defaultConfig();
  if (values.config !== undefined) {
    let text: string;
    try {
      text = readFileSync(values.config, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read config file: ${(e as Error).message}`, { file: values.config });
    }
    const parsed = parseZooCfg(text, values.config);
    for (const w of parsed.warnings) log.warn({ file: values.config }, w);
    config = parsed.config;
  }
  const overrides: { clientPort?: number; dataDir?: string } = {};
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new ConfigError(`--port: expected a port number, got "${values.port}"`, {});
    overrides.clientPort = port;
  }
  if (values['data-dir'] !== undefined) overrides.dataDir = values['data-dir'];
  return applyOverrides(config, overrides);
}

export async function main(argv: readonly string[]): Promise<void> {
  const log = pino({ base: { svc: 'zephyr-coord' } });
  let config: Config;
  try {
    config = loadConfig(argv, log);
  } catch (e) {
    process.stderr.write(`zephyr-coord: ${(e as Error).message}\n${e instanceof ConfigError ? '' : USAGE + '\n'}`);
    process.exit(2);
  }
  const server = new StandaloneServer(config, log, (e) => {
    // The disk failed: what is durable is no longer known, so stop serving at once.
    log.fatal({ err: e.message }, 'storage failure: stopping the server');
    process.exit(3);
  });
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
