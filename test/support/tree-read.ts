/**
 * Reads a whole subtree over a client, as the crash model checks it after a restart: every
 * node with its data, Stat, children and (where asked for) ACL.
 */
import { ErrorCode, type ACL, type Stat } from '../../src/codec/index.js';
import type { RawClient } from './raw-client.js';

/** One node as read: its data (as text), Stat, sorted children and, when asked for, its ACL. */
export interface NodeRead {
  stat: Stat;
  data: string;
  children: string[];
  acl: ACL[] | null;
}
export type TreeRead = Map<string, NodeRead>;

/** Nodes read at once: each costs up to three pipelined requests. */
const READ_BATCH = 400;

/**
 * Reads `root` and everything below it, level by level: every node's data, Stat and children
 * (so nothing under root escapes a check), and its ACL where `withAcl` says. A node removed
 * while the read runs (a reaped node, an expired session's ephemeral) is left out.
 */
export async function readTree(c: RawClient, root: string, withAcl: (path: string) => boolean): Promise<TreeRead> {
  const tree: TreeRead = new Map();
  let level = [root];
  while (level.length > 0) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += READ_BATCH) {
      const batch = level.slice(i, i + READ_BATCH);
      const reads = await Promise.all(batch.map((p) => readNode(c, p, withAcl(p))));
      batch.forEach((p, j) => {
        const r = reads[j];
        if (r === undefined || r === null) return;
        tree.set(p, r);
        for (const name of r.children) next.push(`${p === '/' ? '' : p}/${name}`);
      });
    }
    level = next;
  }
  return tree;
}

async function readNode(c: RawClient, path: string, withAcl: boolean): Promise<NodeRead | null> {
  const [d, ch, a] = await Promise.all([c.getData(path), c.getChildren(path), withAcl ? c.getACL(path) : null]);
  const errs = [d.err, ch.err, a?.err ?? 0];
  if (errs.includes(ErrorCode.NONODE)) return null;
  if (errs.some((e) => e !== 0) || d.stat === undefined) throw new Error(`reading ${path}: errors ${errs.join(', ')}`);
  return { stat: d.stat, data: d.data?.toString() ?? '', children: [...(ch.children ?? [])].sort(), acl: a?.acl ?? null };
}
