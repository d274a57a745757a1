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

  private connect(params: SessionParams, attach?: { sessionId: bigint; passwd: Buffer; lastZxid: number }, keepAliveMs = this.options.keepAliveMs): Promise<RawClient> {
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
    if (admin === undefined || admin.isClosed) throw new Error(`${this.name}: admin session is not connected`);
    const run = new SequenceRun(this, admin, seed, root);
    const transcript: Transcript = { seed, entries: run.entries };
    try {
      let t = Date.now();
      await run.setup();
      this.account('setup', Date.now() - t);
      for (let i = 0; i < nOps; i++) await run.step(i);
      t = Date.now();
      await run.teardown(nOps);
      this.account('teardown+dump', Date.now() - t);
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
    this.norm = new Normalizer(root, driver.options.zxidMode, Date.now());
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
    this.currentIndex = i;
    this.currentOp = 'dump';
    this.push(i, 'dump', await this.dump());
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
        const { k: _k, s: _s, ...rest } = op;
        return `${head}setWatches ${JSON.stringify({ ...rest, data: rest.data.map((p) => this.norm.path(p)), exist: rest.exist.map((p) => this.norm.path(p)), child: rest.child.map((p) => this.norm.path(p)), persistent: rest.persistent.map((p) => this.norm.path(p)), recursive: rest.recursive.map((p) => this.norm.path(p)) })}`;
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
    let mayRemove = false;
    let sortOthers = false;
    switch (op.k) {
      case 'req': {
        const slot = this.slot(op.s);
        const reply = await this.send(slot, op.req);
        out['r'] = this.collect(slot, reply.logIndex + 1);
        mayRemove = this.afterWrite(op.req, reply);
        break;
      }
      case 'burst': {
        const slot = this.slot(op.s);
        const replies = await Promise.all(op.reqs.map((r) => this.send(slot, r)));
        let last = 0;
        replies.forEach((reply, k) => {
          const req = op.reqs[k];
          if (req !== undefined && this.afterWrite(req, reply)) mayRemove = true;
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
          sortOthers = true;
        }
        break;
      }
      case 'close': {
        const slot = this.slot(op.s);
        out['r'] = await this.closeSlot(op.s);
        out['new'] = await this.newSession(op.s, op.next, slot.generation + 1);
        mayRemove = true;
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
      }
    }
    if (mayRemove) await this.settleContainers(out);
    await this.barrier(out, sortOthers);
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
  private afterWrite(req: Request, reply: RawReply): boolean {
    if (reply.header.err !== 0 || req.op === OpCode.sync) return false;
    const created: string[] = [];
    const note = (r: Request, path: string): void => {
      created.push(path);
      if (r.op === OpCode.createContainer) this.containers.add(path);
    };
    let removed = false;
    let decoded: ReplyBody;
    try {
      decoded = decodeReplyBody(req.op, reply.body);
    } catch {
      return true; // an undecodable body is already in the transcript
    }
    if (decoded.kind === 'path' || decoded.kind === 'pathStat') {
      note(req, decoded.path);
    } else if (decoded.kind === 'multi') {
      decoded.results.forEach((res, k) => {
        const sub = req.op === OpCode.multi ? req.ops[k] : undefined;
        if (sub !== undefined && (res.type === OpCode.create || res.type === OpCode.create2)) note(sub, res.path);
      });
    }
    removed = req.op === OpCode.delete || req.op === OpCode.multi;
    this.gen.observeCreated(created);
    return removed;
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

  /** Polls the containers this sequence created until every emptied one is gone. */
  private async settleContainers(out: { [key: string]: Json }): Promise<void> {
    const started = Date.now();
    let waited = false;
    for (const path of [...this.containers]) {
      const deadline = Date.now() + CONTAINER_SETTLE_MS;
      for (;;) {
        const r = await this.admin.exists(path);
        if (r.err === ErrorCode.NONODE) {
          this.containers.delete(path);
          break;
        }
        if (r.err !== 0 || r.stat === undefined) {
          out['settle'] = `exists ${this.norm.path(path)}: err ${r.err}`;
          break;
        }
        if (r.stat.numChildren > 0 || r.stat.cversion === 0) break;
        if (Date.now() > deadline) {
          out['settle'] = `empty container ${this.norm.path(path)} still there after ${CONTAINER_SETTLE_MS} ms`;
          break;
        }
        waited = true;
        await sleep(20);
      }
    }
    if (waited) this.driver.account('container deletion wait', Date.now() - started);
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
    const client = await this.driver.open(params, { sessionId: slot.client.sessionId, passwd: slot.client.passwd, lastZxid: slot.lastZxid });
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

  /** The whole subtree under the root, read by the admin session, in path order. */
  private async dump(): Promise<Json> {
    const rows: Json[] = [];
    const visit = async (path: string): Promise<void> => {
      const ex = await this.admin.exists(path);
      const ch = await this.admin.getChildren(path);
      const data = await this.admin.getData(path);
      const acl = await this.admin.getACL(path);
      rows.push([
        this.norm.path(path),
        ex.stat === undefined ? `exists err ${ex.err}` : this.norm.stat(ex.stat),
        data.err === 0 ? this.norm.data(data.data ?? null) : `getData err ${data.err}`,
        acl.acl === undefined ? `getACL err ${acl.err}` : this.norm.acl(acl.acl),
        ch.children === undefined ? `getChildren err ${ch.err}` : ch.children.length,
      ]);
      for (const c of [...(ch.children ?? [])].sort()) await visit(`${path}/${c}`);
    };
    await visit(this.root);
    return rows;
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
