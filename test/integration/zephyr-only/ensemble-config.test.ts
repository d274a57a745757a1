/**
 * Start-up with server.N lines and dataDir/myid, as an operator meets it: an ensemble config is
 * validated and its member starts (and serves no client until it has a quorum), a bad one
 * names its file and line, and a single participant line runs standalone as ZooKeeper does.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import path from 'node:path';
import { DEFAULT_CONFIG, fourLetterWord, runServerToExit, startServer } from '../../support/server-process.js';

const TIMEOUT = { timeout: 30000 };
const EXIT_CONFIG_ERROR = 2;
const LIMITS = { initLimit: '5', syncLimit: '2' };
const THREE = {
  'server.1': '127.0.0.1:29888:29889',
  'server.2': '127.0.0.2:29888:29889',
  'server.3': '127.0.0.3:29888:29889',
};

/** The line `key` lands on in the zoo.cfg the harness writes: its defaults, dataDir, then the test's keys. */
function lineOf(config: Record<string, string | null>, key: string): number {
  const keys = [...Object.keys(DEFAULT_CONFIG), 'dataDir'].filter((k) => config[k] !== null);
  for (const [k, v] of Object.entries(config)) if (v !== null && !keys.includes(k)) keys.push(k);
  const index = keys.indexOf(key);
  assert.ok(index >= 0, `${key} is in the config`);
  return index + 1;
}

function takenPort(): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, () => resolve(s));
  });
}

function portOf(s: net.Server): number {
  const a = s.address();
  assert.ok(a !== null && typeof a === 'object');
  return a.port;
}

describe('ensemble configuration at start-up', { timeout: 120000 }, () => {
  test('a bad ensemble config exits 2 naming the file and line', TIMEOUT, async () => {
    const cases: Array<{ config: Record<string, string | null>; myid?: string; at: (configFile: string, dataDir: string) => string }> = [
      {
        // Two members on one quorum address.
        config: { ...LIMITS, ...THREE, 'server.3': '127.0.0.2:29888:29889' },
        myid: '1',
        at: (f) => `${f}:${lineOf({ ...LIMITS, ...THREE }, 'server.3')}: server.3: server.3's quorum address 127.0.0.2:29888`,
      },
      {
        config: { ...LIMITS, ...THREE },
        myid: '7',
        at: (_f, data) => `${path.join(data, 'myid')}:1: myid 7 is not among the servers of`,
      },
      {
        config: { ...LIMITS, ...THREE },
        at: (f, data) => `${f}: describes an ensemble (servers 1, 2, 3), so this server's id must be in ${path.join(data, 'myid')}`,
      },
      {
        config: { ...THREE, electionAlg: '1' },
        myid: '1',
        at: (f) => `${f}:${lineOf({ ...THREE, electionAlg: '1' }, 'electionAlg')}: electionAlg: only 3 (fast leader election) is supported`,
      },
      {
        config: { 'server.1': '127.0.0.1:29888:29889:observer', 'server.2': '127.0.0.2:29888:29889:observer' },
        myid: '1',
        at: (f) => `${f}:${lineOf({ 'server.1': '' }, 'server.1')}: server.1: observers without participants`,
      },
      {
        // a hierarchical quorum that leaves a participant out
        config: { ...THREE, 'group.1': '1:2' },
        myid: '1',
        at: (f) => `${f}:${lineOf(THREE, 'server.3')}: server.3: participant 3 is in no group`,
      },
      {
        // ZooKeeper has no default for initLimit in an ensemble.
        config: { ...THREE, syncLimit: '2' },
        myid: '1',
        at: (f) => `${f}: initLimit: an ensemble needs this set`,
      },
      {
        // A garbage myid stops even a standalone server, as in ZooKeeper.
        config: {},
        myid: 'one',
        at: (_f, data) => `${path.join(data, 'myid')}:1: expected this server's id (a decimal number), got "one"`,
      },
    ];
    for (const c of cases) {
      const r = await runServerToExit({ config: c.config, ...(c.myid === undefined ? {} : { files: { 'data/myid': `${c.myid}\n` } }) });
      const dataDir = path.join(path.dirname(r.configFile), 'data');
      assert.equal(r.timedOut, false, r.output);
      assert.equal(r.code, EXIT_CONFIG_ERROR, r.output);
      assert.ok(r.output.includes(c.at(r.configFile, dataDir)), `${c.at(r.configFile, dataDir)}\nin:\n${r.output}`);
      assert.doesNotMatch(r.output, /listening on/);
    }
  });

  test('three members: the member describes its ensemble, elects, and serves no client without a quorum', TIMEOUT, async () => {
    const ports: number[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await takenPort();
      ports.push(portOf(s));
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
    const [client, quorum, election] = ports;
    const server = await startServer({
      config: {
        ...LIMITS,
        'server.1': '127.0.0.1:29888:29889',
        'server.2': `127.0.0.1:${quorum}:${election};127.0.0.1:${client}`,
        'server.3': '127.0.0.1:29890:29891',
        clientPort: null,
        clientPortAddress: null,
      },
      files: { 'data/myid': '2\n' },
    });
    try {
      assert.equal(server.port, client);
      assert.match(
        server.output(),
        /this config describes 3 members \(3 participants, 0 observers\): server\.1=127\.0\.0\.1:29888:29889:participant, .*this server is server\.2 \(participant\); a quorum is any 2 of the 3 participants/,
      );
      assert.match(server.output(), /LOOKING: election starts/);
      assert.equal(await fourLetterWord(server.port, 'ruok'), 'imok');
      assert.match(await fourLetterWord(server.port, 'srvr'), /not currently serving/);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  test('one participant line with standaloneEnabled=true serves standalone', TIMEOUT, async () => {
    const taken = await takenPort();
    try {
      // Without a myid the line's client address is not this server's: clientPort (0) is used.
      const line = { 'server.1': `127.0.0.1:29888:29889;127.0.0.1:${portOf(taken)}` };
      const server = await startServer({ config: line });
      try {
        assert.notEqual(server.port, portOf(taken));
        assert.equal(await fourLetterWord(server.port, 'ruok'), 'imok');
        assert.match(server.output(), /server\.1: the only server line, with standaloneEnabled=true: the server runs standalone/);
      } finally {
        assert.equal(await server.stop(), 0);
      }
      // With myid 1 the line's address is this server's, so it tries the taken port.
      const r = await runServerToExit({ config: { ...line, clientPort: null, clientPortAddress: null }, files: { 'data/myid': '1' } });
      assert.equal(r.code, 1, r.output);
      assert.ok(r.output.includes(`cannot listen on 127.0.0.1:${portOf(taken)}`), r.output);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  test("with its myid, one participant line's client address is where the standalone server listens", TIMEOUT, async () => {
    const probe = await takenPort();
    const port = portOf(probe);
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const server = await startServer({
      config: { 'server.1': `127.0.0.1:29888:29889;127.0.0.1:${port}`, clientPort: null, clientPortAddress: null },
      files: { 'data/myid': '1\n' },
    });
    try {
      assert.equal(server.port, port);
      assert.equal(server.host, '127.0.0.1');
      assert.equal(await fourLetterWord(port, 'ruok'), 'imok');
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });
});
