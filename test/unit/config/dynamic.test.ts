/**
 * Versioned memberships and the files dynamic reconfiguration writes: the dynamic config file
 * (its lines, and its version from its name), NEWLEADER's and `.dynamic.next`'s text, equality by
 * content, `zoo.cfg.dynamic.<v>` and the rewritten zoo.cfg, as ZooKeeper 3.8.0 has them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigError,
  decideStartup,
  dynamicConfigFileOf,
  dynamicFileText,
  ownLineHasClient,
  parseQuorumConfigText,
  parseZooCfg,
  rewriteStaticConfig,
  sameQuorumConfig,
  versionFromFileName,
  withVersion,
} from '../../../src/config/index.js';

const STATIC =
  'tickTime=2000\ninitLimit=5\nsyncLimit=2\nreconfigEnabled=true\ndataDir=/srv/zk\ndynamicConfigFile=/srv/zk.cfg.dynamic.100000000';
const MEMBERS = 'server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.2:2888:3888:participant;2182\nserver.3=127.0.0.3:2888:3888;127.0.0.3:2183';
const DYNAMIC = { fileName: '/srv/zk.cfg.dynamic.100000000', text: MEMBERS };

function refusedWith(run: () => unknown, message: string): void {
  assert.throws(run, (e: unknown) => e instanceof ConfigError && e.message === message);
}

describe('the dynamic config file', () => {
  it('gives the membership, and its name the version', () => {
    assert.equal(dynamicConfigFileOf(STATIC), '/srv/zk.cfg.dynamic.100000000');
    const { config } = parseZooCfg(STATIC, 'zoo.cfg', DYNAMIC);
    assert.equal(config.configVersion, 0x100000000);
    assert.equal(config.dynamicConfigFile, '/srv/zk.cfg.dynamic.100000000');
    assert.deepEqual(
      config.servers.map((s) => s.id),
      [1, 2, 3],
    );
    const plan = decideStartup(parseZooCfg(STATIC, 'zoo.cfg', DYNAMIC), 'zoo.cfg', { path: 'myid', text: '2' });
    assert.ok(plan.mode === 'ensemble');
    assert.equal(
      plan.ensemble.configText,
      'server.1=127.0.0.1:2888:3888:participant\nserver.2=127.0.0.2:2888:3888:participant;0.0.0.0:2182\n' +
        'server.3=127.0.0.3:2888:3888:participant;127.0.0.3:2183\nversion=100000000',
    );
    assert.equal(plan.ensemble.committedConfig.version, 0x100000000);
  });

  it('reads the version from the name as ZooKeeper does', () => {
    assert.equal(versionFromFileName('zoo.cfg.dynamic.100000000'), 0x100000000);
    assert.equal(versionFromFileName('zoo.cfg.dynamic'), undefined);
    assert.equal(versionFromFileName('/a.b/zoo_dynamic'), undefined);
    assert.equal(versionFromFileName('x.cfg.dead'), 0xdead);
    assert.equal(parseZooCfg(STATIC, 'zoo.cfg', { fileName: 'zoo.cfg.dynamic', text: MEMBERS }).config.configVersion, 0);
  });

  it('refuses membership lines in zoo.cfg, a version line, and any other key, with file and line', () => {
    refusedWith(
      () => parseZooCfg(`${STATIC}\nserver.4=127.0.0.4:2888:3888`, 'zoo.cfg', DYNAMIC),
      'zoo.cfg:7: server.4: must be in a separate dynamic config file, as dynamicConfigFile is set',
    );
    refusedWith(
      () => parseZooCfg(`group.1=1:2:3\n${STATIC}`, 'zoo.cfg', DYNAMIC),
      'zoo.cfg:1: group.1: must be in a separate dynamic config file, as dynamicConfigFile is set',
    );
    refusedWith(
      () => parseZooCfg(STATIC, 'zoo.cfg', { ...DYNAMIC, text: `${MEMBERS}\nversion=100000000` }),
      '/srv/zk.cfg.dynamic.100000000:4: version: a dynamic config file must not hold a version: ZooKeeper takes it from the file name',
    );
    refusedWith(
      () => parseZooCfg(STATIC, 'zoo.cfg', { ...DYNAMIC, text: `tickTime=10\n${MEMBERS}` }),
      '/srv/zk.cfg.dynamic.100000000:1: tickTime: unrecognised parameter: a dynamic config file holds only server.N, group.N and weight.N lines',
    );
    refusedWith(
      () => parseZooCfg(STATIC, 'zoo.cfg', { ...DYNAMIC, text: `${MEMBERS}\nserver.4=127.0.0.4:2888` }),
      '/srv/zk.cfg.dynamic.100000000:4: server.4: ' +
        parseErrorOf(`server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\nserver.4=127.0.0.4:2888`).replace(/^zoo\.cfg:4: server\.4: /, ''),
    );
  });
});

function parseErrorOf(text: string): string {
  try {
    parseZooCfg(text, 'zoo.cfg');
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

describe('a membership as text', () => {
  const text = `server.3=127.0.0.3:2888:3888:participant;127.0.0.3:2183\nversion=100000000\nserver.1=127.0.0.1:2888:3888:participant\nserver.2=127.0.0.2:2888:3888:participant;0.0.0.0:2182`;

  it('parses in any order and prints in ZooKeeper order, with its version', () => {
    const qc = parseQuorumConfigText(text, 'NEWLEADER');
    assert.equal(qc.version, 0x100000000);
    assert.equal(
      qc.text,
      'server.1=127.0.0.1:2888:3888:participant\nserver.2=127.0.0.2:2888:3888:participant;0.0.0.0:2182\n' +
        'server.3=127.0.0.3:2888:3888:participant;127.0.0.3:2183\nversion=100000000',
    );
    assert.equal(ownLineHasClient(qc, 1), false);
    assert.equal(ownLineHasClient(qc, 2), true);
  });

  it('is equal by content: other order, other spacing, other version; not with another port or role', () => {
    const a = parseQuorumConfigText(text, 'a');
    const b = parseQuorumConfigText(
      `  server.1 = 127.0.0.1:2888:3888\nserver.2=127.0.0.2:2888:3888;2182\nserver.3=127.0.0.3:2888:3888;127.0.0.3:2183\nversion=0`,
      'b',
    );
    assert.equal(b.version, 0);
    assert.equal(sameQuorumConfig(a, b), true);
    const otherPort = parseQuorumConfigText(text.replace('2183', '2184').replace('version=100000000', 'version=1'), 'c');
    assert.equal(sameQuorumConfig(a, otherPort), false);
    const observer = parseQuorumConfigText(
      text.replace('2888:3888:participant;127', '2888:3888:observer;127').replace('version=100000000', 'version=2'),
      'd',
    );
    assert.equal(sameQuorumConfig(a, observer), false);
    assert.equal(sameQuorumConfig(observer, withVersion(observer, 7)), true);
    assert.equal(withVersion(observer, 0x200000000).text.endsWith('\nversion=200000000'), true);
  });

  it('compares weights and groups of a hierarchical membership', () => {
    const h = 'server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\ngroup.1=1:2:3\nweight.1=2';
    const a = parseQuorumConfigText(`${h}\nversion=1`, 'a');
    assert.equal(sameQuorumConfig(a, parseQuorumConfigText(`${h}\nweight.2=1\nversion=2`, 'b')), true);
    assert.equal(sameQuorumConfig(a, parseQuorumConfigText(`${h.replace('weight.1=2', 'weight.1=3')}\nversion=2`, 'c')), false);
  });

  it('refuses keys that are not part of a membership', () => {
    refusedWith(
      () => parseQuorumConfigText('server.1=a:1:2\ntickTime=3', 'x.next'),
      'x.next:2: tickTime: unrecognised parameter: a membership holds only server.N, group.N and weight.N lines and a version',
    );
  });
});

describe('the files ZooKeeper writes', () => {
  it('zoo.cfg.dynamic.<v>: sorted lines as strings, no version, no newline at the end; .next keeps the version', () => {
    const ids = [1, 2, 10];
    const qc = parseQuorumConfigText(`${ids.map((i) => `server.${i}=h${i}:1:2`).join('\n')}\nversion=100000000`, 'x');
    // whole lines compared as strings: '0' sorts before '='
    assert.equal(dynamicFileText(qc, false), 'server.10=h10:1:2:participant\nserver.1=h1:1:2:participant\nserver.2=h2:1:2:participant');
    assert.equal(
      dynamicFileText(qc, true),
      'server.10=h10:1:2:participant\nserver.1=h1:1:2:participant\nserver.2=h2:1:2:participant\nversion=100000000',
    );
  });

  it('zoo.cfg rewritten: Properties order, membership and peerType dropped, clientPort only when asked, the dynamic file last', () => {
    const zooCfg =
      '# comment\ntickTime=2000\nclientPort=2181\nclientPortAddress = 127.0.0.1\nclientPortListenBacklog=5\n\npeerType=participant\ninitLimit=5\nsyncLimit=2\nserver.1=a:1:2\ngroup.1=1\nweight.1=1\ndataDir=/d\ntickTime=3000\n';
    const kept = rewriteStaticConfig(zooCfg, '/abs/zoo.cfg.dynamic.100000000', false);
    const lines = kept.split('\n');
    assert.equal(lines.at(-1), '');
    assert.equal(lines.at(-2), 'dynamicConfigFile=/abs/zoo.cfg.dynamic.100000000');
    assert.deepEqual(lines.slice(0, -2).sort(), [
      'clientPort=2181',
      'clientPortAddress=127.0.0.1',
      'clientPortListenBacklog=5',
      'dataDir=/d',
      'initLimit=5',
      'syncLimit=2',
      'tickTime=3000',
    ]);
    const erased = rewriteStaticConfig(zooCfg, '/abs/d', true);
    assert.doesNotMatch(erased, /clientPort/);
    assert.equal(rewriteStaticConfig(kept, '/abs/zoo.cfg.dynamic.200000000', false), kept.replace('100000000', '200000000'));
  });
});
