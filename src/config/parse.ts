import { checkMembership } from './membership.js';
import { fail, locate, type Where } from './errors.js';
import { applyHierarchyEntry, checkHierarchy } from './hierarchy.js';
import { javaPropertiesOrder } from './java-order.js';
import { canonicalKey, emptyDraft, KEYS, type Draft, type Mutable } from './keys.js';
import { parseServerLine } from './servers.js';
import type { Config } from './types.js';
import { checkPort, parseText } from './values.js';

interface Entry {
  readonly key: string;
  /** Trimmed, as QuorumPeerConfig reads every key it knows itself. */
  readonly value: string;
  /** Only leading whitespace removed, as java.util.Properties keeps it: what server lines are parsed from. */
  readonly rawValue: string;
  readonly line: number;
}

type Warn = (at: Where, message: string) => void;

/**
 * zoo.cfg is loaded by ZooKeeper as a java.util.Properties file: `#` or `!` comment lines, and the key
 * ends at the first `=`, `:` or whitespace. Backslash escapes and continuation lines are not
 * supported — no real zoo.cfg uses them.
 */
function readEntries(text: string): Entry[] {
  const entries: Entry[] = [];
  text.split(/\r\n|\r|\n/).forEach((raw, index) => {
    const line = raw.trimStart();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) return;
    const m = /^([^=:\s]*)\s*[=:]?\s*(.*)$/.exec(line);
    const rawValue = m?.[2] ?? '';
    entries.push({ key: m?.[1] ?? '', value: rawValue.trim(), rawValue, line: index + 1 });
  });
  return entries;
}

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

/**
 * Parses zoo.cfg text. `fileName` only labels errors and warnings; the caller does the reading.
 * Throws ConfigError on the first bad value; unknown and repeated keys become warnings.
 */
export function parseZooCfg(text: string, fileName: string): ParsedConfig {
  const draft = emptyDraft();
  const warnings: string[] = [];
  const warn: Warn = (at, message) => warnings.push(locate(at) + message);
  const seen = new Map<string, Where>();
  const entries = readEntries(text);
  for (const entry of entries) {
    const at: Where = { key: entry.key, file: fileName, line: entry.line };
    const name = applyEntry(draft, entry, at, warn);
    if (name === undefined) {
      warn({ file: fileName, line: entry.line }, `unknown key "${entry.key}" ignored`);
      continue;
    }
    noteRepeat(seen.get(name), name, at, warn);
    seen.set(name, at);
  }
  const config = finish(
    draft,
    seen,
    fileName,
    entries.map((e) => e.key),
  );
  checkMembership(config, seen, fileName, warn);
  checkHierarchy(config, seen, fileName);
  return { config, warnings, origins: seen };
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
