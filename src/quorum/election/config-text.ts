/**
 * The quorum config text that every notification carries (QuorumMaj.toString), and the one field
 * of a received one that 3.8 acts on: its version.
 */
import type { HostPort, ServerSpec } from '../../config/index.js';

/** A server line as parsed, or an ensemble member as start-up resolved it. */
export type ConfigTextMember = Omit<ServerSpec, 'client'> & { readonly client?: HostPort | undefined };

/** "[addr]" for an IPv6 host, as QuorumServer.delimitedHostString writes it. */
function delimited(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * One `server.N=host:quorumPort:electionPort:role[;clientHost:clientPort]` line per member, then
 * `version=<hex>`. Only a client address written in the member's own server line is printed, as
 * QuorumServer.toString leaves out one that came from clientPort. ZooKeeper walks a HashMap keyed
 * by sid, which for the small sids of real ensembles is ascending order; receivers read only the
 * version, so ascending order is used for every sid.
 */
export function quorumConfigText(servers: readonly ConfigTextMember[], version = 0): string {
  const lines = [...servers]
    .sort((a, b) => a.id - b.id)
    .map((s) => {
      const client = s.client === undefined ? '' : `;${delimited(s.client.host)}:${s.client.port}`;
      return `server.${s.id}=${delimited(s.host)}:${s.quorumPort}:${s.electionPort}:${s.role}${client}`;
    });
  return [...lines, `version=${version.toString(16)}`].join('\n');
}

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
