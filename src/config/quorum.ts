/**
 * Quorum verifiers (ZooKeeper's QuorumMaj and QuorumHierarchical) and the config text ZooKeeper
 * writes for them (QuorumVerifier.toString), which /zookeeper/config holds and election
 * notifications and NEWLEADER carry.
 */
import { ipv6Groups } from './addresses.js';
import { javaHashMapOrder } from './java-order.js';
import type { HierarchicalQuorum, HostPort, MajorityQuorum, QuorumGroup, ServerSpec } from './types.js';

export function majorityOf(voters: readonly number[]): MajorityQuorum {
  const members = new Set(voters);
  const quorumSize = Math.floor(members.size / 2) + 1;
  return Object.freeze({
    kind: 'majority' as const,
    voters: Object.freeze([...members].sort((a, b) => a - b)),
    quorumSize,
    containsQuorum(ids: Iterable<number>): boolean {
      const votes = new Set([...ids].filter((id) => members.has(id)));
      return votes.size >= quorumSize;
    },
    // QuorumMaj.getWeight is 1 for any id; non-voters are kept out before weights are asked.
    weightOf: (): number => 1,
  });
}

/**
 * A hierarchical quorum over participants that parse has checked: every participant in exactly
 * one group, groups and weights naming participants only. `weights` are the `weight.N` lines;
 * a participant without one weighs 1, as in ZooKeeper.
 */
export function hierarchicalOf(
  servers: readonly Pick<ServerSpec, 'id' | 'role'>[],
  groups: readonly QuorumGroup[],
  explicitWeights: ReadonlyMap<number, number>,
): HierarchicalQuorum {
  const voters = servers.filter((s) => s.role === 'participant').map((s) => s.id);
  const weights = new Map(voters.map((id) => [id, explicitWeights.get(id) ?? 1]));
  const groupOf = new Map<number, number>();
  const groupWeight = new Map<number, number>();
  for (const g of groups) {
    for (const sid of g.members) groupOf.set(sid, g.id);
    groupWeight.set(
      g.id,
      g.members.reduce((sum, sid) => sum + (weights.get(sid) ?? 0), 0),
    );
  }
  const weightedGroupCount = [...groupWeight.values()].filter((w) => w > 0).length;
  return Object.freeze({
    kind: 'hierarchical' as const,
    voters: Object.freeze([...voters].sort((a, b) => a - b)),
    groups: Object.freeze(groups.map((g) => Object.freeze({ id: g.id, members: Object.freeze([...g.members]) }))),
    weights,
    weightedGroupCount,
    containsQuorum(ids: Iterable<number>): boolean {
      const held = new Map<number, number>();
      for (const sid of new Set(ids)) {
        const gid = groupOf.get(sid);
        if (gid !== undefined) held.set(gid, (held.get(gid) ?? 0) + (weights.get(sid) ?? 0));
      }
      let groupsWon = 0;
      for (const [gid, w] of held) if (2 * w > (groupWeight.get(gid) ?? 0)) groupsWon++;
      return 2 * groupsWon > weightedGroupCount;
    },
    // ZooKeeper has no weight for a non-participant (it would fail on one); none of them leads.
    weightOf: (id: number): number => weights.get(id) ?? 0,
  });
}

/** A server line as parsed: its client part only when the line has one. */
export type ConfigTextMember = Omit<ServerSpec, 'client'> & { readonly client?: HostPort | undefined };

/** What ZooKeeper's quorum config text is made of. */
export interface QuorumTextInput {
  readonly servers: readonly ConfigTextMember[];
  /** `group.N` lines; none for a majority quorum. */
  readonly groups?: readonly QuorumGroup[];
  /** `weight.N` lines as written. */
  readonly weights?: ReadonlyMap<number, number>;
  /**
   * zoo.cfg's keys in the order java.util.Properties yields them (Config.propertyOrder): the
   * order ZooKeeper fills its maps in, which decides the text's order between ids that share a
   * hash bucket. Ascending ids stand in for it when not given.
   */
  readonly propertyOrder?: readonly string[];
  readonly version?: number;
}

/**
 * The host as QuorumServer.toString prints it (InetSocketAddress.getHostString, bracketed when it
 * has a colon): Java writes an IPv6 literal in full, 0:0:0:0:0:0:0:1 for ::1, and an
 * IPv4-mapped one as the IPv4 address; names and IPv4 literals stay as written.
 */
function delimited(host: string): string {
  if (!host.includes(':')) return host;
  const zone = host.indexOf('%');
  const groups = ipv6Groups(zone < 0 ? host : host.slice(0, zone));
  if (groups === undefined) return `[${host}]`;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
  }
  return `[${groups.map((g) => g.toString(16)).join(':')}${zone < 0 ? '' : host.slice(zone)}]`;
}

function serverLine(s: ConfigTextMember): string {
  const client = s.client === undefined ? '' : `;${delimited(s.client.host)}:${s.client.port}`;
  return `server.${s.id}=${delimited(s.host)}:${s.quorumPort}:${s.electionPort}:${s.role}${client}`;
}

/** Ids in the order the `<prefix>.N` keys come in `propertyOrder` (as Long.parseLong reads N), else ascending. */
function inPropertyOrder(prefix: string, ids: Iterable<number>, propertyOrder: readonly string[] | undefined): number[] {
  const rank = new Map<number, number>();
  (propertyOrder ?? []).forEach((key, i) => {
    if (key.startsWith(`${prefix}.`)) rank.set(Number(key.slice(prefix.length + 1)), i);
  });
  const at = (id: number): number => rank.get(id) ?? Infinity;
  return [...ids].sort((a, b) => at(a) - at(b) || a - b);
}

/**
 * QuorumHierarchical.toString's group and weight lines. Its sid -> group map is filled group line
 * by group line; the group lines are printed from a map filled in that map's order. Weights hold
 * the written ones, then a 1 for every other participant, added in the members' order.
 */
function hierarchyLines(memberOrder: readonly number[], participants: ReadonlySet<number>, input: QuorumTextInput): string[] {
  const groups = new Map((input.groups ?? []).map((g) => [g.id, g]));
  const weights = input.weights ?? new Map<number, number>();
  const groupOf = new Map<number, number>();
  for (const gid of inPropertyOrder('group', groups.keys(), input.propertyOrder)) {
    for (const sid of groups.get(gid)?.members ?? []) groupOf.set(sid, gid);
  }
  const sidsByGroup = new Map<number, number[]>();
  for (const sid of javaHashMapOrder(groupOf.keys())) {
    const gid = groupOf.get(sid) ?? 0;
    sidsByGroup.set(gid, [...(sidsByGroup.get(gid) ?? []), sid]);
  }
  const groupLines = javaHashMapOrder(sidsByGroup.keys()).map((gid) => `group.${gid}=${(sidsByGroup.get(gid) ?? []).join(':')}`);
  const written = inPropertyOrder('weight', weights.keys(), input.propertyOrder);
  const weightOrder = javaHashMapOrder([...written, ...memberOrder.filter((id) => participants.has(id))]);
  return [...groupLines, ...weightOrder.map((sid) => `weight.${sid}=${weights.get(sid) ?? 1}`)];
}

/**
 * ZooKeeper's quorum config text: a `server.N` line per member in its HashMap's order, for a
 * hierarchical quorum the group and weight lines, then `version=<hex>`, with no newline at the
 * end. Only a client address written in the member's own server line is printed, as
 * QuorumServer.toString leaves out one that came from clientPort.
 */
export function quorumConfigText(input: QuorumTextInput): string {
  const byId = new Map(input.servers.map((s) => [s.id, s]));
  const memberOrder = javaHashMapOrder(inPropertyOrder('server', byId.keys(), input.propertyOrder));
  const lines = memberOrder.flatMap((id) => {
    const s = byId.get(id);
    return s === undefined ? [] : [serverLine(s)];
  });
  if ((input.groups ?? []).length > 0) {
    const participants = new Set(input.servers.filter((s) => s.role === 'participant').map((s) => s.id));
    lines.push(...hierarchyLines(memberOrder, participants, input));
  }
  return [...lines, `version=${(input.version ?? 0).toString(16)}`].join('\n');
}
