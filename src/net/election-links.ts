/**
 * The election port over TCP: ZooKeeper 3.8's QuorumCnxManager as a node:net adapter. The rules
 * (which side keeps a connection, the send queues of one) are quorum/election/connections.ts;
 * this file owns the sockets and timers.
 *
 * - Listens on this member's election address (every local address with quorumListenOnAllIPs).
 * - Opens a connection to a member when there is something to send it (or on connectAll), with
 *   cnxTimeout for the TCP connect, and sends the initial message (protocol version, sid,
 *   election address) in one write: 3.8 reads the address bytes with a single read and refuses
 *   a message split across segments. The opener keeps the connection only to a smaller sid.
 * - Reads an accepted connection's initial message within `initialMessageTimeoutMs` (3.8's
 *   socket timeout, tickTime * syncLimit unless quorumCnxnTimeoutMs is set), then keeps it, or
 *   closes it and connects back (a smaller sid), or refuses it (unknown sid, our own sid).
 * - Messages are frames: a 4-byte length then the message, 1..PACKETMAXSIZE bytes.
 * - Bad input on one connection (a malformed initial message, a frame length out of range, a
 *   slow initial message) closes that connection with a log line; the others go on.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ELECTION_MESSAGE_BYTES_MAX } from '../base/index.js';
import {
  CodecError,
  ELECTION_PROTOCOL_V1,
  ELECTION_PROTOCOL_V2,
  electionFrameDecoder,
  FrameLengthError,
  INCOMPLETE,
  JuteReader,
  JuteWriter,
  measureInitialMessage,
  readInitialMessage,
  writeInitialMessage,
  type ElectionAddress,
  type FrameDecoder,
  type InitialMessage,
} from '../codec/index.js';
import { decideAccept, openerKeeps, SendQueues, type AcceptPolicy } from '../quorum/index.js';
import type { Logger } from '../server/types.js';

export interface ElectionLinksOptions {
  readonly mySid: number;
  /** The election address of every other member (observers included), by sid. */
  readonly peers: ReadonlyMap<number, ElectionAddress>;
  /** This member's election address; port 0 takes an ephemeral port (tests). */
  readonly listen: ElectionAddress;
  /** quorumListenOnAllIPs: bind the election port on every local address. */
  readonly listenOnAllIPs?: boolean;
  /** What the initial message announces; default the listen address with its bound port. */
  readonly announce?: readonly ElectionAddress[];
  /** V1 unless zookeeper.multiAddress.enabled, as 3.8 chooses (default V1). */
  readonly protocolVersion?: typeof ELECTION_PROTOCOL_V1 | typeof ELECTION_PROTOCOL_V2;
  /** zookeeper.cnxTimeout: how long a TCP connect may take (default 5000; 0 is no limit). */
  readonly cnxTimeoutMs?: number;
  /** How long an accepted connection may take to send its initial message. */
  readonly initialMessageTimeoutMs: number;
  /** 3.8 keeps connections from sids it does not know; by default they are refused here. */
  readonly acceptUnknownSids?: boolean;
  readonly maxMessageBytes?: number;
  readonly log: Logger;
  /** A whole message from member `sid` (valid only during the call). */
  readonly onMessage: (sid: number, message: Buffer) => void;
}

interface Link {
  readonly sid: number;
  readonly socket: Socket;
}

const DEFAULT_CNX_TIMEOUT_MS = 5000;

export class ElectionLinks {
  private readonly options: ElectionLinksOptions;
  private readonly queues = new SendQueues<Buffer>();
  private readonly links = new Map<number, Link>();
  private readonly connecting = new Set<number>();
  /** Every socket not yet closed: accepted, being opened or linked (closed by `close`). */
  private readonly sockets = new Set<Socket>();
  private server: Server | null = null;
  private announced: readonly ElectionAddress[] = [];
  private closed = false;

  constructor(options: ElectionLinksOptions) {
    this.options = options;
  }

  /** The peers are read as connections come (a test may fill the map once every port is bound). */
  private policy(): AcceptPolicy {
    return {
      mySid: this.options.mySid,
      knownSids: new Set([this.options.mySid, ...this.options.peers.keys()]),
      acceptUnknownSids: this.options.acceptUnknownSids ?? false,
    };
  }

  /** Binds the election port; resolves with the address it is bound to. */
  async start(): Promise<ElectionAddress> {
    const server = createServer((socket) => this.onAccepted(socket));
    this.server = server;
    const host = this.options.listenOnAllIPs === true ? '::' : this.options.listen.host;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: this.options.listen.port, ipv6Only: false }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.options.log.error({ err }, 'election port listener failed'));
    const bound = { host: this.options.listen.host, port: (server.address() as AddressInfo).port };
    this.announced = this.options.announce ?? [bound];
    return bound;
  }

  /** QuorumCnxManager.toSend: queue for `sid` (replacing what waits) and send when linked. */
  toSend(sid: number, message: Buffer): void {
    if (this.closed) return;
    if (sid === this.options.mySid) throw new Error('a member does not send to itself over the network');
    this.queues.enqueue(sid, message);
    const link = this.links.get(sid);
    if (link === undefined) this.connectOne(sid);
    else this.drain(link);
  }

  /** Opens a connection to every member something was ever queued for, where none is open. */
  connectAll(): void {
    for (const sid of this.queues.sids()) this.connectOne(sid);
  }

  /** QuorumCnxManager.haveDelivered: some member's queue is empty. */
  haveDelivered(): boolean {
    return this.queues.haveDelivered();
  }

  /** The sids with an open link (for tests and four-letter views). */
  linkedSids(): number[] {
    return [...this.links.keys()].sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const socket of this.sockets) socket.destroy();
    this.links.clear();
    const server = this.server;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ------------------------------------------------------------ opening connections

  /** Connects to `sid` unless linked or connecting; `to` is an address its initial message gave. */
  connectOne(sid: number, to?: ElectionAddress): void {
    if (this.closed || this.links.has(sid) || this.connecting.has(sid)) return;
    const address = to ?? this.options.peers.get(sid);
    if (address === undefined) {
      this.options.log.warn({ sid }, 'election: no address for this server id');
      return;
    }
    this.connecting.add(sid);
    const socket = connect({ host: address.host, port: address.port });
    this.track(socket);
    socket.setNoDelay(true);
    const cnxTimeoutMs = this.options.cnxTimeoutMs ?? DEFAULT_CNX_TIMEOUT_MS;
    // 0 is no limit, as for Socket.connect in 3.8 (then the OS decides)
    const cnxTimer =
      cnxTimeoutMs > 0
        ? setTimeout(() => {
            this.options.log.warn({ sid, address }, 'election: connect timed out (cnxTimeout)');
            socket.destroy();
          }, cnxTimeoutMs)
        : undefined;
    socket.once('close', () => {
      clearTimeout(cnxTimer);
      this.connecting.delete(sid);
    });
    let opened = false;
    socket.on('error', (err) => {
      if (!opened) this.options.log.warn({ sid, address, err: err.message }, 'election: cannot open channel');
    });
    socket.once('connect', () => {
      opened = true;
      clearTimeout(cnxTimer);
      this.connecting.delete(sid);
      if (this.closed) return;
      socket.write(this.initialMessage());
      if (openerKeeps(this.options.mySid, sid)) {
        this.adopt(sid, socket, null);
      } else {
        // the larger sid connects back on seeing our message
        this.options.log.debug({ sid }, 'election: smaller server id, dropping the connection');
        socket.end();
      }
    });
  }

  private initialMessage(): Buffer {
    const w = new JuteWriter(64);
    const protocolVersion = this.options.protocolVersion ?? ELECTION_PROTOCOL_V1;
    const addresses = protocolVersion === ELECTION_PROTOCOL_V1 ? this.announced.slice(0, 1) : [...this.announced];
    writeInitialMessage(w, { protocolVersion, sid: BigInt(this.options.mySid), addresses });
    return Buffer.from(w.view().subarray(0, w.length));
  }

  // ------------------------------------------------------------ accepting connections

  private onAccepted(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.track(socket);
    socket.setNoDelay(true);
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    let received: Buffer = Buffer.alloc(0);
    socket.setTimeout(this.options.initialMessageTimeoutMs, () => {
      this.refuse(socket, remote, `no initial message within ${this.options.initialMessageTimeoutMs} ms`);
    });
    socket.on('error', () => undefined);
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      let length: number;
      try {
        length = measureInitialMessage(received, 0, received.length);
      } catch (err) {
        this.refuse(socket, remote, (err as Error).message);
        return;
      }
      if (length === INCOMPLETE) return;
      socket.off('data', onData);
      socket.setTimeout(0);
      this.onInitialMessage(socket, remote, received, length);
    };
    socket.on('data', onData);
  }

  private onInitialMessage(socket: Socket, remote: string, received: Buffer, length: number): void {
    let initial: InitialMessage;
    try {
      initial = readInitialMessage(new JuteReader(received, 0, length));
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      this.refuse(socket, remote, err.message);
      return;
    }
    const decision = decideAccept(this.policy(), initial);
    switch (decision.action) {
      case 'refuse':
        this.refuse(socket, remote, decision.reason);
        return;
      case 'connect-back': {
        socket.destroy();
        // it may still look linked to us: that link goes before the new one is opened
        this.links.get(decision.sid)?.socket.destroy();
        this.links.delete(decision.sid);
        const sent = initial.protocolVersion === null ? undefined : initial.addresses[0];
        this.connectOne(decision.sid, sent);
        return;
      }
      case 'keep':
        this.adopt(decision.sid, socket, received.subarray(length));
        return;
    }
  }

  private refuse(socket: Socket, remote: string, reason: string): void {
    this.options.log.warn({ remote, reason }, 'election: connection refused and closed');
    socket.destroy();
  }

  // ------------------------------------------------------------ links

  /** The link to `sid` from now on (an older one is closed): SendWorker and RecvWorker. */
  private adopt(sid: number, socket: Socket, leftover: Buffer | null): void {
    const old = this.links.get(sid);
    if (old !== undefined && old.socket !== socket) old.socket.destroy();
    const link: Link = { sid, socket };
    this.links.set(sid, link);
    this.options.log.info({ sid }, 'election: linked');
    const decoder = electionFrameDecoder(this.options.maxMessageBytes ?? ELECTION_MESSAGE_BYTES_MAX);
    socket.on('data', (chunk: Buffer) => this.onFrames(link, decoder, chunk));
    socket.once('close', () => {
      if (this.links.get(sid) !== link) return;
      this.links.delete(sid);
      if (!this.closed) this.options.log.info({ sid }, 'election: connection closed');
    });
    this.queues.ensure(sid);
    const again = this.queues.onLinkUp(sid);
    if (again !== undefined) this.write(link, again);
    this.drain(link);
    if (leftover !== null && leftover.length > 0) this.onFrames(link, decoder, leftover);
  }

  private onFrames(link: Link, decoder: FrameDecoder, chunk: Buffer): void {
    decoder.push(chunk);
    try {
      for (let frame = decoder.next(); frame !== null && !link.socket.destroyed; frame = decoder.next()) {
        this.options.onMessage(link.sid, frame);
      }
    } catch (err) {
      if (!(err instanceof FrameLengthError)) throw err;
      this.options.log.warn({ sid: link.sid, length: err.length }, 'election: invalid message length, connection closed');
      link.socket.destroy();
    }
  }

  private drain(link: Link): void {
    for (let m = this.queues.take(link.sid); m !== undefined; m = this.queues.take(link.sid)) this.write(link, m);
  }

  private write(link: Link, message: Buffer): void {
    const frame = Buffer.allocUnsafe(4 + message.length);
    frame.writeInt32BE(message.length, 0);
    message.copy(frame, 4);
    link.socket.write(frame);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }
}
