/**
 * zoo.cfg quorum lines (server.N, group.N, weight.N) read by Apache ZooKeeper 3.8.0's own
 * QuorumPeerConfig (QuorumConfigText.java, against Debian's zookeeper.jar) and by src/config:
 *   - the quorum config text (QuorumVerifier.toString: /zookeeper/config, election
 *     notifications, NEWLEADER) must be byte for byte the same, for hand-made configs and for
 *     seeded random ones (ids that share hash buckets, up to 40 members, filler keys that resize
 *     java.util.Properties' table, groups, weights of 0);
 *   - each participant's weight (what FastLeaderElection asks) and whether sets of servers are
 *     quorums must agree;
 *   - the order java.util.Properties yields a file's keys in (it decides the text's order between
 *     ids that share a hash bucket), for random sets of up to 300 keys;
 *   - configs ZooKeeper refuses are refused here too; the ones refused here only are listed,
 *     and ZooKeeper is shown to accept them (README: "Refused here where ZooKeeper accepts").
 *
 *   npm run build && node --test dist/test/compat/quorum-config/    (needs java, javac, the package)
 *   ZEPHYR_QUORUM_SEED=<n> replays one random run.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SeededRandom } from '../../../src/base/index.js';
import { ConfigError, decideStartup, javaPropertiesOrder, parseZooCfg, type EnsembleConfig } from '../../../src/config/index.js';

const run = promisify(execFile);
const JARS = ['zookeeper.jar', 'zookeeper-jute.jar', 'slf4j-nop.jar'].map((j) => path.join('/usr/share/java', j));
const SOURCE = fileURLToPath(new URL('../../../../test/compat/quorum-config/QuorumConfigText.java', import.meta.url));
const SEED = Number(process.env['ZEPHYR_QUORUM_SEED'] ?? Date.now() % 1_000_000);
const RANDOM_CONFIGS = 80;

let work = '';
let classes = '';

before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'quorum-config-compat-'));
  classes = path.join(work, 'classes');
  mkdirSync(classes);
  await run('javac', ['-nowarn', '-cp', JARS.join(':'), '-d', classes, SOURCE], { timeout: 60_000 });
});

after(() => rmSync(work, { recursive: true, force: true }));

interface Case {
  readonly name: string;
  /** zoo.cfg without dataDir, which each case gets its own of. */
  readonly lines: readonly string[];
  readonly myid: number;
  /** Sets of server ids to ask both sides about. */
  readonly sets?: readonly (readonly number[])[];
}

interface ZooKeeperAnswer {
  readonly ok: boolean;
  /** The verifier's text, or the error line. */
  readonly text: string;
  readonly weights: Map<number, number>;
  readonly quorums: Map<string, boolean>;
}

/** Each case's directory (dataDir, zoo.cfg, myid). */
const dirs = new Map<Case, string>();

/** Runs every case through one JVM; answers in case order. */
async function zooKeeperReads(cases: readonly Case[]): Promise<ZooKeeperAnswer[]> {
  const args = cases.map((c) => {
    const dir = path.join(work, `case-${dirs.size}`);
    dirs.set(c, dir);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'myid'), `${c.myid}\n`);
    writeFileSync(path.join(dir, 'zoo.cfg'), [...c.lines, `dataDir=${dir}`, ''].join('\n'));
    const questions = [...voterIds(c).map((sid) => `w:${sid}`), ...(c.sets ?? []).map((s) => `q:${s.join(',')}`)];
    return [path.join(dir, 'zoo.cfg'), ...questions].join('|');
  });
  const { stdout } = await run('java', ['-Xmx128m', '-XX:+UseSerialGC', '-cp', [classes, ...JARS].join(':'), 'QuorumConfigText', ...args], {
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const blocks = stdout.split(/^==== end\n/m).filter((b) => b.trim() !== '');
  assert.equal(blocks.length, cases.length, stdout);
  return blocks.map(parseAnswer);
}

function parseAnswer(block: string): ZooKeeperAnswer {
  const lines = block.split('\n').slice(1, -1);
  const head = lines[0] ?? '';
  const weights = new Map<number, number>();
  const quorums = new Map<string, boolean>();
  const text: string[] = [];
  for (const line of lines.slice(1)) {
    const w = /^WEIGHT (\d+) (-?\d+)$/.exec(line);
    const q = /^QUORUM ([\d,]*) (true|false)$/.exec(line);
    if (w !== null) weights.set(Number(w[1]), Number(w[2]));
    else if (q !== null) quorums.set(q[1] ?? '', q[2] === 'true');
    else text.push(line);
  }
  return { ok: head.startsWith('OK'), text: head.startsWith('OK') ? text.join('\n') : head, weights, quorums };
}

function voterIds(c: Case): number[] {
  return c.lines.flatMap((l) => {
    const m = /^server\.(\d+)=(.*)$/.exec(l);
    return m === null || /:observer/.test(m[2] ?? '') ? [] : [Number(m[1])];
  });
}

/** Our reading of the case: the ensemble, or the ConfigError it was refused with. */
function ourRead(c: Case): EnsembleConfig | ConfigError {
  const dir = dirs.get(c) ?? work;
  try {
    const parsed = parseZooCfg([...c.lines, `dataDir=${dir}`, ''].join('\n'), 'zoo.cfg');
    const plan = decideStartup(parsed, 'zoo.cfg', { path: path.join(dir, 'myid'), text: `${c.myid}\n` });
    assert.equal(plan.mode, 'ensemble', c.name);
    return plan.ensemble;
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
}

const BASE = ['tickTime=2000', 'initLimit=10', 'syncLimit=5', 'clientPort=2181'];

function serverLines(ids: readonly number[], observers: readonly number[] = []): string[] {
  return [...ids, ...observers].map(
    (id, i) => `server.${id}=127.0.0.1:${30000 + 2 * i}:${30001 + 2 * i}${observers.includes(id) ? ':observer' : ''}`,
  );
}

const HAND_MADE: Case[] = [
  {
    name: 'three members, one weighing 3',
    lines: [...BASE, ...serverLines([1, 2, 3]), 'group.1=1:2:3', 'weight.1=3'],
    myid: 2,
    sets: [[1], [2, 3], [1, 2], []],
  },
  {
    name: 'two groups of three, a weight-0 member, an observer',
    lines: [...BASE, ...serverLines([1, 2, 3, 4, 5, 6], [7]), 'group.1=1:2:3', 'group.2=4:5:6', 'weight.6=0'],
    myid: 1,
    sets: [
      [1, 2, 4, 5],
      [1, 2, 3],
      [4, 5, 6, 7],
      [1, 2, 4, 6],
      [1, 2, 4, 5, 7],
    ],
  },
  {
    name: 'three groups of three (the example in QuorumHierarchical)',
    lines: [...BASE, ...serverLines([1, 2, 3, 4, 5, 6, 7, 8, 9]), 'group.1=1:2:3', 'group.2=4:5:6', 'group.3=7:8:9'],
    myid: 5,
    sets: [
      [1, 2, 4, 5],
      [1, 2, 3, 4, 5, 6],
      [1, 4, 7, 8],
      [1, 2, 3, 4, 7],
    ],
  },
  {
    name: 'ids that share buckets, long ids, client addresses, a group of weight 0',
    lines: [
      ...BASE,
      'server.17=127.0.0.1:2889:3889',
      'server.33=127.0.0.1:2890:3890;127.0.0.1:2183',
      'server.1=[::1]:2888:3888;[::1]:2184',
      'server.2=127.0.0.1:2891:3891',
      'server.100=127.0.0.1:2892:3892',
      'server.65537=127.0.0.1:2893:3893',
      'server.4294967297=127.0.0.1:2894:3894',
      'server.5=127.0.0.1:2895:3895:observer',
      'group.3=17:1',
      'group.20=33:2',
      'group.4=100:65537:4294967297',
      'weight.65537=0',
      'weight.33=3',
    ],
    myid: 17,
    sets: [
      [1, 17, 33],
      [1, 17, 2, 100],
      [33, 100, 4294967297],
      [65537, 4294967297, 1, 17],
    ],
  },
  {
    name: 'majority quorum with ids that share buckets',
    lines: [...BASE, ...serverLines([33, 1, 17, 49, 2])],
    myid: 1,
  },
];

/** Configs ZooKeeper refuses too (with NumberFormatException, ConfigException or a NullPointerException). */
const BOTH_REFUSE: Case[] = [
  ['a server in two groups', ['group.1=1:2', 'group.2=2:3']],
  ['a participant in no group', ['group.1=1:2']],
  ['weights without groups', ['weight.1=2']],
  ['a weight that is not a number', ['group.1=1:2:3', 'weight.1=x']],
  ['a weight with a space after it', ['group.1=1:2:3', 'weight.1=2 ']],
  ['a group with a bad id', ['group.1=1:x:3']],
  ['an empty group', ['group.1=', 'group.2=1:2:3']],
  ['a group key without a dot', ['group1=1:2:3']],
  ['a group id that is not a number', ['group.a=1:2:3']],
  ['a group naming an unknown server', ['group.1=1:2:3:9']],
  ['a group naming an observer', ['group.1=1:2:3:4']],
].map(([name, extra]) => ({ name: name as string, lines: [...BASE, ...serverLines([1, 2, 3], [4]), ...(extra as string[])], myid: 1 }));

/** Configs refused here only: ZooKeeper starts with them (and a meaningless weight or a quorum that can never form). */
const REFUSED_HERE: Case[] = [
  ['a weight on an unknown server', ['group.1=1:2:3', 'weight.9=2']],
  ['a weight on an observer', ['group.1=1:2:3', 'weight.4=2']],
  ['a negative weight', ['group.1=1:2:3', 'weight.1=-1']],
  ['every group weighing 0', ['group.1=1:2:3', 'weight.1=0', 'weight.2=0', 'weight.3=0']],
].map(([name, extra]) => ({ name: name as string, lines: [...BASE, ...serverLines([1, 2, 3], [4]), ...(extra as string[])], myid: 1 }));

/** A random ensemble: ids from a pool where many share hash buckets, groups, weights, filler keys. */
function randomCase(rng: SeededRandom, n: number): Case {
  const pool = [...Array.from({ length: 70 }, (_, i) => i + 1), 65536, 65537, 131073, 2 ** 32, 2 ** 32 + 1, 2 ** 33 + 17];
  const ids = new Set<number>();
  const count = 3 + rng.int(rng.chance(0.3) ? 38 : 10);
  while (ids.size < count) ids.add(rng.pick(pool));
  const all = [...ids];
  const observers = all.filter(() => rng.chance(0.1));
  const participants = all.filter((id) => !observers.includes(id));
  if (participants.length < 2) return randomCase(rng, n);
  const lines = [...BASE, ...Array.from({ length: rng.int(30) }, (_, i) => `filler.k${i}${rng.int(1000)}=1`)];
  lines.push(...serverLines(participants, observers));
  const hierarchical = rng.chance(0.8);
  if (hierarchical) {
    const groupIds = [...new Set(Array.from({ length: 1 + rng.int(5) }, () => rng.pick([1, 2, 3, 4, 5, 16, 17, 18, 33, 100, 65537])))];
    const members = new Map(groupIds.map((g) => [g, [] as number[]]));
    for (const sid of participants) members.get(rng.pick(groupIds))?.push(sid);
    for (const [gid, sids] of members) if (sids.length > 0) lines.push(`group.${gid}=${sids.join(':')}`);
    for (const sid of participants) if (rng.chance(0.4)) lines.push(`weight.${sid}=${rng.int(4)}`);
    if (!lines.some((l) => /^weight\.\d+=[1-3]$/.test(l))) lines.push(`weight.${participants[0] ?? 0}=1`);
  }
  // QuorumMaj counts every id it is given: its callers give it voters only, and so does this
  const sets = Array.from({ length: 12 }, () => participants.filter(() => rng.chance(0.5)));
  return { name: `random #${n} (seed ${SEED})`, lines: shuffleHierarchyLines(rng, lines), myid: rng.pick(participants), sets };
}

/** The order lines come in changes nothing for either side but Properties' insertion order. */
function shuffleHierarchyLines(rng: SeededRandom, lines: string[]): string[] {
  const out = [...lines];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j] ?? '', out[i] ?? ''];
  }
  return out;
}

function assertSameReading(c: Case, zk: ZooKeeperAnswer, ours: EnsembleConfig | ConfigError): void {
  if (ours instanceof ConfigError) assert.fail(`${c.name}: refused here (${ours.message}) but ZooKeeper reads it\n${c.lines.join('\n')}`);
  assert.ok(zk.ok, `${c.name}: ZooKeeper refuses it (${zk.text})`);
  assert.equal(ours.configText, zk.text, `${c.name}\n${c.lines.join('\n')}`);
  for (const [sid, weight] of zk.weights) assert.equal(ours.quorum.weightOf(sid), weight, `${c.name}: weight of ${sid}`);
  for (const set of c.sets ?? []) {
    assert.equal(ours.quorum.containsQuorum(set), zk.quorums.get(set.join(',')), `${c.name}: is {${set.join(', ')}} a quorum?`);
  }
}

test('hand-made and random configs: the same config text, weights and quorums as ZooKeeper 3.8.0', { timeout: 120_000 }, async () => {
  const rng = new SeededRandom(SEED);
  const cases = [...HAND_MADE, ...Array.from({ length: RANDOM_CONFIGS }, (_, i) => randomCase(rng, i))];
  const answers = await zooKeeperReads(cases);
  let hierarchical = 0;
  cases.forEach((c, i) => {
    const ours = ourRead(c);
    assertSameReading(c, answers[i] as ZooKeeperAnswer, ours);
    if (!(ours instanceof ConfigError) && ours.quorum.kind === 'hierarchical') hierarchical++;
  });
  process.stderr.write(`# ${cases.length} configs (${hierarchical} hierarchical), seed ${SEED}\n`);
  assert.ok(hierarchical > cases.length / 2, 'most cases are hierarchical');
});

test('what ZooKeeper refuses is refused here; what is refused here only, ZooKeeper accepts', { timeout: 120_000 }, async () => {
  const cases = [...BOTH_REFUSE, ...REFUSED_HERE];
  const answers = await zooKeeperReads(cases);
  cases.forEach((c, i) => {
    const ours = ourRead(c);
    assert.ok(ours instanceof ConfigError, `${c.name}: accepted here`);
    const zk = answers[i] as ZooKeeperAnswer;
    assert.equal(zk.ok, REFUSED_HERE.includes(c), `${c.name}: ZooKeeper says ${zk.ok ? 'OK' : zk.text}`);
  });
});

test('java.util.Properties yields zoo.cfg keys in the order javaPropertiesOrder gives', { timeout: 120_000 }, async () => {
  const rng = new SeededRandom(SEED);
  const names = ['server', 'group', 'weight', 'zookeeper.x', 'tickTime', 'a'];
  const files = Array.from({ length: 40 }, (_, f) => {
    const keys = Array.from({ length: 1 + rng.int(rng.chance(0.5) ? 40 : 300) }, () => `${rng.pick(names)}.${rng.int(5000)}`);
    const file = path.join(work, `properties-${f}.cfg`);
    writeFileSync(file, keys.map((k) => `${k}=1\n`).join(''));
    return { file, keys };
  });
  const cp = [classes, ...JARS].join(':');
  const args = files.map((f) => `properties:${f.file}`);
  const { stdout } = await run('java', ['-Xmx128m', '-XX:+UseSerialGC', '-cp', cp, 'QuorumConfigText', ...args], { timeout: 60_000 });
  const blocks = stdout.split(/^==== end\n/m).filter((b) => b.trim() !== '');
  assert.equal(blocks.length, files.length);
  files.forEach((f, i) => {
    const java = (blocks[i] ?? '').split('\n').slice(1, -1);
    assert.deepEqual(javaPropertiesOrder(f.keys), java, `${f.keys.length} keys (seed ${SEED})`);
  });
});
