/**
 * Hierarchical quorums (group.N, weight.N): the lines as ZooKeeper 3.8.0's QuorumHierarchical
 * reads them, the start-up errors, and the verifier on cases worked out by hand from its rule
 * (more than half of the groups of weight above 0, each by more than half of its weight).
 * test/compat/quorum-config checks the same against ZooKeeper's own classes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ConfigError,
  decideStartup,
  describeEnsemble,
  hierarchicalOf,
  majorityOf,
  parseZooCfg,
  type EnsembleConfig,
  type QuorumGroup,
} from '../../../src/config/index.js';

const BASE = 'initLimit=5\nsyncLimit=2\nclientPort=2181';
const servers = (ids: number[], observers: number[] = []): string =>
  [...ids, ...observers].map((id) => `server.${id}=10.0.0.${id}:2888:3888${observers.includes(id) ? ':observer' : ''}`).join('\n');

function ensemble(text: string, myid = 1): EnsembleConfig {
  const plan = decideStartup(parseZooCfg(text, 'zoo.cfg'), 'zoo.cfg', { path: 'myid', text: String(myid) });
  assert.equal(plan.mode, 'ensemble');
  return plan.ensemble;
}

function group(id: number, members: number[]): QuorumGroup {
  return { id, members };
}

describe('hierarchical quorum lines', () => {
  it('every participant weighs 1 unless a weight line says otherwise; observers weigh nothing', () => {
    const e = ensemble(`${BASE}\n${servers([1, 2, 3], [4])}\ngroup.1=1:2:3\nweight.2=5`);
    assert.equal(e.quorum.kind, 'hierarchical');
    assert.deepEqual(
      [1, 2, 3, 4, 9].map((id) => e.quorum.weightOf(id)),
      [1, 5, 1, 0, 0],
    );
    assert.deepEqual(e.quorum.voters, [1, 2, 3]);
  });

  it('keeps the server lines and adds the group and weight lines to the config text, as ZooKeeper writes it', () => {
    const e = ensemble(`${BASE}\n${servers([1, 2, 3])}\ngroup.1=3:1:2\nweight.1=3`);
    const expected = [
      'server.1=10.0.0.1:2888:3888:participant',
      'server.2=10.0.0.2:2888:3888:participant',
      'server.3=10.0.0.3:2888:3888:participant',
      'group.1=1:2:3', // ZooKeeper's sid -> group map lists small sids in ascending order
      'weight.1=3',
      'weight.2=1',
      'weight.3=1',
      'version=0',
    ];
    assert.equal(e.configText, expected.join('\n'));
    assert.doesNotMatch(ensemble(`${BASE}\n${servers([1, 2, 3])}`).configText, /group|weight/);
  });

  it('the operator is told what a quorum is and who can never lead', () => {
    const e = ensemble(`${BASE}\n${servers([1, 2, 3, 4])}\ngroup.1=1:2\ngroup.2=3:4\nweight.4=0`);
    assert.match(
      describeEnsemble(e),
      /a quorum holds more than half of the weight of each of more than half of the 2 groups of weight above 0: group\.1 \(server:weight 1:1 2:1\), group\.2 \(server:weight 3:1 4:0\); weight 0, so never leader: 4$/,
    );
  });

  const refused: Array<[string, string, string, number]> = [
    // ZooKeeper: "Server 2is in multiple groups"
    ['group.1=1:2\ngroup.2=2:3', 'server 2 is already in group.1 (line 8); a server belongs to one group', 'group.2', 9],
    ['group.1=1:2:2', 'server 2 is listed twice', 'group.1', 8],
    // ZooKeeper: "Server 3is not in a group"
    ['group.1=1:2', 'participant 3 is in no group; with group.N lines every participant must be in one', 'server.3', 6],
    [
      'weight.1=2',
      'weight.N lines make the quorum hierarchical, which needs group.N lines putting every participant in a group',
      'weight.1',
      8,
    ],
    // ZooKeeper: NumberFormatException ("Error processing zoo.cfg")
    ['group.1=1:2:3\nweight.1=x', 'expected a weight (a whole number, 0 or more), got "x"', 'weight.1', 9],
    [
      'group.1=1:2:3\nweight.1=2 ',
      'expected a weight (a whole number, 0 or more), got "2 " (ZooKeeper reads these values as they are, so no spaces)',
      'weight.1',
      9,
    ],
    ['group.1=1:x:3', 'expected group.N=sid:sid:... (server ids separated by ":"), got "1:x:3"', 'group.1', 8],
    ['group.1=1::3', 'expected group.N=sid:sid:... (server ids separated by ":"), got "1::3"', 'group.1', 8],
    ['group.1=', 'expected group.N=sid:sid:... (server ids separated by ":"), got nothing', 'group.1', 8],
    ['group1=1:2:3', 'expected group.N: ZooKeeper reads every key starting with "group" as part of a hierarchical quorum', 'group1', 8],
    ['weights.1=2', 'expected weight.N: ZooKeeper reads every key starting with "weight" as part of a hierarchical quorum', 'weights.1', 8],
    ['group.a=1:2:3', 'group id must be a non-negative integer, got "a"', 'group.a', 8],
    // ZooKeeper: NullPointerException (no weight for a server it does not know)
    ['group.1=1:2:3:9', 'server 9 is not among the servers (1, 2, 3, 4)', 'group.1', 8],
    ['group.1=1:2:3:4', 'server 4 is an observer; observers do not vote, so they have no weight and belong to no group', 'group.1', 8],
    // ZooKeeper accepts these
    ['group.1=1:2:3\nweight.9=1', 'server 9 is not among the servers (1, 2, 3, 4)', 'weight.9', 9],
    [
      'group.1=1:2:3\nweight.4=1',
      'server 4 is an observer; observers do not vote, so they have no weight and belong to no group',
      'weight.4',
      9,
    ],
    ['group.1=1:2:3\nweight.1=-2', 'a weight must be 0 or more, got "-2"', 'weight.1', 9],
    [
      'group.1=1:2:3\nweight.1=0\nweight.2=0\nweight.3=0',
      'every group weighs 0, so no set of servers could ever make a quorum',
      'group.1',
      8,
    ],
    // two spellings of one id: ZooKeeper reads both, in its hash map's order
    [
      'group.1=1:2:3\ngroup.01=1:2:3',
      'group.1 is already defined by group.1 on line 8; ZooKeeper would read both, in no defined order',
      'group.01',
      9,
    ],
  ];
  for (const [lines, message, key, line] of refused) {
    it(`${JSON.stringify(lines)}: ${message}`, () => {
      assert.throws(
        () => parseZooCfg(`${BASE}\n${servers([1, 2, 3], [4])}\n${lines}`, 'zoo.cfg'),
        (e: unknown) => e instanceof ConfigError && e.message === `zoo.cfg:${line}: ${key}: ${message}` && e.line === line,
      );
    });
  }

  it('a group line given twice: the last one counts, with a warning', () => {
    const { config, warnings } = parseZooCfg(`${BASE}\n${servers([1, 2, 3])}\ngroup.1=1:2\ngroup.1=1:2:3`, 'zoo.cfg');
    assert.deepEqual(config.quorumGroups, [group(1, [1, 2, 3])]);
    assert.deepEqual(warnings, ['zoo.cfg:8: group.1: set again; replaces the value from line 7']);
  });
});

describe('hierarchical quorums (QuorumHierarchical.containsQuorum)', () => {
  const three = [1, 2, 3].map((id) => ({ id, role: 'participant' as const }));
  const six = [1, 2, 3, 4, 5, 6].map((id) => ({ id, role: 'participant' as const }));

  it('one group where member 1 weighs 3 of 5: it alone is a quorum, the other two are not', () => {
    const q = hierarchicalOf(three, [group(1, [1, 2, 3])], new Map([[1, 3]]));
    assert.equal(q.containsQuorum([1]), true);
    assert.equal(q.containsQuorum([2, 3]), false);
    assert.equal(q.containsQuorum([1, 2]), true);
    assert.equal(q.containsQuorum([]), false);
  });

  it('two groups: both are needed, each by more than half of its weight', () => {
    const q = hierarchicalOf(six, [group(1, [1, 2, 3]), group(2, [4, 5, 6])], new Map([[6, 0]]));
    assert.equal(q.weightedGroupCount, 2);
    assert.equal(q.containsQuorum([1, 2, 4, 5]), true);
    assert.equal(q.containsQuorum([1, 2, 3]), false, 'a majority by count, one group only');
    assert.equal(q.containsQuorum([1, 2, 3, 4, 6]), false, 'group 2 by 1 of its weight 2');
    assert.equal(q.containsQuorum([1, 2, 4, 5, 9, 9]), true, 'unknown ids and repeats do not count');
  });

  it('three groups of three: two groups, two members each', () => {
    const nine = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((id) => ({ id, role: 'participant' as const }));
    const q = hierarchicalOf(nine, [group(1, [1, 2, 3]), group(2, [4, 5, 6]), group(3, [7, 8, 9])], new Map());
    assert.equal(q.containsQuorum([1, 2, 4, 5]), true);
    assert.equal(q.containsQuorum([1, 4, 7, 8]), false);
    assert.equal(q.containsQuorum([1, 2, 3, 4, 7]), false, 'five of nine, but one group');
  });

  it('a group of weight 0 does not count among the groups', () => {
    const five = [1, 2, 3, 4, 5].map((id) => ({ id, role: 'participant' as const }));
    const q = hierarchicalOf(five, [group(1, [1, 2]), group(2, [3]), group(3, [4, 5])], new Map([[3, 0]]));
    assert.equal(q.weightedGroupCount, 2);
    assert.equal(q.containsQuorum([1, 2, 4, 5]), true);
    assert.equal(q.containsQuorum([1, 2, 3, 4]), false, 'group 3 by 1 of 2');
    assert.equal(q.weightOf(3), 0);
  });

  it('one group of weight-1 members is a majority quorum', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 45 })),
        (ids, set) => {
          const q = hierarchicalOf(
            ids.map((id) => ({ id, role: 'participant' as const })),
            [group(1, ids)],
            new Map(),
          );
          assert.equal(q.containsQuorum(set), majorityOf(ids).containsQuorum(set));
        },
      ),
    );
  });
});
