/**
 * Versioned memberships, as dynamic reconfiguration keeps them (ZooKeeper's QuorumVerifier with
 * its version): the committed one, and the last one seen (the `.dynamic.next` file, NEWLEADER's
 * text). Also the files ZooKeeper writes for them: `zoo.cfg.dynamic.<hex version>` and the
 * rewritten zoo.cfg. Members compare memberships by what they say, never by their bytes: two
 * members may print one membership in different orders.
 */
import { fail, type Where } from './errors.js';
import { javaPropertiesOrder } from './java-order.js';
import { parseZooCfg } from './parse.js';
import { isMembershipKey, readEntries } from './properties.js';
import { hierarchicalOf, majorityOf, quorumConfigText, type ConfigTextMember } from './quorum.js';
import type { Config, QuorumGroup, QuorumVerifier, ServerRole } from './types.js';

export interface QuorumConfig {
  readonly version: number;
  /** Ascending by id; a client address only where the member's line has one. */
  readonly servers: readonly ConfigTextMember[];
  /** `group.N` lines; none for a majority quorum. */
  readonly groups: readonly QuorumGroup[];
  /** `weight.N` lines as written. */
  readonly weights: ReadonlyMap<number, number>;
  /** ZooKeeper's text for it (QuorumVerifier.toString), ending in `version=<hex>`. */
  readonly text: string;
}

function build(parts: Omit<QuorumConfig, 'text'>, propertyOrder: readonly string[]): QuorumConfig {
  const text = quorumConfigText({ ...parts, propertyOrder });
  return Object.freeze({ ...parts, text });
}

/** The membership a parsed config describes (zoo.cfg, or its dynamic config file). */
export function quorumConfigOf(config: Config): QuorumConfig {
  const parts = { version: config.configVersion, servers: config.servers, groups: config.quorumGroups, weights: config.serverWeights };
  return build(parts, config.propertyOrder);
}

/** Long.parseLong(text, 16), as a version. */
function parseVersion(text: string, at: Where): number {
  const version = /^\+?[0-9a-fA-F]{1,16}$/.test(text) ? parseInt(text, 16) : Number.NaN;
  if (!Number.isSafeInteger(version)) fail(at, `expected a config version (hex), got "${text}"`);
  return version;
}

/**
 * A membership in ZooKeeper's text (NEWLEADER's data, a `.dynamic.next` file): server, group and
 * weight lines and `version=<hex>`, in any order. Its own text is printed again from what was
 * parsed, in the order ZooKeeper's maps give after reading it.
 */
export function parseQuorumConfigText(text: string, fileName: string): QuorumConfig {
  const entries = readEntries(text);
  let version = 0;
  for (const e of entries) {
    const at: Where = { key: e.key, file: fileName, line: e.line };
    if (e.key === 'version') version = parseVersion(e.value, at);
    else if (!isMembershipKey(e.key))
      fail(at, 'unrecognised parameter: a membership holds only server.N, group.N and weight.N lines and a version');
  }
  // Version lines become blank ones, so errors point at the line they are on.
  const lines = text.split(/\r\n|\r|\n/).map(() => '');
  for (const e of entries) if (e.key !== 'version') lines[e.line - 1] = `${e.key}=${e.rawValue}`;
  // standaloneEnabled=false: a membership of one voter is still one here, whatever runs it.
  const { config } = parseZooCfg(`${lines.join('\n')}\nstandaloneEnabled=false`, fileName);
  const parts = { version, servers: config.servers, groups: config.quorumGroups, weights: config.serverWeights };
  return build(parts, javaPropertiesOrder(entries.map((e) => e.key)));
}

/**
 * A membership a reconfig made of these servers (a majority quorum), at `version`. ZooKeeper
 * builds it from a map, not a file; ascending ids stand in for the file's order.
 */
export function majorityConfigOf(servers: readonly ConfigTextMember[], version: number): QuorumConfig {
  const parts = { version, servers: [...servers].sort((a, b) => a.id - b.id), groups: [], weights: new Map<number, number>() };
  return build(parts, javaPropertiesOrder(parts.servers.map((s) => `server.${s.id}`)));
}

/** The same membership under another version (how the first leader stamps the initial one). */
export function withVersion(qc: QuorumConfig, version: number): QuorumConfig {
  const { servers, groups, weights } = qc;
  return build({ version, servers, groups, weights }, javaPropertiesOrder(readEntries(qc.text).map((e) => e.key)));
}

function sameMember(a: ConfigTextMember, b: ConfigTextMember | undefined): boolean {
  if (b === undefined) return false;
  const sameClient = a.client === undefined ? b.client === undefined : a.client.host === b.client?.host && a.client.port === b.client.port;
  return a.role === b.role && a.host === b.host && a.quorumPort === b.quorumPort && a.electionPort === b.electionPort && sameClient;
}

/** A participant's weight: as written, else 1 (QuorumHierarchical fills the rest in). */
function weightsOf(qc: QuorumConfig): Map<number, number> {
  return new Map(qc.servers.filter((s) => s.role === 'participant').map((s) => [s.id, qc.weights.get(s.id) ?? 1]));
}

function sameGroups(a: readonly QuorumGroup[], b: readonly QuorumGroup[]): boolean {
  const key = (gs: readonly QuorumGroup[]): string =>
    gs
      .map((g) => `${g.id}:${[...g.members].sort((x, y) => x - y).join(',')}`)
      .sort()
      .join(';');
  return key(a) === key(b);
}

/**
 * QuorumMaj.equals / QuorumHierarchical.equals: one version means one membership; otherwise the
 * same members (id, role, addresses, client address) and, for a hierarchical one, the same
 * groups and weights. Order and spacing of the text do not matter.
 */
export function sameQuorumConfig(a: QuorumConfig, b: QuorumConfig): boolean {
  if (a.version === b.version) return true;
  if (a.servers.length !== b.servers.length || a.groups.length > 0 !== b.groups.length > 0) return false;
  const others = new Map(b.servers.map((s) => [s.id, s]));
  if (!a.servers.every((s) => sameMember(s, others.get(s.id)))) return false;
  if (a.groups.length === 0) return true;
  const wa = weightsOf(a);
  const wb = weightsOf(b);
  return sameGroups(a.groups, b.groups) && [...wa].every(([id, w]) => wb.get(id) === w);
}

/**
 * QuorumPeerConfig.writeDynamicConfig: the text's lines as `key=value`, sorted as strings (so
 * server.10 before server.2), joined by newlines with none at the end; the version line only
 * for the `.dynamic.next` file.
 */
export function dynamicFileText(qc: QuorumConfig, keepVersion: boolean): string {
  return readEntries(qc.text)
    .filter((e) => keepVersion || !e.key.startsWith('version'))
    .map((e) => `${e.key}=${e.value}`)
    .sort()
    .join('\n');
}

/** A membership's quorum rule: groups and weights when it has groups, else a majority of its participants. */
export function verifierOf(qc: QuorumConfig): QuorumVerifier {
  if (qc.groups.length > 0) return hierarchicalOf(qc.servers, qc.groups, qc.weights);
  return majorityOf(qc.servers.filter((s) => s.role === 'participant').map((s) => s.id));
}

/** Member `id`'s role in a membership; undefined when it is not a member. */
export function roleIn(qc: QuorumConfig, id: number): ServerRole | undefined {
  return qc.servers.find((s) => s.id === id)?.role;
}

/** Whether `myid`'s own line carries a client address (then zoo.cfg's clientPort keys go). */
export function ownLineHasClient(qc: QuorumConfig, myid: number): boolean {
  return qc.servers.find((s) => s.id === myid)?.client !== undefined;
}

/**
 * QuorumPeerConfig.editStaticConfig: zoo.cfg again, as java.util.Properties iterates it (comments
 * and blank lines gone, each key once with its last value, `key=value` and a newline), without
 * the membership, dynamicConfigFile and peerType keys, and without every key starting with
 * `clientPort` when `eraseClientPort` (clientPortListenBacklog too, as in ZooKeeper); then the
 * line naming the dynamic file, `dynamicFilePath` being its absolute path.
 */
export function rewriteStaticConfig(zooCfg: string, dynamicFilePath: string, eraseClientPort: boolean): string {
  const values = new Map<string, string>();
  const entries = readEntries(zooCfg);
  for (const e of entries) values.set(e.key, e.value);
  const dropped = (key: string): boolean =>
    isMembershipKey(key) ||
    key.startsWith('dynamicConfigFile') ||
    key.startsWith('peerType') ||
    (eraseClientPort && key.startsWith('clientPort'));
  const lines = javaPropertiesOrder(entries.map((e) => e.key))
    .filter((key) => !dropped(key))
    .map((key) => `${key}=${values.get(key) ?? ''}\n`);
  return `${lines.join('')}dynamicConfigFile=${dynamicFilePath}\n`;
}
