/** The benchmark's key space: /bench-<runid> with nodes n0000.., created before and deleted after a run. */
import { type ACL, type JuteReader, ErrorCode, OpCode, readStat } from '../../src/codec/index.js';
import { type Encoded, Session, encode } from './session.js';

export const OPEN_ACL: ACL[] = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

export interface KeySpace {
  root: string;
  /** Paths of the pre-created nodes, each holding valueSize bytes. */
  nodes: string[];
  /** Parent for the create workload's short-lived nodes. */
  scratch: string;
}

export function newRunId(): string {
  return `${Date.now().toString(36)}-${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
}

export function keySpace(runId: string, nodeCount: number): KeySpace {
  const root = `/bench-${runId}`;
  const width = Math.max(4, String(nodeCount - 1).length);
  const nodes: string[] = [];
  for (let i = 0; i < nodeCount; i++) nodes.push(`${root}/n${String(i).padStart(width, '0')}`);
  return { root, nodes, scratch: `${root}/c` };
}

export function errName(code: number): string {
  for (const [k, v] of Object.entries(ErrorCode)) if (v === code) return k;
  return `error ${code}`;
}

/**
 * Sends `count` requests built by `make(i)` keeping up to `window` in flight; rejects on the
 * first reply whose error is not OK or listed in `allowed`.
 */
export function pipeline(
  s: Session,
  count: number,
  make: (i: number) => Encoded,
  window = 512,
  allowed: readonly number[] = [],
  onReply?: (i: number, err: number, body: JuteReader) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let done = 0;
    let failed = false;
    s.onFailure = (e) => {
      failed = true;
      reject(e);
    };
    const pump = (): void => {
      while (!failed && next < count && s.inFlight < window) {
        const i = next++;
        const req = make(i);
        s.send(req, (err, body) => {
          if (failed) return;
          if (err !== ErrorCode.OK && !allowed.includes(err)) {
            failed = true;
            reject(new Error(`setup/teardown request ${i} (op ${req.op}): ${errName(err)}`));
            return;
          }
          if (onReply) onReply(i, err, body);
          if (++done === count) resolve();
          else pump();
        });
      }
    };
    if (count === 0) resolve();
    else pump();
  });
}

function createReq(path: string, data: Buffer | null): Encoded {
  return encode({ op: OpCode.create, path, data, acl: OPEN_ACL, flags: 0 });
}

export async function createKeySpace(s: Session, ks: KeySpace, value: Buffer, withScratch: boolean): Promise<void> {
  await pipeline(s, 1, () => createReq(ks.root, null));
  const extra = withScratch ? [ks.scratch] : [];
  await pipeline(s, extra.length, (i) => createReq(extra[i]!, null));
  await pipeline(s, ks.nodes.length, (i) => createReq(ks.nodes[i]!, value));
}

function getChildren(s: Session, path: string): Promise<string[]> {
  let out: string[] = [];
  return pipeline(
    s,
    1,
    () => encode({ op: OpCode.getChildren, path, watch: false }),
    1,
    [ErrorCode.NONODE],
    (_i, err, body) => {
      if (err === ErrorCode.OK) out = body.readStrings();
    },
  ).then(() => out);
}

/** Deletes `path` and everything under it (nodes already gone are fine). */
export async function deleteTree(s: Session, path: string): Promise<void> {
  const children = (await getChildren(s, path)).map((c) => `${path}/${c}`);
  const numChildren = new Array<number>(children.length).fill(0);
  await pipeline(
    s,
    children.length,
    (i) => encode({ op: OpCode.exists, path: children[i]!, watch: false }),
    512,
    [ErrorCode.NONODE],
    (i, err, body) => {
      if (err === ErrorCode.OK) numChildren[i] = readStat(body).numChildren;
    },
  );
  const leaves: string[] = [];
  for (let i = 0; i < children.length; i++) {
    if (numChildren[i]! > 0) await deleteTree(s, children[i]!);
    else leaves.push(children[i]!);
  }
  await pipeline(s, leaves.length, (i) => encode({ op: OpCode.delete, path: leaves[i]!, version: -1 }), 512, [ErrorCode.NONODE]);
  await pipeline(s, 1, () => encode({ op: OpCode.delete, path, version: -1 }), 1, [ErrorCode.NONODE]);
}
