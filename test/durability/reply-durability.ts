/**
 * Checks, from a server's system calls (strace-log.ts), that every reply it sent on a socket
 * went out only after the txn it reports was durable in the txn log.
 *
 * The descriptor table is replayed in line order (openat/accept4 add a descriptor when they
 * return, close drops it when entered), so each call is tied to the file or socket its
 * descriptor meant at the time. The bytes written to each `version-2/log.<zxid>` file are laid
 * over an image of the file; the records in the image (ZooKeeper's layout: long checksum, int
 * length, entry, 'B'; the entry starts with the TxnHeader: long clientId, int cxid, long zxid,
 * long time, int type) give each zxid the write calls that put its bytes there. A write is
 * durable when it returns if its descriptor was opened with O_DSYNC (or O_SYNC); otherwise once
 * an fsync/fdatasync of the same file, started after the write returned, has returned. The
 * bytes sent on each accepted socket are split into frames: the first is the ConnectResponse
 * (its session id), the rest are replies (xid, zxid, err). For every reply with a zxid (a write
 * or a read: a read reports the last applied zxid, which must be durable too), the record
 * carrying that zxid must have become durable on an earlier line than the one where the send
 * carrying the reply's first byte started; for a ConnectResponse, the record of its session's
 * createSession txn. With `expectDsync`, every log file must be opened with O_DSYNC.
 */
import { decodeIovecs, decodeString, type Syscall } from './strace-log.js';

/** What a client was told by the server: a session created, or a reply to a request (any error code). */
export type Ack =
  { kind: 'session'; sessionId: bigint } | { kind: 'reply'; sessionId: bigint; xid: number; zxid: number; err: number; what: string };

export interface DurabilityReport {
  violations: string[];
  figures: {
    syscalls: number;
    logFiles: number;
    logWrites: number;
    logSyncs: number;
    records: number;
    sends: number;
    /** Replies with a zxid (writes and reads) and ConnectResponses checked against the log. */
    repliesChecked: number;
    /** Replies the clients were told of (to writes and reads), found in the trace and checked. */
    clientRepliesChecked: number;
    /** Sessions whose creation the clients were told of, found in the trace and checked. */
    sessionsChecked: number;
  };
}

interface OpenFile {
  fd: number;
  kind: 'file' | 'socket';
  path: string;
  flags: string;
  image: LogImage | null;
}

interface LogImage {
  path: string;
  bytes: Buffer;
  /** For each byte, the write call that last wrote it. */
  writers: Array<Syscall | undefined>;
  syncs: Syscall[];
}

interface LogRecord {
  zxid: number;
  clientId: bigint;
  type: number;
  where: string;
  /** Line on which the record became durable; null if it never did. */
  durableAt: number | null;
  /** How it became durable, or why it did not (for messages). */
  how: string;
}

interface Reply {
  socket: OpenFile;
  sessionId: bigint;
  connect: boolean;
  xid: number;
  zxid: number;
  err: number;
  send: Syscall;
}

const LOG_FILE = /\/version-2\/log\.[0-9a-f]+$/;
const SYNCED_OPEN = /\bO_(D)?SYNC\b/;
const FD_CALLS = new Set(['write', 'pwrite64', 'writev', 'pwritev', 'pwritev2', 'fsync', 'fdatasync', 'sendmsg', 'sendto', 'close']);
const SEND_CALLS = new Set(['write', 'writev', 'sendmsg', 'sendto']);
const LOG_WRITES = new Set(['pwrite64', 'pwritev', 'pwritev2']);
const CREATE_SESSION = -10;
const NOTIFICATION_XID = -1;
const LOG_HEADER_BYTES = 16;

export function checkReplyDurability(calls: readonly Syscall[], expectDsync: boolean, acks: readonly Ack[] = []): DurabilityReport {
  const violations: string[] = [];
  const ioUring = calls.find((c) => c.name === 'io_uring_setup' && c.ret >= 0);
  if (ioUring !== undefined)
    violations.push(`the server set up io_uring (line ${ioUring.begin}): its file writes would not show as system calls`);
  const { fileOf, files } = replayDescriptors(calls);
  const logFiles = files.filter((f) => f.image !== null);
  const inOrder = [...calls].sort((a, b) => a.begin - b.begin);
  const logCalls = layLogWrites(inOrder, fileOf, violations);
  const records = readRecords(new Set(logFiles.flatMap((f) => (f.image === null ? [] : [f.image]))), fileOf, violations);
  const { replies, sends } = readReplies(inOrder, fileOf, violations);

  const labels = new Map<string, string>();
  for (const a of acks) if (a.kind === 'reply') labels.set(`${a.sessionId}:${a.xid}`, a.what);
  let repliesChecked = 0;
  for (const r of replies) {
    if (!r.connect && (r.xid === NOTIFICATION_XID || r.zxid <= 0)) continue;
    if (r.connect && r.sessionId === 0n) continue; // an expired session's answer: no txn
    const record = r.connect ? records.sessions.get(r.sessionId) : records.byZxid.get(r.zxid);
    repliesChecked++;
    const what = r.connect
      ? `ConnectResponse of session 0x${r.sessionId.toString(16)}`
      : `reply zxid 0x${r.zxid.toString(16)} (session 0x${r.sessionId.toString(16)}, xid ${r.xid}${labelOf(labels, r)})`;
    const sent = `sent by ${describe(r.send, r.socket)}`;
    if (record === undefined)
      violations.push(`${what} ${sent}, but no write to a txn log carries ${r.connect ? 'its createSession txn' : 'that zxid'}`);
    else if (record.durableAt === null)
      violations.push(`${what} ${sent}, but its record (${record.where}) never became durable: ${record.how}`);
    else if (record.durableAt >= r.send.begin)
      violations.push(`${what} ${sent}, before its record (${record.where}) became durable on line ${record.durableAt}: ${record.how}`);
  }
  const matched = matchClientAcks(acks, replies, violations);
  // last, so that a failure's first lines show replies
  if (expectDsync) {
    for (const f of logFiles)
      if (!SYNCED_OPEN.test(f.flags))
        violations.push(`txn log ${f.path} (fd ${f.fd}) opened without O_DSYNC (flags ${f.flags}) although forceSync=yes`);
  }
  return {
    violations,
    figures: {
      syscalls: calls.length,
      logFiles: logFiles.length,
      logWrites: logCalls.writes,
      logSyncs: logCalls.syncs,
      records: records.byZxid.size,
      sends,
      repliesChecked,
      clientRepliesChecked: matched.replies,
      sessionsChecked: matched.sessions,
    },
  };
}

function labelOf(labels: Map<string, string>, r: Reply): string {
  const what = labels.get(`${r.sessionId}:${r.xid}`);
  return what === undefined ? '' : `, ${what}`;
}

function describe(call: Syscall, file: OpenFile | undefined): string {
  const fd = file === undefined ? call.args[0] : `fd ${file.fd}`;
  const lines = call.begin === call.end ? `line ${call.begin}` : `lines ${call.begin}-${call.end}`;
  return `${call.name}(${fd}) on ${lines} (${call.beginTs.toFixed(6)}-${call.endTs.toFixed(6)})`;
}

/** Which open file each call's descriptor meant when the call was entered. */
function replayDescriptors(calls: readonly Syscall[]): { fileOf: Map<Syscall, OpenFile>; files: OpenFile[] } {
  const events: Array<{ line: number; exit: boolean; call: Syscall }> = [];
  for (const call of calls) events.push({ line: call.begin, exit: false, call }, { line: call.end, exit: true, call });
  events.sort((a, b) => a.line - b.line || Number(a.exit) - Number(b.exit));
  const fds = new Map<number, OpenFile>();
  const fileOf = new Map<Syscall, OpenFile>();
  const files: OpenFile[] = [];
  const images = new Map<string, LogImage>();
  for (const { exit, call } of events) {
    if (!exit) {
      if (!FD_CALLS.has(call.name)) continue;
      const fd = Number(call.args[0]);
      const file = fds.get(fd);
      if (file !== undefined) fileOf.set(call, file);
      if (call.name === 'close') fds.delete(fd);
      continue;
    }
    if (call.ret < 0 || Number.isNaN(call.ret)) continue;
    let opened: OpenFile | null = null;
    if (call.name === 'openat' || call.name === 'open') {
      const at = call.name === 'openat' ? 1 : 0;
      const path = decodeString(call.args[at] ?? '').toString('latin1');
      const flags = call.args[at + 1] ?? '';
      opened = { fd: call.ret, kind: 'file', path, flags, image: null };
      if (LOG_FILE.test(path)) {
        // a file created (O_TRUNC) anew starts a new image; reopening one continues it
        let image = images.get(path);
        if (image === undefined || /\bO_TRUNC\b/.test(flags)) {
          image = { path, bytes: Buffer.alloc(0), writers: [], syncs: [] };
          images.set(path, image);
        }
        opened.image = image;
      }
    } else if (call.name === 'accept4' || call.name === 'accept') {
      opened = { fd: call.ret, kind: 'socket', path: `socket fd ${call.ret}`, flags: '', image: null };
    }
    if (opened === null) continue;
    fds.set(call.ret, opened);
    files.push(opened);
  }
  return { fileOf, files };
}

/** Lays each write to a txn log over its file's image, and notes each fsync of a log. */
function layLogWrites(
  inOrder: readonly Syscall[],
  fileOf: Map<Syscall, OpenFile>,
  violations: string[],
): { writes: number; syncs: number } {
  let writes = 0;
  let syncs = 0;
  for (const call of inOrder) {
    const image = fileOf.get(call)?.image;
    if (image === undefined || image === null) continue;
    if (call.name === 'fsync' || call.name === 'fdatasync') {
      if (call.ret === 0) image.syncs.push(call);
      syncs++;
      continue;
    }
    if (call.name === 'write' || call.name === 'writev') {
      violations.push(`${call.name} without an offset to txn log ${image.path} on line ${call.begin}: not expected, not checked`);
      continue;
    }
    if (!LOG_WRITES.has(call.name) || call.ret <= 0) continue;
    writes++;
    const data = call.name === 'pwrite64' ? decodeString(call.args[1] ?? '') : Buffer.concat(decodeIovecs(call.args[1] ?? ''));
    const offset = Number(call.args[3]); // pwrite64(fd, buf, count, offset), pwritev(fd, iov, iovcnt, offset)
    const end = offset + call.ret;
    if (image.bytes.length < end) image.bytes = Buffer.concat([image.bytes, Buffer.alloc(end - image.bytes.length)]);
    data.copy(image.bytes, offset, 0, call.ret);
    for (let i = offset; i < end; i++) image.writers[i] = call;
  }
  return { writes, syncs };
}

/** The records in every log image, by zxid, and the createSession records by session id. */
function readRecords(
  images: ReadonlySet<LogImage>,
  fileOf: Map<Syscall, OpenFile>,
  violations: string[],
): { byZxid: Map<number, LogRecord>; sessions: Map<bigint, LogRecord> } {
  const byZxid = new Map<number, LogRecord>();
  const sessions = new Map<bigint, LogRecord>();
  for (const image of images) {
    const buf = image.bytes;
    for (let pos = LOG_HEADER_BYTES; pos + 12 <= buf.length;) {
      const len = buf.readInt32BE(pos + 8);
      if (len <= 0 || pos + 12 + len + 1 > buf.length) break;
      const entry = pos + 12;
      const record: LogRecord = {
        clientId: buf.readBigInt64BE(entry),
        zxid: Number(buf.readBigInt64BE(entry + 12)),
        type: buf.readInt32BE(entry + 28),
        where: `${image.path.slice(image.path.lastIndexOf('/') + 1)} offset ${pos}`,
        ...durability(image, pos, entry + len + 1, fileOf),
      };
      if (byZxid.has(record.zxid)) violations.push(`zxid 0x${record.zxid.toString(16)} logged twice (${record.where})`);
      else byZxid.set(record.zxid, record);
      if (record.type === CREATE_SESSION) sessions.set(record.clientId, record);
      pos = entry + len + 1;
    }
  }
  return { byZxid, sessions };
}

/** When bytes [from, to) of a log became durable: the latest durable point of the writes that put them there. */
function durability(image: LogImage, from: number, to: number, fileOf: Map<Syscall, OpenFile>): { durableAt: number | null; how: string } {
  const writes = new Set<Syscall>();
  for (let i = from; i < to; i++) {
    const w = image.writers[i];
    if (w !== undefined) writes.add(w);
  }
  let durableAt = -1;
  const how: string[] = [];
  for (const w of writes) {
    const file = fileOf.get(w);
    if (file !== undefined && SYNCED_OPEN.test(file.flags)) {
      how.push(`${describe(w, file)}, fd opened with O_DSYNC`);
      durableAt = Math.max(durableAt, w.end);
      continue;
    }
    const sync = image.syncs.find((s) => s.begin > w.end);
    if (sync === undefined) {
      const flags = file?.flags ?? '?';
      return {
        durableAt: null,
        how: `${describe(w, file)} on a descriptor without O_DSYNC (${flags}), and no fsync/fdatasync of the file started after it returned`,
      };
    }
    how.push(`${describe(w, file)}, then ${describe(sync, fileOf.get(sync))}`);
    durableAt = Math.max(durableAt, sync.end);
  }
  return { durableAt, how: how.join('; ') };
}

/** The frames sent on each accepted socket, each with the send call that carried its first byte. */
function readReplies(
  inOrder: readonly Syscall[],
  fileOf: Map<Syscall, OpenFile>,
  violations: string[],
): { replies: Reply[]; sends: number } {
  const streams = new Map<OpenFile, Array<{ bytes: Buffer; call: Syscall }>>();
  let sends = 0;
  for (const call of inOrder) {
    const socket = fileOf.get(call);
    if (socket?.kind !== 'socket' || !SEND_CALLS.has(call.name) || call.ret <= 0) continue;
    sends++;
    const arg = call.args[1] ?? '';
    const data = call.name === 'write' || call.name === 'sendto' ? decodeString(arg) : Buffer.concat(decodeIovecs(arg));
    let chunks = streams.get(socket);
    if (chunks === undefined) streams.set(socket, (chunks = []));
    chunks.push({ bytes: data.subarray(0, call.ret), call });
  }
  const replies: Reply[] = [];
  for (const [socket, chunks] of streams) replies.push(...framesOf(socket, chunks, violations));
  return { replies, sends };
}

function framesOf(socket: OpenFile, chunks: ReadonlyArray<{ bytes: Buffer; call: Syscall }>, violations: string[]): Reply[] {
  const stream = Buffer.concat(chunks.map((c) => c.bytes));
  const starts: number[] = [];
  let at = 0;
  for (const c of chunks) {
    starts.push(at);
    at += c.bytes.length;
  }
  const carrier = (offset: number): Syscall => {
    let i = starts.length - 1;
    while ((starts[i] ?? 0) > offset) i--;
    const chunk = chunks[i];
    if (chunk === undefined) throw new Error('no chunk');
    return chunk.call;
  };
  const out: Reply[] = [];
  let sessionId = -1n;
  for (let pos = 0; pos + 4 <= stream.length;) {
    const len = stream.readInt32BE(pos);
    if (pos + 4 + len > stream.length) break; // the connection ended mid-frame
    const body = pos + 4;
    const send = carrier(pos);
    if (sessionId < 0n) {
      if (len < 36) {
        violations.push(`${socket.path}: first frame (${len} bytes, ${describe(send, socket)}) is not a ConnectResponse`);
        return out;
      }
      sessionId = stream.readBigInt64BE(body + 8);
      const timeout = stream.readInt32BE(body + 4);
      out.push({ socket, sessionId: timeout > 0 ? sessionId : 0n, connect: true, xid: 0, zxid: 0, err: 0, send });
    } else if (len >= 16) {
      out.push({
        socket,
        sessionId,
        connect: false,
        xid: stream.readInt32BE(body),
        zxid: Number(stream.readBigInt64BE(body + 4)),
        err: stream.readInt32BE(body + 12),
        send,
      });
    } else violations.push(`${socket.path}: frame of ${len} bytes is not a reply (${describe(send, socket)})`);
    pos = body + len;
  }
  return out;
}

/** Every reply and session the clients were told of is in the trace, with the same zxid and error. */
function matchClientAcks(acks: readonly Ack[], replies: readonly Reply[], violations: string[]): { replies: number; sessions: number } {
  const byKey = new Map<string, Reply[]>();
  const sessions = new Set<bigint>();
  for (const r of replies) {
    if (r.connect) {
      sessions.add(r.sessionId);
      continue;
    }
    const key = `${r.sessionId}:${r.xid}`;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  const matched = { replies: 0, sessions: 0 };
  for (const a of acks) {
    const id = `0x${a.sessionId.toString(16)}`;
    if (a.kind === 'session') {
      if (sessions.has(a.sessionId)) matched.sessions++;
      else violations.push(`the client was told of session ${id}, but no ConnectResponse for it is in the trace`);
      continue;
    }
    const found = byKey.get(`${a.sessionId}:${a.xid}`) ?? [];
    if (found.some((r) => r.zxid === a.zxid && r.err === a.err)) matched.replies++;
    else
      violations.push(
        `the client got zxid 0x${a.zxid.toString(16)} err ${a.err} for ${a.what} (session ${id}, xid ${a.xid}), but the trace has ` +
          (found.length === 0 ? 'no such reply' : found.map((r) => `zxid 0x${r.zxid.toString(16)} err ${r.err}`).join(', ')),
      );
  }
  return matched;
}
