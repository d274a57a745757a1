/**
 * What a microbenchmark is: a body that performs `n` calls of one operation, with untimed
 * work before and after each sample so that every sample starts from the same state (e.g. the
 * nodes a delete sample removes are created by its `prepare`, outside the timed window).
 */

/** A figure the issue asks for, shown beside the measurement (informational only). */
export interface Target {
  /** The mean ns per op to meet. */
  readonly ns: number;
  /** Shown in the summary, e.g. "Tree get <= 60 ns at 10^6". */
  readonly label: string;
}

interface CaseBase {
  readonly name: string;
  /** Ops one call performs (e.g. 64 frames per chunk); every figure is per op. Default 1. */
  readonly opsPerCall?: number;
  /** Most calls in one timed sample (default 65536): bounds sample time and the untimed fixture work. */
  readonly maxBatch?: number;
  /** Most calls in the allocation window (default 20000, fewer in --quick). */
  readonly maxAllocCalls?: number;
  readonly target?: Target;
  /** Untimed, before a sample of `n` calls. */
  prepare?(n: number): void;
  /** Untimed, after a sample of `n` calls: puts the fixture back as `prepare` found it. */
  cleanup?(n: number): void;
}

export interface SyncCase extends CaseBase {
  readonly async?: false;
  /** The timed body: `n` calls of the operation. */
  run(n: number): void;
}

/** A body that resolves once its `n` calls completed (e.g. appends made durable). */
export interface AsyncCase extends CaseBase {
  readonly async: true;
  run(n: number): Promise<void>;
}

export type MicroCase = SyncCase | AsyncCase;

/**
 * Cases that share a fixture. `setup` runs only if one of the cases passes --filter (so a
 * filtered run does not build a 10^6-node tree it never uses) and `teardown` drops the fixture
 * before the next suite builds its own.
 */
export interface Suite {
  readonly name: string;
  /** Where the measured code lives, for the table heading. */
  readonly source: string;
  readonly cases: readonly MicroCase[];
  setup?(): void;
  teardown?(): void;
}

/**
 * Results go here so the JIT cannot drop a call whose value is otherwise unused. A property
 * store on a module-level object is an observable effect; the value is never read for figures.
 */
export const sink: { value: unknown; n: number } = { value: undefined, n: 0 };

/** A value built once on first use and dropped by `clear()` (fixtures shared by a suite). */
export class Lazy<T> {
  private value: T | undefined;
  constructor(private readonly build: () => T) {}

  get(): T {
    this.value ??= this.build();
    return this.value;
  }

  clear(): void {
    this.value = undefined;
  }
}
