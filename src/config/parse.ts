import { checkMembership } from './membership.js';
import { fail, locate, type Where } from './errors.js';
import { applyHierarchyEntry, checkHierarchy } from './hierarchy.js';
import { javaPropertiesOrder } from './java-order.js';
import { canonicalKey, emptyDraft, KEYS, type Draft, type Mutable } from './keys.js';
import { isMembershipKey, readEntries, versionFromFileName, type Entry } from './properties.js';
import { parseServerLine } from './servers.js';
import type { Config } from './types.js';
import { checkPort, parseText } from './values.js';

type Warn = (at: Where, message: string) => void;

/** Applies one line; returns the name it was stored under, or undefined for a key nobody reads. */
function applyEntry(d: Draft, entry: Entry, at: Where, warn: Warn): string | undefined {
  const server = /^server\.(.*)$/.exec(entry.key);
  if (server !== null) {
    const spec = parseServerLine(server[1] ?? '', entry.rawValue, at);
    d.servers.set(spec.id, spec);
    return `server.${spec.id}`;
  }
  const hierarchy = applyHierarchyEntry(d, entry.key, entry.rawValue, at);
  if (hierarchy !== undefined) return hierarchy;
  const name = canonicalKey(entry.key);
  if (name !== undefined) {
    KEYS.get(name)?.(d, entry.value, at, warn);
    return name;
  }
  // QuorumPeerConfig passes other metricsProvider.* keys to the provider with the prefix cut off.
  if (entry.key.startsWith('metricsProvider.')) {
    d.metricsProviderConfig.set(entry.key.slice('metricsProvider.'.length), entry.value);
    return entry.key;
  }
  return undefined;
}

/**
 * A key given twice: the last line wins, as in java.util.Properties. `server.1` and `server.01`
 * are two Properties keys for one server, of which ZooKeeper keeps whichever its hash map
 * yields last, so that is refused; so are two spellings of one group or weight id, which
 * ZooKeeper reads in its hash map's order too.
 */
function noteRepeat(earlier: Where | undefined, name: string, at: Where, warn: Warn): void {
  if (earlier === undefined) return;
  if (/^(server|group|weight)\./.test(name) && earlier.key !== at.key) {
    const outcome = name.startsWith('server.') ? 'ZooKeeper would keep either one' : 'ZooKeeper would read both, in no defined order';
    fail(at, `${name} is already defined by ${earlier.key ?? name} on line ${earlier.line ?? '?'}; ${outcome}`);
  }
  warn(at, `set again; replaces the value from line ${earlier.line ?? '?'}`);
}

/** Resolves what depends on other keys, checks cross-key rules, and freezes the result. */
function finish(d: Draft, seen: ReadonlyMap<string, Where>, file: string, keys: readonly string[]): Config {
  const minSessionTimeoutMs = d.minSessionTimeoutMs === -1 ? 2 * d.tickTimeMs : d.minSessionTimeoutMs;
  const maxSessionTimeoutMs = d.maxSessionTimeoutMs === -1 ? 20 * d.tickTimeMs : d.maxSessionTimeoutMs;
  if (minSessionTimeoutMs > maxSessionTimeoutMs) {
    fail(
      seen.get('minSessionTimeout') ?? seen.get('maxSessionTimeout') ?? { file, key: 'minSessionTimeout' },
      `minSessionTimeout (${minSessionTimeoutMs}) must not be larger than maxSessionTimeout (${maxSessionTimeoutMs})`,
    );
  }
  // ZooKeeper always enables srvr (zkServer.sh status needs it) and isro in read-only mode.
  const words = new Set(d.fourLetterWordWhitelist).add('srvr');
  if (d.readonlyModeEnabled) words.add('isro');
  return Object.freeze({
    ...d,
    dataLogDir: d.dataLogDir ?? d.dataDir,
    minSessionTimeoutMs,
    maxSessionTimeoutMs,
    // Freezing a Set or Map does not stop add(); the Readonly* types are what guard them.
    fourLetterWordWhitelist: Object.freeze(words),
    admin: Object.freeze({ ...d.admin }),
    metricsProviderConfig: Object.freeze(new Map(d.metricsProviderConfig)),
    servers: Object.freeze([...d.servers.values()].sort((a, b) => a.id - b.id).map((s) => Object.freeze(s))),
    quorumGroups: Object.freeze(
      [...d.quorumGroups.values()]
        .sort((a, b) => a.id - b.id)
        .map((g) => Object.freeze({ id: g.id, members: Object.freeze([...g.members]) })),
    ),
    serverWeights: Object.freeze(new Map(d.serverWeights)),
    propertyOrder: Object.freeze(javaPropertiesOrder(keys)),
  });
}

/** What parseZooCfg found: the config, its warnings, and where each key was set (by the name it is stored under). */
export interface ParsedConfig {
  readonly config: Config;
  readonly warnings: string[];
  readonly origins: ReadonlyMap<string, Where>;
}

/** The dynamic config file's text and its name as zoo.cfg gives it (which also gives its version). */
export interface DynamicFile {
  readonly text: string;
  readonly fileName: string;
}

/** zoo.cfg's dynamicConfigFile, read before the rest, since the caller must read that file first. */
export function dynamicConfigFileOf(text: string): string | undefined {
  return readEntries(text)
    .filter((e) => e.key === 'dynamicConfigFile')
    .at(-1)?.value;
}

/**
 * Parses zoo.cfg text. `fileName` only labels errors and warnings; the caller does the reading,
 * of the dynamic config file too when zoo.cfg names one (`dynamic`): its server, group and
 * weight lines are the membership, and its name's hex suffix the membership's version.
 * Throws ConfigError on the first bad value; unknown and repeated keys become warnings.
 */
export function parseZooCfg(text: string, fileName: string, dynamic?: DynamicFile): ParsedConfig {
  const draft = emptyDraft();
  const warnings: string[] = [];
  const warn: Warn = (at, message) => warnings.push(locate(at) + message);
  const seen = new Map<string, Where>();
  const entries = readEntries(text);
  const separate = entries.some((e) => e.key === 'dynamicConfigFile');
  for (const entry of entries) {
    const at: Where = { key: entry.key, file: fileName, line: entry.line };
    if (separate && isMembershipKey(entry.key)) fail(at, 'must be in a separate dynamic config file, as dynamicConfigFile is set');
    applyNamed(draft, entry, at, seen, warn);
  }
  let keys = entries.map((e) => e.key);
  if (dynamic !== undefined) {
    keys = readDynamicFile(draft, dynamic, seen, warn);
    draft.configVersion = versionFromFileName(dynamic.fileName) ?? 0;
  }
  const config = finish(draft, seen, fileName, keys);
  checkMembership(config, seen, fileName, warn);
  checkHierarchy(config, seen, fileName);
  return { config, warnings, origins: seen };
}

function applyNamed(draft: Draft, entry: Entry, at: Where, seen: Map<string, Where>, warn: Warn): void {
  const name = applyEntry(draft, entry, at, warn);
  if (name === undefined) {
    warn({ ...(at.file === undefined ? {} : { file: at.file }), line: entry.line }, `unknown key "${entry.key}" ignored`);
    return;
  }
  noteRepeat(seen.get(name), name, at, warn);
  seen.set(name, at);
}

/**
 * The dynamic file's lines into the draft, refused as QuorumPeerConfig refuses them; returns its
 * keys as java.util.Properties holds them (with the version its name adds), for the text's order.
 */
function readDynamicFile(draft: Draft, dynamic: DynamicFile, seen: Map<string, Where>, warn: Warn): string[] {
  const entries = readEntries(dynamic.text);
  for (const entry of entries) {
    const at: Where = { key: entry.key, file: dynamic.fileName, line: entry.line };
    if (entry.key === 'version') fail(at, 'a dynamic config file must not hold a version: ZooKeeper takes it from the file name');
    if (!isMembershipKey(entry.key))
      fail(at, 'unrecognised parameter: a dynamic config file holds only server.N, group.N and weight.N lines');
    applyNamed(draft, entry, at, seen, warn);
  }
  const keys = entries.map((e) => e.key);
  return versionFromFileName(dynamic.fileName) === undefined ? keys : [...keys, 'version'];
}

/** The configuration with no file at all. */
export function defaultConfig(): Config {
  return parseZooCfg('', '(defaults)').config;
}

/** Command-line flags win over the file. Errors name the flag, since there is no file line to point at. */
export function applyOverrides(config: Config, overrides: { clientPort?: number; dataDir?: string }): Config {
  const next: Mutable<Config> = { ...config };
  if (overrides.clientPort !== undefined) {
    next.clientPort = checkPort(overrides.clientPort, String(overrides.clientPort), { key: '--port' });
  }
  if (overrides.dataDir !== undefined) {
    next.dataDir = parseText(overrides.dataDir, { key: '--data-dir' });
    // A dataLogDir equal to dataDir was defaulted (or deliberately shared): keep the two together.
    if (config.dataLogDir === config.dataDir) next.dataLogDir = next.dataDir;
  }
  return Object.freeze(next);
}
