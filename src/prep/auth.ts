/**
 * Authentication ids and ACL matching (ZooKeeper's AuthenticationProvider family: world,
 * digest, ip, plus the `super` id granted by the superDigest setting).
 */
import { Perms, type ACL, type Id } from '../codec/index.js';

/** Computes base64(sha1(text)): injected so the core stays free of node:crypto. */
export type Sha1Base64 = (text: string) => string;

export const SUPER_ID: Id = Object.freeze({ scheme: 'super', id: '' });

/** digest: `user:password` -> `user:base64(sha1(user:password))`. */
export function digestId(userPassword: string, sha1: Sha1Base64): string {
  const colon = userPassword.indexOf(':');
  const user = colon < 0 ? userPassword : userPassword.slice(0, colon);
  return `${user}:${sha1(userPassword)}`;
}

function parseIpv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    out.push(v);
  }
  return out;
}

/** An ip ACL id: an IPv4 address optionally with /bits (IPAuthenticationProvider.isValid). */
export function isValidIpId(id: string): boolean {
  const slash = id.indexOf('/');
  const addr = slash < 0 ? id : id.slice(0, slash);
  if (parseIpv4(addr) === null) return false;
  if (slash < 0) return true;
  const bitsText = id.slice(slash + 1);
  if (!/^\d+$/.test(bitsText)) return false;
  return Number(bitsText) <= 32;
}

function ipMatches(clientIp: string, aclId: string): boolean {
  const client = parseIpv4(clientIp.startsWith('::ffff:') ? clientIp.slice(7) : clientIp);
  const slash = aclId.indexOf('/');
  const net = parseIpv4(slash < 0 ? aclId : aclId.slice(0, slash));
  if (client === null || net === null) return clientIp === aclId;
  let bits = slash < 0 ? 32 : Number(aclId.slice(slash + 1));
  for (let i = 0; i < 4 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((client[i] ?? 0) & mask) !== ((net[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** digest ids must look like `user:digest` (DigestAuthenticationProvider.isValid). */
export function isValidDigestId(id: string): boolean {
  return id.split(':').length === 2;
}

/** Whether one of the session's ids satisfies `aclId` (scheme-specific `matches`). */
function idMatches(auth: Id, aclId: Id): boolean {
  if (auth.scheme !== aclId.scheme) return false;
  if (auth.scheme === 'ip') return ipMatches(auth.id, aclId.id);
  return auth.id === aclId.id;
}

/**
 * ZooKeeper's checkACL: passes if `acl` is empty, the session is super, or some entry grants
 * one of the `perm` bits to world:anyone or to an id the session holds.
 */
export function aclPermits(acl: readonly ACL[], perm: number, authIds: readonly Id[], skipAcl: boolean): boolean {
  if (skipAcl || acl.length === 0) return true;
  // Indexed loops: this runs for every request, and for-of left an iterator per loop here.
  for (let i = 0; i < authIds.length; i++) if ((authIds[i] as Id).scheme === 'super') return true;
  for (let k = 0; k < acl.length; k++) {
    const entry = acl[k] as ACL;
    if ((entry.perms & perm) === 0) continue;
    if (entry.id.scheme === 'world' && entry.id.id === 'anyone') return true;
    for (let i = 0; i < authIds.length; i++) if (idMatches(authIds[i] as Id, entry.id)) return true;
  }
  return false;
}

/** Whether an ACL entry's scheme/id is one ZooKeeper accepts (after `auth` expansion). */
function isValidAclId(id: Id): boolean {
  switch (id.scheme) {
    case 'world':
      return id.id === 'anyone';
    case 'digest':
      return isValidDigestId(id.id);
    case 'ip':
      return isValidIpId(id.id);
    default:
      return false;
  }
}

/**
 * ZooKeeper's fixupACL: drops duplicates, expands `auth` to the session's authenticated
 * (digest) ids, and rejects unknown schemes or malformed ids. Null means InvalidACL (an empty
 * list included). One pass with no closures: every create runs it.
 */
export function fixupAcl(acl: readonly ACL[], authIds: readonly Id[]): ACL[] | null {
  const out: ACL[] = [];
  for (let i = 0; i < acl.length; i++) {
    const a = acl[i] as ACL;
    if (repeatsEarlier(acl, i)) continue;
    if (a.id.scheme === 'world' && a.id.id === 'anyone') {
      out.push(a);
    } else if (a.id.scheme === 'auth') {
      let added = false;
      for (const id of authIds) {
        if (id.scheme !== 'digest') continue; // only digest ids count as authenticated
        out.push({ perms: a.perms, id: { scheme: id.scheme, id: id.id } });
        added = true;
      }
      if (!added) return null;
    } else {
      if (!isValidAclId(a.id)) return null;
      out.push(a);
    }
  }
  return out.length === 0 ? null : out;
}

/** Whether `acl[i]` equals an entry before it (ZooKeeper removes duplicates first). */
function repeatsEarlier(acl: readonly ACL[], i: number): boolean {
  const a = acl[i] as ACL;
  for (let j = 0; j < i; j++) {
    const u = acl[j] as ACL;
    if (u.perms === a.perms && u.id.scheme === a.id.scheme && u.id.id === a.id.id) return true;
  }
  return false;
}

/** getACL for a client without ADMIN: digest hashes are hidden as ZooKeeper hides them. */
export function redactDigests(acl: readonly ACL[]): ACL[] {
  return acl.map((a) => (a.id.scheme === 'digest' ? { perms: a.perms, id: { scheme: 'digest', id: a.id.id.replace(/:.*/s, ':x') } } : a));
}

export const PERM_READ_OR_ADMIN = Perms.READ | Perms.ADMIN;
