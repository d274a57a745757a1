/**
 * server.N lines and the quorum keys as ZooKeeper 3.8.0 reads them. "ZooKeeper:" notes record
 * what Debian's zookeeper 3.8.0 (QuorumPeerMain) did with the same zoo.cfg line.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseZooCfg, type Config } from '../../../src/config/index.js';

const parse = (text: string): Config => parseZooCfg(text, 'zoo.cfg').config;
const warningsOf = (text: string): string[] => parseZooCfg(text, 'zoo.cfg').warnings;
/** Three participants, so that membership rules stay quiet unless a test is about them. */
const THREE = 'server.1=zk1:2888:3888\nserver.2=zk2:2888:3888\nserver.3=zk3:2888:3888';

function assertConfigError(text: string, message: string, key: string | undefined, line: number | undefined): void {
  assert.throws(
    () => parseZooCfg(text, 'zoo.cfg'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, message);
      assert.equal(e.key, key);
      assert.equal(e.file, 'zoo.cfg');
      assert.equal(e.line, line);
      return true;
    },
  );
}

describe('server lines', () => {
  it('parses an ensemble, sorted by id, with roles and client addresses', () => {
    const c = parse(
      [
        'server.3=zk3:2888:3888:observer',
        'server.1=zk1:2888:3888',
        'server.2=zk2:2888:3888:Participant;2181',
        'server.10=10.0.0.4:2889:3889;127.0.0.1:2182',
        'server.11=[fe80::1]:2888:3888:participant;[::1]:2181',
      ].join('\n'),
    );
    assert.deepEqual(c.servers, [
      { id: 1, host: 'zk1', quorumPort: 2888, electionPort: 3888, role: 'participant' },
      // A client port alone binds every address, as ZooKeeper's 0.0.0.0.
      { id: 2, host: 'zk2', quorumPort: 2888, electionPort: 3888, role: 'participant', client: { host: '0.0.0.0', port: 2181 } },
      { id: 3, host: 'zk3', quorumPort: 2888, electionPort: 3888, role: 'observer' },
      { id: 10, host: '10.0.0.4', quorumPort: 2889, electionPort: 3889, role: 'participant', client: { host: '127.0.0.1', port: 2182 } },
      { id: 11, host: 'fe80::1', quorumPort: 2888, electionPort: 3888, role: 'participant', client: { host: '::1', port: 2181 } },
    ]);
  });

  // ZooKeeper: each of these started as server 1 of three (Java's split drops trailing empty
  // fields, the role is trimmed, and Properties drops the whitespace before a value).
  const zk1 = { id: 1, host: 'zk1', quorumPort: 2888, electionPort: 3888, role: 'participant' };
  const accepted: Array<[string, object]> = [
    ['server.1=zk1:2888:3888:', zk1],
    ['server.1=zk1:2888:3888;', zk1],
    ['server.1=zk1:2888:3888:observer::', { ...zk1, role: 'observer' }],
    ['server.1=zk1:2888:3888;2181;', { ...zk1, client: { host: '0.0.0.0', port: 2181 } }],
    ['server.1=zk1:2888:3888: Observer  ', { ...zk1, role: 'observer' }],
    ['server.1 =   zk1:2888:3888', zk1],
    ['server.+1=zk1:+2888:3888', zk1],
    ['server.1=zk1:2888:3888;0', { ...zk1, client: { host: '0.0.0.0', port: 0 } }],
    ['server.1=[::1]:2888:3888;[::]:2181', { ...zk1, host: '::1', client: { host: '::', port: 2181 } }],
  ];
  for (const [line, expected] of accepted) {
    it(`accepts ${JSON.stringify(line)}`, () => {
      const c = parse(`${line}\nserver.2=zk2:2888:3888\nserver.3=zk3:2888:3888`);
      assert.deepEqual(c.servers[0], expected);
    });
  }

  const form = 'expected host:quorumPort:electionPort[:participant|observer][;[clientAddress:]clientPort]';
  const spaces = ' (ZooKeeper allows no spaces in a server line, except around the role)';
  // Each fails ZooKeeper too; its words are in the comment where they differ in more than wording.
  const refused: Array<[string, string]> = [
    // "... does not have the form server_config or server_config;client_config ..."
    ['server.1=zk1:2888', `${form}, got "zk1:2888"`],
    ['server.1=zk1:2888:3888:observer:x', `${form}, got "zk1:2888:3888:observer:x"`],
    ['server.1=zk1:2888:3888;2181;2182', `${form}, got "zk1:2888:3888;2181;2182"`],
    ['server.1=zk1:2888:3888;a:b:2181', `${form}, got "zk1:2888:3888;a:b:2181"`],
    ['server.1=[::1]', `${form}, got "[::1]"`],
    ['server.1=', `${form}, got ""`],
    // "[::1:2888:3888 starts with '[' but has no matching ']:'"
    ['server.1=[fe80::1:2888:3888', '"[fe80::1:2888:3888" starts with "[" but has no matching "]"'],
    // "[::1]: doesn't have a port after colon"
    ['server.1=[::1]:', '"[::1]:" has no port after "]:"'],
    // ZooKeeper skips the character after "]" whatever it is, and accepts this line.
    ['server.1=[::1]x2888:3888', '"[::1]x2888:3888" has no port after "]:"'],
    // "Address unresolved: zk1:abc"
    ['server.1=zk1:abc:3888', 'expected a port number 0-65535, got "abc"'],
    // "Address unresolved: null:x"
    ['server.1=zk1:2888:3888;x', 'expected a port number 0-65535, got "x"'],
    ['server.1=zk1:2888:3888;[::1]', 'expected a port number 0-65535, got "::1"'],
    // "Address unresolved: 127.0.0.1:29889   ": Properties keeps trailing blanks and ZooKeeper does not trim.
    ['server.1=zk1:2888:3888   ', `expected a port number 0-65535, got "3888   "${spaces}`],
    ['server.1=zk1: 2888:3888', `expected a port number 0-65535, got " 2888"${spaces}`],
    ['server.1=zk1:2888:3888 ;2181', `expected a port number 0-65535, got "3888 "${spaces}`],
    ['server.1=zk1:2888:3888; 2181', `expected a port number 0-65535, got " 2181"${spaces}`],
    // "port out of range:99999"
    ['server.1=zk1:2888:99999', 'expected a port number 0-65535, got "99999"'],
    ['server.1=zk1:-1:3888', 'expected a port number 0-65535, got "-1"'],
    ['server.1=zk1:2888:3888;99999', 'expected a port number 0-65535, got "99999"'],
    // "Client and election port must be different! Please update the configuration file on server.1"
    ['server.1=zk1:2888:2888', 'quorum and election ports must differ, got 2888 twice'],
    // ZooKeeper accepts port 0 here; nobody could connect to it.
    ['server.1=zk1:0:3888', 'quorum and election ports must not be 0 (other servers connect to them)'],
    // ZooKeeper takes an empty host as the loopback address, and a host with a space unresolved.
    ['server.1=:2888:3888', `${form}, got ":2888:3888" (the host is empty)`],
    ['server.1=zk1:2888:3888;:2181', `${form}, got "zk1:2888:3888;:2181" (the host is empty)`],
    ['server.1=zk 1:2888:3888', 'host "zk 1" contains a space'],
    // "Unrecognised peertype: leader"
    ['server.1=zk1:2888:3888:leader', 'unknown server role "leader" (expected participant or observer)'],
    // "Multiple address feature is disabled, but multiple addresses were specified for sid 1"
    ['server.1=a:1:2|b:1:2', 'multiple addresses ("|") are not supported, got "a:1:2|b:1:2"'],
  ];
  for (const [line, detail] of refused) {
    it(`${JSON.stringify(line)} -> ${detail}`, () => {
      assertConfigError(`# ensemble\n${line}`, `zoo.cfg:2: server.1: ${detail}`, 'server.1', 2);
    });
  }

  // ZooKeeper: NumberFormatException for "x", "" and "1.5"; server.-1 reads as the "unset" id -1.
  for (const id of ['x', '-1', '', '1.5', '9007199254740993']) {
    it(`server.${id} is refused`, () => {
      assertConfigError(
        `server.${id}=zk1:2888:3888`,
        `zoo.cfg:1: server.${id}: server id must be a non-negative integer, got "${id}"`,
        `server.${id}`,
        1,
      );
    });
  }

  it('the same key twice: warning, the last line wins (java.util.Properties)', () => {
    const { config, warnings } = parseZooCfg(`${THREE}\nserver.1=zk9:2888:3888`, 'zoo.cfg');
    assert.equal(config.servers[0]?.host, 'zk9');
    assert.deepEqual(warnings, ['zoo.cfg:4: server.1: set again; replaces the value from line 1']);
  });

  // ZooKeeper: started with either one; which depends on its hash map's order.
  it('server.1 and server.01 are one server spelt twice: refused', () => {
    assertConfigError(
      `${THREE}\nserver.01=zk9:2888:3888`,
      'zoo.cfg:4: server.01: server.1 is already defined by server.1 on line 1; ZooKeeper would keep either one',
      'server.01',
      4,
    );
  });
});

describe('quorum keys', () => {
  it('reads the election settings under their ZooKeeper names', () => {
    const c = parse(
      [THREE, 'electionAlg=3', 'peerType=Observer', 'quorumListenOnAllIPs=TRUE', 'cnxTimeout=2500', 'electionPortBindRetry=0'].join('\n'),
    );
    assert.deepEqual(
      [c.electionAlg, c.peerType, c.quorumListenOnAllIPs, c.cnxTimeoutMs, c.electionPortBindRetry],
      [3, 'observer', true, 2500, 0],
    );
    const full = parse('zookeeper.cnxTimeout=0\nzookeeper.electionPortBindRetry=7');
    assert.deepEqual([full.cnxTimeoutMs, full.electionPortBindRetry], [0, 7]);
  });

  // QuorumPeerConfig: both false unless set; upgrading is read alone and matters only with local sessions.
  it('reads the local session keys, both off by default', () => {
    const off = parse(THREE);
    assert.deepEqual([off.localSessionsEnabled, off.localSessionsUpgradingEnabled], [false, false]);
    const on = parse([THREE, 'localSessionsEnabled=TRUE', 'localSessionsUpgradingEnabled=true'].join('\n'));
    assert.deepEqual([on.localSessionsEnabled, on.localSessionsUpgradingEnabled], [true, true]);
  });

  // ZooKeeper logs the invalid value and uses its default of 3.
  it('a negative electionPortBindRetry warns and means 3', () => {
    const { config, warnings } = parseZooCfg('electionPortBindRetry=-2', 'zoo.cfg');
    assert.equal(config.electionPortBindRetry, 3);
    assert.deepEqual(warnings, ['zoo.cfg:1: electionPortBindRetry: -2 is negative; using 3']);
  });

  const refused: Array<[string, string, string]> = [
    // "Invalid electionAlg value. Only 3 is supported." (also without server lines)
    ['electionAlg=0', 'electionAlg', 'only 3 (fast leader election) is supported, as in ZooKeeper 3.8, got 0'],
    ['electionAlg=1', 'electionAlg', 'only 3 (fast leader election) is supported, as in ZooKeeper 3.8, got 1'],
    ['electionAlg=x', 'electionAlg', 'expected an integer, got "x"'],
    // "Unrecognised peertype: Leader"
    ['peerType=Leader', 'peerType', 'unknown server role "Leader" (expected participant or observer)'],
    // "Invalid option maybe for quorumListenOnAllIPs. Choose 'true' or 'false.'"
    ['quorumListenOnAllIPs=maybe', 'quorumListenOnAllIPs', 'expected true or false, got "maybe"'],
    ['localSessionsEnabled=yes', 'localSessionsEnabled', 'expected true or false, got "yes"'],
    // ZooKeeper exits with NumberFormatException when the election starts.
    ['cnxTimeout=abc', 'cnxTimeout', 'expected a non-negative integer, got "abc"'],
    ['zookeeper.cnxTimeout=-1', 'zookeeper.cnxTimeout', 'expected a non-negative integer, got "-1"'],
    // ZooKeeper silently uses 3 here (Integer.getInteger); a typo is refused instead.
    ['electionPortBindRetry=abc', 'electionPortBindRetry', 'expected an integer, got "abc"'],
    // ZooKeeper goes hierarchical for any key starting with group or weight (more in hierarchy.test.ts).
    ['groupies=1', 'groupies', 'expected group.N: ZooKeeper reads every key starting with "group" as part of a hierarchical quorum'],
    ['weight.9=2', 'weight.9', 'server 9 is not among the servers (1, 2, 3)'],
  ];
  for (const [line, key, detail] of refused) {
    it(`${line} -> ${detail}`, () => {
      assertConfigError(`${THREE}\n${line}`, `zoo.cfg:4: ${key}: ${detail}`, key, 4);
    });
  }

  it('reconfigEnabled is accepted without a warning', () => {
    assert.deepEqual(warningsOf('reconfigEnabled=true'), []);
    assert.deepEqual(warningsOf('reconfigEnabled=false'), []);
  });
});

describe('membership rules ZooKeeper applies while reading the file', () => {
  // ZooKeeper: "standaloneEnabled = false then number of participants should be >0"
  it('standaloneEnabled=false with no participant is refused at that line', () => {
    assertConfigError(
      'tickTime=2000\nstandaloneEnabled=false',
      'zoo.cfg:2: standaloneEnabled: standaloneEnabled=false needs an ensemble, but no server.N line names a participant',
      'standaloneEnabled',
      2,
    );
    assertConfigError(
      'standaloneEnabled=false\nserver.1=zk1:2888:3888:observer',
      'zoo.cfg:1: standaloneEnabled: standaloneEnabled=false needs an ensemble, but no server.N line names a participant',
      'standaloneEnabled',
      1,
    );
  });

  // ZooKeeper: "Observers w/o participants is an invalid configuration"
  it('observers only is refused at the first observer', () => {
    assertConfigError(
      'server.2=zk2:2888:3888:observer\nserver.1=zk1:2888:3888:observer',
      'zoo.cfg:2: server.1: observers without participants: an observer needs an ensemble to follow',
      'server.1',
      2,
    );
  });

  // ZooKeeper: "Observers w/o quorum is an invalid configuration"
  it('one participant and an observer with standaloneEnabled=true is refused', () => {
    assertConfigError(
      'server.1=zk1:2888:3888\nserver.2=zk2:2888:3888:observer',
      'zoo.cfg:2: server.2: an observer needs an ensemble to follow, but one participant with standaloneEnabled=true runs standalone ' +
        '(standaloneEnabled=false makes it a one-member ensemble)',
      'server.2',
      2,
    );
    assert.equal(parse('standaloneEnabled=false\nserver.1=zk1:2888:3888\nserver.2=zk2:2888:3888:observer').servers.length, 2);
  });

  // ZooKeeper logs these (the first at ERROR, "only one server specified (ignoring)") and goes on.
  it('warns where ZooKeeper warns: one server, fewer than three participants, an even number', () => {
    assert.deepEqual(warningsOf('server.1=zk1:2888:3888'), [
      'zoo.cfg:1: server.1: the only server line, with standaloneEnabled=true: the server runs standalone (ZooKeeper ignores the line too)',
    ]);
    assert.deepEqual(warningsOf('standaloneEnabled=false\nserver.1=zk1:2888:3888'), [
      'zoo.cfg: 1 participant(s): no server failure will be tolerated; that takes at least 3',
    ]);
    assert.deepEqual(warningsOf('server.1=zk1:2888:3888\nserver.2=zk2:2888:3888\nserver.3=zk3:2888:3888:observer'), [
      'zoo.cfg: 2 participant(s): no server failure will be tolerated; that takes at least 3',
    ]);
    assert.deepEqual(warningsOf(`${THREE}\nserver.4=zk4:2888:3888`), [
      'zoo.cfg: 4 participants: an even number tolerates no more failures than one fewer would',
    ]);
    assert.deepEqual(warningsOf(`${THREE}\nserver.4=zk4:2888:3888:observer`), []);
  });
});
