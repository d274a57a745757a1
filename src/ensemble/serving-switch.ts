/**
 * The client port of an ensemble member: one listener for the member's life, whose connections
 * go to the server of the current role while it serves. While the member elects or syncs, a
 * connection is closed at its first request (the client tries another member), as ZooKeeper
 * closes one when its server is not running; a four-letter word is still answered (the listener
 * reads it before any request). When a role ends its server's connections are closed.
 */
import type { ClientCore } from '../net/client-listener.js';
import type { ClientConnection } from '../server/types.js';
import type { ZkServer } from '../server/zk-server.js';

export class ServingSwitch implements ClientCore {
  private serving: ZkServer | null = null;
  /** Which server each open connection belongs to (it stays with it until it closes). */
  private readonly owners = new Map<number, ZkServer>();

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

  connectionOpened(conn: ClientConnection): void {
    const zk = this.serving;
    if (zk === null) return;
    this.owners.set(conn.id, zk);
    zk.connectionOpened(conn);
  }

  connectionClosed(conn: ClientConnection): void {
    const zk = this.owners.get(conn.id);
    if (zk === undefined) return;
    this.owners.delete(conn.id);
    zk.connectionClosed(conn);
  }

  onFrame(conn: ClientConnection, buf: Buffer, start?: number, end?: number): void {
    const zk = this.owners.get(conn.id);
    if (zk !== undefined && zk === this.serving) zk.onFrame(conn, buf, start, end);
    else conn.close('not serving');
  }

  shouldThrottle(connId: number): boolean {
    return this.owners.get(connId)?.shouldThrottle(connId) ?? false;
  }
}
