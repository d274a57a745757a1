import { fail, type Where } from './errors.js';
import type { HostPort } from './types.js';

function ipv4(host: string): string | undefined {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return undefined;
  const bytes = host.split('.').map(Number);
  return bytes.every((b) => b <= 255) ? bytes.join('.') : undefined;
}

/** An IPv6 literal's eight 16-bit groups (a trailing dotted quad as two), or undefined. */
export function ipv6Groups(host: string): number[] | undefined {
  const quad = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(host);
  let text = host;
  if (quad !== null) {
    const v4 = ipv4(quad[2] ?? '');
    if (v4 === undefined) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = v4.split('.').map(Number);
    text = `${quad[1] ?? ''}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const fields = (half: string | undefined): string[] => (half === undefined || half === '' ? [] : half.split(':'));
  const head = fields(halves[0]);
  const tail = fields(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 1 ? 0 : missing).fill('0'), ...tail];
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => parseInt(g, 16));
}

/** An IP literal in one spelling per address (IPv4-mapped IPv6 as IPv4, as Java reads it); undefined for a name. */
export function canonicalIp(host: string): string | undefined {
  const v4 = ipv4(host);
  if (v4 !== undefined) return v4;
  const groups = ipv6Groups(host);
  if (groups === undefined) return undefined;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  }
  return groups.map((g) => g.toString(16)).join(':');
}

/** 0.0.0.0 or ::, which a server binds as "every local address". */
export function isAnyAddress(host: string): boolean {
  const ip = canonicalIp(host);
  return ip === '0.0.0.0' || ip === '0:0:0:0:0:0:0:0';
}

/**
 * Whether two hosts are one address, when that is known without resolving names: true or false
 * for equal spellings and IP literals, undefined for two different names (or a name and an IP).
 */
export function sameHost(a: string, b: string): boolean | undefined {
  if (a.toLowerCase() === b.toLowerCase()) return true;
  const x = canonicalIp(a);
  const y = canonicalIp(b);
  return x !== undefined && y !== undefined ? x === y : undefined;
}

export function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** One address a member listens on. */
export interface Endpoint {
  readonly memberId: number;
  /** The member's server line host: where its any-address sockets are. */
  readonly memberHost: string;
  readonly kind: 'quorum' | 'election' | 'client';
  readonly address: HostPort;
  /** Bound on every local address (0.0.0.0 or ::, or quorumListenOnAllIPs). */
  readonly anyAddress: boolean;
  readonly where: Where;
}

function clash(a: Endpoint, b: Endpoint): boolean {
  if (a.address.port !== b.address.port || a.address.port === 0) return false;
  if (a.memberId === b.memberId) return a.anyAddress || b.anyAddress || sameHost(a.address.host, b.address.host) === true;
  // Another member's any-address socket is on its own machine, which its server line names.
  const hostOf = (e: Endpoint): string => (e.anyAddress ? e.memberHost : e.address.host);
  return sameHost(hostOf(a), hostOf(b)) === true;
}

function describe(e: Endpoint): string {
  return `server.${e.memberId}'s ${e.kind} address ${formatHostPort(e.address)}`;
}

/**
 * Two sockets on one address: the second member (or this server) could not bind it. ZooKeeper
 * does not check this when it reads the file; it fails later, when the bind fails (exit 14 for the
 * election port), or never notices (another member's addresses).
 */
export function refuseSharedAddresses(endpoints: readonly Endpoint[]): void {
  endpoints.forEach((b, j) => {
    const a = endpoints.slice(0, j).find((e) => clash(e, b));
    if (a === undefined) return;
    const other = a.memberId === b.memberId ? `its ${a.kind} address` : describe(a);
    const sameLine = a.where.line === b.where.line && a.where.key === b.where.key;
    const from = sameLine
      ? ''
      : a.where.line !== undefined
        ? ` (line ${a.where.line})`
        : a.where.key !== undefined
          ? ` (${a.where.key})`
          : '';
    fail(b.where, `${describe(b)} is also ${other}${from}: one address cannot serve both`);
  });
}
