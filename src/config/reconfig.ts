/**
 * The membership a `reconfig` request asks for, built from the last config seen as ZooKeeper
 * 3.8's PrepRequestProcessor builds it, with the outcome it gives each bad request. Incremental
 * requests (`joining` / `leaving`) are applied here; what the leader checks around it (enabled,
 * in progress, fromConfig, a synced quorum of the new config, the ACL) is the caller's.
 *
 * ZooKeeper's answers, which clients see, are kept even where they look odd: a non-numeric
 * server id fails with MARSHALLINGERROR (an unchecked NumberFormatException there), a leaving
 * id that is not a member is ignored, and a joiner replaces a member of the same id (that is
 * how a member changes role or ports).
 */
import { isAnyAddress, sameHost } from './addresses.js';
import { ConfigError } from './errors.js';
import { parseServerLine } from './servers.js';
import type { ConfigTextMember } from './quorum.js';
import type { HostPort, ServerSpec } from './types.js';

/** Why a request cannot give a new config, as the client is told (ZooKeeper's error code names). */
export interface ReconfigRefusal {
  readonly code: 'BADARGUMENTS' | 'MARSHALLINGERROR';
  readonly message: string;
}

export function isRefusal(x: unknown): x is ReconfigRefusal {
  return typeof x === 'object' && x !== null && 'code' in x && 'message' in x;
}

const refuse = (code: ReconfigRefusal['code'], message: string): ReconfigRefusal => Object.freeze({ code, message });

/** ZooKeeper's StringUtils.split: pieces trimmed, empty ones dropped. */
function splitList(text: string, separator: string): string[] {
  return text
    .split(separator)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Long.parseLong: an optional sign and digits; anything else throws there (MARSHALLINGERROR). */
function parseLong(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

function addressesOf(s: ConfigTextMember): HostPort[] {
  const out: HostPort[] = [
    { host: s.host, port: s.quorumPort },
    { host: s.host, port: s.electionPort },
  ];
  if (s.client !== undefined) out.push(s.client);
  return out;
}

/** QuorumServer.checkAddressDuplicate skips wildcard and loopback addresses (and unresolvable ones). */
function comparable(a: HostPort): boolean {
  if (isAnyAddress(a.host)) return false;
  const h = a.host.toLowerCase();
  return !(h === 'localhost' || /^127\./.test(h) || h === '::1' || h === '0:0:0:0:0:0:0:1');
}

/** The first address of `joiner` that another member already has, as ZooKeeper words it. */
function addressClash(joiner: ServerSpec, other: ConfigTextMember): string | undefined {
  for (const mine of addressesOf(joiner).filter(comparable)) {
    for (const theirs of addressesOf(other).filter(comparable)) {
      if (mine.port === theirs.port && sameHost(mine.host, theirs.host) === true) {
        return `${mine.host}:${mine.port} of server.${joiner.id} conflicts ${theirs.host}:${theirs.port} of server.${other.id}`;
      }
    }
  }
  return undefined;
}

/** One `server.N=...` (or `N=...`) of the joining list, or why it is refused. */
function parseJoiner(text: string): ServerSpec | ReconfigRefusal {
  const parts = splitList(text, '=');
  if (parts.length !== 2) return refuse('BADARGUMENTS', 'Wrong format of server string');
  const [left = '', right = ''] = parts;
  const id = parseLong(left.slice(left.lastIndexOf('.') + 1));
  if (id === undefined) return refuse('MARSHALLINGERROR', `"${left}" does not end in a server id`);
  if (id < 0) return refuse('BADARGUMENTS', `server id ${id} is negative`);
  let spec: ServerSpec;
  try {
    spec = parseServerLine(String(id), right, { key: `server.${id}` });
  } catch (e) {
    if (e instanceof ConfigError) return refuse('BADARGUMENTS', 'Reconfiguration failed');
    throw e;
  }
  // ZooKeeper needs the client port of a joiner: no other member can tell clients where it is
  if (spec.client === undefined) {
    return refuse('BADARGUMENTS', 'Wrong format of server string - each server should have 3 ports specified');
  }
  return spec;
}

/**
 * The members after an incremental reconfig: `leaving` ids removed first, then each joiner
 * added or put in place of the member with its id. Null lists are absent (jute's null string).
 * Only a majority quorum can be changed this way; the caller refuses a hierarchical one.
 */
export function incrementalMembers(
  current: readonly ConfigTextMember[],
  joining: string | null,
  leaving: string | null,
): readonly ConfigTextMember[] | ReconfigRefusal {
  const next = new Map<number, ConfigTextMember>(current.map((s) => [s.id, s]));
  for (const text of leaving === null ? [] : splitList(leaving, ',')) {
    const id = parseLong(text);
    if (id === undefined) return refuse('MARSHALLINGERROR', `leaving server "${text}" is not a server id`);
    next.delete(id);
  }
  for (const text of joining === null ? [] : splitList(joining, ',')) {
    const joiner = parseJoiner(text);
    if (isRefusal(joiner)) return joiner;
    for (const other of next.values()) {
      if (other.id === joiner.id) continue;
      const clash = addressClash(joiner, other);
      if (clash !== undefined) return refuse('BADARGUMENTS', clash);
    }
    next.set(joiner.id, joiner);
  }
  return Object.freeze([...next.values()].sort((a, b) => a.id - b.id));
}

/**
 * A new config needs voters: at least 2 when a lone participant would run standalone
 * (standaloneEnabled), else at least 1. Checked after the config is built, as ZooKeeper does.
 */
export function checkVoters(voterCount: number, standaloneEnabled: boolean): ReconfigRefusal | undefined {
  if (standaloneEnabled && voterCount < 2)
    return refuse('BADARGUMENTS', 'Reconfig failed - new configuration must include at least 2 followers');
  if (voterCount < 1) return refuse('BADARGUMENTS', 'Reconfig failed - new configuration must include at least 1 follower');
  return undefined;
}
