/**
 * Reassembles unframed jute records from a byte stream (the quorum port: QuorumPackets, and the
 * SNAP transfer after a SNAP packet). Chunks are kept as they arrive and joined only when a
 * record spans them; a record found incomplete is measured again only once as many bytes as its
 * scan asked for have arrived, so a long record arriving in many chunks costs one join, not one
 * per chunk.
 */
import { ChunkBuffer } from './chunk-buffer.js';
import { INCOMPLETE, JuteScanner, measure } from './measure.js';

export class RecordStream extends ChunkBuffer {
  /** Bytes the last incomplete record needs at least; 0 when nothing is known. */
  private waitFor = 0;

  /** Where `next` found the record: `buffer[start, end)`, valid until the next push. */
  buffer: Buffer = this.head;
  start = 0;
  end = 0;

  /**
   * Finds the next record as `walk` measures it (walking lengths, at most `maxRecordBytes`):
   * true and the record in buffer/start/end, or false if more bytes are needed. A CodecError from
   * the walk (a bad length) propagates: the stream is garbage from here on.
   */
  next(walk: (s: JuteScanner) => void, maxRecordBytes: number): boolean {
    const available = this.buffered;
    if (available === 0 || available < this.waitFor) return false;
    this.contiguous(available);
    const scanner = new JuteScanner(this.head, this.offset, this.head.length, maxRecordBytes);
    const length = measure(scanner, walk);
    if (length === INCOMPLETE) {
      this.waitFor = scanner.needed;
      return false;
    }
    this.waitFor = 0;
    this.buffer = this.head;
    this.start = this.offset;
    this.end = this.offset + length;
    this.offset = this.end;
    return true;
  }

  /** Everything buffered and not yet returned as a record (a link closing hands it on or drops it). */
  takeRemaining(): Buffer {
    this.waitFor = 0;
    return this.takeAll();
  }
}
