/**
 * What the durability suites need from the machine (root, strace, FUSE), checked up front:
 * a missing piece fails the suite with a message saying what to install, never skips it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { ServerProcess } from '../support/server-process.js';

export function requireRoot(why: string): void {
  if (process.getuid?.() !== 0) throw new Error(`this suite must run as root: ${why}`);
}

/** Runs `command args` and fails with `hint` unless it exits with 0. */
export function requireCommand(command: string, args: string[], hint: string): void {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 10000 });
  if (r.error !== undefined || r.status !== 0) {
    const why = r.error?.message ?? `exit code ${r.status}: ${r.stderr.trim()}`;
    throw new Error(`\`${command} ${args.join(' ')}\` failed (${why}); ${hint}`);
  }
}

export function requireFile(path: string, hint: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing; ${hint}`);
}

/** The pids of a process's children (the server under a wrapper such as strace). */
export function childPids(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

/** Sends `signal` to the server the wrapper runs (the wrapper itself may ignore it). */
export function signalWrapped(server: ServerProcess, signal: NodeJS.Signals): void {
  for (const pid of childPids(server.pid)) process.kill(pid, signal);
}

/** Resolves with `p`, or rejects after `ms` with `what` in the message. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
