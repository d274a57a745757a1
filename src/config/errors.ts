/** Where a value came from, so errors and warnings can point at it. */
export interface Where {
  readonly key?: string;
  readonly file?: string;
  readonly line?: number;
}

/** `file:line: ` (or `file: `), then `key: ` when known — the shape editors and humans both jump to. */
export function locate(where: Where): string {
  const file = where.file === undefined ? '' : where.line === undefined ? `${where.file}: ` : `${where.file}:${where.line}: `;
  return where.key === undefined ? file : `${file}${where.key}: `;
}

/** A bad setting. The message names the file, line and key so the operator can fix it without guessing. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly key: string | undefined;
  readonly file: string | undefined;
  readonly line: number | undefined;

  constructor(detail: string, where: Where) {
    super(locate(where) + detail);
    this.key = where.key;
    this.file = where.file;
    this.line = where.line;
  }
}

export function fail(where: Where, detail: string): never {
  throw new ConfigError(detail, where);
}

/**
 * A membership ZooKeeper's parser refuses with an IllegalArgumentException rather than a
 * ConfigException (observers without participants, and the like): at start-up both stop the
 * server, but a reconfig asking for such a membership is answered MARSHALLINGERROR, not
 * BADARGUMENTS.
 */
export class MembershipRuleError extends ConfigError {}

export function failRule(where: Where, detail: string): never {
  throw new MembershipRuleError(detail, where);
}
