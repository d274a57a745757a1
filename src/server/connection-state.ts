/** Per-connection state the core keeps: session binding, auth ids, ordering queue, stats. */
import { opName, type Id } from '../codec/index.js';
import type { ApplyResult } from '../tree/index.js';
import type { ClientConnection } from './types.js';

/** A request waiting for its turn to be answered, in arrival order. */
export interface QueuedReply {
  /** False while the write's txn is not yet durable and applied. */
  readonly ready: boolean;
  run(): void;
}

/** A write in its connection's queue: ready once its txn is applied, answered from the result. */
export class QueuedWrite implements QueuedReply {
  ready = false;
  private result: ApplyResult | null = null;

  constructor(private readonly answer: (res: ApplyResult) => void) {}

  applied(res: ApplyResult): void {
    this.result = res;
    this.ready = true;
  }

  run(): void {
    if (this.result !== null) this.answer(this.result);
  }
}

export class ConnectionStats {
  packetsReceived = 0;
  packetsSent = 0;
  minLatencyMs = Number.MAX_SAFE_INTEGER;
  maxLatencyMs = 0;
  totalLatencyMs = 0;
  latencyCount = 0;
  /** Opcode of the last request answered (-1: none); named only when `cons` asks. */
  lastOpCode = -1;
  lastCxid = -1;
  lastZxid = -1;
  /** Monotonic ms of the last reply (`cons` lresp; ZooKeeper's is monotonic too). */
  lastResponseTimeMs = 0;
  lastLatencyMs = 0;

  /** ZooKeeper's `lop`: the first four letters of the last op's name, upper case ("NA" if none). */
  get lastOp(): string {
    return this.lastOpCode === -1 ? 'NA' : opName(this.lastOpCode).slice(0, 4).toUpperCase();
  }

  recordLatency(ms: number): void {
    this.lastLatencyMs = ms;
    this.totalLatencyMs += ms;
    this.latencyCount++;
    if (ms < this.minLatencyMs) this.minLatencyMs = ms;
    if (ms > this.maxLatencyMs) this.maxLatencyMs = ms;
  }

  reset(): void {
    this.packetsReceived = 0;
    this.packetsSent = 0;
    this.minLatencyMs = Number.MAX_SAFE_INTEGER;
    this.maxLatencyMs = 0;
    this.totalLatencyMs = 0;
    this.latencyCount = 0;
    this.lastOpCode = -1;
    this.lastCxid = -1;
    this.lastZxid = -1;
    this.lastResponseTimeMs = 0;
    this.lastLatencyMs = 0;
  }
}

export class ConnectionState {
  sessionId: bigint | null = null;
  sessionTimeoutMs = 0;
  /** Set once the ConnectRequest has been read. */
  handshakeStarted = false;
  /** Old clients omit the readOnly byte; their ConnectResponse omits it too. */
  oldClient = false;
  closing = false;
  readonly authIds: Id[];
  readonly queue: QueuedReply[] = [];
  readonly stats = new ConnectionStats();
  readonly establishedMs: number;

  constructor(
    readonly conn: ClientConnection,
    nowMs: number,
  ) {
    // Every connection holds its client's address as an `ip` id (ZooKeeper adds it on accept).
    this.authIds = [{ scheme: 'ip', id: conn.remoteAddress.startsWith('::ffff:') ? conn.remoteAddress.slice(7) : conn.remoteAddress }];
    this.establishedMs = nowMs;
  }
}
