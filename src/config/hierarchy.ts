/**
 * `group.N` and `weight.N` lines: a hierarchical quorum, read and checked as ZooKeeper 3.8's
 * QuorumHierarchical reads them when it is built from zoo.cfg. What ZooKeeper refuses is refused
 * with its reason; where it would fail with an unexplained exception, accept a line that cannot
 * mean anything, or start an ensemble that can never form a quorum, that is refused here too.
 */
import { fail, type Where } from './errors.js';
import { hierarchicalOf } from './quorum.js';
import type { Config, QuorumGroup, ServerSpec } from './types.js';

/** What parse keeps of these lines until every line has been read. */
export interface HierarchyDraft {
  quorumGroups: Map<number, QuorumGroup>;
  serverWeights: Map<number, number>;
}

const GROUP_FORM = 'group.N=sid:sid:... (server ids separated by ":")';
const SPACE_HINT = ' (ZooKeeper reads these values as they are, so no spaces)';

function spaceHint(text: string): string {
  return /\s/.test(text) ? SPACE_HINT : '';
}

/** Long.parseLong of the key's id; here it must also be non-negative and exact as a JS number. */
function parseId(text: string, what: string, at: Where): number {
  const id = /^\+?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(id)) fail(at, `${what} must be a non-negative integer, got "${text}"`);
  return id;
}

/** Java's String.split(":") drops trailing empty fields, so ZooKeeper reads `1:2:` as `1:2`. */
function parseGroupMembers(value: string, at: Where): number[] {
  const fields = value.split(':');
  while (fields.length > 0 && fields.at(-1) === '') fields.pop();
  if (fields.length === 0) fail(at, `expected ${GROUP_FORM}, got nothing`);
  const members: number[] = [];
  for (const field of fields) {
    const sid = /^\+?\d+$/.test(field) ? Number(field) : Number.NaN;
    if (!Number.isSafeInteger(sid)) fail(at, `expected ${GROUP_FORM}, got "${value}"${spaceHint(value)}`);
    if (members.includes(sid)) fail(at, `server ${sid} is listed twice`);
    members.push(sid);
  }
  return members;
}

/** Long.parseLong; ZooKeeper also takes a negative weight, which can only break the group sums. */
function parseWeight(value: string, at: Where): number {
  if (/^-\d+$/.test(value)) fail(at, `a weight must be 0 or more, got "${value}"`);
  const weight = /^\+?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(weight)) fail(at, `expected a weight (a whole number, 0 or more), got "${value}"${spaceHint(value)}`);
  return weight;
}

/**
 * Applies a line whose key starts with `group` or `weight` (ZooKeeper takes every such key as
 * part of a hierarchical quorum) and returns the name it is stored under; undefined for other keys.
 * `rawValue` keeps trailing spaces, as java.util.Properties hands the value to ZooKeeper.
 */
export function applyHierarchyEntry(d: HierarchyDraft, key: string, rawValue: string, at: Where): string | undefined {
  const kind = key.startsWith('group') ? 'group' : key.startsWith('weight') ? 'weight' : undefined;
  if (kind === undefined) return undefined;
  if (!key.startsWith(`${kind}.`)) {
    fail(at, `expected ${kind}.N: ZooKeeper reads every key starting with "${kind}" as part of a hierarchical quorum`);
  }
  const idText = key.slice(kind.length + 1);
  if (kind === 'group') {
    const id = parseId(idText, 'group id', at);
    d.quorumGroups.set(id, { id, members: parseGroupMembers(rawValue, at) });
    return `group.${id}`;
  }
  const sid = parseId(idText, 'server id', at);
  d.serverWeights.set(sid, parseWeight(rawValue, at));
  return `weight.${sid}`;
}

function requireParticipant(server: ServerSpec | undefined, sid: number, known: string, at: Where): void {
  if (server === undefined) fail(at, `server ${sid} is not among the servers (${known})`);
  if (server.role === 'observer') {
    fail(at, `server ${sid} is an observer; observers do not vote, so they have no weight and belong to no group`);
  }
}

/**
 * The rules that need every line: groups and weights name participants, each participant is in
 * exactly one group (ZooKeeper: "Server N is in multiple groups", "Server N is not in a group"),
 * and some group weighs more than 0. `seen` says where each key was set.
 */
export function checkHierarchy(config: Config, seen: ReadonlyMap<string, Where>, file: string): void {
  const { quorumGroups: groups, serverWeights: weights } = config;
  if (groups.length === 0 && weights.size === 0) return;
  const where = (name: string): Where => seen.get(name) ?? { file };
  const servers = new Map(config.servers.map((s) => [s.id, s]));
  const known = config.servers.map((s) => s.id).join(', ') || 'there are none';
  for (const sid of weights.keys()) requireParticipant(servers.get(sid), sid, known, where(`weight.${sid}`));
  const firstGroup = groups[0];
  if (firstGroup === undefined) {
    const [firstWeighted = 0] = weights.keys();
    return fail(
      where(`weight.${firstWeighted}`),
      'weight.N lines make the quorum hierarchical, which needs group.N lines putting every participant in a group',
    );
  }
  const groupOf = new Map<number, number>();
  for (const g of groups) {
    for (const sid of g.members) {
      requireParticipant(servers.get(sid), sid, known, where(`group.${g.id}`));
      const other = groupOf.get(sid);
      if (other !== undefined) {
        fail(
          where(`group.${g.id}`),
          `server ${sid} is already in group.${other} (line ${where(`group.${other}`).line ?? '?'}); a server belongs to one group`,
        );
      }
      groupOf.set(sid, g.id);
    }
  }
  const loose = config.servers.find((s) => s.role === 'participant' && !groupOf.has(s.id));
  if (loose !== undefined) {
    fail(where(`server.${loose.id}`), `participant ${loose.id} is in no group; with group.N lines every participant must be in one`);
  }
  checkGroupWeights(config, groups, where);
}

function checkGroupWeights(config: Config, groups: readonly QuorumGroup[], where: (name: string) => Where): void {
  for (const g of groups) {
    const total = g.members.reduce((sum, sid) => sum + (config.serverWeights.get(sid) ?? 1), 0);
    if (!Number.isSafeInteger(total))
      fail(where(`group.${g.id}`), `the weights of this group add up to more than ${Number.MAX_SAFE_INTEGER}`);
  }
  if (hierarchicalOf(config.servers, groups, config.serverWeights).weightedGroupCount === 0) {
    fail(where(`group.${groups[0]?.id ?? 0}`), 'every group weighs 0, so no set of servers could ever make a quorum');
  }
}
