/**
 * A bare TCP connection for malformed-input tests, where RawClient's strict reply matching is in
 * the way: frames are collected as they come, nothing is matched, and the handshake is optional.
 * (Not a test file: node --test only runs *.test.js.)
 */
import * as net from 'node:net';
import {
  type ConnectResponse,
  type ReplyHeader,
  FrameDecoder,
  JuteReader,
  JuteWriter,
  readConnectResponse,
  readReplyHeader,
  writeConnectRequest,
} from '../../src/codec/index.js';

/** A length-prefixed frame whose body `build` writes. */
export function frame(build: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriter(64);
  const at = w.reserveInt();
  build(w);
  w.patchInt(at, w.length - 4);
  return Buffer.from(w.toBuffer());
}

export function connectRequestFrame(
  options: { timeoutMs?: number; readOnly?: boolean | undefined; sessionId?: bigint; passwd?: Buffer } = {},
): Buffer {
  return frame((w) =>
    writeConnectRequest(w, {
      protocolVersion: 0,
      lastZxidSeen: 0,
      timeOut: options.timeoutMs ?? 10000,
      sessionId: options.sessionId ?? 0n,
      passwd: options.passwd ?? Buffer.alloc(16),
      readOnly: options.readOnly,
    }),
  );
}

export class Wire {
  /** Every complete frame received, in order (the ConnectResponse included). */
  readonly frames: Buffer[] = [];
  bytesReceived = 0;
  readonly closed: Promise<void>;
  private isClosedFlag = false;
  private readonly decoder = new FrameDecoder(256 * 1024 * 1024);
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.isClosedFlag = true;
        this.wake();
        resolve();
      });
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      this.decoder.push(chunk);
      try {
        for (let f = this.decoder.next(); f !== null; f = this.decoder.next()) this.frames.push(Buffer.from(f));
      } catch {
        // Not a frame stream (a four-letter-word answer, say): keep the byte count only.
      }
      this.wake();
    });
  }

  static open(port: number, host = '127.0.0.1'): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        resolve(new Wire(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Opens a connection and completes a handshake for a new session. */
  static async connected(
    port: number,
    options: { timeoutMs?: number; readOnly?: boolean | undefined } = {},
  ): Promise<{ wire: Wire; response: ConnectResponse; frameBytes: number }> {
    const wire = await Wire.open(port);
    wire.send(connectRequestFrame({ readOnly: false, ...options }));
    const f = await wire.frameAt(0);
    return { wire, response: readConnectResponse(new JuteReader(f)), frameBytes: f.length };
  }

  get isClosed(): boolean {
    return this.isClosedFlag;
  }

  send(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Resolves with frame number `index` (0 = the first frame received), rejects on close or timeout. */
  async frameAt(index: number, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames[index];
      if (f !== undefined) return f;
      if (this.isClosedFlag) throw new Error(`connection closed after ${this.frames.length} frames; wanted frame ${index}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame ${index} within ${timeoutMs} ms (have ${this.frames.length})`);
      await this.nextWake(left);
    }
  }

  /** The reply header of frame `index`. */
  async headerAt(index: number, timeoutMs = 5000): Promise<ReplyHeader> {
    return readReplyHeader(new JuteReader(await this.frameAt(index, timeoutMs)));
  }

  /** Resolves true once the server has closed the connection, false if it is still open after `timeoutMs`. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      this.closed.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return r;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private nextWake(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
