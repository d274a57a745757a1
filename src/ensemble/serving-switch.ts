/**
 * The client port of an ensemble member: one listener for the member's life, whose connections
 * go to the server of the current role while it serves. While the member elects or syncs, a
 * connection is closed at its first request (the client tries another member), as ZooKeeper
 * closes one when its server is not running; a four-letter word is still answered (the listener
 * reads it before any request). When a role ends its server's connections are closed.
 */
import type { ClientCore } from '../net/client-listener.js';
import { Outbox, type ClientConnection, type Now } from '../server/types.js';
import type { ZkServer } from '../server/zk-server.js';

export class ServingSwitch implements ClientCore {
  private serving: ZkServer | null = null;
  /** Which server each open connection belongs to (it stays with it until it closes). */
  private readonly owners = new Map<number, ZkServer>();
  /** Every open connection's outbox, its server's or (none serving) its own. */
  private readonly outboxes = new Map<number, Outbox>();

  get current(): ZkServer | null {
    return this.serving;
  }

  serve(zk: ZkServer): void {
    this.serving = zk;
  }

  /** Stops serving: the server's clients are disconnected (they reconnect elsewhere or later). */
  stop(reason: string): void {
    const zk = this.serving;
    this.serving = null;
    zk?.closeAll(reason);
  }

  /** A connection no server takes gets an outbox of its own, closed at its first request. */
  connectionOpened(conn: ClientConnection, now: Now): Outbox {
    const zk = this.serving;
    if (zk !== null) this.owners.set(conn.id, zk);
    const outbox = zk === null ? new Outbox(conn) : zk.connectionOpened(conn, now);
    this.outboxes.set(conn.id, outbox);
    return outbox;
  }

  connectionClosed(conn: ClientConnection): void {
    this.outboxes.delete(conn.id);
    const zk = this.owners.get(conn.id);
    if (zk === undefined) return;
    this.owners.delete(conn.id);
    zk.connectionClosed(conn);
  }

  onFrame(conn: ClientConnection, now: Now, buf: Buffer, start?: number, end?: number): void {
    const zk = this.owners.get(conn.id);
    if (zk !== undefined && zk === this.serving) zk.onFrame(conn, now, buf, start, end);
    else this.outboxes.get(conn.id)?.close('not serving');
  }

  shouldThrottle(connId: number): boolean {
    return this.owners.get(connId)?.shouldThrottle(connId) ?? false;
  }
}
