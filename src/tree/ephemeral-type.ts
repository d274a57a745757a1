/**
 * ZooKeeper encodes special node types in ephemeralOwner (EphemeralType): containers use
 * 0x8000000000000000, TTL nodes 0xFF00000000000000 | ttl (when extended types are enabled).
 * Ordinary ephemerals hold their session id; persistent nodes 0.
 */
export const CONTAINER_EPHEMERAL_OWNER = -0x8000000000000000n;
const TTL_MASK = -0x0100000000000000n; // 0xFF00000000000000 as a signed long
const TTL_VALUE_MASK = 0x000000ffffffffffn;

export type NodeKind = 'persistent' | 'ephemeral' | 'container' | 'ttl';

export function ttlOwner(ttlMs: number): bigint {
  return BigInt.asIntN(64, TTL_MASK | BigInt(ttlMs));
}

export function nodeKind(owner: bigint, extendedTypesEnabled: boolean): NodeKind {
  if (owner === 0n) return 'persistent';
  if (owner === CONTAINER_EPHEMERAL_OWNER) return 'container';
  if (extendedTypesEnabled && (owner & TTL_MASK) === TTL_MASK) return 'ttl';
  return 'ephemeral';
}

export function ttlOf(owner: bigint): number {
  return Number(owner & TTL_VALUE_MASK);
}

/** What clients see as ephemeralOwner: 0 for containers and TTL nodes. */
export function clientEphemeralOwner(owner: bigint, extendedTypesEnabled: boolean): bigint {
  const kind = nodeKind(owner, extendedTypesEnabled);
  return kind === 'container' || kind === 'ttl' ? 0n : owner;
}
