/**
 * The one field of a received quorum config text (config/quorum.ts writes ours) that 3.8 acts
 * on: its version.
 */

/**
 * The version of a received config (its `version=<hex>` line; 0 without one, as QuorumMaj starts),
 * or null when that line is not hexadecimal. ZooKeeper 3.8 parses the whole text and, on failure,
 * logs an error and still counts the vote; only the version matters to it, so only that is read.
 */
export function configVersionOf(text: string): number | null {
  let version = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('version=')) continue;
    const hex = line.slice('version='.length).trim();
    if (!/^[0-9a-fA-F]{1,13}$/.test(hex)) return null;
    version = parseInt(hex, 16);
  }
  return version;
}
