/**
 * Runs generated sequences against one server and records a normalized transcript.
 *
 * Each operation waits for its reply(s), then:
 *  - settles containers: ZooKeeper deletes an emptied container on a timer (every second with
 *    znode.container.checkIntervalMs=1000), so after anything that may have emptied one we poll
 *    until it is gone, making the deletion happen "inside" the operation on both servers;
 *  - runs a barrier: a ping on every live session. An event triggered by the operation is queued
 *    on each watcher's connection before the operation's reply is sent, so everything a session
 *    receives before its barrier-ping reply belongs to this operation. The entry records, for
 *    the acting session, events and replies interleaved in arrival order, and for every session
 *    the events that came after that (before the barrier).
 */
import { type Request, ErrorCode, OpCode, opName } from '../../src/codec/index.js';
import { RawClient, type RawReply, type ReplyBody, decodeReplyBody } from '../support/raw-client.js';
import { type DiffOp, type SessionParams, OpGenerator, SLOTS } from './generator.js';
import { type Json, type ZxidMode, Normalizer, describeRequest } from './normalize.js';

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

const CONTAINER_SETTLE_MS = 4000;

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
    const run = new SequenceRun(this, admin, seed, root);
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
  private readonly containers = new Set<string>();
  currentIndex = -1;
  currentOp = 'setup';

  constructor(
    private readonly driver: ServerDriver,
    private readonly admin: RawClient,
    seed: number,
    readonly root: string,
  ) {
    this.norm = new Normalizer(root, driver.options.zxidMode, Date.now(), driver.options.ignoreEventZxid);
    this.gen = new OpGenerator(seed, root);
  }

  async setup(): Promise<void> {
    const rootReply = await this.admin.create2(this.root, Buffer.alloc(0));
    if (rootReply.err !== 0) throw new Error(`cannot create the sequence root ${this.root}: err ${rootReply.err}`);
    this.norm.base = rootReply.zxid;
    for (let s = 0; s < SLOTS; s++) {
      const params = this.gen.sessionParams();
      this.currentOp = `S${s} connect ${JSON.stringify(params)}`;
      const out = await this.newSession(s, params, 0);
      this.push(-1, this.currentOp, out);
    }
  }

  async step(i: number): Promise<void> {
    const op = this.gen.next();
    this.currentIndex = i;
    this.currentOp = this.describe(op);
    const t = Date.now();
    const out = await this.exec(op);
    this.driver.account(op.k === 'req' ? `op ${opName(op.req.op)}` : `op ${op.k}`, Date.now() - t);
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
      this.currentIndex = i;
      this.currentOp = `S${s} end: closeSession`;
      const r = await this.closeSlot(s);
      const out: { [key: string]: Json } = { s, r };
      await this.settleContainers(out);
      await this.barrier(out, true);
      this.push(i++, this.currentOp, out);
    }
    this.driver.account('teardown', Date.now() - t);
    t = Date.now();
    this.currentIndex = i;
    this.currentOp = 'dump';
    this.push(i, 'dump', await this.dump());
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
    switch (op.k) {
      case 'req':
        return head + describeRequest(op.req, this.norm);
      case 'burst':
        return `${head}burst [${op.reqs.map((r) => describeRequest(r, this.norm)).join(' ; ')}]`;
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
    }
  }

  private slot(s: number): Slot {
    const slot = this.slots[s];
    if (slot === undefined) throw new Error(`slot ${s} has no session`);
    return slot;
  }

  private async exec(op: DiffOp): Promise<Json> {
    const out: { [key: string]: Json } = { s: op.s };
    // mayRemove: something may have been deleted, so an emptied container may be due.
    // changed: the state changed, so other sessions may have been sent events (barrier needed).
    let mayRemove = false;
    let changed = false;
    let sortOthers = false;
    switch (op.k) {
      case 'req': {
        const slot = this.slot(op.s);
        const reply = await this.send(slot, op.req);
        out['r'] = this.collect(slot, reply.logIndex + 1);
        const w = this.afterWrite(op.req, reply);
        mayRemove = w.removed;
        changed = w.changed;
        break;
      }
      case 'burst': {
        const slot = this.slot(op.s);
        const replies = await Promise.all(op.reqs.map((r) => this.send(slot, r)));
        let last = 0;
        replies.forEach((reply, k) => {
          const req = op.reqs[k];
          if (req === undefined) return;
          const w = this.afterWrite(req, reply);
          if (w.removed) mayRemove = true;
          if (w.changed) changed = true;
          last = Math.max(last, reply.logIndex);
        });
        out['r'] = this.collect(slot, last + 1);
        break;
      }
      case 'setWatches': {
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
        out['r'] = this.collect(slot, reply.logIndex + 1);
        break;
      }
      case 'auth': {
        const slot = this.slot(op.s);
        let reply: RawReply | undefined;
        let failure: string | undefined;
        try {
          reply = await this.send(slot, { op: OpCode.auth, type: 0, scheme: op.scheme, auth: Buffer.from(op.auth, 'utf8') });
        } catch (e) {
          if (!slot.client.isClosed) throw e;
          failure = 'connection closed before the auth reply';
        }
        if (reply !== undefined && reply.header.err === 0) {
          out['r'] = this.collect(slot, reply.logIndex + 1);
          break;
        }
        // ZooKeeper answers AUTHFAILED and closes the connection; the session lives on.
        const closedByServer = await waitClosed(slot.client, 3000);
        out['r'] = this.collect(slot, slot.client.log.length);
        out['closedByServer'] = closedByServer;
        if (failure !== undefined) out['failure'] = failure;
        out['reattach'] = await this.reattach(op.s, slot.params, false);
        if (op.onFail === 'replace') {
          out['close'] = await this.closeSlot(op.s);
          const params = this.gen.sessionParams();
          out['new'] = await this.newSession(op.s, params, slot.generation + 1);
          mayRemove = true;
          changed = true;
          sortOthers = true;
        }
        break;
      }
      case 'close': {
        const slot = this.slot(op.s);
        out['r'] = await this.closeSlot(op.s);
        out['new'] = await this.newSession(op.s, op.next, slot.generation + 1);
        mayRemove = true;
        changed = true;
        sortOthers = true;
        break;
      }
      case 'reconnect': {
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
        break;
      }
    }
    // A connection the server dropped unexpectedly: record it, re-attach (or start over).
    for (let s = 0; s < SLOTS; s++) {
      const slot = this.slots[s];
      if (slot === undefined || !slot.client.isClosed) continue;
      out[`S${s}lost`] = this.collect(slot, slot.client.log.length);
      out[`S${s}reattach`] = await this.reattach(s, slot.params, true);
      if (slot.client.expired) {
        slot.client.destroy();
        out[`S${s}new`] = await this.newSession(s, slot.params, slot.generation + 1);
        mayRemove = true;
        changed = true;
      }
    }
    if (mayRemove && (await this.settleContainers(out))) changed = true;
    // Without a barrier, events still land in the right session's log in the right order;
    // they are just reported with that session's next entry.
    if (changed) await this.barrier(out, sortOthers);
    return out;
  }

  private async send(slot: Slot, req: Request, xid?: number): Promise<RawReply> {
    const reply = await slot.client.request(req, xid);
    slot.recorded.set(reply.logIndex, this.norm.reply(req, reply.header, reply.body));
    if (reply.header.zxid > slot.lastZxid) slot.lastZxid = reply.header.zxid;
    return reply;
  }

  /**
   * Feeds created paths back to the generator and tracks containers. Returns whether the
   * request may have deleted something (so an emptied container may be due for deletion).
   */
  private afterWrite(req: Request, reply: RawReply): { removed: boolean; changed: boolean } {
    const writes: readonly number[] = [
      OpCode.create,
      OpCode.create2,
      OpCode.createContainer,
      OpCode.createTTL,
      OpCode.delete,
      OpCode.setData,
      OpCode.setACL,
      OpCode.multi,
    ];
    if (reply.header.err !== 0 || !writes.includes(req.op)) return { removed: false, changed: false };
    const created: string[] = [];
    // ZooKeeper 3.8.0 makes a container of a createContainer request, whatever its flags; but
    // inside a multi it ignores the sub-op's opcode and goes by the flags (4 = container).
    const note = (r: Request, path: string, inMulti: boolean): void => {
      created.push(path);
      const flags = 'flags' in r ? r.flags : -1;
      if (inMulti ? flags === 4 : r.op === OpCode.createContainer) this.containers.add(path);
    };
    let removed = false;
    let decoded: ReplyBody;
    try {
      decoded = decodeReplyBody(req.op, reply.body);
    } catch {
      return { removed: true, changed: true }; // an undecodable body is already in the transcript
    }
    if (decoded.kind === 'path' || decoded.kind === 'pathStat') {
      note(req, decoded.path, false);
    } else if (decoded.kind === 'multi') {
      decoded.results.forEach((res, k) => {
        const sub = req.op === OpCode.multi ? req.ops[k] : undefined;
        if (sub !== undefined && (res.type === OpCode.create || res.type === OpCode.create2)) note(sub, res.path, true);
      });
    }
    removed = req.op === OpCode.delete || req.op === OpCode.multi;
    this.gen.observeCreated(created);
    return { removed, changed: true };
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
  private async barrier(out: { [key: string]: Json }, sortEvents: boolean): Promise<void> {
    const live = this.slots.filter((s): s is Slot => s !== undefined && !s.client.isClosed);
    const pings = await Promise.all(live.map((slot) => slot.client.request({ op: OpCode.ping })));
    const after: { [key: string]: Json } = {};
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
   * Polls the containers this sequence created until every emptied one is gone. Returns
   * whether any container disappeared (its deletion may have sent events).
   */
  private async settleContainers(out: { [key: string]: Json }): Promise<boolean> {
    const started = Date.now();
    let gone = false;
    let waiting = [...this.containers];
    while (waiting.length > 0) {
      const replies = await Promise.all(waiting.map((path) => this.admin.exists(path)));
      const still: string[] = [];
      waiting.forEach((path, k) => {
        const r = replies[k];
        if (r === undefined) return;
        if (r.err === ErrorCode.NONODE) {
          this.containers.delete(path);
          gone = true;
        } else if (r.err !== 0 || r.stat === undefined) {
          out['settle'] = `exists ${this.norm.path(path)}: err ${r.err}`;
        } else if (r.stat.numChildren === 0 && r.stat.cversion > 0) {
          still.push(path);
        }
      });
      waiting = still;
      if (waiting.length === 0) break;
      if (Date.now() - started > CONTAINER_SETTLE_MS) {
        out['settle'] =
          `empty container(s) ${waiting.map((p) => this.norm.path(p)).join(', ')} still there after ${CONTAINER_SETTLE_MS} ms`;
        break;
      }
      await sleep(20);
    }
    const ms = Date.now() - started;
    if (ms >= 20) this.driver.account('container deletion wait', ms);
    return gone;
  }

  private async newSession(s: number, params: SessionParams, generation: number): Promise<Json> {
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
    return { items, closedByServer, xid: reply.header.xid };
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
