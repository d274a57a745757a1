/**
 * Reads the output of `strace -f -ttt -T -xx -o FILE` into system calls.
 *
 * Each line is `PID SECONDS.MICROS call(args) = result <duration>`. A call that another thread's
 * event interrupts in the output is split into `call(args <unfinished ...>` and, later,
 * `<... call resumed>rest) = result <duration>`; the two halves are joined here. strace
 * handles one ptrace stop at a time and prints a call's line (or its first half) when it meets
 * the call's entry or exit, so the order of lines is an order of events: a call whose
 * completion is printed on line i finished before any call whose first line comes after i
 * was entered (the traced thread stays stopped at its exit until strace has printed it).
 * `begin` and `end` are those line numbers; `beginTs`/`endTs` the wall clock, for messages.
 */

export interface Syscall {
  pid: number;
  name: string;
  /** Top-level arguments as printed (strings still quoted). */
  args: string[];
  /** The return value (-1 on error; NaN for `?`). */
  ret: number;
  errno: string | null;
  /** 1-based line where the call starts (its whole line, or its `<unfinished ...>` half). */
  begin: number;
  /** 1-based line where its result is printed. */
  end: number;
  beginTs: number;
  endTs: number;
}

interface Pending {
  name: string;
  text: string;
  begin: number;
  beginTs: number;
}

const LINE = /^(\d+) +(\d+\.\d+) (.*)$/;
const UNFINISHED = ' <unfinished ...>';
const RESUMED = /^<\.\.\. ([a-z0-9_]+) resumed>(.*)$/;
const START = /^([a-z0-9_]+)\((.*)$/;

export function parseStrace(text: string): Syscall[] {
  const out: Syscall[] = [];
  const pending = new Map<number, Pending>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = LINE.exec(lines[i] ?? '');
    if (m === null) continue;
    const pid = Number(m[1]);
    const ts = Number(m[2]);
    const rest = m[3] ?? '';
    const line = i + 1;
    if (rest.startsWith('---') || rest.startsWith('+++')) continue;
    const resumed = RESUMED.exec(rest);
    if (resumed !== null) {
      const p = pending.get(pid);
      if (p === undefined || p.name !== resumed[1])
        throw new Error(`strace line ${line}: "${rest.slice(0, 80)}" resumes no call of ${pid}`);
      pending.delete(pid);
      out.push(complete(pid, p.name, p.text + (resumed[2] ?? ''), p.begin, p.beginTs, line, ts));
      continue;
    }
    const started = START.exec(rest);
    if (started === null) continue;
    const name = started[1] ?? '';
    const body = started[2] ?? '';
    if (body.endsWith(UNFINISHED)) {
      pending.set(pid, { name, text: body.slice(0, -UNFINISHED.length), begin: line, beginTs: ts });
      continue;
    }
    out.push(complete(pid, name, body, line, ts, line, NaN));
  }
  return out;
}

/** `text` is everything after `name(`: the arguments, `) = result`, and ` <duration>`. */
function complete(pid: number, name: string, text: string, begin: number, beginTs: number, end: number, endTs: number): Syscall {
  // strace pads short calls with spaces before the `=`
  let at = -1;
  let result = '';
  for (const m of text.matchAll(/\) += /g)) {
    at = m.index;
    result = text.slice(at + m[0].length);
  }
  if (at < 0) throw new Error(`strace line ${begin}: no result in ${name}(${text.slice(0, 80)}`);
  const m = /^(-?\d+|\?)(?: ([A-Z0-9_]+) \([^)]*\))?(?: <(\d+\.\d+)>)?/.exec(result);
  if (m === null) throw new Error(`strace line ${begin}: unreadable result "${result}" of ${name}`);
  const ret = m[1] === '?' ? NaN : Number(m[1]);
  const duration = m[3] === undefined ? 0 : Number(m[3]);
  return {
    pid,
    name,
    args: splitArgs(text.slice(0, at)),
    ret,
    errno: m[2] ?? null,
    begin,
    end,
    beginTs,
    endTs: Number.isNaN(endTs) ? beginTs + duration : endTs,
  };
}

/** Splits an argument list at the commas outside strings, braces and brackets. */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let inString = false;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '(' || ch === '{' || ch === '[') depth++;
    else if (ch === ')' || ch === '}' || ch === ']') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(text.slice(from, i).trim());
      from = i + 1;
    }
  }
  const last = text.slice(from).trim();
  if (last !== '' || out.length > 0) out.push(last);
  return out;
}

const SIMPLE_ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, '\\': 92, '"': 34 };

/**
 * Decodes a quoted strace string (`"\x2f\x74..."`, or with plain characters and C escapes).
 * A string strace cut short (`"..."...`) is an error: the checks need every byte.
 */
export function decodeString(arg: string): Buffer {
  if (!arg.startsWith('"')) throw new Error(`not a string argument: ${arg.slice(0, 40)}`);
  const bytes: number[] = [];
  let i = 1;
  for (; i < arg.length && arg[i] !== '"'; i++) {
    const ch = arg[i] ?? '';
    if (ch !== '\\') {
      bytes.push(ch.charCodeAt(0));
      continue;
    }
    const next = arg[++i] ?? '';
    if (next === 'x') {
      bytes.push(parseInt(arg.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (/[0-7]/.test(next)) {
      const oct = /^[0-7]{1,3}/.exec(arg.slice(i))?.[0] ?? '0';
      bytes.push(parseInt(oct, 8));
      i += oct.length - 1;
    } else {
      const code = SIMPLE_ESCAPES[next];
      if (code === undefined) throw new Error(`unknown escape \\${next} in strace string`);
      bytes.push(code);
    }
  }
  if (arg.slice(i + 1).startsWith('...')) throw new Error('strace cut a string short: raise its -s limit');
  return Buffer.from(bytes);
}

/** The buffers of an iovec array argument (`[{iov_base="...", iov_len=N}, ...]`), in order. */
export function decodeIovecs(arg: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of arg.matchAll(/iov_base=("(?:[^"\\]|\\.)*"(?:\.\.\.)?)/g)) out.push(decodeString(m[1] ?? ''));
  return out;
}
