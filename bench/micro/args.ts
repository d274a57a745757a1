/** Command-line options of bench/micro. */
import { parseArgs } from 'node:util';

export interface Options {
  /** Tiny time budgets and smaller trees: proves the suite runs (CI), figures are rough. */
  quick: boolean;
  /** Case-insensitive substring of "suite: benchmark"; null runs everything. */
  filter: string | null;
  /** One JSON line per benchmark on stdout instead of tables. */
  json: boolean;
  help: boolean;
}

export const USAGE = `usage: npm run bench:micro -- [options]
       node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 dist/bench/micro/main.js [options]
  --quick            tiny time budgets, trees of 10^4 / 10^5 nodes instead of 10^5 / 10^6 (CI smoke run)
  --filter TEXT      only benchmarks whose "suite: name" contains TEXT (case-insensitive)
  --json             one JSON line per benchmark on stdout (progress goes to stderr)
  --help             this text
Figures never fail the run: the exit status is 0 unless something throws.`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseOptions(argv: readonly string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean', default: false },
        filter: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { quick, filter, json, help } = parsed.values;
  if (filter?.trim() === '') throw new UsageError('--filter: expected some text');
  return { quick, filter: filter ?? null, json, help };
}
