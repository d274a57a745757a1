import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyOverrides,
  ConfigError,
  defaultConfig,
  describeConfig,
  FOUR_LETTER_WORDS,
  parseZooCfg,
  type Config,
} from '../../../src/config/index.js';

const parse = (text: string): Config => parseZooCfg(text, 'zoo.cfg').config;
const warningsOf = (text: string): string[] => parseZooCfg(text, 'zoo.cfg').warnings;

/** Asserts parsing throws a ConfigError with exactly this message and matching key/file/line fields. */
function assertConfigError(text: string, message: string, key: string, line: number): void {
  assert.throws(
    () => parseZooCfg(text, 'zoo.cfg'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.name, 'ConfigError');
      assert.equal(e.message, message);
      assert.equal(e.key, key);
      assert.equal(e.file, 'zoo.cfg');
      assert.equal(e.line, line);
      return true;
    },
  );
}

describe('defaults', () => {
  it("defaultConfig has ZooKeeper's defaults", () => {
    const c = defaultConfig();
    assert.equal(c.tickTimeMs, 3000);
    assert.equal(c.clientPort, 2181);
    assert.equal(c.clientPortAddress, '0.0.0.0');
    assert.equal(c.clientPortListenBacklog, -1);
    assert.equal(c.dataDir, './data');
    assert.equal(c.dataLogDir, './data');
    assert.equal(c.maxClientCnxns, 60);
    assert.equal(c.maxCnxns, 0);
    assert.equal(c.minSessionTimeoutMs, 6000);
    assert.equal(c.maxSessionTimeoutMs, 60000);
    assert.deepEqual([...c.fourLetterWordWhitelist], ['srvr']);
    assert.equal(c.extendedTypesEnabled, false);
    assert.equal(c.containerCheckIntervalMs, 60000);
    assert.equal(c.containerMaxPerMinute, 10000);
    assert.equal(c.containerMaxNeverUsedIntervalMs, 0);
    assert.equal(c.superDigest, undefined);
    assert.equal(c.juteMaxBuffer, 0xfffff);
    assert.equal(c.globalOutstandingLimit, 1000);
    assert.equal(c.skipACL, false);
    assert.equal(c.enforceQuota, false);
    assert.equal(c.forceSync, true);
    assert.equal(c.snapCount, 100000);
    assert.equal(c.preAllocSizeKb, 65536);
    assert.equal(c.autopurgeSnapRetainCount, 3);
    assert.equal(c.autopurgePurgeIntervalHours, 0);
    assert.equal(c.initLimit, 10);
    assert.equal(c.syncLimit, 5);
    assert.equal(c.electionAlg, 3);
    assert.equal(c.peerType, 'participant');
    assert.equal(c.quorumListenOnAllIPs, false);
    assert.equal(c.cnxTimeoutMs, 5000);
    assert.equal(c.electionPortBindRetry, 3);
    assert.equal(c.standaloneEnabled, true);
    assert.equal(c.reconfigEnabled, false);
    assert.deepEqual(c.admin, {
      enableServer: true,
      serverAddress: '0.0.0.0',
      serverPort: 8080,
    });
    assert.equal(c.metricsProviderClassName, undefined);
    assert.equal(c.metricsProviderConfig.size, 0);
    assert.equal(c.readonlyModeEnabled, false);
    assert.equal(c.digestEnabled, true);
    assert.equal(c.snapshotCompressionMethod, '');
    assert.deepEqual(c.servers, []);
  });

  it('an empty file equals defaultConfig and gives no warnings', () => {
    assert.deepEqual(parseZooCfg('', 'zoo.cfg'), {
      config: defaultConfig(),
      warnings: [],
      origins: new Map(),
    });
  });

  it('the config and its nested objects are frozen', () => {
    const c = parse('server.1=a:2888:3888;2181');
    assert.ok(Object.isFrozen(c));
    assert.ok(Object.isFrozen(c.admin));
    assert.ok(Object.isFrozen(c.servers));
    assert.ok(Object.isFrozen(c.servers[0]));
    assert.ok(Object.isFrozen(c.servers[0]?.client));
  });
});

describe('file syntax', () => {
  it('reads the Debian sample zoo.cfg without warnings', () => {
    const text = [
      '# The number of milliseconds of each tick',
      'tickTime=2000',
      'initLimit=10',
      'syncLimit=5',
      'dataDir=/tmp/zookeeper',
      'clientPort=2181',
      '#maxClientCnxns=60',
      '#',
      '#autopurge.snapRetainCount=3',
      '## Metrics Providers',
      '#metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider',
    ].join('\n');
    const { config, warnings } = parseZooCfg(text, 'zoo.cfg');
    assert.deepEqual(warnings, []);
    assert.equal(config.dataDir, '/tmp/zookeeper');
    assert.equal(config.dataLogDir, '/tmp/zookeeper');
    assert.equal(config.metricsProviderClassName, undefined);
  });

  it('ignores # and ! comments and blank lines; trims key and value; keeps inline #', () => {
    const c = parse('\n  # comment\n! also a comment\n\t\n   tickTime   =   3000   \ndataDir=/d # not a comment\n');
    assert.equal(c.tickTimeMs, 3000);
    assert.equal(c.dataDir, '/d # not a comment');
  });

  it('accepts Java properties separators: =, : and whitespace', () => {
    const c = parse('tickTime 2500\nclientPort: 2182\ndataDir = /x');
    assert.deepEqual([c.tickTimeMs, c.clientPort, c.dataDir], [2500, 2182, '/x']);
  });

  it('handles CRLF and CR line endings with correct line numbers', () => {
    assertConfigError('dataDir=/x\r\n\r\ntickTime=abc\r\n', 'zoo.cfg:3: tickTime: expected a positive integer, got "abc"', 'tickTime', 3);
    assert.equal(parse('tickTime=100\rclientPort=1').clientPort, 1);
  });

  it('keys are case-sensitive', () => {
    assert.deepEqual(warningsOf('ticktime=5'), ['zoo.cfg:1: unknown key "ticktime" ignored']);
  });
});

describe('key families', () => {
  it('core server settings', () => {
    const c = parse(
      [
        'tickTime=1000',
        'clientPort=0',
        'clientPortAddress=127.0.0.1',
        'clientPortListenBacklog=128',
        'maxClientCnxns=0',
        'initLimit=20',
        'syncLimit=2',
        'standaloneEnabled=false',
        'reconfigEnabled=TRUE',
        // standaloneEnabled=false needs a participant to form an ensemble with.
        'server.1=a:2888:3888',
      ].join('\n'),
    );
    assert.equal(c.tickTimeMs, 1000);
    assert.equal(c.clientPort, 0);
    assert.equal(c.clientPortAddress, '127.0.0.1');
    assert.equal(c.clientPortListenBacklog, 128);
    assert.equal(c.maxClientCnxns, 0);
    assert.equal(c.initLimit, 20);
    assert.equal(c.syncLimit, 2);
    assert.equal(c.standaloneEnabled, false);
    assert.equal(c.reconfigEnabled, true);
  });

  it('dataLogDir defaults to dataDir but can be set apart', () => {
    assert.equal(parse('dataDir=/a').dataLogDir, '/a');
    const c = parse('dataLogDir=/logs\ndataDir=/a');
    assert.deepEqual([c.dataDir, c.dataLogDir], ['/a', '/logs']);
  });

  it('session timeouts follow tickTime wherever it appears; -1 means the default', () => {
    const c = parse('minSessionTimeout=-1\nmaxSessionTimeout=-1\ntickTime=500');
    assert.deepEqual([c.minSessionTimeoutMs, c.maxSessionTimeoutMs], [1000, 10000]);
    const d = parse('minSessionTimeout=3000\nmaxSessionTimeout=90000');
    assert.deepEqual([d.minSessionTimeoutMs, d.maxSessionTimeoutMs], [3000, 90000]);
  });

  it('4lw whitelist: list, case, spaces, * and the always-on srvr', () => {
    assert.deepEqual([...parse('4lw.commands.whitelist=ruok, STAT ,,conf').fourLetterWordWhitelist].sort(), [
      'conf',
      'ruok',
      'srvr',
      'stat',
    ]);
    assert.deepEqual([...parse('4lw.commands.whitelist=*').fourLetterWordWhitelist].sort(), [...FOUR_LETTER_WORDS].sort());
    assert.deepEqual([...parse('4lw.commands.whitelist=ruok,*').fourLetterWordWhitelist].sort(), [...FOUR_LETTER_WORDS].sort());
    assert.equal(FOUR_LETTER_WORDS.length, 18);
  });

  it('read-only mode also whitelists isro, as ZooKeeper does', () => {
    const c = parse('readonlymode.enabled=true');
    assert.equal(c.readonlyModeEnabled, true);
    assert.deepEqual([...c.fourLetterWordWhitelist].sort(), ['isro', 'srvr']);
  });

  it('system-property settings under their full names', () => {
    const c = parse(
      [
        'zookeeper.maxCnxns=500',
        'zookeeper.extendedTypesEnabled=true',
        'zookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=',
        'zookeeper.globalOutstandingLimit=2000',
        'zookeeper.skipACL=yes',
        'zookeeper.enforceQuota=true',
        'zookeeper.forceSync=no',
        'zookeeper.snapCount=5000',
        'zookeeper.preAllocSize=1024',
        'zookeeper.digest.enabled=false',
        'zookeeper.snapshot.compression.method=SNAPPY',
        'jute.maxbuffer=4194304',
        'znode.container.checkIntervalMs=1000',
        'znode.container.maxPerMinute=0',
        'znode.container.maxNeverUsedIntervalMs=86400000',
      ].join('\n'),
    );
    assert.equal(c.maxCnxns, 500);
    assert.equal(c.extendedTypesEnabled, true);
    assert.equal(c.superDigest, 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
    assert.equal(c.globalOutstandingLimit, 2000);
    assert.equal(c.skipACL, true);
    assert.equal(c.enforceQuota, true);
    assert.equal(c.forceSync, false);
    assert.equal(c.snapCount, 5000);
    assert.equal(c.preAllocSizeKb, 1024);
    assert.equal(c.digestEnabled, false);
    assert.equal(c.snapshotCompressionMethod, 'snappy');
    assert.equal(c.juteMaxBuffer, 4194304);
    assert.equal(c.containerCheckIntervalMs, 1000);
    assert.equal(c.containerMaxPerMinute, 0);
    assert.equal(c.containerMaxNeverUsedIntervalMs, 86400000);
  });

  it('snapshot compression accepts gz and an empty value', () => {
    assert.equal(parse('zookeeper.snapshot.compression.method=gz').snapshotCompressionMethod, 'gz');
    assert.equal(parse('zookeeper.snapshot.compression.method=').snapshotCompressionMethod, '');
  });

  it('autopurge settings', () => {
    const c = parse('autopurge.snapRetainCount=10\nautopurge.purgeInterval=24');
    assert.deepEqual([c.autopurgeSnapRetainCount, c.autopurgePurgeIntervalHours], [10, 24]);
  });

  it('admin server settings', () => {
    const c = parse('admin.enableServer=false\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=9090');
    assert.deepEqual(c.admin, {
      enableServer: false,
      serverAddress: '127.0.0.1',
      serverPort: 9090,
    });
  });

  it('metricsProvider.className and its other keys', () => {
    const { config, warnings } = parseZooCfg(
      'metricsProvider.className=org.example.Prom\nmetricsProvider.httpPort=7000\nmetricsProvider.exportJvmInfo=true',
      'zoo.cfg',
    );
    assert.deepEqual(warnings, []);
    assert.equal(config.metricsProviderClassName, 'org.example.Prom');
    assert.deepEqual(
      [...config.metricsProviderConfig],
      [
        ['httpPort', '7000'],
        ['exportJvmInfo', 'true'],
      ],
    );
  });

  it("the reference server's zoo.cfg (test/compat/reference-zk.sh)", () => {
    const { config, warnings } = parseZooCfg(
      [
        'tickTime=2000',
        'dataDir=/tmp/ref/data',
        'clientPort=22181',
        'clientPortAddress=127.0.0.1',
        'maxClientCnxns=0',
        'admin.enableServer=false',
        '4lw.commands.whitelist=*',
      ].join('\n'),
      'zoo.cfg',
    );
    assert.deepEqual(warnings, []);
    assert.equal(config.admin.enableServer, false);
    assert.equal(config.fourLetterWordWhitelist.size, FOUR_LETTER_WORDS.length);
  });
});

describe('the zookeeper. prefix rule', () => {
  it('a key without its zookeeper. prefix sets the prefixed property', () => {
    const pairs: Array<[string, string, keyof Config]> = [
      ['extendedTypesEnabled=true', 'zookeeper.extendedTypesEnabled=true', 'extendedTypesEnabled'],
      [
        'DigestAuthenticationProvider.superDigest=u:YWJjZA==',
        'zookeeper.DigestAuthenticationProvider.superDigest=u:YWJjZA==',
        'superDigest',
      ],
      ['skipACL=yes', 'zookeeper.skipACL=yes', 'skipACL'],
      ['enforceQuota=true', 'zookeeper.enforceQuota=true', 'enforceQuota'],
      ['forceSync=no', 'zookeeper.forceSync=no', 'forceSync'],
      ['snapCount=10', 'zookeeper.snapCount=10', 'snapCount'],
      ['preAllocSize=8', 'zookeeper.preAllocSize=8', 'preAllocSizeKb'],
      ['globalOutstandingLimit=7', 'zookeeper.globalOutstandingLimit=7', 'globalOutstandingLimit'],
      ['maxCnxns=9', 'zookeeper.maxCnxns=9', 'maxCnxns'],
      ['digest.enabled=false', 'zookeeper.digest.enabled=false', 'digestEnabled'],
      ['snapshot.compression.method=gz', 'zookeeper.snapshot.compression.method=gz', 'snapshotCompressionMethod'],
    ];
    for (const [short, full, field] of pairs) {
      assert.notDeepEqual(parse(short)[field], defaultConfig()[field], short);
      assert.deepEqual(parse(short)[field], parse(full)[field], short);
    }
    // the whole config alike, but for the keys as written, which ZooKeeper's Properties keeps
    const same = (a: string, b: string): void => assert.deepEqual({ ...parse(a), propertyOrder: [] }, { ...parse(b), propertyOrder: [] });
    same('4lw.commands.whitelist=ruok', 'zookeeper.4lw.commands.whitelist=ruok');
    same('admin.serverPort=1', 'zookeeper.admin.serverPort=1');
  });

  it('the short and long spelling of one property count as the same key', () => {
    const { config, warnings } = parseZooCfg('skipACL=yes\nzookeeper.skipACL=no', 'zoo.cfg');
    assert.equal(config.skipACL, false);
    assert.deepEqual(warnings, ['zoo.cfg:2: zookeeper.skipACL: set again; replaces the value from line 1']);
  });

  it('does not add the prefix to plain zoo.cfg keys or to unprefixed properties', () => {
    assert.deepEqual(warningsOf('zookeeper.tickTime=5\nzookeeper.jute.maxbuffer=5\nzookeeper.readonlymode.enabled=true'), [
      'zoo.cfg:1: unknown key "zookeeper.tickTime" ignored',
      'zoo.cfg:2: unknown key "zookeeper.jute.maxbuffer" ignored',
      'zoo.cfg:3: unknown key "zookeeper.readonlymode.enabled" ignored',
    ]);
  });
});

describe('warnings', () => {
  it('unknown keys are accepted with a warning naming file and line', () => {
    const { config, warnings } = parseZooCfg('tickTime=2000\nsecureClientPort=2281\nfoo', '/etc/zk/zoo.cfg');
    assert.equal(config.tickTimeMs, 2000);
    assert.deepEqual(warnings, [
      '/etc/zk/zoo.cfg:2: unknown key "secureClientPort" ignored',
      '/etc/zk/zoo.cfg:3: unknown key "foo" ignored',
    ]);
  });

  it('a repeated key warns and the last value wins', () => {
    const { config, warnings } = parseZooCfg('tickTime=1000\n\ntickTime=3000', 'zoo.cfg');
    assert.equal(config.tickTimeMs, 3000);
    assert.deepEqual(warnings, ['zoo.cfg:3: tickTime: set again; replaces the value from line 1']);
  });

  it("snapCount and autopurge.snapRetainCount are raised to ZooKeeper's floors with a warning", () => {
    const { config, warnings } = parseZooCfg('snapCount=1\nautopurge.snapRetainCount=-5', 'zoo.cfg');
    assert.deepEqual([config.snapCount, config.autopurgeSnapRetainCount], [2, 3]);
    assert.deepEqual(warnings, [
      'zoo.cfg:1: snapCount: 1 is below the minimum 2; using 2',
      'zoo.cfg:2: autopurge.snapRetainCount: -5 is below the minimum 3; using 3',
    ]);
  });
});

describe('errors name key, file and line', () => {
  it('the message shape from the brief', () => {
    const text = '# a\n# b\n# c\n# d\n# e\ndataDir=/x\ntickTime=abc';
    assertConfigError(text, 'zoo.cfg:7: tickTime: expected a positive integer, got "abc"', 'tickTime', 7);
  });

  const cases: Array<[string, string, string]> = [
    ['tickTime=0', 'tickTime', 'expected a positive integer, got "0"'],
    ['tickTime=1.5', 'tickTime', 'expected a positive integer, got "1.5"'],
    ['tickTime=', 'tickTime', 'expected a positive integer, got ""'],
    ['tickTime=2147483648', 'tickTime', 'expected a positive integer, got "2147483648"'],
    ['clientPort=-1', 'clientPort', 'expected a port number 0-65535, got "-1"'],
    ['clientPort=65536', 'clientPort', 'expected a port number 0-65535, got "65536"'],
    ['clientPort=http', 'clientPort', 'expected a port number 0-65535, got "http"'],
    ['admin.serverPort=70000', 'admin.serverPort', 'expected a port number 0-65535, got "70000"'],
    ['clientPortListenBacklog=-2', 'clientPortListenBacklog', 'expected an integer >= -1, got "-2"'],
    ['maxClientCnxns=-1', 'maxClientCnxns', 'expected a non-negative integer, got "-1"'],
    ['maxCnxns=x', 'maxCnxns', 'expected a non-negative integer, got "x"'],
    ['minSessionTimeout=-2', 'minSessionTimeout', 'expected an integer >= -1, got "-2"'],
    ['initLimit=0', 'initLimit', 'expected a positive integer, got "0"'],
    ['autopurge.purgeInterval=-1', 'autopurge.purgeInterval', 'expected a non-negative integer, got "-1"'],
    ['snapCount=many', 'snapCount', 'expected an integer, got "many"'],
    ['jute.maxbuffer=0xfffff', 'jute.maxbuffer', 'expected a positive integer, got "0xfffff"'],
    ['znode.container.checkIntervalMs=0', 'znode.container.checkIntervalMs', 'expected a positive integer, got "0"'],
    ['preAllocSize=-1', 'preAllocSize', 'expected a positive integer, got "-1"'],
    ['dataDir=', 'dataDir', 'expected a value, got nothing'],
    ['metricsProvider.className=', 'metricsProvider.className', 'expected a value, got nothing'],
    ['extendedTypesEnabled=yes', 'extendedTypesEnabled', 'expected true or false, got "yes"'],
    ['standaloneEnabled=1', 'standaloneEnabled', 'expected true or false, got "1"'],
    ['skipACL=true', 'skipACL', 'expected yes or no, got "true"'],
    ['zookeeper.forceSync=YES', 'zookeeper.forceSync', 'expected yes or no, got "YES"'],
    ['4lw.commands.whitelist=ruok,nope', '4lw.commands.whitelist', 'unknown four-letter word "nope"'],
    [
      'DigestAuthenticationProvider.superDigest=nocolon',
      'DigestAuthenticationProvider.superDigest',
      'expected user:base64digest, got "nocolon"',
    ],
    [
      'zookeeper.DigestAuthenticationProvider.superDigest=super:not base64!',
      'zookeeper.DigestAuthenticationProvider.superDigest',
      'expected user:base64digest, got "super:not base64!"',
    ],
    [
      'DigestAuthenticationProvider.superDigest=super:abc',
      'DigestAuthenticationProvider.superDigest',
      'expected user:base64digest, got "super:abc"',
    ],
    ['snapshot.compression.method=lz4', 'snapshot.compression.method', 'expected "", gz or snappy, got "lz4"'],
  ];
  for (const [line, key, detail] of cases) {
    it(`${line} -> ${detail}`, () => {
      assertConfigError(`tickTime=2000\n${line}`, `zoo.cfg:2: ${key}: ${detail}`, key, 2);
    });
  }

  it('minSessionTimeout > maxSessionTimeout points at minSessionTimeout', () => {
    assertConfigError(
      'maxSessionTimeout=5000\nminSessionTimeout=6000',
      'zoo.cfg:2: minSessionTimeout: minSessionTimeout (6000) must not be larger than maxSessionTimeout (5000)',
      'minSessionTimeout',
      2,
    );
  });

  it('a maxSessionTimeout below the derived minimum points at maxSessionTimeout', () => {
    assertConfigError(
      'tickTime=2000\nmaxSessionTimeout=3000',
      'zoo.cfg:2: maxSessionTimeout: minSessionTimeout (4000) must not be larger than maxSessionTimeout (3000)',
      'maxSessionTimeout',
      2,
    );
  });
});

describe('applyOverrides', () => {
  it('--port replaces clientPort and leaves the input untouched', () => {
    const base = parse('clientPort=2181');
    const next = applyOverrides(base, { clientPort: 3000 });
    assert.equal(next.clientPort, 3000);
    assert.equal(base.clientPort, 2181);
    assert.ok(Object.isFrozen(next));
  });

  it('--data-dir moves a defaulted dataLogDir along with dataDir', () => {
    const next = applyOverrides(parse('dataDir=/a'), { dataDir: '/b' });
    assert.deepEqual([next.dataDir, next.dataLogDir], ['/b', '/b']);
  });

  it('--data-dir leaves an explicit, separate dataLogDir alone', () => {
    const next = applyOverrides(parse('dataDir=/a\ndataLogDir=/logs'), {
      dataDir: '/b',
    });
    assert.deepEqual([next.dataDir, next.dataLogDir], ['/b', '/logs']);
  });

  it('no overrides gives an equal config', () => {
    assert.deepEqual(applyOverrides(defaultConfig(), {}), defaultConfig());
  });

  it('bad overrides raise ConfigError naming the flag', () => {
    for (const [overrides, message] of [
      [{ clientPort: 70000 }, '--port: expected a port number 0-65535, got "70000"'],
      [{ clientPort: -1 }, '--port: expected a port number 0-65535, got "-1"'],
      [{ clientPort: 1.5 }, '--port: expected a port number 0-65535, got "1.5"'],
      [{ dataDir: '' }, '--data-dir: expected a value, got nothing'],
    ] as const) {
      assert.throws(
        () => applyOverrides(defaultConfig(), overrides),
        (e: unknown) => e instanceof ConfigError && e.message === message && e.file === undefined && e.line === undefined,
      );
    }
  });
});

describe('describeConfig', () => {
  // A live 3.8.0 with only clientPort and dataDir set answers conf with these lines.
  it("matches ZooKeeper 3.8's conf output for a default standalone server", () => {
    assert.deepEqual(describeConfig(defaultConfig()), [
      ['clientPort', '2181'],
      ['secureClientPort', '-1'],
      ['dataDir', './data/version-2'],
      ['dataDirSize', '0'],
      ['dataLogDir', './data/version-2'],
      ['dataLogSize', '0'],
      ['tickTime', '3000'],
      ['maxClientCnxns', '60'],
      ['minSessionTimeout', '6000'],
      ['maxSessionTimeout', '60000'],
      ['clientPortListenBacklog', '-1'],
      ['serverId', '0'],
    ]);
  });

  it('uses runtime facts: bound port, sizes, absolute paths', () => {
    const c = parse('clientPort=0\ndataDir=data/\ndataLogDir=/var/log/zk\ntickTime=1000\nmaxClientCnxns=0');
    const lines = describeConfig(c, {
      clientPort: 40123,
      dataDirSize: 457,
      dataLogSize: 1024,
      absolutePath: (p) => (p.startsWith('/') ? p : `/srv/${p}`),
    });
    assert.deepEqual(Object.fromEntries(lines), {
      clientPort: '40123',
      secureClientPort: '-1',
      dataDir: '/srv/data/version-2',
      dataDirSize: '457',
      dataLogDir: '/var/log/zk/version-2',
      dataLogSize: '1024',
      tickTime: '1000',
      maxClientCnxns: '0',
      minSessionTimeout: '2000',
      maxSessionTimeout: '20000',
      clientPortListenBacklog: '-1',
      serverId: '0',
    });
  });
});

describe('zookeeper.snapshotSizeFactor', () => {
  it('defaults to 0.33 and takes decimals, exponents and negatives (never SNAP by size), not text', () => {
    assert.equal(parse('').snapshotSizeFactor, 0.33);
    assert.equal(parse('snapshotSizeFactor=0.5').snapshotSizeFactor, 0.5);
    assert.equal(parse('zookeeper.snapshotSizeFactor=-1').snapshotSizeFactor, -1);
    assert.equal(parse('zookeeper.snapshotSizeFactor=1e-2').snapshotSizeFactor, 0.01);
    assert.equal(parse('zookeeper.snapshotSizeFactor=.25').snapshotSizeFactor, 0.25);
    assert.throws(() => parse('zookeeper.snapshotSizeFactor=lots'), /expected a decimal number, got "lots"/);
    assert.throws(() => parse('zookeeper.snapshotSizeFactor=0x10'), /expected a decimal number/);
  });
});
