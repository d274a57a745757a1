/**
 * A member's memberships under dynamic reconfiguration (ZooKeeper's QuorumPeer quorum verifier
 * and last-seen quorum verifier): the committed one, which the election's notifications, a
 * learner's FOLLOWERINFO and /zookeeper/config carry, and the last one seen, which NEWLEADER
 * carries. With reconfigEnabled=false both stay the start-up membership, version 0, and no file
 * is written, as in ZooKeeper.
 *
 * A change of either is told to the member (`changed`): its election counts with the new voters
 * and reaches new members. A role term acts on a committed membership itself (role.ts).
 */
import {
  ownLineHasClient,
  parseQuorumConfigText,
  roleIn,
  sameQuorumConfig,
  verifierOf,
  withVersion,
  type EnsembleMember,
  type QuorumConfig,
} from '../config/index.js';
import type { ElectionView } from '../quorum/index.js';
import { OpCode, type Txn } from '../codec/index.js';
import type { ConfigFiles } from '../runtime/index.js';
import type { DataTree } from '../tree/index.js';
import { hex } from '../quorum/zab/index.js';
import type { Logger } from '../server/types.js';

export interface MembershipOptions {
  readonly myid: number;
  readonly reconfigEnabled: boolean;
  readonly committed: QuorumConfig;
  /** The `.dynamic.next` file's membership, when start-up found one. */
  readonly next?: QuorumConfig | undefined;
  /** Undefined when the member runs without a config file (tests): nothing is written. */
  readonly files?: ConfigFiles | undefined;
  readonly log: Logger;
  /** The committed or the last seen membership changed. */
  readonly changed?: () => void;
}

/**
 * What the election counts with under these memberships (QuorumPeer.getCurrentAndNextConfigVoters
 * and getVoteTracker): the voters of both, a quorum of each, the committed one's weights, and
 * this member's learner type in the committed one (not in it: a non-voting participant).
 */
export function electionViewOf(myid: number, committed: QuorumConfig, lastSeen: QuorumConfig): ElectionView {
  const now = verifierOf(committed);
  const next = lastSeen.version > committed.version ? verifierOf(lastSeen) : null;
  const voters = [...new Set([...now.voters, ...(next?.voters ?? [])])].sort((a, b) => a - b);
  return {
    learnerType: roleIn(committed, myid) === 'observer' ? 'observer' : 'participant',
    quorum: {
      voters,
      containsQuorum: (ids) => {
        const sids = [...ids];
        return now.containsQuorum(sids) && (next === null || next.containsQuorum(sids));
      },
      weightOf: (id) => now.weightOf(id),
    },
    committedVoter: now.voters.includes(myid),
    configText: committed.text,
    configVersion: committed.version,
  };
}

/** Every member of either membership, with the addresses the newest one gives it. */
export function membersOf(...qcs: QuorumConfig[]): Pick<EnsembleMember, 'id' | 'host' | 'quorumPort' | 'electionPort'>[] {
  const byId = new Map<number, Pick<EnsembleMember, 'id' | 'host' | 'quorumPort' | 'electionPort'>>();
  for (const qc of [...qcs].sort((a, b) => a.version - b.version)) {
    for (const s of qc.servers) byId.set(s.id, { id: s.id, host: s.host, quorumPort: s.quorumPort, electionPort: s.electionPort });
  }
  return [...byId.values()];
}

/**
 * The membership a reconfig txn holds (its SetDataTxn's data on /zookeeper/config); undefined,
 * with the reason, for a txn that holds none ZooKeeper's parser would take.
 */
export function membershipOfReconfig(txn: Txn, zxid: number): QuorumConfig | string {
  if (txn.type !== OpCode.setData || txn.path !== '/zookeeper/config' || txn.data === null) return 'not a SetDataTxn of /zookeeper/config';
  try {
    const qc = parseQuorumConfigText(txn.data.toString('utf8'), `the reconfig txn 0x${zxid.toString(16)}`);
    return qc.version === zxid ? qc : `its version 0x${qc.version.toString(16)} is not its zxid`;
  } catch (e) {
    return (e as Error).message;
  }
}

export class Membership {
  private committedConfig: QuorumConfig;
  private lastSeenConfig: QuorumConfig;

  constructor(private readonly options: MembershipOptions) {
    this.committedConfig = options.committed;
    const next = options.next;
    this.lastSeenConfig = options.reconfigEnabled && next !== undefined ? next : options.committed;
  }

  get committed(): QuorumConfig {
    return this.committedConfig;
  }

  get lastSeen(): QuorumConfig {
    return this.lastSeenConfig;
  }

  /** Member `id`'s line: the committed membership's (Learner.findLeader looks there), else the last seen one's. */
  server(id: number): QuorumConfig['servers'][number] | undefined {
    return this.committedConfig.servers.find((s) => s.id === id) ?? this.lastSeenConfig.servers.find((s) => s.id === id);
  }

  /** QuorumPeer.setLastSeenQuorumVerifier: remembered and written to `.dynamic.next`. */
  setLastSeen(qc: QuorumConfig): void {
    if (!this.options.reconfigEnabled || qc.version === this.lastSeenConfig.version) return;
    if (qc.version < this.lastSeenConfig.version) {
      this.options.log.warn(
        { version: hex(qc.version), lastSeen: hex(this.lastSeenConfig.version) },
        'taking an older membership as last seen',
      );
    }
    this.lastSeenConfig = qc;
    this.options.files?.writeNext(qc);
    this.options.changed?.();
  }

  /**
   * Leader.lead's first step with reconfiguration on: an initial membership (version 0, nothing
   * newer seen) gets the NEWLEADER zxid as its version, as the config NEWLEADER carries. Returns
   * the text NEWLEADER carries: the last seen membership.
   */
  newLeaderConfig(newLeaderZxid: number): string {
    const { committedConfig: committed, lastSeenConfig: lastSeen } = this;
    if (this.options.reconfigEnabled && committed.version === 0 && lastSeen.version === 0) {
      this.setLastSeen(withVersion(committed, newLeaderZxid));
    }
    return this.lastSeenConfig.text;
  }

  /**
   * QuorumPeer.processReconfig, without a designated leader: a newer membership becomes the
   * committed one (files written, `.dynamic.next` removed once it is committed), and
   * /zookeeper/config holds the committed one.
   */
  activate(qc: QuorumConfig, tree: DataTree, wallMs: number): void {
    if (!this.options.reconfigEnabled) return;
    this.commit(qc);
    this.stampConfigNode(tree, wallMs);
  }

  /** QuorumPeer.setQuorumVerifier with writing to disk. */
  private commit(qc: QuorumConfig): void {
    const previous = this.committedConfig;
    if (qc.version <= previous.version) return;
    if (!sameQuorumConfig(previous, qc)) this.options.log.info({ version: hex(qc.version), membership: qc.text }, 'membership changed');
    this.committedConfig = qc;
    if (qc.version > this.lastSeenConfig.version) this.lastSeenConfig = qc;
    const files = this.options.files;
    if (files !== undefined) {
      const file = files.commit(qc, ownLineHasClient(qc, this.options.myid));
      this.options.log.info({ version: hex(qc.version), file }, 'membership committed');
      if (qc.version === this.lastSeenConfig.version) files.deleteNext();
    }
    this.options.changed?.();
  }

  /**
   * ZKDatabase.initConfigInZKDatabase: /zookeeper/config holds the committed membership. With
   * reconfiguration on its Stat is that of a setData at the version's zxid (version -1).
   */
  stampConfigNode(tree: DataTree, wallMs: number): void {
    const text = Buffer.from(this.committedConfig.text, 'utf8');
    if (!this.options.reconfigEnabled) tree.setConfigData(text);
    else tree.setConfigData(text, { zxid: this.committedConfig.version, mtimeMs: wallMs });
  }
}
