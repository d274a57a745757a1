/**
 * Drives one share of a run's sessions (all of them, or one worker thread's part): opens the
 * sessions, keeps `outstanding` requests in flight on each (closed loop: every reply issues
 * the next request), records the latency of every reply that completes inside the measured
 * window, then lets what is in flight drain and closes the sessions.
 */
import { type WatcherEvent, type JuteReader, ErrorCode, EventType, OpCode, readOpResults } from '../../src/codec/index.js';
import type { Target, Workload } from './args.js';
import { Histogram, type HistogramSnapshot } from './histogram.js';
import { errName, OPEN_ACL, pipeline } from './keyspace.js';
import { type Encoded, type ReplyHandler, Session, encode, nowNs } from './session.js';

export interface DriverSpec {
  workload: Workload;
  servers: Target[];
  /** Global indices of the sessions this driver owns (they pick the server round-robin). */
  sessionIndices: number[];
  outstanding: number;
  valueSize: number;
  nodes: string[];
  scratch: string;
  /** The key space's root: each session syncs it first, so it sees the setup on any server. */
  root: string;
  watchers: number;
  multiSize: number;
  sessionTimeoutMs: number;
  connectTimeoutMs: number;
  drainTimeoutMs: number;
}

/** Times in the driver's own nowNs() scale. */
export interface Window {
  startNs: number;
  endNs: number;
}

export interface OpStats {
  ops: number;
  hist: HistogramSnapshot;
}

export interface DriverResult {
  /** Operations completed inside the window (the workload's unit: request, notification, session). */
  ops: number;
  hist: HistogramSnapshot;
  byOp: Record<string, OpStats>;
  errors: number;
  /** Distinct error messages (the first MAX_KINDS) with how often each occurred. */
  errorKinds: Record<string, number>;
}

interface Stat {
  ops: number;
  hist: Histogram;
}

interface Ctx {
  s: Session;
  gidx: number;
  seq: number;
  pump: () => void;
}

const MAX_KINDS = 20;
const OPEN_CONCURRENCY = 64;

function targetOf(servers: Target[], gidx: number): Target {
  return servers[gidx % servers.length]!;
}

export class Driver {
  private sessions: Session[] = [];
  private readonly main = new Histogram();
  private mainOps = 0;
  private readonly stats = new Map<string, Stat>();
  private errors = 0;
  private readonly kinds = new Map<string, number>();
  private running = false;
  private win: Window = { startNs: 0, endNs: 0 };
  private finish: (() => void) | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private readonly value: Buffer;
  private getT: Encoded[] = [];
  private setT: Encoded[] = [];
  // watch workload state
  private writer: Session | undefined;
  private watchState: WatchState | undefined;

  constructor(private readonly spec: DriverSpec) {
    this.value = Buffer.alloc(spec.valueSize, 0x61);
  }

  private stat(name: string): Stat {
    let st = this.stats.get(name);
    if (!st) {
      st = { ops: 0, hist: new Histogram() };
      this.stats.set(name, st);
    }
    return st;
  }

  error(msg: string): void {
    this.errors++;
    const n = this.kinds.get(msg);
    if (n !== undefined) this.kinds.set(msg, n + 1);
    else if (this.kinds.size < MAX_KINDS) this.kinds.set(msg, 1);
  }

  private inWindow(now: number): boolean {
    return now >= this.win.startNs && now < this.win.endNs;
  }

  /** Records a completed operation of kind `st`; `main` says it is also a workload op. */
  private rec(st: Stat, latencyNs: number, now: number, main = true): void {
    if (now < this.win.startNs || now >= this.win.endNs) return;
    st.ops++;
    st.hist.record(latencyNs);
    if (main) {
      this.mainOps++;
      this.main.record(latencyNs);
    }
  }

  private async openSession(gidx: number): Promise<Session> {
    const t = targetOf(this.spec.servers, gidx);
    return Session.open({
      host: t.host,
      port: t.port,
      timeoutMs: this.spec.sessionTimeoutMs,
      connectTimeoutMs: this.spec.connectTimeoutMs,
    });
  }

  private async openAll(indices: number[]): Promise<Session[]> {
    const out = new Array<Session>(indices.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < indices.length) {
        const k = next++;
        out[k] = await this.openSession(indices[k]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, indices.length) }, worker));
    return out;
  }

  /** Opens the sessions (and, for watch, arms the watches). */
  async open(): Promise<void> {
    const sp = this.spec;
    this.getT = sp.nodes.map((path) => encode({ op: OpCode.getData, path, watch: false }));
    this.setT = sp.nodes.map((path) => encode({ op: OpCode.setData, path, data: this.value, version: -1 }));
    if (sp.workload === 'session') return;
    this.sessions = await this.openAll(sp.sessionIndices);
    const sync = encode({ op: OpCode.sync, path: sp.root });
    await Promise.all(this.sessions.map((s) => pipeline(s, 1, () => sync)));
    for (const s of this.sessions) {
      s.onFailure = (e) => {
        this.error(`session: ${e.message} (${s.inFlight} request(s) unanswered)`);
        this.checkDrained();
      };
    }
    if (sp.workload === 'watch') {
      const last = sp.sessionIndices.length === 0 ? 0 : Math.max(...sp.sessionIndices) + 1;
      this.writer = await this.openSession(last);
      this.writer.onFailure = (e) => {
        this.error(`writer session: ${e.message}`);
        this.checkDrained();
      };
      await this.armWatches();
    }
    this.keepAlive = setInterval(() => this.pingIdle(), 500);
  }

  private pingIdle(): void {
    const now = nowNs();
    const all = this.writer ? [...this.sessions, this.writer] : this.sessions;
    for (const s of all) {
      if (s.error) continue;
      if (now - s.lastSendNs > (s.negotiatedTimeoutMs / 3) * 1e6) s.ping(now);
    }
  }

  /** Runs the load until win.endNs, then drains. */
  run(win: Window): Promise<DriverResult> {
    this.win = win;
    this.running = true;
    return new Promise<DriverResult>((resolve) => {
      let drainTimer: NodeJS.Timeout | undefined;
      const endTimer = setTimeout(
        () => {
          this.running = false;
          drainTimer = setTimeout(() => {
            const left = this.inFlight();
            this.error(`${left} request(s) still unanswered ${this.spec.drainTimeoutMs} ms after the run`);
            this.finish?.();
          }, this.spec.drainTimeoutMs);
          this.checkDrained();
        },
        Math.max(0, (win.endNs - nowNs()) / 1e6),
      );
      this.finish = () => {
        this.finish = undefined;
        clearTimeout(endTimer);
        if (drainTimer) clearTimeout(drainTimer);
        resolve(this.result());
      };
      switch (this.spec.workload) {
        case 'session':
          this.startChurn();
          break;
        case 'watch':
          this.pumpWriter();
          break;
        default:
          this.startClosedLoop();
      }
    });
  }

  private inFlight(): number {
    let n = 0;
    for (const s of this.sessions) if (!s.error) n += s.inFlight;
    if (this.writer && !this.writer.error) n += this.writer.inFlight;
    if (this.watchState) n += this.watchState.activeRounds;
    n += this.churning;
    return n;
  }

  private checkDrained(): void {
    if (this.running || !this.finish) return;
    if (this.inFlight() === 0) this.finish();
  }

  /** After a reply: stop at the end of the window, else issue more. */
  private after(now: number, ctx: Ctx): void {
    if (now >= this.win.endNs) this.running = false;
    if (this.running) ctx.pump();
    else this.checkDrained();
  }

  private result(): DriverResult {
    const byOp: Record<string, OpStats> = {};
    for (const [name, st] of this.stats) byOp[name] = { ops: st.ops, hist: st.hist.snapshot() };
    return { ops: this.mainOps, hist: this.main.snapshot(), byOp, errors: this.errors, errorKinds: Object.fromEntries(this.kinds) };
  }

  /** Closes every session (closeSession, then the connection); returns what went wrong. */
  async close(): Promise<string[]> {
    if (this.keepAlive) clearInterval(this.keepAlive);
    const problems: string[] = [];
    const all = this.writer ? [...this.sessions, this.writer] : this.sessions;
    await Promise.all(
      all.map(async (s) => {
        if (s.error) return;
        try {
          const err = await s.close();
          if (err !== ErrorCode.OK) problems.push(`closeSession: ${errName(err)}`);
        } catch (e) {
          problems.push(`closeSession: ${(e as Error).message}`);
          s.destroy();
        }
      }),
    );
    this.sessions = [];
    this.writer = undefined;
    return problems;
  }

  // ------------------------------------------------------------ get, set, mixed, create, multi

  private startClosedLoop(): void {
    const sp = this.spec;
    const n = sp.nodes.length;
    const getSt = this.stat('getData');
    const setSt = this.stat('setData');
    const createSt = this.stat('create');
    const deleteSt = this.stat('delete');
    const multiSt = this.stat('multi');
    const expectLen = sp.valueSize;
    for (let k = 0; k < this.sessions.length; k++) {
      const s = this.sessions[k]!;
      const ctx: Ctx = { s, gidx: sp.sessionIndices[k]!, seq: 0, pump: () => undefined };
      const onGet: ReplyHandler = (err, body, lat, now) => {
        if (err !== ErrorCode.OK) this.error(`getData: ${errName(err)}`);
        else {
          const len = body.readInt();
          if (len !== expectLen) this.error(`getData: ${len} bytes of data, expected ${expectLen}`);
          else this.rec(getSt, lat, now);
        }
        this.after(now, ctx);
      };
      const onSet: ReplyHandler = (err, _body, lat, now) => {
        if (err !== ErrorCode.OK) this.error(`setData: ${errName(err)}`);
        else this.rec(setSt, lat, now);
        this.after(now, ctx);
      };
      const onCreate: ReplyHandler = (err, _body, lat, now) => {
        if (err !== ErrorCode.OK) this.error(`create: ${errName(err)}`);
        else this.rec(createSt, lat, now);
        // the delete that follows is already in flight: pump after it
      };
      const onDelete: ReplyHandler = (err, _body, lat, now) => {
        if (err !== ErrorCode.OK) this.error(`delete: ${errName(err)}`);
        else this.rec(deleteSt, lat, now);
        this.after(now, ctx);
      };
      const onMulti: ReplyHandler = (err, body, lat, now) => {
        if (err !== ErrorCode.OK) this.error(`multi: ${errName(err)}`);
        else {
          const results = readOpResults(body);
          const bad = results.find((r) => r.type !== OpCode.setData);
          if (results.length !== sp.multiSize || bad) this.error(`multi: unexpected results ${JSON.stringify(results.map((r) => r.type))}`);
          else this.rec(multiSt, lat, now);
        }
        this.after(now, ctx);
      };
      const out = sp.outstanding;
      let issue: () => void;
      switch (sp.workload) {
        case 'get':
          issue = () => s.send(this.getT[Math.floor(Math.random() * n)]!, onGet);
          break;
        case 'set':
          issue = () => s.send(this.setT[Math.floor(Math.random() * n)]!, onSet);
          break;
        case 'mixed':
          issue = () => {
            const i = Math.floor(Math.random() * n);
            if (Math.random() < 0.9) s.send(this.getT[i]!, onGet);
            else s.send(this.setT[i]!, onSet);
          };
          break;
        case 'create':
          issue = () => {
            const path = `${sp.scratch}/s${ctx.gidx}-${ctx.seq++}`;
            const now = nowNs();
            s.send(encode({ op: OpCode.create, path, data: this.value, acl: OPEN_ACL, flags: 0 }), onCreate, now);
            s.send(encode({ op: OpCode.delete, path, version: -1 }), onDelete, now);
          };
          break;
        case 'multi':
          issue = () => {
            const picked = new Set<number>();
            while (picked.size < sp.multiSize) picked.add(Math.floor(Math.random() * n));
            const ops = [...picked].map((i) => ({ op: OpCode.setData, path: sp.nodes[i]!, data: this.value, version: -1 }) as const);
            s.send(encode({ op: OpCode.multi, ops }), onMulti);
          };
          break;
        default:
          throw new Error(`not a closed-loop workload: ${sp.workload}`);
      }
      ctx.pump = () => {
        while (this.running && !s.error && s.inFlight < out) issue();
      };
      ctx.pump();
    }
  }

  // ------------------------------------------------------------ session churn

  private churning = 0;

  private startChurn(): void {
    const total = this.stat('connect + close');
    const connect = this.stat('connect');
    const close = this.stat('closeSession');
    for (const gidx of this.spec.sessionIndices) {
      this.churning++;
      void (async () => {
        while (this.running) {
          const t0 = nowNs();
          let s: Session;
          try {
            s = await this.openSession(gidx);
          } catch (e) {
            this.error(`connect: ${(e as Error).message}`);
            await new Promise((r) => setTimeout(r, 100));
            continue;
          }
          const t1 = nowNs();
          try {
            const err = await s.close(this.spec.drainTimeoutMs);
            const t2 = nowNs();
            if (err !== ErrorCode.OK) this.error(`closeSession: ${errName(err)}`);
            else {
              this.rec(connect, t1 - t0, t1, false);
              this.rec(close, t2 - t1, t2, false);
              this.rec(total, t2 - t0, t2);
            }
            if (t2 >= this.win.endNs) this.running = false;
          } catch (e) {
            this.error(`closeSession: ${(e as Error).message}`);
            s.destroy();
          }
        }
        this.churning--;
        this.checkDrained();
      })();
    }
  }

  // ------------------------------------------------------------ watch fan-out

  private async armWatches(): Promise<void> {
    const sp = this.spec;
    const S = this.sessions.length;
    const W = Math.min(sp.watchers, S);
    const n = sp.nodes.length;
    const st: WatchState = {
      W,
      remaining: new Int32Array(n),
      sentAt: new Float64Array(n),
      lastNotify: new Float64Array(n),
      index: new Map(sp.nodes.map((p, i) => [p, i])),
      ready: [],
      readyHead: 0,
      writerNodes: [],
      watcherNodes: this.sessions.map(() => []),
      watchT: sp.nodes.map((path) => encode({ op: OpCode.getData, path, watch: true })),
      activeRounds: 0,
    };
    this.watchState = st;
    const perSession: number[][] = this.sessions.map(() => []);
    for (let i = 0; i < n; i++) for (let j = 0; j < W; j++) perSession[(i + j) % S]!.push(i);
    await Promise.all(this.sessions.map((s, k) => pipeline(s, perSession[k]!.length, (i) => st.watchT[perSession[k]![i]!]!, 256)));
    for (let i = 0; i < n; i++) st.ready.push(i);
    const notifySt = this.stat('notification');
    const rearmSt = this.stat('getData(watch)');
    const fanoutSt = this.stat('fan-out (last watcher)');
    this.sessions.forEach((s, k) => {
      const mine = st.watcherNodes[k]!;
      const onRearm: ReplyHandler = (err, _b, lat, now) => {
        const i = mine.shift()!;
        if (err !== ErrorCode.OK) this.error(`getData(watch): ${errName(err)}`);
        else this.rec(rearmSt, lat, now, false);
        this.roundStep(i, now, fanoutSt);
      };
      s.onFailure = (e) => {
        this.error(`watcher session: ${e.message}`);
        this.running = false;
        this.checkDrained();
      };
      s.onEvent = (ev: WatcherEvent, now: number) => {
        const i = st.index.get(ev.path);
        if (i === undefined || ev.type !== EventType.NodeDataChanged) {
          this.error(`unexpected watch event type ${ev.type} state ${ev.state} path ${ev.path}`);
          return;
        }
        this.rec(notifySt, now - st.sentAt[i]!, now);
        if (now > st.lastNotify[i]!) st.lastNotify[i] = now;
        mine.push(i);
        s.send(st.watchT[i]!, onRearm, now);
        this.roundStep(i, now, fanoutSt);
      };
    });
  }

  /** One of a round's 2W + 1 steps (W notifications, W re-arms, the setData reply) is done. */
  private roundStep(i: number, now: number, fanoutSt: Stat): void {
    const st = this.watchState!;
    if (--st.remaining[i]! > 0) return;
    st.activeRounds--;
    const last = st.lastNotify[i]!;
    if (this.inWindow(last)) this.rec(fanoutSt, last - st.sentAt[i]!, last, false);
    st.ready.push(i);
    if (now >= this.win.endNs) this.running = false;
    if (this.running) this.pumpWriter();
    else this.checkDrained();
  }

  private readonly onWrite: ReplyHandler = (err: number, _body: JuteReader, lat: number, now: number) => {
    const st = this.watchState!;
    const i = st.writerNodes.shift()!;
    if (err !== ErrorCode.OK) this.error(`setData: ${errName(err)}`);
    else this.rec(this.stat('setData'), lat, now, false);
    this.roundStep(i, now, this.stat('fan-out (last watcher)'));
  };

  private pumpWriter(): void {
    const st = this.watchState!;
    const w = this.writer!;
    while (this.running && !w.error && w.inFlight < this.spec.outstanding && st.readyHead < st.ready.length) {
      const i = st.ready[st.readyHead++]!;
      if (st.readyHead > 4096) {
        st.ready.splice(0, st.readyHead);
        st.readyHead = 0;
      }
      const now = nowNs();
      st.remaining[i] = 2 * st.W + 1;
      st.sentAt[i] = now;
      st.lastNotify[i] = 0;
      st.activeRounds++;
      st.writerNodes.push(i);
      w.send(this.setT[i]!, this.onWrite, now);
    }
  }
}

interface WatchState {
  W: number;
  /** Steps left in node i's current round (0 when the node is ready for the next write). */
  remaining: Int32Array;
  sentAt: Float64Array;
  lastNotify: Float64Array;
  index: Map<string, number>;
  ready: number[];
  readyHead: number;
  /** Nodes of the writer's setData requests in flight, oldest first. */
  writerNodes: number[];
  /** Per watcher session: nodes of its re-arm getData requests in flight, oldest first. */
  watcherNodes: number[][];
  watchT: Encoded[];
  activeRounds: number;
}
