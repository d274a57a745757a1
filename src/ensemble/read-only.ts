/**
 * Read-only mode (`readonlymode.enabled`), as ZooKeeper 3.8's QuorumPeer runs it: a member that
 * has been looking for a leader for a grace period (tickTime, at least 2 s) decides it is cut
 * off and serves the clients that asked for read-only, from its database as the last role term
 * left it, until the election ends. Then its read-only clients are disconnected, so they
 * reconnect to a member with a quorum (and get a read-write session there).
 */
import { assert } from '../base/index.js';
import { ReadOnlySessions } from '../session/index.js';
import { sha1Base64 } from '../runtime/index.js';
import { serverSettings } from '../server/composition.js';
import { ZkServer, type TxnSink } from '../server/zk-server.js';
import { readNow } from '../server/types.js';
import type { PeerState } from './role.js';

/** ZooKeeper waits at least this long before it serves read-only. */
const READ_ONLY_GRACE_MIN_MS = 2000;

/** A read-only server makes no txn. */
const noTxns: TxnSink = { append: () => assert(false, 'a read-only server makes no txn') };

/** Read-only serving for one election: armed when it starts, ended when it finishes. */
export class ReadOnlyServing {
  private readonly graceTimer: NodeJS.Timeout;
  private sessionTimer: NodeJS.Timeout | null = null;
  private zk: ZkServer | null = null;

  constructor(private readonly peer: PeerState) {
    const graceMs = Math.max(READ_ONLY_GRACE_MIN_MS, peer.ensemble.tickTimeMs);
    this.graceTimer = setTimeout(() => this.start(), graceMs);
  }

  get serving(): boolean {
    return this.zk !== null;
  }

  private start(): void {
    const peer = this.peer;
    const zk = new ZkServer(
      serverSettings(peer.config, peer.ensemble.myid),
      peer.env.clock,
      sha1Base64,
      peer.log,
      noTxns,
      peer.tree,
      peer.sessions,
      {
        readOnly: true,
        authority: (_table, ids) => new ReadOnlySessions(ids),
      },
    );
    this.zk = zk;
    peer.clients.serve(zk);
    const clock = peer.env.clock;
    this.sessionTimer = setInterval(() => zk.tick(readNow(clock)), Math.min(100, peer.ensemble.tickTimeMs));
    peer.log.info({ zxid: zk.lastZxid }, 'read-only server started');
  }

  /** The election is over (or the member stops): read-only clients are disconnected. */
  stop(): void {
    clearTimeout(this.graceTimer);
    if (this.sessionTimer !== null) clearInterval(this.sessionTimer);
    if (this.zk === null) return;
    this.zk = null;
    this.peer.clients.stop('read-only mode ends');
    this.peer.log.info({}, 'read-only server stopped');
  }
}
