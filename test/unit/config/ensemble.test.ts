/**
 * The start-up decision (standalone or ensemble) with dataDir/myid, as ZooKeeper 3.8.0's
 * QuorumPeerConfig and QuorumPeerMain make it. "ZooKeeper:" notes record what Debian's zookeeper
 * 3.8.0 did with the same zoo.cfg and myid.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigError,
  decideStartup,
  describeEnsemble,
  majorityOf,
  parseMyid,
  parseZooCfg,
  type EnsembleConfig,
  type StartupPlan,
  type Where,
} from '../../../src/config/index.js';

const MYID = '/srv/zk/data/myid';
const LIMITS = 'initLimit=5\nsyncLimit=2';
const THREE = 'server.1=10.0.0.1:2888:3888\nserver.2=10.0.0.2:2888:3888\nserver.3=10.0.0.3:2888:3888';

/** Parses `text` as zoo.cfg and decides with `myid` as the myid file's content (undefined: no file). */
function plan(text: string, myid: string | undefined, origins: Array<[string, Where]> = []): StartupPlan {
  const parsed = parseZooCfg(text, 'zoo.cfg');
  const merged = new Map([...parsed.origins, ...origins]);
  return decideStartup({ config: parsed.config, origins: merged }, 'zoo.cfg', { path: MYID, text: myid });
}

function ensembleOf(p: StartupPlan): EnsembleConfig {
  assert.equal(p.mode, 'ensemble');
  return p.ensemble;
}

function assertRefused(run: () => unknown, message: string, where: Where): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.message, message);
    assert.deepEqual({ key: e.key, file: e.file, line: e.line }, { key: where.key, file: where.file, line: where.line });
    return true;
  });
}

describe('the myid file', () => {
  // ZooKeeper: all of these started as server 1 (Long.parseLong of the first line; later lines ignored).
  for (const text of ['1', '1\n', '1\r\n', '01', '+1', '1\ngarbage']) {
    it(`${JSON.stringify(text)} is id 1`, () => assert.equal(parseMyid({ path: MYID, text }), 1));
  }

  it('no file is no id', () => assert.equal(parseMyid({ path: MYID, text: undefined }), undefined));

  // ZooKeeper: "serverid abc is not a number", "serverid  1 is not a number", "serverid null ...".
  const refused: Array<[string, string]> = [
    ['abc', 'expected this server\'s id (a decimal number), got "abc"'],
    ['1.0', 'expected this server\'s id (a decimal number), got "1.0"'],
    [' 1', 'expected this server\'s id (a decimal number), got " 1" (ZooKeeper reads the line as it is, so no spaces)'],
    ['1 \n', 'expected this server\'s id (a decimal number), got "1 " (ZooKeeper reads the line as it is, so no spaces)'],
    ['', "expected this server's id (a decimal number), got an empty line"],
    ['\n1', "expected this server's id (a decimal number), got an empty line"],
    ['99999999999999999999', 'server id 99999999999999999999 is too large'],
  ];
  for (const [text, detail] of refused) {
    it(`${JSON.stringify(text)} is refused naming the file and line`, () => {
      assertRefused(() => parseMyid({ path: MYID, text }), `${MYID}:1: ${detail}`, { file: MYID, line: 1 });
    });
  }

  // ZooKeeper reads myid whenever it exists, server lines or not: this failed it standalone too.
  it('a garbage myid stops a standalone server as well', () => {
    assertRefused(() => plan('clientPort=2181', 'abc'), `${MYID}:1: expected this server's id (a decimal number), got "abc"`, {
      file: MYID,
      line: 1,
    });
  });
});

describe('standalone or ensemble (QuorumPeerMain)', () => {
  it('no server lines: standalone, with or without a myid', () => {
    for (const myid of [undefined, '7']) {
      const p = plan('clientPort=2181', myid);
      assert.equal(p.mode, 'standalone');
      assert.equal(p.config.clientPort, 2181);
    }
  });

  // ZooKeeper: "running in standalone mode", bound to the port shown in each case.
  it("one participant with standaloneEnabled=true: standalone, on the server line's client address only for its own myid", () => {
    const text = 'clientPort=2181\nserver.1=127.0.0.1:2888:3888;127.0.0.1:2181';
    const mine = plan(text, '1');
    assert.equal(mine.mode, 'standalone');
    assert.deepEqual([mine.config.clientPortAddress, mine.config.clientPort], ['127.0.0.1', 2181]);
    const onlyLine = plan('server.1=127.0.0.1:2888:3888;2182', '1');
    assert.deepEqual([onlyLine.config.clientPortAddress, onlyLine.config.clientPort], ['0.0.0.0', 2182]);
    for (const myid of [undefined, '2']) {
      const other = plan('clientPort=2181\nserver.1=127.0.0.1:2888:3888;2182', myid);
      assert.equal(other.mode, 'standalone');
      assert.deepEqual([other.config.clientPortAddress, other.config.clientPort], ['0.0.0.0', 2181]);
    }
  });

  it('one participant with standaloneEnabled=false: a one-member ensemble', () => {
    const e = ensembleOf(plan(`standaloneEnabled=false\n${LIMITS}\nserver.1=127.0.0.1:2888:3888`, '1'));
    assert.deepEqual(e.quorum.voters, [1]);
    assert.equal(e.quorum.kind === 'majority' ? e.quorum.quorumSize : 0, 1);
  });

  it('three participants and an observer: an ensemble, frozen all the way down', () => {
    const p = plan(`tickTime=1000\n${LIMITS}\ncnxTimeout=700\nclientPort=2181\n${THREE}\nserver.4=10.0.0.4:2888:3888:observer;2191`, '2');
    const e = ensembleOf(p);
    assert.deepEqual(e, {
      myid: 2,
      role: 'participant',
      self: { id: 2, role: 'participant', host: '10.0.0.2', quorumPort: 2888, electionPort: 3888, client: { host: '0.0.0.0', port: 2181 } },
      members: [
        { id: 1, role: 'participant', host: '10.0.0.1', quorumPort: 2888, electionPort: 3888, client: undefined },
        { id: 2, role: 'participant', host: '10.0.0.2', quorumPort: 2888, electionPort: 3888, client: { host: '0.0.0.0', port: 2181 } },
        { id: 3, role: 'participant', host: '10.0.0.3', quorumPort: 2888, electionPort: 3888, client: undefined },
        { id: 4, role: 'observer', host: '10.0.0.4', quorumPort: 2888, electionPort: 3888, client: { host: '0.0.0.0', port: 2191 } },
      ],
      quorum: e.quorum,
      committedConfig: e.committedConfig,
      // this server's client address came from clientPort, so ZooKeeper leaves it out
      configText: [
        'server.1=10.0.0.1:2888:3888:participant',
        'server.2=10.0.0.2:2888:3888:participant',
        'server.3=10.0.0.3:2888:3888:participant',
        'server.4=10.0.0.4:2888:3888:observer;0.0.0.0:2191',
        'version=0',
      ].join('\n'),
      tickTimeMs: 1000,
      initLimit: 5,
      syncLimit: 2,
      electionAlg: 3,
      cnxTimeoutMs: 700,
      electionPortBindRetry: 3,
      quorumListenOnAllIPs: false,
      reconfigEnabled: false,
    });
    assert.deepEqual(e.quorum.voters, [1, 2, 3]);
    assert.equal(e.committedConfig.version, 0);
    assert.equal(e.committedConfig.text, e.configText);
    assert.equal(e.self, e.members[1]);
    for (const o of [e, e.self, e.self.client, e.members, e.members[3], e.members[3]?.client, e.quorum, e.quorum.voters]) {
      assert.ok(Object.isFrozen(o));
    }
    assert.deepEqual(p.warnings, []);
  });

  it("an observer's own line makes it an observer", () => {
    const e = ensembleOf(plan(`${LIMITS}\npeerType=observer\n${THREE}\nserver.4=10.0.0.4:2888:3888:observer`, '4'));
    assert.equal(e.role, 'observer');
    assert.equal(e.self.role, 'observer');
  });
});

describe('majority quorums (QuorumMaj)', () => {
  it('more than half of the voters, for 1 to 6 voters', () => {
    for (const [n, size] of [
      [1, 1],
      [2, 2],
      [3, 2],
      [4, 3],
      [5, 3],
      [6, 4],
    ] as const) {
      const voters = Array.from({ length: n }, (_, i) => i + 1);
      const q = majorityOf(voters);
      assert.equal(q.quorumSize, size, `${n} voters`);
      assert.equal(q.containsQuorum(voters.slice(0, size)), true, `${size} of ${n}`);
      assert.equal(q.containsQuorum(voters.slice(0, size - 1)), false, `${size - 1} of ${n}`);
    }
  });

  it('counts each voter once and ignores ids that do not vote', () => {
    const q = majorityOf([1, 2, 3]);
    assert.equal(q.containsQuorum([1, 1, 1]), false);
    assert.equal(q.containsQuorum([1, 4, 5, 6]), false);
    assert.equal(q.containsQuorum(new Set([3, 1])), true);
    assert.equal(q.containsQuorum([]), false);
  });
});

describe('this server in the ensemble', () => {
  // ZooKeeper: "myid file is missing"
  it('an ensemble without a myid file is refused, naming both files', () => {
    assertRefused(
      () => plan(`${LIMITS}\n${THREE}`, undefined),
      `zoo.cfg: describes an ensemble (servers 1, 2, 3), so this server's id must be in ${MYID}, which does not exist`,
      { file: 'zoo.cfg' },
    );
  });

  // ZooKeeper: starts, then "My id 7 not in the peer list" (exit 1).
  it('a myid that no server line has is refused at the myid file', () => {
    assertRefused(() => plan(`${LIMITS}\n${THREE}`, '7'), `${MYID}:1: myid 7 is not among the servers of zoo.cfg (1, 2, 3)`, {
      file: MYID,
      line: 1,
    });
  });

  // ZooKeeper: "initLimit is not set" / "syncLimit is not set": it has no defaults for them.
  it('initLimit and syncLimit must be set for an ensemble', () => {
    assertRefused(
      () => plan(`syncLimit=2\n${THREE}`, '1'),
      'zoo.cfg: initLimit: an ensemble needs this set (in ticks); ZooKeeper has no default for it',
      {
        file: 'zoo.cfg',
        key: 'initLimit',
      },
    );
    assertRefused(
      () => plan(`initLimit=5\n${THREE}`, '1'),
      'zoo.cfg: syncLimit: an ensemble needs this set (in ticks); ZooKeeper has no default for it',
      {
        file: 'zoo.cfg',
        key: 'syncLimit',
      },
    );
    assert.equal(plan('server.1=10.0.0.1:2888:3888', undefined).mode, 'standalone', 'standalone needs neither');
  });

  // ZooKeeper checks this when a leader's session tracker starts; any member may lead.
  it('server ids above 254 with extendedTypesEnabled are refused', () => {
    assertRefused(
      () => plan(`${LIMITS}\nextendedTypesEnabled=true\n${THREE}\nserver.300=10.0.0.9:2888:3888`, '1'),
      'zoo.cfg:7: server.300: server id 300 is above 254, the largest zookeeper.extendedTypesEnabled allows',
      { file: 'zoo.cfg', line: 7, key: 'server.300' },
    );
    assert.equal(plan(`${LIMITS}\n${THREE}\nserver.300=10.0.0.9:2888:3888`, '1').mode, 'ensemble');
  });

  // ZooKeeper: "Peer type from servers list (PARTICIPANT) doesn't match peerType (OBSERVER). Defaulting to servers list."
  it('a peerType that disagrees with the server line warns; the line wins', () => {
    const p = plan(`${LIMITS}\npeerType=observer\n${THREE}`, '1');
    assert.equal(ensembleOf(p).role, 'participant');
    assert.equal(p.config.peerType, 'participant');
    assert.deepEqual(p.warnings, [
      "zoo.cfg:3: peerType: peerType is observer but this server's line makes it participant; using participant, as ZooKeeper does",
    ]);
    const q = plan(`${LIMITS}\n${THREE}\nserver.4=10.0.0.4:2888:3888:observer`, '4');
    assert.equal(ensembleOf(q).role, 'observer');
    assert.deepEqual(q.warnings, [
      "zoo.cfg:6: server.4: peerType is participant but this server's line makes it observer; using observer, as ZooKeeper does",
    ]);
  });
});

describe("this server's client address: clientPort against its server line (setupClientPort)", () => {
  const clientRefusal = (line: number, from: string, to: string, keys: string, keyLine: number): string =>
    `zoo.cfg:${line}: server.1: this server's client address ${from} (myid 1) differs from ${to}, given by ${keys} (line ${keyLine}); ` +
    'ZooKeeper refuses two client addresses for one server';

  // ZooKeeper: "client address for this server (id = 1) in static config file is 0.0.0.0/0.0.0.0:29181 is
  // different from client address found in dynamic file: /0.0.0.0:29182"
  it('a different port is refused, standalone or not', () => {
    assertRefused(
      () => plan('clientPort=2181\nserver.1=127.0.0.1:2888:3888;2182', '1'),
      clientRefusal(2, '0.0.0.0:2182', '0.0.0.0:2181', 'clientPort', 1),
      { file: 'zoo.cfg', line: 2, key: 'server.1' },
    );
    assertRefused(
      () => plan(`${LIMITS}\nclientPort=2181\n${THREE.replace('3888', '3888;2182')}`, '1'),
      clientRefusal(4, '0.0.0.0:2182', '0.0.0.0:2181', 'clientPort', 3),
      { file: 'zoo.cfg', line: 4, key: 'server.1' },
    );
  });

  // ZooKeeper: "... in static config file is /127.0.0.1:29181 is different from ... /0.0.0.0:29181"
  it('a specific clientPortAddress must equal the line, which a bare port (0.0.0.0) does not', () => {
    assertRefused(
      () => plan('clientPortAddress=127.0.0.1\nclientPort=2181\nserver.1=127.0.0.1:2888:3888;2181', '1'),
      clientRefusal(3, '0.0.0.0:2181', '127.0.0.1:2181', 'clientPortAddress and clientPort', 2),
      { file: 'zoo.cfg', line: 3, key: 'server.1' },
    );
  });

  // ZooKeeper: started and bound /127.0.0.1:29181 in each case.
  it('agreeing settings are accepted and the line decides the address', () => {
    for (const text of [
      'clientPortAddress=127.0.0.1\nclientPort=2181\nserver.1=127.0.0.1:2888:3888;127.0.0.1:2181',
      'clientPort=2181\nserver.1=127.0.0.1:2888:3888;127.0.0.1:2181',
      'server.1=127.0.0.1:2888:3888;127.0.0.1:2181',
      'clientPortAddress=::ffff:127.0.0.1\nclientPort=2181\nserver.1=127.0.0.1:2888:3888;127.0.0.1:2181',
    ]) {
      const p = plan(text, '1');
      assert.deepEqual([p.config.clientPortAddress, p.config.clientPort], ['127.0.0.1', 2181], text);
      assert.deepEqual(p.warnings, [], text);
    }
  });

  // ZooKeeper resolves the names (and accepted localhost against 127.0.0.1); the config does not resolve.
  it('two different names cannot be compared: a warning, and the line wins', () => {
    const p = plan('clientPortAddress=localhost\nclientPort=2181\nserver.1=127.0.0.1:2888:3888;127.0.0.1:2181', '1');
    assert.equal(p.config.clientPortAddress, '127.0.0.1');
    assert.deepEqual(p.warnings, [
      "zoo.cfg:3: server.1: cannot tell whether 127.0.0.1:2181 and localhost:2181 are one address without resolving names; using the server line's",
    ]);
  });

  it('--port counts as clientPort and is named', () => {
    assertRefused(
      () => plan('server.1=127.0.0.1:2888:3888;2182', '1', [['clientPort', { key: '--port' }]]),
      "zoo.cfg:1: server.1: this server's client address 0.0.0.0:2182 (myid 1) differs from 0.0.0.0:2181, given by clientPort (--port); " +
        'ZooKeeper refuses two client addresses for one server',
      { file: 'zoo.cfg', line: 1, key: 'server.1' },
    );
  });
});

describe('addresses two sockets would share', () => {
  const ensemble = (servers: string, myid = '1', extra = ''): StartupPlan => plan(`${LIMITS}\nclientPort=2181\n${extra}${servers}`, myid);
  // ZooKeeper accepts all of these when it reads the file; it fails to bind later (exit 14 for an
  // election port, checked live), or never notices when the clash is between two other members.
  const refused: Array<[string, string, number, string, string?]> = [
    [
      'server.1=10.0.0.1:2888:3888\nserver.2=10.0.0.2:2888:3888\nserver.3=10.0.0.2:2888:3888',
      'server.3',
      6,
      "server.3's quorum address 10.0.0.2:2888 is also server.2's quorum address 10.0.0.2:2888 (line 5): one address cannot serve both",
    ],
    [
      'server.1=10.0.0.1:2888:3888\nserver.2=10.0.0.1:3888:3889\nserver.3=10.0.0.3:2888:3888',
      'server.2',
      5,
      "server.2's quorum address 10.0.0.1:3888 is also server.1's election address 10.0.0.1:3888 (line 4): one address cannot serve both",
    ],
    [
      'server.1=[fe80::1]:2888:3888\nserver.2=[FE80:0:0::0:1]:2888:3889\nserver.3=10.0.0.3:2888:3888',
      'server.2',
      5,
      "server.2's quorum address [FE80:0:0::0:1]:2888 is also server.1's quorum address [fe80::1]:2888 (line 4): one address cannot serve both",
    ],
    [
      'server.1=10.0.0.1:2888:3888;2888\nserver.2=10.0.0.2:2888:3888\nserver.3=10.0.0.3:2888:3888',
      'server.1',
      4,
      "server.1's client address 0.0.0.0:2888 is also its quorum address: one address cannot serve both",
      '2',
    ],
    // Two members on one host, each taking 0.0.0.0:2182 there.
    [
      'server.1=10.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889;2182\nserver.3=127.0.0.1:2890:3890;2182',
      'server.3',
      6,
      "server.3's client address 0.0.0.0:2182 is also server.2's client address 0.0.0.0:2182 (line 5): one address cannot serve both",
    ],
  ];
  for (const [servers, key, line, detail, myid] of refused) {
    it(detail, () => {
      assertRefused(() => ensemble(servers, myid), `zoo.cfg:${line}: ${key}: ${detail}`, { file: 'zoo.cfg', line, key });
    });
  }

  it("this server's clientPort against its own quorum and election ports", () => {
    assertRefused(
      () => plan(`${LIMITS}\nclientPort=3888\n${THREE}`, '1'),
      "zoo.cfg:3: clientPort: server.1's client address 0.0.0.0:3888 is also its election address (line 4): one address cannot serve both",
      { file: 'zoo.cfg', line: 3, key: 'clientPort' },
    );
    // A specific client address only clashes on its own host, unless the quorum ports listen everywhere.
    const specific = `${LIMITS}\nclientPortAddress=127.0.0.1\nclientPort=2888\n${THREE}`;
    assert.equal(plan(specific, '1').mode, 'ensemble');
    assertRefused(
      () => plan(`quorumListenOnAllIPs=true\n${specific}`, '1'),
      "zoo.cfg:5: clientPort: server.1's client address 127.0.0.1:2888 is also its quorum address (line 6): one address cannot serve both",
      { file: 'zoo.cfg', line: 5, key: 'clientPort' },
    );
  });

  it('one host with distinct ports, or distinct hosts, or two names, is accepted', () => {
    const local = 'server.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.1:2889:3889;2182\nserver.3=127.0.0.1:2890:3890;2183';
    assert.equal(plan(`${LIMITS}\n${local}`, '2').mode, 'ensemble');
    assert.equal(ensemble(THREE).mode, 'ensemble');
    // Without resolving names nobody can tell whether these are one machine.
    assert.equal(ensemble('server.1=zk1:2888:3888\nserver.2=localhost:2888:3888\nserver.3=127.0.0.1:2888:3888').mode, 'ensemble');
    // Port 0 asks the OS for a free port each time: never a clash.
    assert.equal(
      ensemble('server.1=10.0.0.1:2888:3888;0\nserver.2=10.0.0.1:2889:3889;0\nserver.3=10.0.0.3:2888:3888', '3').mode,
      'ensemble',
    );
  });
});

describe('describeEnsemble', () => {
  it('names the members, this server and the quorum size', () => {
    const e = ensembleOf(plan(`${LIMITS}\nclientPort=2181\n${THREE}\nserver.4=[::1]:2888:3888:observer;[::1]:2191`, '3'));
    assert.equal(
      describeEnsemble(e),
      'this config describes 4 members (3 participants, 1 observer): server.1=10.0.0.1:2888:3888:participant, ' +
        'server.2=10.0.0.2:2888:3888:participant, server.3=10.0.0.3:2888:3888:participant;0.0.0.0:2181, ' +
        'server.4=[::1]:2888:3888:observer;[::1]:2191; this server is server.3 (participant); a quorum is any 2 of the 3 participants',
    );
  });
});
