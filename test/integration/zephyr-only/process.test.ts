/**
 * Our own process as an operator starts it: signals, config errors and warnings, and the
 * command-line overrides. These are ZephyrCoord's (exit codes, JSON log lines, flags), so this
 * suite is not run against Apache ZooKeeper.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { RawClient } from '../../support/raw-client.js';
import { fourLetterWord, runServerToExit, startServer } from '../../support/server-process.js';
import { Wire } from '../wire.js';

const TIMEOUT = { timeout: 30000 };

function field(text: string, re: RegExp): string {
  const m = re.exec(text);
  assert.ok(m !== null, `${re} in:\n${text}`);
  return m[1] ?? '';
}

function listenOn(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port }, () => resolve(s));
  });
}

function portOf(s: net.Server): number {
  const a = s.address();
  assert.ok(a !== null && typeof a === 'object');
  return a.port;
}

function closeServer(s: net.Server): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

describe('process lifecycle and configuration', { timeout: 60000 }, () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} exits 0 and closes client connections`, TIMEOUT, async () => {
      const server = await startServer();
      try {
        const c = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 30000, readOnly: false });
        assert.equal((await c.create('/x')).err, 0);
        const w = await Wire.open(server.port);
        const code = await server.stop(signal);
        assert.equal(code, 0, server.output());
        const closed = await Promise.race([c.closed, new Promise<null>((resolve) => setTimeout(() => resolve(null), 3000))]);
        assert.ok(closed !== null && closed.byServer, 'the session connection was closed by the server');
        assert.ok(await w.closedWithin(3000), 'a connection without a session was closed too');
        c.destroy();
      } finally {
        await server.kill9();
      }
    });
  }

  test('a bad value exits non-zero with a message naming the key and the file', TIMEOUT, async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ tickTime: 'abc' }, 'tickTime'],
      [{ clientPort: '99999' }, 'clientPort'],
      [{ maxClientCnxns: '-1' }, 'maxClientCnxns'],
      [{ 'zookeeper.extendedTypesEnabled': 'maybe' }, 'zookeeper.extendedTypesEnabled'],
    ];
    for (const [config, key] of cases) {
      const r = await runServerToExit({ config });
      assert.equal(r.timedOut, false, `${key}: the server exited by itself`);
      assert.ok(r.code !== null && r.code !== 0, `${key}: exit code ${r.code}`);
      assert.ok(r.output.includes(key), `${key} named in:\n${r.output}`);
      assert.ok(r.output.includes(r.configFile), `file named in:\n${r.output}`);
      assert.doesNotMatch(r.output, /listening on/);
    }
  });

  test('an unknown key is warned about and the server starts', TIMEOUT, async () => {
    const server = await startServer({ config: { fooBarBaz: '17' } });
    try {
      assert.equal(await fourLetterWord(server.port, 'ruok'), 'imok');
      const warning = server
        .output()
        .split('\n')
        .find((l) => l.includes('fooBarBaz'));
      assert.ok(warning !== undefined, server.output());
      assert.match(warning, /"level":40/, 'logged at warn level');
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  test('--port and --data-dir override the file', TIMEOUT, async () => {
    const taken = await listenOn(0);
    const probe = await listenOn(0);
    const freePort = portOf(probe);
    await closeServer(probe);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'zephyr-it-datadir-'));
    try {
      // The file's port is in use: only the override lets the server start.
      const server = await startServer({
        config: { clientPort: String(portOf(taken)) },
        args: ['--port', String(freePort), '--data-dir', dataDir],
      });
      try {
        assert.equal(server.port, freePort);
        assert.equal(server.dataDir, dataDir);
        assert.equal(await fourLetterWord(freePort, 'ruok'), 'imok');
        const conf = await fourLetterWord(freePort, 'conf');
        assert.match(conf, new RegExp(`^clientPort=${freePort}$`, 'm'));
        assert.ok(field(conf, /^dataDir=(.*)$/m).startsWith(dataDir), conf);
      } finally {
        assert.equal(await server.stop(), 0);
      }
      const zero = await startServer({ config: { clientPort: String(portOf(taken)) }, args: ['--port', '0'] });
      try {
        assert.notEqual(zero.port, portOf(taken));
        assert.equal(await fourLetterWord(zero.port, 'ruok'), 'imok');
      } finally {
        await zero.stop();
      }
    } finally {
      await closeServer(taken);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
