/** zoo.cfg and the dynamic config files as java.util.Properties reads them. */

export interface Entry {
  readonly key: string;
  /** Trimmed, as QuorumPeerConfig reads every key it knows itself. */
  readonly value: string;
  /** Only leading whitespace removed, as java.util.Properties keeps it: what server lines are parsed from. */
  readonly rawValue: string;
  readonly line: number;
}

/**
 * zoo.cfg is loaded by ZooKeeper as a java.util.Properties file: `#` or `!` comment lines, and the key
 * ends at the first `=`, `:` or whitespace. Backslash escapes and continuation lines are not
 * supported — no real zoo.cfg uses them.
 */
export function readEntries(text: string): Entry[] {
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

/** The keys that make up a membership (QuorumPeerConfig's test: prefixes, so `groupX` counts). */
export function isMembershipKey(key: string): boolean {
  return key.startsWith('server.') || key.startsWith('group') || key.startsWith('weight');
}

/**
 * QuorumPeerConfig.getVersionFromFilename: the text after the name's last `.` read as hex
 * (`zoo.cfg.dynamic.100000000` -> 0x100000000); undefined when that is not a hex number, which
 * ZooKeeper takes as version 0. Any hex-looking suffix counts, as in ZooKeeper (`x.cfg.dead`).
 */
export function versionFromFileName(name: string): number | undefined {
  const suffix = name.slice(name.lastIndexOf('.') + 1);
  if (!/^\+?[0-9a-fA-F]{1,16}$/.test(suffix)) return undefined;
  const version = parseInt(suffix, 16);
  return Number.isSafeInteger(version) ? version : undefined;
}
