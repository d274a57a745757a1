import { fail, type Where } from './errors.js';
import { FOUR_LETTER_WORDS, type ServerRole, type SnapshotCompression } from './types.js';

/** ZooKeeper reads most numbers with Integer.parseInt, so Java's int range is the honest ceiling. */
export const INT_MAX = 2147483647;
export const INT_MIN = -2147483648;

function describeRange(min: number): string {
  if (min <= INT_MIN) return 'an integer';
  if (min === 1) return 'a positive integer';
  if (min === 0) return 'a non-negative integer';
  return `an integer >= ${min}`;
}

/** Decimal only, optional sign — what Integer.parseInt accepts. */
export function parseInt32(value: string, at: Where, min: number, max = INT_MAX): number {
  const n = /^[+-]?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max)) fail(at, `expected ${describeRange(min)}, got "${value}"`);
  return n;
}

/** A decimal number, as Double.parseDouble reads the usual forms (no hex, no "Infinity"). */
export function parseDouble(value: string, at: Where): number {
  const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isFinite(n)) fail(at, `expected a decimal number, got "${value}"`);
  return n;
}

/** Long-valued properties (Long.getLong in ZooKeeper); capped at what a JS number holds exactly. */
export function parseInt53(value: string, at: Where, min: number): number {
  return parseInt32(value, at, min, Number.MAX_SAFE_INTEGER);
}

export function checkPort(n: number, raw: string, at: Where): number {
  if (!(Number.isInteger(n) && n >= 0 && n <= 65535)) fail(at, `expected a port number 0-65535, got "${raw}"`);
  return n;
}

/** Port 0 is let through: it asks the OS for a free port, which tests rely on. */
export function parsePort(value: string, at: Where): number {
  return checkPort(/^[+-]?\d+$/.test(value) ? Number(value) : Number.NaN, value, at);
}

/** QuorumPeerConfig.parseBoolean: "true"/"false" in any case, anything else is an error. */
export function parseBool(value: string, at: Where): boolean {
  const v = value.toLowerCase();
  if (v === 'true' || v === 'false') return v === 'true';
  return fail(at, `expected true or false, got "${value}"`);
}

/**
 * skipACL and forceSync are "yes"/"no" in ZooKeeper, which treats any other spelling as the default —
 * so `skipACL=true` would silently keep ACLs on. Refusing it is kinder.
 */
export function parseYesNo(value: string, at: Where): boolean {
  if (value === 'yes' || value === 'no') return value === 'yes';
  return fail(at, `expected yes or no, got "${value}"`);
}

export function parseText(value: string, at: Where): string {
  if (value === '') fail(at, 'expected a value, got nothing');
  return value;
}

/** Comma list of words or `*`. ZooKeeper compares case-sensitively; we lowercase so `RUOK` does what was meant. */
export function parseWhitelist(value: string, at: Where): Set<string> {
  const words = new Set<string>();
  for (const raw of value.split(',')) {
    const word = raw.trim().toLowerCase();
    if (word === '') continue;
    if (word === '*') return new Set(FOUR_LETTER_WORDS);
    if (!FOUR_LETTER_WORDS.includes(word)) fail(at, `unknown four-letter word "${raw.trim()}"`);
    words.add(word);
  }
  return words;
}

/** `user:base64digest`; the digest is what DigestAuthenticationProvider.generateDigest prints after the colon. */
export function parseSuperDigest(value: string, at: Where): string {
  const m = /^([^:\s]+):([A-Za-z0-9+/]+={0,2})$/.exec(value);
  if (m === null || (m[2] ?? '').length % 4 !== 0) {
    fail(at, `expected user:base64digest, got "${value}"`);
  }
  return value;
}

/** ZooKeeper matches these case-insensitively but silently falls back to "" on a typo; we refuse the typo. */
export function parseCompression(value: string, at: Where): SnapshotCompression {
  const v = value.toLowerCase();
  if (v === '' || v === 'gz' || v === 'snappy') return v;
  return fail(at, `expected "", gz or snappy, got "${value}"`);
}

/** A server line's role or `peerType`: ZooKeeper matches both case-insensitively. */
export function parseRole(value: string, at: Where): ServerRole {
  const role = value.trim().toLowerCase();
  if (role === 'participant' || role === 'observer') return role;
  return fail(at, `unknown server role "${value}" (expected participant or observer)`);
}
