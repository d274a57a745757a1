import { fail, type Where } from './errors.js';
import { checkPort, parseRole } from './values.js';
import type { HostPort, ServerSpec } from './types.js';

const FORM = 'host:quorumPort:electionPort[:participant|observer][;[clientAddress:]clientPort]';

/**
 * Java's String.split: trailing empty fields are dropped, so ZooKeeper takes `h:1:2:` and
 * `h:1:2;` as `h:1:2`. Matching it keeps every line ZooKeeper accepts acceptable here.
 */
function javaSplit(text: string, separator: string): string[] {
  const parts = text.split(separator);
  while (parts.length > 0 && parts.at(-1) === '') parts.pop();
  return parts;
}

/**
 * `host:a:b` or `[v6::addr]:a:b` -> [host, a, b]: brackets keep an IPv6 host's colons out of the
 * split. ZooKeeper skips whatever single character follows `]`; here it must be a colon.
 */
function splitHostAndPorts(text: string, at: Where): string[] {
  if (!text.startsWith('[')) return javaSplit(text, ':');
  const close = text.indexOf(']');
  if (close < 0) return fail(at, `"${text}" starts with "[" but has no matching "]"`);
  if (close + 1 === text.length) return [text.slice(1, close)];
  if (text[close + 1] !== ':' || close + 2 === text.length) return fail(at, `"${text}" has no port after "]:"`);
  return [text.slice(1, close), ...javaSplit(text.slice(close + 2), ':')];
}

/**
 * Integer.parseInt and then the port range of InetSocketAddress. ZooKeeper does not trim these
 * fields, so a space (including one at the end of the line) makes the port unreadable there too.
 */
function parseLinePort(text: string, at: Where): number {
  if (/^[+-]?\d+$/.test(text)) return checkPort(Number(text), text, at);
  const hint = /\s/.test(text) ? ' (ZooKeeper allows no spaces in a server line, except around the role)' : '';
  return fail(at, `expected a port number 0-65535, got "${text}"${hint}`);
}

function parseHost(text: string, line: string, at: Where): string {
  // ZooKeeper takes an empty host as the loopback address, and one with spaces as a name it
  // never resolves; both are typos in practice.
  if (text === '') fail(at, `expected ${FORM}, got "${line}" (the host is empty)`);
  if (/\s/.test(text)) fail(at, `host "${text}" contains a space`);
  return text;
}

/** `[host:]port` after the `;`; a port alone means every local address, 0.0.0.0, as in ZooKeeper. */
function parseClient(text: string, line: string, at: Where): HostPort {
  const parts = splitHostAndPorts(text, at);
  if (parts.length < 1 || parts.length > 2) return fail(at, `expected ${FORM}, got "${line}"`);
  const port = parseLinePort(parts.at(-1) ?? '', at);
  return Object.freeze({ host: parts.length === 2 ? parseHost(parts[0] ?? '', line, at) : '0.0.0.0', port });
}

/** ZooKeeper's server id is a long; it must also be exact as a JS number and not negative. */
export function parseServerId(idText: string, at: Where): number {
  const id = /^\+?\d+$/.test(idText) ? Number(idText) : Number.NaN;
  if (!Number.isSafeInteger(id)) fail(at, `server id must be a non-negative integer, got "${idText}"`);
  return id;
}

/**
 * Parses one server line as ZooKeeper 3.8's QuorumServer reads it. `idText` is the N of
 * `server.N`; `value` is the line's value with only its leading whitespace removed, as
 * java.util.Properties hands it to ZooKeeper.
 */
export function parseServerLine(idText: string, value: string, at: Where): ServerSpec {
  const id = parseServerId(idText, at);
  // ZooKeeper's multi-address form (a|b) needs multiAddress.enabled; ZephyrCoord does not implement it.
  if (value.includes('|')) fail(at, `multiple addresses ("|") are not supported, got "${value}"`);
  const [serverPart, clientPart, ...extra] = javaSplit(value, ';');
  if (serverPart === undefined || extra.length > 0) return fail(at, `expected ${FORM}, got "${value}"`);
  const parts = splitHostAndPorts(serverPart, at);
  if (parts.length < 3 || parts.length > 4) return fail(at, `expected ${FORM}, got "${value}"`);
  const [hostText = '', quorumText = '', electionText = '', roleText] = parts;
  const host = parseHost(hostText, value, at);
  const quorumPort = parseLinePort(quorumText, at);
  const electionPort = parseLinePort(electionText, at);
  // ZooKeeper accepts port 0 here, but the other members could never reach it.
  if (quorumPort === 0 || electionPort === 0) fail(at, `quorum and election ports must not be 0 (other servers connect to them)`);
  // Same check as ZooKeeper's QuorumServer: one socket cannot serve both protocols.
  if (quorumPort === electionPort) fail(at, `quorum and election ports must differ, got ${quorumPort} twice`);
  const spec: ServerSpec = { id, host, quorumPort, electionPort, role: roleText === undefined ? 'participant' : parseRole(roleText, at) };
  return clientPart === undefined ? spec : { ...spec, client: parseClient(clientPart, value, at) };
}
