/**
 * A TCP proxy with faults, for the links between ensemble members (no root, no network
 * namespaces: each member's zoo.cfg names the other members at proxy ports).
 *
 * One proxy carries the connections one member opens to one port of another member. Its mode
 * applies to both directions of every connection through it:
 * - `pass`: bytes are relayed unchanged.
 * - `drop`: a black hole. Bytes are read and thrown away, never forwarded; new connections are
 *   accepted and treated the same (no upstream connection is made). Both ends see a silent
 *   peer, as behind a partition, until their own timeouts fire.
 * - `reset`: every connection is destroyed at both ends with a TCP RST, and new ones are reset
 *   as soon as they arrive.
 * A connection that lost bytes in `drop`, or one end (which closed behind the black hole, unseen
 * by the other), cannot carry its stream any more, so leaving `drop` resets it; connections that
 * lost nothing carry on.
 *
 * `rewriteFirst` lets the owner change the first message a client sends (the election port's
 * initial message names the sender's own address, which the receiver may dial back).
 */
import * as net from 'node:net';

export type ProxyMode = 'pass' | 'drop' | 'reset';

export interface ProxyOptions {
  targetPort: number;
  targetHost?: string;
  /** Listen port (default 0: any free port). */
  port?: number;
  /**
   * Called with the bytes a client sent so far, before anything is forwarded: returns how many
   * leading bytes make the first message and what to send in their place, or undefined while
   * the message is incomplete. Throwing resets the connection.
   */
  rewriteFirst?: (bytes: Buffer) => { consumed: number; replacement: Buffer } | undefined;
}

export interface ProxyStats {
  /** Connections accepted. */
  accepted: number;
  /** Bytes relayed (both directions). */
  forwardedBytes: number;
  /** Bytes thrown away in `drop`. */
  droppedBytes: number;
  /** Connections reset by the proxy. */
  resets: number;
}

interface Link {
  client: net.Socket;
  upstream: net.Socket | undefined;
  /** Bytes from the client not yet relayed (before the upstream connects, or the first message completes). */
  held: Buffer[];
  firstDone: boolean;
  /** Lost bytes or one end in `drop`: it cannot carry its stream on after the fault. */
  broken: boolean;
}

export class FaultProxy {
  readonly stats: ProxyStats = { accepted: 0, forwardedBytes: 0, droppedBytes: 0, resets: 0 };
  private readonly server: net.Server;
  private readonly links = new Set<Link>();
  private currentMode: ProxyMode = 'pass';

  private constructor(private readonly options: ProxyOptions) {
    this.server = net.createServer((client) => this.accept(client));
  }

  static async start(options: ProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get mode(): ProxyMode {
    return this.currentMode;
  }

  /** Connections open through the proxy now. */
  get openLinks(): number {
    return this.links.size;
  }

  setMode(mode: ProxyMode): void {
    const previous = this.currentMode;
    this.currentMode = mode;
    for (const link of [...this.links]) {
      if (mode === 'reset') this.resetLink(link);
      else if (mode === 'pass' && previous === 'drop' && link.broken) this.resetLink(link);
      else if (mode === 'pass') this.flushHeld(link);
    }
  }

  async close(): Promise<void> {
    for (const link of [...this.links]) this.destroyLink(link, false);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.stats.accepted++;
    const link: Link = { client, upstream: undefined, held: [], firstDone: this.options.rewriteFirst === undefined, broken: false };
    this.links.add(link);
    client.setNoDelay(true);
    client.on('error', () => this.endClosed(link));
    client.on('close', () => this.endClosed(link));
    if (this.currentMode === 'reset') {
      this.resetLink(link);
      return;
    }
    client.on('data', (chunk: Buffer) => this.fromClient(link, chunk));
    if (this.currentMode === 'pass') this.connectUpstream(link);
  }

  private connectUpstream(link: Link): void {
    const upstream = net.connect({ host: this.options.targetHost ?? '127.0.0.1', port: this.options.targetPort });
    link.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('connect', () => this.flushHeld(link));
    upstream.on('data', (chunk: Buffer) => {
      if (this.currentMode !== 'pass') {
        this.drop(link, chunk);
        return;
      }
      this.stats.forwardedBytes += chunk.length;
      link.client.write(chunk);
    });
    // A refused or broken upstream ends the client's connection the same way.
    upstream.on('error', () => (this.currentMode === 'pass' ? this.resetLink(link) : this.endClosed(link)));
    upstream.on('close', () => this.endClosed(link));
  }

  private fromClient(link: Link, chunk: Buffer): void {
    if (this.currentMode !== 'pass') {
      this.drop(link, chunk);
      return;
    }
    link.held.push(chunk);
    this.flushHeld(link);
  }

  private drop(link: Link, chunk: Buffer): void {
    this.stats.droppedBytes += chunk.length;
    link.broken = true;
  }

  /** One end closed: the other learns of it, unless a black hole stands between them. */
  private endClosed(link: Link): void {
    if (this.currentMode === 'drop' && this.links.has(link)) {
      link.broken = true;
      return;
    }
    this.destroyLink(link, false);
  }

  /** Relays what the client sent while the upstream was connecting, rewriting the first message once complete. */
  private flushHeld(link: Link): void {
    if (this.currentMode !== 'pass') return;
    if (link.upstream === undefined) {
      this.connectUpstream(link);
      return;
    }
    if (link.upstream.connecting || link.held.length === 0) return;
    let bytes = Buffer.concat(link.held);
    link.held = [];
    if (!link.firstDone) {
      let rewritten: ReturnType<NonNullable<ProxyOptions['rewriteFirst']>>;
      try {
        rewritten = this.options.rewriteFirst?.(bytes);
      } catch {
        this.resetLink(link);
        return;
      }
      if (rewritten === undefined) {
        link.held = [bytes];
        return;
      }
      link.firstDone = true;
      bytes = Buffer.concat([rewritten.replacement, bytes.subarray(rewritten.consumed)]);
    }
    this.stats.forwardedBytes += bytes.length;
    link.upstream.write(bytes);
  }

  private resetLink(link: Link): void {
    if (!this.links.has(link)) return;
    this.stats.resets++;
    this.destroyLink(link, true);
  }

  private destroyLink(link: Link, reset: boolean): void {
    if (!this.links.delete(link)) return;
    for (const s of [link.client, link.upstream]) {
      if (s === undefined || s.destroyed) continue;
      if (reset) s.resetAndDestroy();
      else s.destroy();
    }
  }
}
