/**
 * The decisions of ZooKeeper 3.8's QuorumCnxManager, as functions and a small state its drivers
 * (the TCP links, the simulator) share.
 *
 * One connection per pair survives, the one the larger sid opened. A member opening a connection
 * always sends its initial message first; if the other sid is larger it then closes (its message
 * served to wake the other up). A member accepting a connection from a smaller sid closes it and
 * connects back, to the address in the initial message when there is one.
 */
import type { InitialMessage } from '../../codec/index.js';
import { OBSERVER_SID } from '../../codec/index.js';

/** QuorumCnxManager.SEND_CAPACITY: a queue per peer holds one message; a newer one replaces it. */
export const SEND_QUEUE_CAPACITY = 1;
/** QuorumCnxManager.RECV_CAPACITY: received messages waiting for the election, oldest dropped. */
export const RECV_QUEUE_CAPACITY = 100;

/** startConnection: after sending its initial message, the opener keeps the link only to a smaller sid. */
export function openerKeeps(mySid: number, peerSid: number): boolean {
  return peerSid < mySid;
}

export type AcceptDecision =
  /** The link is this peer's from now on (an older one to the same sid is closed). */
  | { readonly action: 'keep'; readonly sid: number }
  /** Closed; connect back to the peer (at `addresses` when it sent any, else at its configured address). */
  | { readonly action: 'connect-back'; readonly sid: number }
  /** Closed, nothing more. */
  | { readonly action: 'refuse'; readonly reason: string };

export interface AcceptPolicy {
  readonly mySid: number;
  /** Every sid of the config, observers included. */
  readonly knownSids: ReadonlySet<number>;
  /**
   * 3.8 takes a connection from any sid: an unknown larger one is kept and answered as a non-voter,
   * an unknown smaller one is called back at the address it sent. False refuses unknown sids.
   */
  readonly acceptUnknownSids: boolean;
}

/**
 * handleConnection's decision for an accepted connection once its initial message is read. A
 * pre-3.5 observer announces OBSERVER_SID; 3.8 numbers it below every sid (so it is closed and,
 * with no address sent and no config entry, never called back): here it is refused outright. A
 * connection from our own sid is a config error; 3.8 leaves it open and unread, here it is closed.
 */
export function decideAccept(policy: AcceptPolicy, initial: InitialMessage): AcceptDecision {
  if (initial.sid === OBSERVER_SID) return { action: 'refuse', reason: 'a pre-3.5 observer (sid Long.MAX_VALUE)' };
  const sid = Number(initial.sid);
  if (!Number.isSafeInteger(sid)) return { action: 'refuse', reason: `sid ${initial.sid} outside the ids this server handles` };
  if (sid === policy.mySid) return { action: 'refuse', reason: 'a connection from our own sid (config error)' };
  if (!policy.knownSids.has(sid) && !policy.acceptUnknownSids) return { action: 'refuse', reason: `unknown sid ${sid}` };
  if (sid < policy.mySid) {
    if (!policy.knownSids.has(sid) && (initial.protocolVersion === null || initial.addresses.length === 0)) {
      return { action: 'refuse', reason: `unknown sid ${sid} with no address to call back` };
    }
    return { action: 'connect-back', sid };
  }
  return { action: 'keep', sid };
}

/**
 * The per-peer send queues (queueSendMap) and the last message sent to each (lastMessageSent).
 * A queue holds one message; queuing another drops the older (CircularBlockingQueue). A new link
 * to a peer whose queue is empty first re-sends the last message it sent, so the peer hears the
 * current vote again even when nothing new was queued.
 */
export class SendQueues<M> {
  private readonly queues = new Map<number, M[]>();
  private readonly lastSent = new Map<number, M>();

  /** QuorumCnxManager.toSend's queueing part. Returns the dropped message, if any. */
  enqueue(sid: number, message: M): M | undefined {
    let queue = this.queues.get(sid);
    if (queue === undefined) {
      queue = [];
      this.queues.set(sid, queue);
    }
    const dropped = queue.length >= SEND_QUEUE_CAPACITY ? queue.shift() : undefined;
    queue.push(message);
    return dropped;
  }

  /** Creates the peer's queue if missing (an accepted or opened link does, putIfAbsent). */
  ensure(sid: number): void {
    if (!this.queues.has(sid)) this.queues.set(sid, []);
  }

  /** SendWorker's start: the last message again when nothing is queued. */
  onLinkUp(sid: number): M | undefined {
    const queue = this.queues.get(sid);
    return queue === undefined || queue.length === 0 ? this.lastSent.get(sid) : undefined;
  }

  /** SendWorker's loop: the next message to write on the peer's link, remembered as last sent. */
  take(sid: number): M | undefined {
    const message = this.queues.get(sid)?.shift();
    if (message !== undefined) this.lastSent.set(sid, message);
    return message;
  }

  /** Every sid with a queue (connectAll walks these). */
  sids(): number[] {
    return [...this.queues.keys()];
  }

  /** QuorumCnxManager.haveDelivered: some queue is empty (false when there is none). */
  haveDelivered(): boolean {
    for (const queue of this.queues.values()) if (queue.length === 0) return true;
    return false;
  }
}
