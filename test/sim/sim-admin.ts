/**
 * The ensemble simulation's admin: one client with the super user's digest that changes the
 * membership with incremental reconfigs (ensemble-sim.ts sends them and hands back the answers).
 * What it asks for depends on the scenario and on the newest membership committed so far (an
 * operator reads /zookeeper/config first):
 * - crash: add a member that is in no membership, remove a voter, make a voter an observer or
 *   an observer a voter; the leader's power is cut right after it proposes or commits one
 *   (half the time);
 * - removeLeader: remove the serving leader (it hands over to the designated leader), add it
 *   back later;
 * - joinObserver: a spare member, isolated from the start, is added as a voter while cut off,
 *   then its partition heals; a follower is made an observer, and back.
 */
import { ErrorCode, OpCode, type JuteReader, type Request } from '../../src/codec/index.js';
import { hex, type Sid, type Zxid } from '../../src/quorum/zab/index.js';
import { parseQuorumConfigText, roleIn, type QuorumConfig } from '../../src/config/index.js';
import type { SeededRandom } from '../../src/base/index.js';
import { joinerLine, membersText } from './ensemble-replica.js';

export type ReconfigScenario = 'crash' | 'removeLeader' | 'joinObserver';

/** What the admin needs of the simulation. */
export interface AdminHost {
  readonly rnd: SeededRandom;
  readonly members: readonly { readonly sid: Sid }[];
  newestMembership(): QuorumConfig;
  /** The membership some member committed at `version`, if any did. */
  committedMembership(version: number): QuorumConfig | undefined;
  servingLeaderSid(): Sid | null;
  isolate(sid: Sid): void;
  /** Whether `sid` reaches no other member. */
  isolated(sid: Sid): boolean;
  heal(sid: Sid): void;
  count(what: string): void;
  log(line: string): void;
  fail(message: string): never;
}

interface Asked {
  readonly what: string;
  readonly request: Request & { op: typeof OpCode.reconfig };
}

/** Answers the admin takes in its stride: none of them says the server is wrong. */
const EXPECTED_REFUSALS = new Set<number>([
  ErrorCode.RECONFIGINPROGRESS,
  ErrorCode.NEWCONFIGNOQUORUM,
  ErrorCode.BADARGUMENTS,
  ErrorCode.BADVERSION,
]);

/** `C` is the simulation's client the admin sends through. */
export class Admin<C> {
  /** Reconfigs answered OK, by zxid (the membership's version). */
  readonly acked = new Map<Zxid, string>();
  private nextAt = 0;
  /** The membership version the admin read last (it reads again now and then: it may be stale). */
  private readVersion = -1;
  /** joinObserver: the isolated spare, and when its partition heals (ticks). */
  private readonly spare: Sid;
  private healSpareAt = Infinity;

  constructor(
    private readonly host: AdminHost,
    readonly scenario: ReconfigScenario,
    readonly client: C,
  ) {
    this.spare = host.members.length;
  }

  /** Called once the members are powered on. */
  start(): void {
    if (this.scenario === 'joinObserver') this.host.isolate(this.spare);
  }

  tick(tick: number): void {
    if (tick >= this.healSpareAt) {
      this.healSpareAt = Infinity;
      this.host.heal(this.spare);
    }
  }

  /** The next reconfig to send at `tick`, if one is due. */
  next(tick: number): Asked | null {
    if (tick < this.nextAt) return null;
    this.nextAt = tick + 4 + this.host.rnd.int(8);
    const qc = this.host.newestMembership();
    if (this.readVersion < 0 || this.host.rnd.chance(0.7)) this.readVersion = qc.version;
    const chosen = this.choose(qc);
    // half of them say which membership they change (fromConfig): BADVERSION if it is not the last
    const asked = chosen !== null && this.host.rnd.chance(0.5) ? withFromConfig(chosen, this.readVersion) : chosen;
    if (asked !== null) this.host.log(`ADMIN asks ${asked.what} (membership ${hex(qc.version)})`);
    return asked;
  }

  answered(asked: Asked, zxid: Zxid, err: number, body: JuteReader, tick: number): void {
    this.host.log(`ADMIN ${asked.what}: err ${err} zxid ${hex(zxid)}`);
    if (err === 0) {
      this.checkReply(asked, zxid, body);
      this.host.count('reconfig acked');
      this.host.count(`reconfig acked: ${asked.what.split(' ')[0] ?? ''}`);
      if (asked.what.startsWith(`add ${this.spare}`) && this.host.isolated(this.spare)) this.host.count('joiner added while cut off');
      this.acked.set(zxid, asked.what);
      if (this.scenario === 'joinObserver' && asked.what.startsWith(`add ${this.spare}`) && this.healSpareAt === Infinity) {
        this.healSpareAt = tick + 3 + this.host.rnd.int(10);
      }
      return;
    }
    this.host.count(`reconfig err ${err}`);
    if (!EXPECTED_REFUSALS.has(err)) this.host.fail(`reconfig "${asked.what}" answered ${err}`);
  }

  /** The reply holds the membership the reconfig made, at its zxid, as the members committed it. */
  private checkReply(asked: Asked, zxid: Zxid, body: JuteReader): void {
    const text = body.readBuffer()?.toString('utf8') ?? '';
    const qc = parseQuorumConfigText(text, `the reply to "${asked.what}"`);
    const committed = this.host.committedMembership(zxid);
    if (qc.version !== zxid || committed === undefined || membersText(committed) !== membersText(qc)) {
      const what = committed === undefined ? 'none' : membersText(committed);
      this.host.fail(`reconfig "${asked.what}" answered ${hex(qc.version)} ${membersText(qc)} at ${hex(zxid)}; committed there: ${what}`);
    }
  }

  /** Every acknowledged reconfig is committed, and the ensemble's membership is at least as new. */
  checkAcked(newest: QuorumConfig): void {
    for (const [zxid, what] of this.acked) {
      if (zxid > newest.version)
        this.host.fail(`reconfig "${what}" acknowledged at ${hex(zxid)}, the ensemble's membership is ${hex(newest.version)}`);
    }
  }

  private choose(qc: QuorumConfig): Asked | null {
    const rnd = this.host.rnd;
    const all = this.host.members.map((m) => m.sid);
    const voters = all.filter((sid) => roleIn(qc, sid) === 'participant');
    const observers = all.filter((sid) => roleIn(qc, sid) === 'observer');
    const outside = all.filter((sid) => roleIn(qc, sid) === undefined);
    const leader = this.host.servingLeaderSid();
    switch (this.scenario) {
      case 'crash': {
        const r = rnd.next();
        if (r < 0.35 && outside.length > 0) return add(rnd.pick(outside), 'participant');
        if (r < 0.7 && voters.length >= 4) return remove(rnd.pick(voters));
        if (r < 0.85 && voters.length >= 4) return add(rnd.pick(voters), 'observer');
        if (observers.length > 0) return add(rnd.pick(observers), 'participant');
        return outside.length > 0 ? add(rnd.pick(outside), 'participant') : null;
      }
      case 'removeLeader':
        if (leader !== null && voters.includes(leader) && voters.length >= 4 && rnd.chance(0.6)) return remove(leader);
        return outside.length > 0 ? add(rnd.pick(outside), 'participant') : null;
      case 'joinObserver': {
        if (outside.includes(this.spare)) return add(this.spare, 'participant');
        const followers = voters.filter((sid) => sid !== leader);
        if (observers.length > 0 && rnd.chance(0.4)) return add(rnd.pick(observers), 'participant');
        if (voters.length >= 4 && followers.length > 0) return add(rnd.pick(followers), 'observer');
        return null;
      }
    }
  }
}

function add(sid: Sid, role: 'participant' | 'observer'): Asked {
  return {
    what: role === 'observer' ? `observe ${sid}` : `add ${sid}`,
    request: { op: OpCode.reconfig, joiningServers: joinerLine(sid, role), leavingServers: null, newMembers: null, curConfigId: -1 },
  };
}

function withFromConfig(asked: Asked, version: number): Asked {
  return { what: `${asked.what} from ${hex(version)}`, request: { ...asked.request, curConfigId: version } };
}

function remove(sid: Sid): Asked {
  return {
    what: `remove ${sid}`,
    request: { op: OpCode.reconfig, joiningServers: null, leavingServers: String(sid), newMembers: null, curConfigId: -1 },
  };
}
