/**
 * The leader's side of a reconfig request (ZooKeeper's PrepRequestProcessor after the zxid is
 * taken, and Leader.propose): the checks in ZooKeeper's order, the membership asked for, and
 * the quorum the ZAB core must then count with. Prep adds the ACL check last and makes the txn.
 */
import { assert } from '../base/index.js';
import { ErrorCode } from '../codec/index.js';
import {
  ConfigError,
  MembershipRuleError,
  checkVoters,
  incrementalMembers,
  isRefusal,
  majorityConfigOf,
  parseQuorumConfigText,
  verifierOf,
  withVersion,
  type QuorumConfig,
  type ReconfigRefusal,
} from '../config/index.js';
import type { ZabLeader, ZabQuorum } from '../quorum/zab/index.js';
import type { ReconfigPolicy, ReconfigRequest } from '../server/zk-server.js';
import type { PeerState } from './role.js';

/** What the leader's reconfig checks read of the member: its settings, memberships and log. */
export interface ReconfigPeer {
  readonly ensemble: Pick<PeerState['ensemble'], 'reconfigEnabled' | 'self'>;
  readonly config: Pick<PeerState['config'], 'standaloneEnabled'>;
  readonly membership: Pick<PeerState['membership'], 'committed' | 'lastSeen'>;
  readonly log: PeerState['log'];
}

/** What the ZAB core counts with for a membership. */
export function zabQuorumOf(qc: QuorumConfig): ZabQuorum {
  const verifier = verifierOf(qc);
  return { version: qc.version, voters: new Set(verifier.voters), containsQuorum: (sids) => verifier.containsQuorum(sids) };
}

/** Whether this member leads `qc` itself: a voter there, on the same quorum address. */
export function leaderStaysIn(qc: QuorumConfig, self: ReconfigPeer['ensemble']['self']): boolean {
  const mine = qc.servers.find((s) => s.id === self.id);
  return mine?.role === 'participant' && mine.host === self.host && mine.quorumPort === self.quorumPort;
}

const CODE_OF: Record<ReconfigRefusal['code'], number> = {
  BADARGUMENTS: ErrorCode.BADARGUMENTS,
  MARSHALLINGERROR: ErrorCode.MARSHALLINGERROR,
};

export class LeaderReconfig implements ReconfigPolicy {
  /** The membership the last accepted request asked for, until its txn is proposed. */
  private decided: { zxid: number; qc: QuorumConfig } | null = null;

  constructor(
    private readonly peer: ReconfigPeer,
    private readonly core: Pick<ZabLeader, 'reconfigInFlight' | 'isQuorumSynced'>,
  ) {}

  decide(req: ReconfigRequest, zxid: number): number | Buffer {
    const { ensemble, membership } = this.peer;
    if (!ensemble.reconfigEnabled) return ErrorCode.RECONFIGDISABLED;
    const lastSeen = membership.lastSeen;
    if (lastSeen.version !== membership.committed.version || this.core.reconfigInFlight) return ErrorCode.RECONFIGINPROGRESS;
    if (req.curConfigId !== -1 && req.curConfigId !== lastSeen.version) return ErrorCode.BADVERSION;
    const next = nextMembership(lastSeen, req, zxid);
    if (isRefusal(next)) {
      this.peer.log.info({ zxid: `0x${zxid.toString(16)}`, err: next.message }, 'reconfig refused');
      return CODE_OF[next.code];
    }
    const voters = next.servers.filter((s) => s.role === 'participant').length;
    const tooFew = checkVoters(voters, this.peer.config.standaloneEnabled);
    if (tooFew !== undefined) return CODE_OF[tooFew.code];
    if (!this.core.isQuorumSynced(zabQuorumOf(next))) return ErrorCode.NEWCONFIGNOQUORUM;
    this.decided = { zxid, qc: next };
    return Buffer.from(next.text, 'utf8');
  }

  /**
   * The reconfig txn at `zxid` goes to the core: the quorum it proposes, and whether this leader
   * stays leader of it (a voter there, on the same quorum address).
   */
  proposal(zxid: number): { qc: QuorumConfig; quorum: ZabQuorum; leaderStays: boolean } {
    const decided = this.decided;
    assert(decided?.zxid === zxid, () => `reconfig txn 0x${zxid.toString(16)} was not decided here`);
    this.decided = null;
    return { qc: decided.qc, quorum: zabQuorumOf(decided.qc), leaderStays: leaderStaysIn(decided.qc, this.peer.ensemble.self) };
  }
}

/** The membership a request asks for, at version `zxid`: bulk (`newMembers`) or incremental. */
function nextMembership(lastSeen: QuorumConfig, req: ReconfigRequest, zxid: number): QuorumConfig | ReconfigRefusal {
  if (req.newMembers !== null) {
    try {
      // commas or newlines between the lines; a version line in it is ignored
      return withVersion(parseQuorumConfigText(req.newMembers.replace(/,/g, '\n'), 'the reconfig request'), zxid);
    } catch (e) {
      // ZooKeeper: its parser's IllegalArgumentException is unchecked (MARSHALLINGERROR), a ConfigException is BADARGUMENTS
      if (e instanceof MembershipRuleError) return { code: 'MARSHALLINGERROR', message: e.message };
      if (e instanceof ConfigError) return { code: 'BADARGUMENTS', message: e.message };
      throw e;
    }
  }
  if (lastSeen.groups.length > 0) {
    return {
      code: 'BADARGUMENTS',
      message: 'Incremental reconfiguration requested but last configuration seen has a non-majority quorum system',
    };
  }
  const servers = incrementalMembers(lastSeen.servers, req.joiningServers, req.leavingServers);
  return isRefusal(servers) ? servers : majorityConfigOf(servers, zxid);
}
