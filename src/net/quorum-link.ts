/**
 * One connection on the quorum port, leader side (LearnerHandler's socket) or learner side
 * (Learner's socket to the leader). The port carries bare QuorumPackets with no length prefix,
 * and on the learner side a SNAP packet is followed by the SNAP transfer, outside any packet,
 * and then packets again; the link reads both as they arrive (RecordStream, SnapTransferReader)
 * and hands them on one record at a time. Garbage (a bad length, an unknown record shape, a
 * transfer without its signature) closes this link with a log line; nothing else is affected.
 *
 * Writes are batched per event-loop turn: a leader sends a PROPOSAL to every learner and then a
 * COMMIT, and they leave together. `sendBytes` writes raw bytes (the leader streaming a SNAP
 * transfer) and answers false when the socket's buffer is full: the caller then waits for
 * `drained()` before the next slice, so a slow learner holds back only its own transfer.
 *
 * A read timeout (`setReadTimeout`, ZooKeeper's soTimeout on a learner's socket) closes the link
 * when nothing arrives for that long. Only arriving bytes count: a learner that keeps writing
 * (forwarded requests) into a connection whose far end went silent, as behind a partition, must
 * still give it up, which node's socket.setTimeout (any activity) would not.
 */
import type { Socket } from 'node:net';
import { QUORUM_PACKET_BYTES_MAX, QUORUM_RECORD_BYTES_MAX } from '../base/index.js';
import {
  CodecError,
  JuteReader,
  JuteWriter,
  PacketType,
  RecordStream,
  SnapTransferReader,
  readQuorumPacket,
  walkQuorumPacket,
  writeQuorumPacket,
  type QuorumPacket,
  type SnapItem,
} from '../codec/index.js';
import type { Logger } from '../server/types.js';

export type QuorumLinkSide = 'leader' | 'learner';

export interface QuorumLinkHandler {
  packet(p: QuorumPacket): void;
  /** Learner side only: the records of a SNAP transfer, after its SNAP packet, ending with `end`. */
  snapItem(item: SnapItem): void;
  /** Called once, when the link closes for any reason (after `close` too). */
  closed(reason: string): void;
}

export interface QuorumLinkLimits {
  maxRecordBytes: number;
  maxPacketBytes: number;
}

const DEFAULT_LIMITS: QuorumLinkLimits = { maxRecordBytes: QUORUM_RECORD_BYTES_MAX, maxPacketBytes: QUORUM_PACKET_BYTES_MAX };

export class QuorumLink {
  private readonly input = new RecordStream();
  private snap: SnapTransferReader | null = null;
  private output: JuteWriter | null = null;
  private isClosed = false;
  private paused = false;
  private readTimeoutMs: number | null = null;
  private readTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly socket: Socket,
    private readonly side: QuorumLinkSide,
    private readonly handler: QuorumLinkHandler,
    private readonly log: Logger,
    private readonly peer: string,
    private readonly limits: QuorumLinkLimits = DEFAULT_LIMITS,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.close(`socket error: ${e.message}`));
    socket.on('end', () => this.close('peer closed the connection'));
    socket.on('close', () => this.close('connection closed'));
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(p: QuorumPacket): void {
    if (this.isClosed) return;
    if (this.output === null) {
      this.output = new JuteWriter(256);
      setImmediate(() => this.flush());
    }
    writeQuorumPacket(this.output, p);
  }

  /** Raw bytes after what `send` queued (a SNAP transfer). False: wait for `drained()`. */
  sendBytes(bytes: Buffer): boolean {
    if (this.isClosed) return false;
    this.flush();
    return this.socket.write(bytes);
  }

  /**
   * Closes the link once nothing has arrived for `ms` (counted afresh from now); null: no
   * limit. A paused link does not time out: it is not reading.
   */
  setReadTimeout(ms: number | null): void {
    this.readTimeoutMs = ms;
    this.armReadTimer();
  }

  /** Resolves when the socket's write buffer has room again (or the link closed). */
  drained(): Promise<void> {
    if (this.isClosed || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** Stops handing on records (a learner loading a transfer in slices); `resume` goes on. */
  pause(): void {
    this.paused = true;
    this.socket.pause();
    this.disarmReadTimer();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
    this.armReadTimer();
    this.drainInput();
  }

  close(reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.disarmReadTimer();
    this.flush();
    this.socket.end();
    this.socket.destroySoon();
    this.handler.closed(reason);
  }

  private flush(): void {
    const out = this.output;
    if (out === null) return;
    this.output = null;
    if (!this.socket.destroyed) this.socket.write(out.toBuffer());
  }

  /** (Re)starts the read timeout from now, if there is one and the link reads. */
  private armReadTimer(): void {
    this.disarmReadTimer();
    const ms = this.readTimeoutMs;
    if (ms === null || this.isClosed || this.paused) return;
    this.readTimer = setTimeout(() => this.close(`nothing received for ${ms} ms`), ms);
  }

  private disarmReadTimer(): void {
    if (this.readTimer !== null) clearTimeout(this.readTimer);
    this.readTimer = null;
  }

  private onData(chunk: Buffer): void {
    if (this.isClosed) return;
    this.readTimer?.refresh();
    this.input.push(chunk);
    this.drainInput();
  }

  private drainInput(): void {
    try {
      while (!this.isClosed && !this.paused && this.nextRecord());
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      this.log.warn({ peer: this.peer, side: this.side, err: e.message }, 'malformed data on the quorum port, closing the connection');
      this.close(`malformed data: ${e.message}`);
    }
  }

  /** Hands on one record; false when the bytes for the next one have not all arrived. */
  private nextRecord(): boolean {
    if (this.snap !== null) {
      const item = this.snap.next(this.input);
      if (item === null) return false;
      if (item.kind === 'end') this.snap = null;
      this.handler.snapItem(item);
      return true;
    }
    if (!this.input.next((s) => walkQuorumPacket(s, this.limits.maxRecordBytes), this.limits.maxPacketBytes)) return false;
    const p = readQuorumPacket(new JuteReader(this.input.buffer, this.input.start, this.input.end), this.limits.maxRecordBytes);
    // Only a learner reads a transfer: the leader never receives SNAP, and one that did would be
    // garbage to the protocol layer, which closes the link.
    if (this.side === 'learner' && p.type === PacketType.snap) this.snap = new SnapTransferReader(this.limits.maxRecordBytes);
    this.handler.packet(p);
    return true;
  }
}
