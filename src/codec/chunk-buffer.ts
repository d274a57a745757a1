/**
 * The bytes of a stream as they arrive: the chunk being read (`head` from `offset`) and the
 * chunks received after it, kept as they are. They are joined into one Buffer only when a unit
 * being read spans them, so a unit that takes many chunks costs one copy, and a chunk holding
 * whole units costs none. The framing readers (FrameDecoder, RecordStream) read from `head`
 * and move `offset` past what they have returned.
 */
export class ChunkBuffer {
  protected head: Buffer = Buffer.alloc(0);
  protected offset = 0;
  private rest: Buffer[] = [];
  private restBytes = 0;

  push(chunk: Buffer): void {
    if (this.offset >= this.head.length && this.rest.length === 0) {
      this.head = chunk;
      this.offset = 0;
      return;
    }
    this.rest.push(chunk);
    this.restBytes += chunk.length;
  }

  /** Bytes received and not yet read. */
  get buffered(): number {
    return this.head.length - this.offset + this.restBytes;
  }

  /** Makes at least `n` buffered bytes contiguous in `head`. */
  protected contiguous(n: number): void {
    if (this.head.length - this.offset < n) this.join();
  }

  /** Makes `head` hold everything buffered. */
  protected join(): void {
    this.head = Buffer.concat([this.head.subarray(this.offset), ...this.rest]);
    this.offset = 0;
    this.rest = [];
    this.restBytes = 0;
  }

  /** Everything buffered and not yet read; the buffer is empty afterwards. */
  protected takeAll(): Buffer {
    this.join();
    const out = this.head;
    this.head = Buffer.alloc(0);
    return out;
  }
}
