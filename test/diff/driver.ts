/**
 * Runs generated sequences against one server and records a normalized transcript.
 *
 * Each operation runs in a window of wall-clock time of its own (see TimeLine), waits for its
 * reply(s), then:
 *  - settles what the reaper will delete: ZooKeeper deletes an emptied container, and an empty
 *    node whose TTL passed, on a timer (every second with znode.container.checkIntervalMs=1000),
 *    so after anything that may have emptied one we poll until it is gone, making the deletion
 *    happen "inside" the operation on both servers (the sequence's TTL nodes either live for
 *    an hour or have a TTL short enough to be waited for);
 *  - runs a barrier: a ping on every live session. An event triggered by the operation is queued
 *    on each watcher's connection before the operation's reply is sent, so everything a session
 *    receives before its barrier-ping reply belongs to this operation. The entry records, for
 *    the acting session, events and replies interleaved in arrival order, and for every session
 *    the events that came after that (before the barrier).
 */
import { type Request, ErrorCode, OpCode, opName } from '../../src/codec/index.js';
import { RawClient, type RawReply, type ReplyBody, decodeReplyBody } from '../support/raw-client.js';
import { type DiffOp, type SessionParams, OpGenerator, SHORT_TTL_MS_MAX, SLOTS } from './generator.js';
import { type Json, type ZxidMode, Normalizer, TimeLine, describeRequest } from './normalize.js';

export interface ServerAddr {
  host: string;
  port: number;
}

export interface Entry {
  /** -1 for setup, 0.. for generated operations, then teardown entries. */
  i: number;
  op: string;
  out: string;
}

export interface Transcript {
  seed: number;
  entries: Entry[];
  /** Set when the sequence could not run to the end (timeout, protocol error...). */
  error?: string;
}

export interface DriverOptions {
  zxidMode: ZxidMode;
  requestTimeoutMs: number;
  /** Idle sessions ping at this interval so short-timeout sessions never expire mid-sequence. */
  keepAliveMs: number;
  /** Do not compare the zxid in notification headers. */
  ignoreEventZxid: boolean;
  /** Seeds divisible by this run slow sequences (a session expiry, TTL reaps); 0: none. */
  slowEvery: number;
}

interface Slot {
  client: RawClient;
  token: string;
  generation: number;
  /** Next log index of `client` not yet put in a transcript entry. */
  cursor: number;
  /** Largest zxid in this slot's recorded replies (for setWatches and re-attach). */
  lastZxid: number;
  params: SessionParams;
  /** Log index -> normalized reply, for replies that belong in the transcript. */
  recorded: Map<number, Json>;
}

/** Longest wait for the reaper to delete what it should (a few passes of 1 s). */
const REAP_SETTLE_MS = 6000;
/** Longest wait for a session without pings to expire (4 s timeout, 2 s ticks). */
const EXPIRY_WAIT_MS = 15000;
/** The session timeout asked for to expire quickly (the servers grant their minimum, 4 s). */
const SHORT_SESSION_TIMEOUT_MS = 1000;

/**
 * Requests that are txns: each spends one zxid, failed or not. Listed here rather than taken
 * from the server's code, so that the harness does not take the server's word for it.
 */
const WRITE_OPS: ReadonlySet<number> = new Set([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.setData,
  OpCode.setACL,
  OpCode.multi,
  OpCode.check,
  OpCode.reconfig,
]);

/** What an operation may have done, for what follows it (see SequenceRun.exec). */
interface Effect {
  /** Something may have been deleted, so an emptied container or TTL node may be due. */
  mayRemove: boolean;
  /** The state changed, so other sessions may have been sent events (barrier needed). */
  changed: boolean;
  /** Other sessions' events come in an order that is not a contract: sort them. */
  sortOthers: boolean;
}
const NO_EFFECT: Effect = { mayRemove: false, changed: false, sortOthers: false };
const CHANGED: Effect = { mayRemove: false, changed: true, sortOthers: false };
const REMOVED: Effect = { mayRemove: true, changed: true, sortOthers: false };

type Out = { [key: string]: Json };

/** Where a driver's time went, per phase or operation kind: [count, total ms]. */
export type DriverStats = Map<string, [number, number]>;

export class ServerDriver {
  private admin: RawClient | undefined;
  readonly stats: DriverStats = new Map();

  /** Adds `ms` to the `key` bucket of `stats`. */
  account(key: string, ms: number): void {
    const b = this.stats.get(key) ?? [0, 0];
    b[0]++;
    b[1] += ms;
    this.stats.set(key, b);
  }

  constructor(
    readonly name: string,
    readonly addr: ServerAddr,
    readonly options: DriverOptions,
  ) {}

  async start(): Promise<void> {
    this.admin = await this.connect({ timeoutMs: 30000, readOnly: false }, undefined, 2000);
  }

  /** False once the admin session's connection is gone (the server died or dropped it). */
  get alive(): boolean {
    return this.admin !== undefined && !this.admin.isClosed;
  }

  async stop(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    if (admin === undefined || admin.isClosed) return;
    try {
      await admin.close();
    } catch {
      admin.destroy();
    }
  }

  private connect(
    params: SessionParams,
    attach?: { sessionId: bigint; passwd: Buffer; lastZxid: number },
    keepAliveMs = this.options.keepAliveMs,
  ): Promise<RawClient> {
    return RawClient.connect({
      host: this.addr.host,
      port: this.addr.port,
      timeoutMs: params.timeoutMs,
      readOnly: params.readOnly,
      requestTimeoutMs: this.options.requestTimeoutMs,
      connectTimeoutMs: this.options.requestTimeoutMs,
      keepAliveMs,
      ...(attach === undefined ? {} : { sessionId: attach.sessionId, passwd: attach.passwd, lastZxidSeen: attach.lastZxid }),
    });
  }

  async runSequence(seed: number, nOps: number, root: string): Promise<Transcript> {
    const admin = this.admin;
    if (admin === undefined || admin.isClosed)
      return { seed, entries: [], error: `${this.name}: admin session is not connected (server gone?)` };
    const slow = this.options.slowEvery > 0 && seed % this.options.slowEvery === 0;
    const run = new SequenceRun(this, admin, seed, root, { slow, ops: nOps });
    const transcript: Transcript = { seed, entries: run.entries };
    try {
      const t = Date.now();
      await run.setup();
      this.account('setup', Date.now() - t);
      for (let i = 0; i < nOps; i++) await run.step(i);
      await run.teardown(nOps);
    } catch (e) {
      transcript.error = e instanceof Error ? e.message : String(e);
      run.entries.push({ i: run.currentIndex, op: run.currentOp, out: `ERROR ${transcript.error}` });
      run.abandon();
    }
    return transcript;
  }

  /** Used by SequenceRun. */
  open(params: SessionParams, attach?: { sessionId: bigint; passwd: Buffer; lastZxid: number }): Promise<RawClient> {
    return this.connect(params, attach);
  }
}

class SequenceRun {
  readonly entries: Entry[] = [];
  readonly norm: Normalizer;
  readonly gen: OpGenerator;
  readonly slots: (Slot | undefined)[] = [];
  private readonly timeline = new TimeLine();
  /** Nodes the reaper deletes once empty: containers, and TTL nodes with a short TTL. */
  private readonly reapable = new Map<string, 'container' | 'ttl'>();
  private expiries = 0;
  currentIndex = -1;
  currentOp = 'setup';

  constructor(
    private readonly driver: ServerDriver,
    private readonly admin: RawClient,
    seed: number,
    readonly root: string,
    plan: { slow: boolean; ops: number },
  ) {
    this.norm = new Normalizer(root, driver.options.zxidMode, this.timeline, driver.options.ignoreEventZxid);
    this.gen = new OpGenerator(seed, root, plan);
  }

  async setup(): Promise<void> {
    await this.timeline.begin('setup');
    const rootReply = await this.admin.create2(this.root, Buffer.alloc(0));
    if (rootReply.err !== 0) throw new Error(`cannot create the sequence root ${this.root}: err ${rootReply.err}`);
    this.norm.base = rootReply.zxid;
    for (let s = 0; s < SLOTS; s++) {
      const params = this.gen.sessionParams();
      this.currentOp = `S${s} connect ${JSON.stringify(params)}`;
      const out = await this.newSession(s, params, 0, {});
      this.push(-1, this.currentOp, out);
    }
    this.timeline.end();
  }

  async step(i: number): Promise<void> {
    await this.timeline.begin(String(i));
    const op = this.gen.next();
    this.currentIndex = i;
    this.currentOp = this.describe(op);
    const t = Date.now();
    const out = await this.exec(op);
    this.driver.account(op.k === 'req' ? `op ${opName(op.req.op)}` : `op ${op.k}`, Date.now() - t);
    this.timeline.end();
    this.push(i, this.currentOp, out);
  }

  async teardown(nOps: number): Promise<void> {
    // One session after another: closing them at once would race one session's ephemeral
    // deletions against another's close.
    let t = Date.now();
    let i = nOps;
    for (let s = 0; s < SLOTS; s++) {
      const slot = this.slots[s];
      if (slot === undefined) continue;
      await this.timeline.begin(`end${s}`);
      this.currentIndex = i;
      this.currentOp = `S${s} end: closeSession`;
      const r = await this.closeSlot(s);
      const out: Out = { s, r };
      await this.settleReaper(out);
      await this.barrier(out, true);
      this.timeline.end();
      this.push(i++, this.currentOp, out);
    }
    this.driver.account('teardown', Date.now() - t);
    t = Date.now();
    await this.timeline.begin('dump');
    this.currentIndex = i;
    this.currentOp = 'dump';
    this.push(i, 'dump', await this.dump());
    this.timeline.end();
    this.driver.account('dump', Date.now() - t);
  }

  /** After a failure: drop every connection (sessions expire on their own). */
  abandon(): void {
    for (const slot of this.slots) slot?.client.destroy();
  }

  private push(i: number, op: string, out: Json): void {
    this.entries.push({ i, op, out: JSON.stringify(out) });
  }

  private describe(op: DiffOp): string {
    const head = `S${op.s} `;
    const reqs = (list: Request[]): string => list.map((r) => describeRequest(r, this.norm)).join(' ; ');
    switch (op.k) {
      case 'req':
        return head + describeRequest(op.req, this.norm);
      case 'burst':
        return `${head}burst [${reqs(op.reqs)}]`;
      case 'setWatches': {
        const paths = (list: string[]): string[] => list.map((p) => this.norm.path(p));
        const shown = {
          v2: op.v2,
          rel: op.rel,
          data: paths(op.data),
          exist: paths(op.exist),
          child: paths(op.child),
          persistent: paths(op.persistent),
          recursive: paths(op.recursive),
        };
        return `${head}setWatches ${JSON.stringify(shown)}`;
      }
      case 'auth':
        return `${head}auth ${op.scheme}:${op.auth} (on failure: ${op.onFail})`;
      case 'close':
        return `${head}closeSession, then new session ${JSON.stringify(op.next)}`;
      case 'reconnect':
        return `${head}drop connection, re-attach${op.badPasswd ? ' (first with a wrong password)' : ''} readOnly=${String(op.readOnly)}`;
      case 'raw':
        return `${head}raw request opcode ${op.op} (${opName(op.op)}) body ${JSON.stringify(this.norm.data(op.body))}`;
      case 'sys':
        return `${head}system node write, undone: ${describeRequest(op.req, this.norm)}`;
      case 'pipeline':
        return `${head}pipeline: ${describeRequest(op.prelude, this.norm)}, then at once ${op.bursts.map((b) => `S${b.s} [${reqs(b.reqs)}]`).join(' | ')}`;
      case 'expire':
        return `${head}stop pinging until the session expires; re-attach; new session ${JSON.stringify(op.next)}`;
      case 'reap':
        return `${head}short TTLs (${op.ttlMs} ms), wait for the reaper: ${describeRequest(op.req, this.norm)}`;
    }
  }

  private slot(s: number): Slot {
    const slot = this.slots[s];
    if (slot === undefined) throw new Error(`slot ${s} has no session`);
    return slot;
  }

  private async exec(op: DiffOp): Promise<Json> {
    const out: Out = { s: op.s };
    let effect = await this.run(op, out);
    // A connection the server dropped: record it, re-attach (or start over if it expired).
    for (let s = 0; s < SLOTS; s++) {
      const slot = this.slots[s];
      if (slot === undefined || !slot.client.isClosed) continue;
      out[`S${s}lost`] = this.collect(slot, slot.client.log.length);
      out[`S${s}reattach`] = await this.reattach(s, slot.params, true);
      if (slot.client.expired) {
        slot.client.destroy();
        out[`S${s}new`] = await this.newSession(s, slot.params, slot.generation + 1, out);
        effect = { ...effect, mayRemove: true, changed: true };
      }
    }
    if (effect.mayRemove && (await this.settleReaper(out))) effect = { ...effect, changed: true };
    // Without a barrier, events still land in the right session's log in the right order;
    // they are just reported with that session's next entry.
    if (effect.changed) await this.barrier(out, effect.sortOthers);
    return out;
  }

  /** Carries out `op`, recording what its session saw into `out`. */
  private async run(op: DiffOp, out: Out): Promise<Effect> {
    switch (op.k) {
      case 'req': {
        const slot = this.slot(op.s);
        const reply = await this.send(slot, op.req);
        out['r'] = this.collect(slot, reply === undefined ? slot.client.log.length : reply.logIndex + 1);
        return reply === undefined ? NO_EFFECT : this.afterWrite(op.req, reply);
      }
      case 'burst':
        return this.burst(op.s, op.reqs, out);
      case 'setWatches':
        return this.setWatches(op, out);
      case 'auth':
        return this.auth(op, out);
      case 'close': {
        const slot = this.slot(op.s);
        out['r'] = await this.closeSlot(op.s);
        out['new'] = await this.newSession(op.s, op.next, slot.generation + 1, out);
        return { mayRemove: true, changed: true, sortOthers: true };
      }
      case 'reconnect':
        return this.reconnect(op, out);
      case 'raw':
        return this.raw(op, out);
      case 'sys':
        return this.systemWrite(op.s, op.req, out);
      case 'pipeline':
        return this.pipeline(op, out);
      case 'expire':
        return this.expire(op.s, op.next, out);
      case 'reap': {
        const slot = this.slot(op.s);
        const reply = await this.send(slot, op.req);
        out['r'] = this.collect(slot, reply === undefined ? slot.client.log.length : reply.logIndex + 1);
        if (reply !== undefined) this.afterWrite(op.req, reply);
        // Past the TTL before the reaper is waited for: then every node of the multi is a
        // candidate of the same pass on both servers.
        await sleep(op.ttlMs + 5);
        return REMOVED;
      }
    }
  }

  private async burst(s: number, reqs: Request[], out: Out): Promise<Effect> {
    const slot = this.slot(s);
    const replies = await Promise.all(reqs.map((r) => this.send(slot, r)));
    let effect = NO_EFFECT;
    let last = -1;
    replies.forEach((reply, k) => {
      const req = reqs[k];
      if (req === undefined || reply === undefined) return;
      const w = this.afterWrite(req, reply);
      effect = { mayRemove: effect.mayRemove || w.mayRemove, changed: effect.changed || w.changed, sortOthers: false };
      last = Math.max(last, reply.logIndex);
    });
    out['r'] = this.collect(slot, replies.includes(undefined) ? slot.client.log.length : last + 1);
    return effect;
  }

  private async setWatches(op: Extract<DiffOp, { k: 'setWatches' }>, out: Out): Promise<Effect> {
    const slot = this.slot(op.s);
    const relativeZxid = op.rel === 'last' ? slot.lastZxid : 0;
    const req: Request = {
      op: op.v2 ? OpCode.setWatches2 : OpCode.setWatches,
      relativeZxid,
      dataWatches: op.data,
      existWatches: op.exist,
      childWatches: op.child,
      persistentWatches: op.v2 ? op.persistent : [],
      persistentRecursiveWatches: op.v2 ? op.recursive : [],
    };
    const reply = await this.send(slot, req, -8);
    out['r'] = this.collect(slot, reply === undefined ? slot.client.log.length : reply.logIndex + 1);
    return NO_EFFECT;
  }

  private async auth(op: Extract<DiffOp, { k: 'auth' }>, out: Out): Promise<Effect> {
    const slot = this.slot(op.s);
    const reply = await this.send(slot, { op: OpCode.auth, type: 0, scheme: op.scheme, auth: Buffer.from(op.auth, 'utf8') });
    if (reply !== undefined && reply.header.err === 0) {
      out['r'] = this.collect(slot, reply.logIndex + 1);
      return NO_EFFECT;
    }
    // ZooKeeper answers AUTHFAILED and closes the connection; the session lives on.
    const closedByServer = await waitClosed(slot.client, 3000);
    out['r'] = this.collect(slot, slot.client.log.length);
    out['closedByServer'] = closedByServer;
    if (reply === undefined) out['failure'] = 'connection closed before the auth reply';
    out['reattach'] = await this.reattach(op.s, slot.params, false);
    if (op.onFail === 'reattach') return NO_EFFECT;
    out['close'] = await this.closeSlot(op.s);
    out['new'] = await this.newSession(op.s, this.gen.sessionParams(), slot.generation + 1, out);
    return { mayRemove: true, changed: true, sortOthers: true };
  }

  private async reconnect(op: Extract<DiffOp, { k: 'reconnect' }>, out: Out): Promise<Effect> {
    const slot = this.slot(op.s);
    out['r'] = this.collect(slot, slot.client.log.length);
    slot.client.destroy();
    if (op.badPasswd) {
      const wrong = Buffer.from(slot.client.passwd);
      wrong[0] = (wrong[0] ?? 0) ^ 0xff;
      const bad = await this.driver.open(
        { timeoutMs: slot.params.timeoutMs, readOnly: op.readOnly },
        { sessionId: slot.client.sessionId, passwd: wrong, lastZxid: slot.lastZxid },
      );
      out['badPasswd'] = {
        connect: this.norm.connect(bad.connectResponse, slot.token),
        closedByServer: await waitClosed(bad, 3000),
      };
      bad.destroy();
    }
    out['reattach'] = await this.reattach(op.s, { timeoutMs: slot.params.timeoutMs, readOnly: op.readOnly }, true);
    return NO_EFFECT;
  }

  /** A request of any opcode, byte for byte; its reply too. */
  private async raw(op: Extract<DiffOp, { k: 'raw' }>, out: Out): Promise<Effect> {
    const slot = this.slot(op.s);
    let reply: RawReply | undefined;
    try {
      reply = await slot.client.requestRaw(op.op, op.body);
    } catch (e) {
      if (!slot.client.isClosed) throw e;
    }
    if (reply !== undefined) {
      slot.recorded.set(reply.logIndex, this.norm.rawReply(reply.header, reply.body));
      if (reply.header.zxid > slot.lastZxid) slot.lastZxid = reply.header.zxid;
      // ZooKeeper closes the connection after UNIMPLEMENTED: make that part of this entry.
      if (reply.header.err === ErrorCode.UNIMPLEMENTED) out['closedByServer'] = await waitClosed(slot.client, 3000);
    }
    out['r'] = this.collect(slot, slot.client.log.length);
    return op.op === OpCode.deleteContainer && reply?.header.err === 0 ? REMOVED : CHANGED;
  }

  /**
   * A write to a system node, then undone by the same session so the servers stay as every
   * other sequence expects them: the old data or ACL (read first) written back, a created
   * node deleted.
   */
  private async systemWrite(s: number, req: Request, out: Out): Promise<Effect> {
    const slot = this.slot(s);
    const path = 'path' in req ? req.path : '/';
    const before =
      req.op === OpCode.setData
        ? await this.send(slot, { op: OpCode.getData, path, watch: false })
        : req.op === OpCode.setACL
          ? await this.send(slot, { op: OpCode.getACL, path })
          : undefined;
    const main = await this.send(slot, req);
    let last = main;
    if (main !== undefined && main.header.err === 0) {
      const old = before === undefined || before.header.err !== 0 ? undefined : decodeReplyBody(before.req.op, before.body);
      let undo: Request | undefined;
      if (old?.kind === 'data') undo = { op: OpCode.setData, path, data: old.data, version: -1 };
      else if (old?.kind === 'acl') undo = { op: OpCode.setACL, path, acl: old.acl, version: -1 };
      else {
        const made = decodeReplyBody(req.op, main.body);
        if (made.kind === 'path' || made.kind === 'pathStat') undo = { op: OpCode.delete, path: made.path, version: -1 };
      }
      if (undo !== undefined) last = await this.send(slot, undo);
    }
    out['r'] = this.collect(slot, last === undefined ? slot.client.log.length : last.logIndex + 1);
    return CHANGED;
  }

  /**
   * Every session's burst at once, each in its own subtree. Replies are normalized only once
   * all are in: each server's write zxids are first renamed as if the writes had been applied
   * session by session (a session's own writes keep their order), so neither the header zxids
   * of the writes nor any czxid/mzxid/pzxid they leave depend on the interleaving. A read's
   * header zxid (the last zxid the server had applied) does, and is not compared.
   */
  private async pipeline(op: Extract<DiffOp, { k: 'pipeline' }>, out: Out): Promise<Effect> {
    const first = this.slot(op.s);
    const pre = await this.send(first, op.prelude);
    out['r'] = this.collect(first, pre === undefined ? first.client.log.length : pre.logIndex + 1);
    if (pre !== undefined) this.afterWrite(op.prelude, pre);
    const sent = await Promise.all(
      op.bursts.map(async (b) => {
        const slot = this.slot(b.s);
        const replies = await Promise.all(b.reqs.map((r) => this.sendUnrecorded(slot, r)));
        return { slot, b, replies };
      }),
    );
    const writeZxids: number[] = [];
    for (const { b, replies } of sent) {
      b.reqs.forEach((req, k) => {
        const reply = replies[k];
        if (reply !== undefined && WRITE_OPS.has(req.op)) writeZxids.push(reply.header.zxid);
      });
    }
    const inOrder = [...writeZxids].sort((x, y) => x - y);
    this.norm.remapZxids(writeZxids.map((z, k) => [z, inOrder[k] ?? z]));
    for (const { slot, b, replies } of sent) {
      let last = -1;
      b.reqs.forEach((req, k) => {
        const reply = replies[k];
        if (reply === undefined) return;
        this.record(slot, req, reply, WRITE_OPS.has(req.op) ? 'txn' : 'raced');
        this.afterWrite(req, reply);
        last = Math.max(last, reply.logIndex);
      });
      out[`S${b.s}`] = this.collect(slot, replies.includes(undefined) ? slot.client.log.length : last + 1);
    }
    // Each session has seen the whole race: the last zxid a session saw (which it sends in
    // setWatches and on re-attach) would otherwise depend on the interleaving.
    const top = inOrder[inOrder.length - 1];
    for (const { slot } of sent) if (top !== undefined && top > slot.lastZxid) slot.lastZxid = top;
    return REMOVED;
  }

  /**
   * Stops the session's pings (after a re-attach asking for the shortest timeout, unless it
   * has it) and waits for the server to expire it: ephemerals deleted, other sessions'
   * watches fired, this connection closed. Then re-attaches (Expired) and starts a new one.
   * The session first makes an ephemeral marker, whose deletion tells that the expiry's txn
   * has applied: ZooKeeper may close an idle connection on a timer of its own before it
   * expires the session, and a session marked as expiring is refused before its txn is even
   * logged, so neither the closed connection nor a refused re-attach would do.
   */
  private async expire(s: number, next: SessionParams, out: Out): Promise<Effect> {
    const slot = this.slot(s);
    out['r'] = this.collect(slot, slot.client.log.length);
    if (slot.params.timeoutMs !== SHORT_SESSION_TIMEOUT_MS) {
      out['reattach'] = await this.reattach(s, { timeoutMs: SHORT_SESSION_TIMEOUT_MS, readOnly: slot.params.readOnly }, false);
    }
    const marker = `${this.root}/expiring${this.expiries++}`;
    await this.send(slot, {
      op: OpCode.create,
      path: marker,
      data: null,
      acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
      flags: 1,
    });
    // The session watches what it is about to lose. ZooKeeper queues that event to the
    // connection and closes it at once; whether its I/O threads send the event first is a race
    // (4 and 12 times in two runs of 20 here), so events on this connection are not compared.
    const watched = await this.send(slot, { op: OpCode.exists, path: marker, watch: true });
    out['marker'] = this.collect(slot, watched === undefined ? slot.client.log.length : watched.logIndex + 1);
    const t = Date.now();
    slot.client.stopKeepAlive();
    const expired = await waitUntil(async () => (await this.admin.exists(marker)).err === ErrorCode.NONODE, EXPIRY_WAIT_MS);
    this.driver.account('session expiry wait', Date.now() - t);
    const closedByServer = await waitClosed(slot.client, 3000);
    const items = this.collect(slot, slot.client.log.length).filter((x) => typeof x !== 'object' || x === null || !('ev' in x));
    out['expired'] = { expired, closedByServer, items };
    slot.client.destroy();
    const again = await this.driver.open(slot.params, {
      sessionId: slot.client.sessionId,
      passwd: slot.client.passwd,
      lastZxid: slot.lastZxid,
    });
    out['reattachExpired'] = {
      connect: this.norm.connect(again.connectResponse, slot.token),
      closedByServer: await waitClosed(again, 3000),
    };
    again.destroy();
    out['new'] = await this.newSession(s, next, slot.generation + 1, out);
    return REMOVED;
  }

  /** Sends `req` and records its normalized reply; undefined when the connection closed first. */
  private async send(slot: Slot, req: Request, xid?: number): Promise<(RawReply & { req: Request }) | undefined> {
    const reply = await this.sendUnrecorded(slot, req, xid);
    if (reply !== undefined) this.record(slot, req, reply, 'point');
    return reply === undefined ? undefined : { ...reply, req };
  }

  private async sendUnrecorded(slot: Slot, req: Request, xid?: number): Promise<RawReply | undefined> {
    try {
      return await slot.client.request(req, xid);
    } catch (e) {
      if (slot.client.isClosed) return undefined;
      throw e;
    }
  }

  private record(slot: Slot, req: Request, reply: RawReply, zxidIs: 'point' | 'txn' | 'raced'): void {
    slot.recorded.set(reply.logIndex, this.norm.reply(req, reply.header, reply.body, zxidIs));
    if (reply.header.zxid > slot.lastZxid) slot.lastZxid = reply.header.zxid;
  }

  /** Feeds created paths back to the generator and notes what the reaper may delete later. */
  private afterWrite(req: Request, reply: RawReply): Effect {
    if (!WRITE_OPS.has(req.op)) return NO_EFFECT;
    const created: string[] = [];
    // ZooKeeper 3.8.0 makes a container of a createContainer request, whatever its flags; but
    // inside a multi it ignores the sub-op's opcode and goes by the flags (4 = container).
    const note = (r: Request, path: string, inMulti: boolean): void => {
      created.push(path);
      const flags = 'flags' in r ? r.flags : -1;
      if (inMulti ? flags === 4 : r.op === OpCode.createContainer) this.reapable.set(path, 'container');
      if (r.op === OpCode.createTTL && (flags === 5 || flags === 6) && r.ttl > 0 && r.ttl <= SHORT_TTL_MS_MAX)
        this.reapable.set(path, 'ttl');
    };
    let decoded: ReplyBody;
    try {
      decoded = decodeReplyBody(req.op, reply.body);
    } catch {
      return REMOVED; // an undecodable body is already in the transcript
    }
    if (reply.header.err === 0 && (decoded.kind === 'path' || decoded.kind === 'pathStat')) {
      note(req, decoded.path, false);
    } else if (reply.header.err === 0 && decoded.kind === 'multi') {
      decoded.results.forEach((res, k) => {
        const sub = req.op === OpCode.multi ? req.ops[k] : undefined;
        if (sub !== undefined && (res.type === OpCode.create || res.type === OpCode.create2)) note(sub, res.path, true);
      });
    }
    this.gen.observeCreated(created);
    return req.op === OpCode.delete || req.op === OpCode.multi ? REMOVED : CHANGED;
  }

  /** Events and recorded replies of `slot` from its cursor up to log index `upto` (exclusive). */
  private collect(slot: Slot, upto: number, sortEvents = false): Json[] {
    const items: Json[] = [];
    const events: Json[] = [];
    for (let i = slot.cursor; i < upto; i++) {
      const entry = slot.client.log[i];
      if (entry === undefined) continue;
      if (entry.kind === 'event') {
        (sortEvents ? events : items).push({ ev: this.norm.event(entry.header, entry.event) });
      } else if (entry.kind === 'reply') {
        const rec = slot.recorded.get(i);
        if (rec !== undefined) items.push(rec);
      } else {
        items.push({ closed: entry.byServer ? 'by server' : entry.reason });
      }
    }
    slot.cursor = Math.max(slot.cursor, upto);
    if (sortEvents) {
      const sorted = events.map((e) => JSON.stringify(e)).sort();
      for (const e of sorted) items.push(JSON.parse(e) as Json);
    }
    return items;
  }

  /** Pings every live session and records the events each got since its last recorded item. */
  private async barrier(out: Out, sortEvents: boolean): Promise<void> {
    const live = this.slots.filter((s): s is Slot => s !== undefined && !s.client.isClosed);
    const pings = await Promise.all(live.map((slot) => slot.client.request({ op: OpCode.ping })));
    const after: Out = {};
    live.forEach((slot, k) => {
      const ping = pings[k];
      if (ping === undefined) return;
      const s = this.slots.indexOf(slot);
      const items = this.collect(slot, ping.logIndex + 1, sortEvents);
      if (items.length > 0) after[`S${s}`] = items;
    });
    if (Object.keys(after).length > 0) out['after'] = after;
  }

  /**
   * Polls what the reaper may delete (the containers and short-TTL nodes this sequence made)
   * until every one that is due is gone: an empty container that had children, an empty
   * short-TTL node. Returns whether anything disappeared (its deletion may have sent events).
   */
  private async settleReaper(out: Out): Promise<boolean> {
    const started = Date.now();
    let gone = false;
    let waiting = [...this.reapable.keys()];
    while (waiting.length > 0) {
      const replies = await Promise.all(waiting.map((path) => this.admin.exists(path)));
      const still: string[] = [];
      let goneNow = false;
      for (let k = 0; k < waiting.length; k++) {
        const path = waiting[k];
        const r = replies[k];
        if (path === undefined || r === undefined) continue;
        if (r.err === ErrorCode.NONODE) {
          this.reapable.delete(path);
          gone = true;
          goneNow = true;
        } else if (r.err !== 0 || r.stat === undefined) {
          out['settle'] = `exists ${this.norm.path(path)}: err ${r.err}`;
        } else if (r.stat.numChildren === 0 && (this.reapable.get(path) === 'ttl' || r.stat.cversion > 0)) {
          still.push(path);
        }
      }
      // A deletion may have emptied a parent that was not due before: look at all again.
      waiting = goneNow ? [...this.reapable.keys()] : still;
      if (waiting.length === 0) break;
      if (Date.now() - started > REAP_SETTLE_MS) {
        out['settle'] = `${waiting.map((p) => this.norm.path(p)).join(', ')} still there after ${REAP_SETTLE_MS} ms`;
        break;
      }
      await sleep(20);
    }
    const ms = Date.now() - started;
    if (ms >= 20) this.driver.account('reaper wait', ms);
    return gone;
  }

  /**
   * A new session in slot `s`. What a closed or expired session left for the reaper goes
   * first: the reaper's deletions and the new session's txn would otherwise race for zxids.
   */
  private async newSession(s: number, params: SessionParams, generation: number, out: Out): Promise<Json> {
    await this.settleReaper(out);
    const client = await this.driver.open(params);
    const token = `S${s}.${generation}`;
    this.norm.nameSession(client.sessionId, token);
    this.slots[s] = { client, token, generation, cursor: 0, lastZxid: 0, params, recorded: new Map() };
    return this.norm.connect(client.connectResponse, token);
  }

  /** A new connection to the slot's session (whose old connection is gone or dropped). */
  private async reattach(s: number, params: SessionParams, sameParams: boolean): Promise<Json> {
    const slot = this.slot(s);
    const client = await this.driver.open(params, {
      sessionId: slot.client.sessionId,
      passwd: slot.client.passwd,
      lastZxid: slot.lastZxid,
    });
    slot.client.destroy();
    slot.client = client;
    slot.cursor = 0;
    slot.recorded = new Map();
    if (!sameParams) slot.params = params;
    return this.norm.connect(client.connectResponse, slot.token);
  }

  /** closeSession on the slot; returns its recorded items. The slot is left empty. */
  private async closeSlot(s: number): Promise<Json> {
    const slot = this.slot(s);
    const reply = await this.send(slot, { op: OpCode.closeSession });
    const closedByServer = await waitClosed(slot.client, 3000);
    const items = this.collect(slot, slot.client.log.length);
    slot.client.destroy();
    this.slots[s] = undefined;
    return { items, closedByServer, xid: reply?.header.xid ?? 'no reply' };
  }

  /** The whole subtree under the root, read by the admin session (pipelined), in path order. */
  private async dump(): Promise<Json> {
    const rows: [string, Json][] = [];
    const visit = async (path: string): Promise<void> => {
      const [ex, ch, data, acl] = await Promise.all([
        this.admin.exists(path),
        this.admin.getChildren(path),
        this.admin.getData(path),
        this.admin.getACL(path),
      ]);
      rows.push([
        path,
        [
          this.norm.path(path),
          ex.stat === undefined ? `exists err ${ex.err}` : this.norm.stat(ex.stat),
          data.err === 0 ? this.norm.data(data.data ?? null) : `getData err ${data.err}`,
          acl.acl === undefined ? `getACL err ${acl.err}` : this.norm.acl(acl.acl),
          ch.children === undefined ? `getChildren err ${ch.err}` : ch.children.length,
        ],
      ]);
      await Promise.all((ch.children ?? []).map((c) => visit(`${path}/${c}`)));
    };
    await visit(this.root);
    rows.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    return rows.map((r) => r[1]);
  }
}

function waitClosed(client: RawClient, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    client.closed.then((c) => {
      clearTimeout(timer);
      return c.byServer;
    }),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
}

/** Polls `done` every 20 ms until it holds (true) or `ms` have passed (false). */
async function waitUntil(done: () => Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await done()) return true;
    if (Date.now() > until) return false;
    await sleep(20);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
