/**
 * Reconfiguration while clients write: a 3-member ensemble with reconfigEnabled, three writers
 * creating nodes throughout (each moving to another member when its connection drops), and
 * three reconfigs, each sent by the super user through a member that stays:
 *   1. a fourth member is added (3 of 4 voters synced) and then started with the new
 *      membership in its dynamic config file: it follows and holds everything;
 *   2. a follower is made an observer (its line again with `:observer`): it reconnects to the
 *      same leader as an observer, without an election;
 *   3. the leader is removed: the member the reconfig names leads a new epoch without an
 *      election, and the old leader follows it as a non-voting member.
 * After each step every member holds the same membership; at the end every acknowledged create
 * is at every member, and a writer saw nothing but connection losses.
 *
 * Server: ZEPHYR_ENSEMBLE_SERVER=zk|zephyr, or ZEPHYR_ENSEMBLE_SERVERS=zk,zephyr,zephyr,zk (the
 * fourth entry is the member that joins).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/codec/index.js';
import { parseQuorumConfigText, type QuorumConfig } from '../../src/config/index.js';
import { Ensemble, type Member } from '../support/ensemble-process.js';
import type { RawClient } from '../support/raw-client.js';
import { sleep, waitFor } from '../support/server-process.js';
import { connectTo, withClient } from './ensemble-support.js';
import { SUPER_DIGEST, membershipAt, reconfig, replyText, superClient, type Reconfig } from './reconfig-support.js';

const WRITERS = 3;

/** Writers of unique nodes under /load, each on one member at a time. */
class Load {
  readonly acknowledged = new Set<string>();
  /** Creates whose connection was lost before the answer: they may or may not have happened. */
  indeterminate = 0;
  /** Anything but OK or a lost connection. */
  readonly errors: string[] = [];
  /** When each create was acknowledged (ms since the epoch), for the longest pause in a step. */
  readonly okTimes: number[] = [];
  private stopped = false;
  private readonly runs: Promise<void>[] = [];

  constructor(private readonly members: () => Member[]) {}

  start(): void {
    for (let k = 0; k < WRITERS; k++) this.runs.push(this.writer(k));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.runs);
  }

  /** The longest time without an acknowledged create between `from` and `to`. */
  longestPause(from: number, to: number): number {
    let last = from;
    let longest = 0;
    for (const t of this.okTimes.filter((x) => x >= from && x <= to).sort((a, b) => a - b)) {
      longest = Math.max(longest, t - last);
      last = t;
    }
    return Math.max(longest, to - last);
  }

  /** (A method: `stopped` changes while a writer awaits.) */
  private running(): boolean {
    return !this.stopped;
  }

  private async writer(k: number): Promise<void> {
    let seq = 0;
    for (let i = k; this.running(); i++) {
      const ms = this.members();
      const m = ms[i % ms.length]!;
      let c: RawClient;
      try {
        c = await connectTo(m, undefined, 1000);
      } catch {
        await sleep(50);
        continue;
      }
      try {
        while (this.running()) {
          const path = `/load/w${k}-${seq++}`;
          let err: number;
          try {
            err = (await c.create(path, Buffer.from('x'))).err;
          } catch {
            this.indeterminate++;
            break;
          }
          if (err === ErrorCode.OK) {
            this.acknowledged.add(path);
            this.okTimes.push(Date.now());
          } else if (err === ErrorCode.CONNECTIONLOSS) {
            this.indeterminate++;
            break;
          } else {
            this.errors.push(`${path} at member ${m.id}: error ${err}`);
            break;
          }
        }
      } finally {
        c.destroy();
      }
    }
  }
}

/**
 * Sends `r` through `via` until it takes effect. A member whose role ends with the reconfig may
 * close the session before the answer: then the membership the members hold says whether it
 * did. Returns the membership it made.
 */
async function reconfigUnderLoad(via: Member, r: Reconfig, made: (qc: QuorumConfig) => boolean): Promise<QuorumConfig & { raw: string }> {
  const before = (await membershipAt(via)).version;
  const deadline = Date.now() + 60000;
  for (;;) {
    let c: RawClient | undefined;
    try {
      c = await superClient(via);
      const reply = await reconfig(c, r);
      assert.equal(reply.err, ErrorCode.OK, `reconfig ${JSON.stringify(r)} through member ${via.id}`);
      const raw = replyText(reply.body);
      return { ...parseQuorumConfigText(raw, 'the reconfig reply'), raw };
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      // the answer was lost: did it happen?
      const now = await waitFor(`member ${via.id} to serve again`, () => membershipAt(via).catch(() => undefined), 30000);
      if (now.version > before) {
        assert.ok(made(now), `member ${via.id} holds another membership than asked for: ${now.raw}`);
        return now;
      }
      if (Date.now() > deadline) throw new Error(`reconfig ${JSON.stringify(r)} did not take effect: ${(e as Error).message}`);
    } finally {
      c?.destroy();
    }
    await sleep(200);
  }
}

/** Every running member holds membership `version`, with these roles. */
async function everyMemberHolds(ensemble: Ensemble, version: number, roles: Record<number, 'participant' | 'observer'>): Promise<void> {
  for (const m of ensemble.members.filter((x) => x.alive())) {
    const who = `member ${m.id} (${ensemble.serverOf(m)})`;
    const qc = await waitFor(
      `${who} to hold membership ${version.toString(16)}`,
      async () => {
        const held = await membershipAt(m).catch(() => undefined);
        return held?.version === version ? held : undefined;
      },
      30000,
    );
    assert.deepEqual(Object.fromEntries(qc.servers.map((s) => [s.id, s.role])), roles, `${who}: the roles of its membership`);
  }
}

async function modeOf(ensemble: Ensemble, id: number, mode: string): Promise<void> {
  await waitFor(
    `member ${id} to report mode ${mode}`,
    async () => ((await ensemble.member(id).mode()) === mode ? true : undefined),
    30000,
    100,
  );
}

/** Every acknowledged create is at every running member. */
async function everyMemberHoldsTheLoad(ensemble: Ensemble, load: Load): Promise<void> {
  for (const m of ensemble.members.filter((x) => x.alive())) {
    const children = await withClient(m, async (c) => {
      assert.equal((await c.sync('/load')).err, ErrorCode.OK);
      const r = await c.getChildren('/load');
      assert.equal(r.err, ErrorCode.OK);
      return new Set(r.children);
    });
    const missing = [...load.acknowledged].filter((p) => !children.has(p.slice('/load/'.length)));
    assert.deepEqual(
      missing.slice(0, 10),
      [],
      `member ${m.id} (${ensemble.serverOf(m)}) holds every acknowledged create (${missing.length} missing)`,
    );
  }
}

function startEnsemble(): Promise<Ensemble> {
  return Ensemble.start({
    participants: 3,
    proxied: false,
    config: { reconfigEnabled: 'true', tickTime: '500', 'zookeeper.DigestAuthenticationProvider.superDigest': SUPER_DIGEST },
  });
}

describe('reconfiguration under load', { timeout: 420_000 }, () => {
  test('adding a member, making a follower an observer and removing the leader while clients write', async () => {
    const ensemble = await startEnsemble();
    const load = new Load(() => ensemble.members.filter((m) => m.alive()));
    const figures: string[] = [];
    try {
      await withClient(ensemble.member(1), async (c) => assert.equal((await c.create('/load')).err, ErrorCode.OK));
      const leader = await ensemble.leader();
      load.start();
      await sleep(1500);

      // 1. a fourth member, added while it does not run, then started with the new membership
      const { member: joiner, serverLine } = await ensemble.newMember();
      const stay = ensemble.members.find((m) => m.id !== leader && m.id !== joiner.id)!;
      let t = Date.now();
      const added = await reconfigUnderLoad(stay, { joining: serverLine }, (qc) => qc.servers.some((s) => s.id === joiner.id));
      assert.equal(await ensemble.launchJoiner(joiner, added.raw, true), 'follower', 'the added member follows');
      figures.push(`member ${joiner.id} added and serving in ${Date.now() - t} ms`);
      await everyMemberHolds(ensemble, added.version, { 1: 'participant', 2: 'participant', 3: 'participant', [joiner.id]: 'participant' });
      await sleep(1500);

      // 2. a follower made an observer: it reconnects to the same leader as an observer
      const follower = ensemble.members.find((m) => m.id !== leader && m.id !== joiner.id && m !== stay)!;
      const line = added.raw.split('\n').find((l) => l.startsWith(`server.${follower.id}=`))!;
      t = Date.now();
      const observed = await reconfigUnderLoad(stay, { joining: line.replace(':participant', ':observer') }, (qc) =>
        qc.servers.some((s) => s.id === follower.id && s.role === 'observer'),
      );
      await modeOf(ensemble, follower.id, 'observer');
      assert.equal(await ensemble.leader(), leader, 'the leader stays through a role change');
      figures.push(`member ${follower.id} observing ${Date.now() - t} ms after the reconfig was sent`);
      await everyMemberHolds(ensemble, observed.version, {
        1: 'participant',
        2: 'participant',
        3: 'participant',
        [follower.id]: 'observer',
        [joiner.id]: 'participant',
      });
      await sleep(1500);

      // 3. the leader removed: one of the two voters left leads, without an election
      t = Date.now();
      const stepStart = t;
      const removed = await reconfigUnderLoad(joiner, { leaving: String(leader) }, (qc) => !qc.servers.some((s) => s.id === leader));
      const next = await waitFor(
        'a new leader',
        async () => {
          const l = await ensemble.leader(30000);
          return l === leader ? undefined : l;
        },
        30000,
      );
      assert.ok([stay.id, joiner.id].includes(next), `the new leader ${next} is a voter of the new membership`);
      await modeOf(ensemble, leader, 'follower');
      figures.push(
        `server ${next} (${ensemble.serverOf({ id: next })}) leads ${Date.now() - t} ms after the reconfig removing ${leader} (${ensemble.serverOf({ id: leader })}) was sent`,
      );
      const roles: Record<number, 'participant' | 'observer'> = {
        [stay.id]: 'participant',
        [follower.id]: 'observer',
        [joiner.id]: 'participant',
      };
      await everyMemberHolds(ensemble, removed.version, roles);
      await sleep(2000);
      figures.push(
        `longest pause between acknowledged creates while the leader was removed: ${load.longestPause(stepStart, Date.now())} ms`,
      );

      await load.stop();
      assert.deepEqual(load.errors, [], 'writers saw nothing but connection losses');
      assert.ok(load.acknowledged.size > 100, `creates were acknowledged throughout (${load.acknowledged.size})`);
      await everyMemberHoldsTheLoad(ensemble, load);
      figures.push(`${load.acknowledged.size} creates acknowledged, ${load.indeterminate} lost with their connection`);
      process.stdout.write(
        `# reconfig under load (${ensemble.members.map((m) => ensemble.serverOf(m)).join(',')}): ${figures.join('; ')}\n`,
      );
    } catch (e) {
      process.stderr.write(`${ensemble.tails(40)}\n`);
      throw e;
    } finally {
      await load.stop();
      await ensemble.close();
    }
  });

  test('a member started with the ensemble and itself in its config follows as a non-voter, then a reconfig makes it a voter', async () => {
    const ensemble = await startEnsemble();
    const load = new Load(() => ensemble.members.filter((m) => m.alive()));
    try {
      await withClient(ensemble.member(1), async (c) => assert.equal((await c.create('/load')).err, ErrorCode.OK));
      const leader = await ensemble.leader();
      load.start();
      await sleep(1000);
      const current = await membershipAt(ensemble.member(leader));
      const { member: joiner, serverLine } = await ensemble.newMember();
      let t = Date.now();
      assert.equal(await ensemble.launchJoiner(joiner, current.raw, false, serverLine), 'follower', 'it follows before it is added');
      const joinMs = Date.now() - t;
      const learned = await membershipAt(joiner);
      assert.equal(learned.version, current.version, "it took the ensemble's membership from the election");
      assert.ok(!learned.servers.some((s) => s.id === joiner.id), 'a membership it is not in yet');

      const stay = ensemble.members.find((m) => m.id !== leader && m.id !== joiner.id)!;
      t = Date.now();
      const added = await reconfigUnderLoad(stay, { joining: serverLine }, (qc) => qc.servers.some((s) => s.id === joiner.id));
      await everyMemberHolds(ensemble, added.version, { 1: 'participant', 2: 'participant', 3: 'participant', [joiner.id]: 'participant' });
      const addMs = Date.now() - t;

      // its ACKs count now: with one of the first three gone, 3 of the 4 voters remain
      const gone = ensemble.members.find((m) => m.id !== leader && m.id !== joiner.id && m !== stay)!;
      await gone.kill9();
      const before = load.acknowledged.size;
      await waitFor('creates acknowledged by 3 of 4 voters', () => (load.acknowledged.size > before + 50 ? true : undefined), 30000, 100);
      await load.stop();
      assert.deepEqual(load.errors, [], 'writers saw nothing but connection losses');
      await everyMemberHoldsTheLoad(ensemble, load);
      process.stdout.write(
        `# joining before being added (${ensemble.members.map((m) => ensemble.serverOf(m)).join(',')}): following in ${joinMs} ms, added in ${addMs} ms; ` +
          `${load.acknowledged.size} creates acknowledged, ${load.indeterminate} lost with their connection\n`,
      );
    } catch (e) {
      process.stderr.write(`${ensemble.tails(40)}\n`);
      throw e;
    } finally {
      await load.stop();
      await ensemble.close();
    }
  });
});
