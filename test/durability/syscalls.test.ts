/**
 * Durability at the system-call level: the real server (forceSync=yes, the default) runs under
 * `strace -f` while the crash model's load runs for a few seconds (test/support/crash-run.ts
 * with no fault: cycles of load, each checked on the running server; sessions created, closed,
 * abandoned and expired; creates, sequential creates, setData, setACL, deletes, multis,
 * ephemerals, TTL nodes, containers); afterwards reply-durability.ts checks in the trace that
 * every reply the server sent on a socket, and every new session's ConnectResponse, left only
 * after the log write carrying its txn was durable (O_DSYNC descriptor, or an fsync/fdatasync
 * between the write's return and the send), that every log file was opened with O_DSYNC, and
 * that each reply the load's clients got is in the trace with the zxid and error they were told.
 *
 * Negative controls: the same load with forceSync=no must make the checker flag every reply
 * (the log then has no O_DSYNC and no fsync), and hand-made traces show that the checker
 * reads split `<unfinished ...>` calls and the fdatasync path right.
 *
 * Needs strace (Debian package `strace`) and permission to ptrace (root, or CAP_SYS_PTRACE). Seeded load
 * (ZEPHYR_STRACE_SEED=<seed> replays the plan); ZEPHYR_STRACE_LOAD_MS sets the load's length.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SeededRandom } from '../../src/base/index.js';
import { OpCode } from '../../src/codec/index.js';
import { encodeTxnRecord, logFileHeader } from '../../src/storage/format.js';
import { CRASH_RUN_CONFIG, CrashRun, type Fault, type Restarted } from '../support/crash-run.js';
import { startOn } from '../support/data-dir.js';
import { RawClient } from '../support/raw-client.js';
import type { ServerProcess } from '../support/server-process.js';
import { requireCommand, signalWrapped, within } from './durability-support.js';
import { checkReplyDurability, type Ack, type DurabilityReport } from './reply-durability.js';
import { parseStrace } from './strace-log.js';

const SEED = Number(process.env['ZEPHYR_STRACE_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const LOAD_MS = Number(process.env['ZEPHYR_STRACE_LOAD_MS'] ?? 3000);
const TRACED_CALLS = [
  'open',
  'openat',
  'close',
  'accept',
  'accept4',
  'write',
  'pwrite64',
  'writev',
  'pwritev',
  'pwritev2',
  'fsync',
  'fdatasync',
  'ftruncate',
  'sendto',
  'sendmsg',
  'io_uring_setup',
];

process.stdout.write(`# syscall durability seed ${SEED} (rerun with ZEPHYR_STRACE_SEED=${SEED})\n`);

interface TracedRun {
  report: DurabilityReport;
  acks: Ack[];
  run: CrashRun;
}

/** No fault: the load stops and the same traced server runs on, so that one trace holds the whole run. */
class LoadStop implements Fault {
  readonly name = 'load stops';
  server: ServerProcess | null = null;
  private stoppedAt = 0;

  constructor(
    private readonly dataDir: string,
    private readonly forceSync: 'yes' | 'no',
    private readonly traceFile: string,
  ) {}

  async start(): Promise<ServerProcess> {
    const strace = ['strace', '-f', '-ttt', '-T', '-xx', '-s', '16777216', '--seccomp-bpf', '-e', `trace=${TRACED_CALLS.join(',')}`];
    const config = { ...CRASH_RUN_CONFIG, forceSync: this.forceSync, snapCount: '200', preAllocSize: '16' };
    this.server = await startOn(this.dataDir, config, { wrapper: [...strace, '-o', this.traceFile, '--'], listenTimeoutMs: 30000 });
    return this.server;
  }

  strike(): Promise<void> {
    this.stoppedAt = Date.now();
    return Promise.resolve();
  }

  /** The sessions were never away from their server: their timeouts ran on through the stop. */
  restart(): Promise<Restarted> {
    if (this.server === null) return Promise.reject(new Error('no server started'));
    return Promise.resolve({ server: this.server, sessionClockFrom: this.stoppedAt, struckDuringStartup: false });
  }
}

/**
 * Sessions opened and closed one after another beside the load, so that ConnectResponses and
 * closeSession replies leave while other sessions' txns are being logged (the load's own
 * sessions start between its cycles). They write nothing, so the crash model does not see them.
 */
async function churnSessions(server: ServerProcess, acks: Ack[], running: () => boolean): Promise<void> {
  while (running()) {
    const c = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 4000 });
    acks.push({ kind: 'session', sessionId: c.sessionId });
    const r = await c.close();
    acks.push({ kind: 'reply', sessionId: c.sessionId, xid: r.xid, zxid: r.zxid, err: r.err, what: 'closeSession' });
  }
}

/** Runs the server under strace with the load, stops it, and checks the trace. */
async function tracedRun(dir: string, forceSync: 'yes' | 'no'): Promise<TracedRun> {
  const traceFile = path.join(dir, `trace-${forceSync}.txt`);
  const dataDir = path.join(dir, `data-${forceSync}`);
  const acks: Ack[] = [];
  const fault = new LoadStop(dataDir, forceSync, traceFile);
  const run = new CrashRun({
    seed: SEED,
    plan: new SeededRandom(SEED),
    dataDir,
    fault,
    onSession: (sessionId) => acks.push({ kind: 'session', sessionId }),
    onReply: (r) => acks.push({ kind: 'reply', ...r }),
  });
  try {
    await run.start();
    const started = Date.now();
    const churning = churnSessions(run.server, acks, () => Date.now() - started < LOAD_MS);
    churning.catch(() => undefined); // awaited below: a failed cycle must not leave its rejection unhandled
    for (let cycle = 0; Date.now() - started < LOAD_MS; cycle++) await run.cycle(cycle);
    await churning;
    await run.finish();
    signalWrapped(run.server, 'SIGTERM');
    const exit = await within(20000, 'the traced server to exit', run.server.exited);
    assert.equal(exit.code, 0, `the traced server exited with ${exit.code} / ${exit.signal}:\n${run.server.output()}`);
  } finally {
    if (fault.server?.alive() === true) signalWrapped(fault.server, 'SIGKILL');
    await run.dispose();
  }
  const report = checkReplyDurability(parseStrace(readFileSync(traceFile, 'latin1')), forceSync === 'yes', acks);
  return { report, acks, run };
}

function figures(r: DurabilityReport): string {
  const f = r.figures;
  return (
    `${f.syscalls} system calls traced: ${f.logWrites} writes and ${f.logSyncs} fsyncs to ${f.logFiles} txn logs ` +
    `(${f.records} records), ${f.sends} socket sends; ${f.repliesChecked} replies checked against the log, ` +
    `${f.clientRepliesChecked} of them replies the load's clients got, ${f.sessionsChecked} sessions`
  );
}

describe('replies leave only after their txn is durable (strace)', { timeout: 90000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zephyr-strace-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  before(() => {
    requireCommand(
      'strace',
      ['-f', '-o', '/dev/null', 'true'],
      'install the Debian package strace, and allow ptrace (run as root or with CAP_SYS_PTRACE)',
    );
  });

  test('forceSync=yes: every reply follows the durable write of its txn; the log is opened with O_DSYNC', { timeout: 60000 }, async (t) => {
    const started = Date.now();
    const { report, acks, run } = await tracedRun(dir, 'yes');
    run.report(t, Date.now() - started);
    t.diagnostic(figures(report));
    assert.deepEqual(report.violations.slice(0, 20), [], `${report.violations.length} violations (seed ${SEED})`);
    const replies = acks.filter((a) => a.kind === 'reply').length;
    assert.equal(report.figures.clientRepliesChecked, replies, 'every reply the clients got is in the trace');
    assert.equal(report.figures.sessionsChecked, acks.length - replies);
    assert.ok(run.stats.totalAcked() >= 200, `only ${run.stats.totalAcked()} writes acknowledged: the load is too small to mean much`);
    assert.ok(report.figures.logFiles >= 2, 'the log rolled at least once');
  });

  test('negative control, forceSync=no: the checker flags every reply', { timeout: 60000 }, async (t) => {
    const { report } = await tracedRun(dir, 'no');
    t.diagnostic(figures(report));
    t.diagnostic(`first violation: ${report.violations[0]}`);
    const flagged = report.violations.filter((v) => v.includes('never became durable'));
    assert.ok(report.figures.repliesChecked >= 200);
    assert.equal(
      flagged.length,
      report.figures.repliesChecked,
      'every reply and ConnectResponse is flagged as sent before its txn was durable',
    );
    assert.match(flagged[0] ?? '', /without O_DSYNC \(O_WRONLY\|O_CREAT\|O_TRUNC\|O_CLOEXEC\)/);
  });

  test('the checker joins split calls and honours fdatasync (hand-made traces)', () => {
    const bad = checkReplyDurability(parseStrace(handMadeTrace({ dsync: true, sendBeforeWriteReturns: true })), true);
    assert.equal(bad.violations.length, 1, bad.violations.join('\n'));
    assert.match(bad.violations[0] ?? '', /^reply zxid 0x5 .* before its record \(log\.1 offset \d+\) became durable on line 9/);
    const good = checkReplyDurability(parseStrace(handMadeTrace({ dsync: true, sendBeforeWriteReturns: false })), true);
    assert.deepEqual(good.violations, []);
    assert.equal(good.figures.repliesChecked, 2);
    const synced = checkReplyDurability(parseStrace(handMadeTrace({ dsync: false, syncBeforeSend: true })), false);
    assert.deepEqual(synced.violations, []);
    const late = checkReplyDurability(parseStrace(handMadeTrace({ dsync: false, syncBeforeSend: false })), false);
    assert.equal(late.violations.length, 1, late.violations.join('\n'));
    assert.match(late.violations[0] ?? '', /reply zxid 0x5 .* became durable on line \d+: pwrite64\(fd 21\).*then fdatasync\(fd 21\)/);
    const noDsync = checkReplyDurability(parseStrace(handMadeTrace({ dsync: false, syncBeforeSend: true })), true);
    assert.match(noDsync.violations.join('\n'), /txn log \/d\/version-2\/log\.1 \(fd 21\) opened without O_DSYNC/);
  });
});

function hex(b: Buffer): string {
  return `"${[...b].map((x) => `\\x${x.toString(16).padStart(2, '0')}`).join('')}"`;
}

/**
 * A trace of a session created (zxid 1) and one setData (zxid 5) answered, with a
 * log on fd 21 and the client on fd 23. With `dsync` the log is O_DSYNC and the setData's
 * write is split by the reply's send (before or after the write returns); without, a
 * fdatasync follows the write, before or after the send.
 */
function handMadeTrace(o: { dsync: boolean; sendBeforeWriteReturns?: boolean; syncBeforeSend?: boolean }): string {
  const session = 0x1234n;
  const create = encodeTxnRecord(
    { clientId: session, cxid: 0, zxid: 1, time: 0, type: OpCode.createSession },
    { type: OpCode.createSession, timeOut: 4000 },
  );
  const set = encodeTxnRecord(
    { clientId: session, cxid: 1, zxid: 5, time: 0, type: OpCode.setData },
    { type: OpCode.setData, path: '/a', data: Buffer.from('x'), version: 0 },
  );
  const connect = Buffer.alloc(41);
  connect.writeInt32BE(37, 0);
  connect.writeInt32BE(4000, 8);
  connect.writeBigInt64BE(session, 12);
  connect.writeInt32BE(16, 20);
  const reply = Buffer.alloc(20 + 4);
  reply.writeInt32BE(20, 0);
  reply.writeInt32BE(1, 4);
  reply.writeBigInt64BE(5n, 8);
  const flags = o.dsync ? 'O_WRONLY|O_CREAT|O_TRUNC|O_DSYNC|O_CLOEXEC' : 'O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC';
  const at = 16 + create.length;
  const lines = [
    `100 1.000000 openat(AT_FDCWD, ${hex(Buffer.from('/d/version-2/log.1'))}, ${flags}, 0666) = 21 <0.000010>`,
    `100 1.000100 accept4(19, NULL, NULL, SOCK_CLOEXEC|SOCK_NONBLOCK) = 23 <0.000010>`,
    `101 1.000200 pwrite64(21, ${hex(logFileHeader())}, 16, 0) = 16 <0.000010>`,
    `101 1.000300 pwrite64(21, ${hex(create)}, ${create.length}, 16) = ${create.length} <0.000010>`,
    `101 1.000350 fdatasync(21) = 0 <0.000010>`,
    `100 1.000400 write(23, ${hex(connect)}, ${connect.length}) = ${connect.length} <0.000010>`,
  ];
  const write = `pwrite64(21, ${hex(set)}, ${set.length}, ${at}`;
  const send = `100 1.000600 write(23, ${hex(reply)}, ${reply.length}) = ${reply.length} <0.000010>`;
  const sync = '101 1.000800 fdatasync(21) = 0 <0.000010>';
  if (o.dsync && o.sendBeforeWriteReturns === true)
    lines.push(`101 1.000500 ${write} <unfinished ...>`, send, `101 1.000700 <... pwrite64 resumed>) = ${set.length} <0.000200>`);
  else if (o.dsync)
    lines.push(`101 1.000500 ${write} <unfinished ...>`, `101 1.000550 <... pwrite64 resumed>) = ${set.length} <0.000050>`, send);
  else lines.push(`101 1.000500 ${write}) = ${set.length} <0.000010>`, ...(o.syncBeforeSend === true ? [sync, send] : [send, sync]));
  return lines.join('\n') + '\n';
}
