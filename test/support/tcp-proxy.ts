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
 * With `followTarget`, in `pass` the proxy listens only while its target does, so a client
 * dialling a target that is down (or a member that does not lead, whose quorum port is closed)
 * is refused as it would be without the proxy, rather than accepted and then reset: ZooKeeper's
 * learner retries a refused connection to its leader but gives up on a reset one. After a
 * refusal the proxy stops listening and probes the target until it accepts again. In `drop` and
 * `reset` it listens whatever the target does (a black hole does not say the target is down);
 * back in `pass` it goes dark until a probe finds the target listening.
 *
 * `rewriteFirst` lets the owner change the first message a client sends (the election port's
 * initial message names the sender's own address, which the receiver may dial back).
 */
import * as net from 'node:net';

export type ProxyMode = 'pass' | 'drop' | 'reset';

export interface ProxyOptions {
  targetPort: number;
  targetHost?: string;
  /** Listen port (default 0: any free port; required with followTarget). */
  port?: number;
  /** Listen only while the target accepts connections (see above). */
  followTarget?: boolean;
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
  /** Failed attempts to listen again after being dark (the port was taken meanwhile). */
  listenErrors: number;
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

const PROBE_INTERVAL_MS = 50;

export class FaultProxy {
  readonly stats: ProxyStats = { accepted: 0, forwardedBytes: 0, droppedBytes: 0, resets: 0, listenErrors: 0 };
  /** The listener; undefined while the proxy is dark (following a target that is down). */
  private server: net.Server | undefined;
  private listenPort: number;
  private readonly links = new Set<Link>();
  private currentMode: ProxyMode = 'pass';
  private probeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly options: ProxyOptions) {
    this.listenPort = options.port ?? 0;
  }

  static async start(options: ProxyOptions): Promise<FaultProxy> {
    if (options.followTarget === true && (options.port ?? 0) === 0) throw new Error('followTarget needs a fixed port');
    const proxy = new FaultProxy(options);
    if (options.followTarget === true) proxy.probe();
    else await proxy.listen();
    return proxy;
  }

  get port(): number {
    return this.listenPort;
  }

  /** True while the proxy listens (false while it follows a target that is down). */
  get listening(): boolean {
    return this.server !== undefined;
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
    if (mode !== 'pass' && this.server === undefined) this.relisten();
    for (const link of [...this.links]) {
      if (mode === 'reset') this.resetLink(link);
      else if (mode === 'pass' && previous === 'drop' && link.broken) this.resetLink(link);
      else if (mode === 'pass') this.flushHeld(link);
    }
    if (mode === 'pass' && previous !== 'pass') this.checkTarget();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.probeTimer);
    for (const link of [...this.links]) this.destroyLink(link, 'destroy');
    await this.stopListening();
  }

  private async listen(): Promise<void> {
    clearTimeout(this.probeTimer);
    if (this.server !== undefined || this.closed) return;
    const server = net.createServer((client) => this.accept(client));
    this.server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.listenPort, '127.0.0.1', () => resolve());
      });
    } catch (e) {
      if (this.server === server) this.server = undefined;
      throw e;
    }
    // Closed (or gone dark) while the listen was under way: the close missed this server.
    if (this.server !== server) {
      server.close();
      return;
    }
    this.listenPort = (server.address() as net.AddressInfo).port;
  }

  /**
   * Listens again after being dark. The port was free while dark: if something else took it,
   * keep trying (and count it) rather than fail the run from a timer.
   */
  private relisten(): void {
    this.listen().catch(() => {
      this.stats.listenErrors++;
      this.probeTimer = setTimeout(() => this.probe(), PROBE_INTERVAL_MS);
    });
  }

  private async stopListening(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Back to `pass` after a fault, during which the proxy listened whatever its target did: go
   * dark until a probe finds the target listening, or the first connection to a target that is
   * down would be accepted and then reset rather than refused (a learner gives up on a reset
   * connection to its new leader, and election starts over).
   */
  private checkTarget(): void {
    if (this.options.followTarget !== true || this.server === undefined) return;
    void this.stopListening();
    this.probe();
  }

  /** The target refused: go dark and probe it until it accepts. */
  private targetDown(): void {
    if (this.options.followTarget !== true || this.currentMode !== 'pass' || this.server === undefined) return;
    void this.stopListening();
    this.probe();
  }

  private probe(): void {
    if (this.closed || this.server !== undefined) return;
    const socket = net.connect({ host: this.options.targetHost ?? '127.0.0.1', port: this.options.targetPort });
    socket.once('connect', () => {
      socket.destroy();
      this.relisten();
    });
    socket.once('error', () => {
      socket.destroy();
      this.probeTimer = setTimeout(() => this.probe(), PROBE_INTERVAL_MS);
    });
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
    upstream.on('error', (e: NodeJS.ErrnoException) => {
      if (this.currentMode !== 'pass') {
        this.endClosed(link);
        return;
      }
      this.resetLink(link);
      if (e.code === 'ECONNREFUSED') this.targetDown();
    });
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
    this.destroyLink(link, 'end');
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
    this.destroyLink(link, 'reset');
  }

  /** `end`: a FIN after what is still queued (one end closed); `reset`: an RST; `destroy`: the proxy shuts. */
  private destroyLink(link: Link, how: 'end' | 'reset' | 'destroy'): void {
    if (!this.links.delete(link)) return;
    for (const s of [link.client, link.upstream]) {
      if (s === undefined || s.destroyed) continue;
      // An RST on a socket whose peer already sent its FIN leaves node 20 unable to exit (its
      // handle cleanup spins at process end); that peer is gone anyway, so it is just closed.
      if (how === 'reset' && !s.readableEnded) s.resetAndDestroy();
      else if (how === 'reset') s.destroy();
      else if (how === 'end') s.end();
      else s.destroy();
    }
  }
}
