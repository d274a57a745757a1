/** CPU time of another process, from Linux's /proc (used to report the server's CPU per op). */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's utime/stime; 100 on every Linux build this runs on. */
const CLK_TCK = 100;

/** User + system CPU seconds process `pid` has used so far, all its threads together. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // the command name (field 2) may hold spaces and parentheses: count fields after the last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, i.e. 12 and 13 after the name
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}
