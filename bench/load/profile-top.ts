/**
 * The hottest functions of a V8 .cpuprofile (from `node --cpu-prof`), as shares of the
 * non-idle time, by self time and by inclusive time:
 *
 *   node dist/bench/load/profile-top.js FILE.cpuprofile [TOP]
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function main(): void {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: profile-top.js FILE.cpuprofile [TOP]\n');
    process.exit(2);
  }
  const top = Number(process.argv[3] ?? 25);
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n: ProfileNode): string => {
    const f = n.callFrame;
    const where = f.url === '' ? '' : ` ${f.url.replace(/^.*\/dist\//, '').replace(/^file:\/\//, '')}:${f.lineNumber + 1}`;
    return `${f.functionName === '' ? '(anonymous)' : f.functionName}${where}`;
  };
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  let total = 0;
  let idle = 0;
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    total += us;
    if (node.callFrame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const k = name(node);
    self.set(k, (self.get(k) ?? 0) + us);
    const seen = new Set<string>();
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      const n = byId.get(x)!;
      if (n.callFrame.functionName === '(root)') continue;
      const kk = name(n);
      if (seen.has(kk)) continue;
      seen.add(kk);
      incl.set(kk, (incl.get(kk) ?? 0) + us);
    }
  }
  const busy = total - idle;
  const out: string[] = [`${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (shares below are of busy time)`];
  const list = (title: string, m: Map<string, number>): void => {
    out.push(title);
    for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top))
      out.push(`${((100 * us) / busy).toFixed(1).padStart(6)} %  ${k}`);
  };
  list('self:', self);
  list('inclusive:', incl);
  process.stdout.write(out.join('\n') + '\n');
}

main();
