/**
 * Encoding of the frames the server sends after the handshake: a 4-byte length, the
 * ReplyHeader {xid, zxid, err}, then the body. A reply is written in place at the end of the
 * connection's output: the header goes first with err 0, the body straight after it, and the
 * error code and length are patched at the end (an error reply drops whatever body was written).
 */
import { JuteWriter, KeeperState, Xid, writeWatcherEvent } from '../codec/index.js';

/** Offset of ReplyHeader.err in a reply frame (after length, xid and zxid). */
const ERR_AT = 16;
/** Offset of the body in a reply frame. */
const BODY_AT = 20;

/** Starts a reply frame at the end of `w`; write the body next, then call finishReply. */
export function startReply(w: JuteWriter, xid: number, zxid: number): void {
  w.beginFrame().writeInt(xid).writeLong(zxid).writeInt(0);
}

/** Completes the reply started in `w`; an error drops the body written so far. */
export function finishReply(w: JuteWriter, err: number): void {
  if (err !== 0) {
    const at = w.frameStart;
    w.truncate(at + BODY_AT);
    w.patchInt(at + ERR_AT, err);
  }
  w.endFrame();
}

/** Completes the reply started in `w` with error `err`, keeping the body written after the header. */
export function finishErrorReplyWithBody(w: JuteWriter, err: number): void {
  w.patchInt(w.frameStart + ERR_AT, err);
  w.endFrame();
}

/** Appends a watch notification (xid -1; ZooKeeper 3.8 sends zxid -1 too, 3.9 the txn's). */
export function writeNotification(w: JuteWriter, type: number, path: string): void {
  startReply(w, Xid.notification, -1);
  writeWatcherEvent(w, { type, state: KeeperState.SyncConnected, path });
  w.endFrame();
}
