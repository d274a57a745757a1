/**
 * Encoding of the frames the server sends after the handshake: a 4-byte length, the
 * ReplyHeader {xid, zxid, err}, then the body. Replies are built in place in one reused
 * writer: the header goes first with err 0, the body straight after it, and the error code
 * and length are patched at the end (an error reply drops whatever body was written).
 */
import { JuteWriter, KeeperState, Xid, writeWatcherEvent } from '../codec/index.js';

/** Offset of ReplyHeader.err in a reply frame (after length, xid and zxid). */
const ERR_AT = 16;
/** Offset of the body in a reply frame. */
const BODY_AT = 20;

/** Starts a reply in `w` (reset first); write the body next, then call finishReply. */
export function startReply(w: JuteWriter, xid: number, zxid: number): void {
  w.reset().writeInt(0).writeInt(xid).writeLong(zxid).writeInt(0);
}

/** Completes the reply started in `w`: a view of the frame, valid until `w` is reused. */
export function finishReply(w: JuteWriter, err: number): Buffer {
  if (err !== 0) {
    w.truncate(BODY_AT);
    w.patchInt(ERR_AT, err);
  }
  w.patchInt(0, w.length - 4);
  return w.toBuffer();
}

/** A watch notification (xid -1; ZooKeeper 3.8 sends zxid -1 too, 3.9 the txn's). */
export function notificationFrame(w: JuteWriter, type: number, path: string): Buffer {
  startReply(w, Xid.notification, -1);
  writeWatcherEvent(w, { type, state: KeeperState.SyncConnected, path });
  return finishReply(w, 0);
}
