import { fail, type Where } from './errors.js';
import { parsePort } from './values.js';
import type { ServerRole, ServerSpec } from './types.js';

const FORM = 'host:quorumPort:electionPort[:participant|observer][;[clientAddress:]clientPort]';

/** `host:a:b` or `[v6::addr]:a:b` -> [host, a, b]; brackets keep an IPv6 host's colons out of the split. */
function splitHostAndPorts(text: string): string[] | undefined {
  if (!text.startsWith('[')) return text.split(':');
  const close = text.indexOf(']');
  if (close < 0 || (close + 1 < text.length && text[close + 1] !== ':')) return undefined;
  const rest = text.slice(close + 2);
  return [text.slice(1, close), ...(rest === '' ? [] : rest.split(':'))];
}

function parseRole(text: string | undefined, at: Where): ServerRole {
  const role = (text ?? 'participant').trim().toLowerCase();
  if (role === 'participant' || role === 'observer') return role;
  return fail(at, `unknown server role "${text ?? ''}" (expected participant or observer)`);
}

/** Parses one server line; `idText` is the N of `server.N`. */
export function parseServerLine(idText: string, value: string, at: Where): ServerSpec {
  const bad = (): never => fail(at, `expected ${FORM}, got "${value}"`);
  if (!/^\d+$/.test(idText) || !Number.isSafeInteger(Number(idText))) {
    fail(at, `server id must be a non-negative integer, got "${idText}"`);
  }
  // ZooKeeper's multi-address form (a|b) needs multiAddress.enabled; ZephyrCoord does not implement it.
  if (value.includes('|')) fail(at, `multiple addresses ("|") are not supported, got "${value}"`);
  const [serverPart = '', clientPart, ...extra] = value.split(';');
  const parts = splitHostAndPorts(serverPart.trim());
  if (extra.length > 0 || parts === undefined || parts.length < 3 || parts.length > 4) return bad();
  const [host = '', quorumText = '', electionText = '', roleText] = parts;
  if (host === '') return bad();
  const quorumPort = parsePort(quorumText.trim(), at);
  const electionPort = parsePort(electionText.trim(), at);
  // Same check as ZooKeeper's QuorumServer: one socket cannot serve both protocols.
  if (quorumPort === electionPort) fail(at, `quorum and election ports must differ, got ${quorumPort} twice`);
  const spec = {
    id: Number(idText),
    host,
    quorumPort,
    electionPort,
    role: parseRole(roleText, at),
  };
  if (clientPart === undefined) return spec;
  const client = splitHostAndPorts(clientPart.trim());
  if (client === undefined || client.length > 2) return bad();
  const clientPort = parsePort((client.at(-1) ?? '').trim(), at);
  return client.length === 2 ? { ...spec, clientAddress: client[0] ?? '', clientPort } : { ...spec, clientPort };
}
