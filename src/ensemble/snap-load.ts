/**
 * A learner's load of a SNAP transfer, in slices. The records are handed in as the link reads
 * them; once a slice has had its share of the event loop the link is paused, so neither the
 * transfer's next records nor the packets behind it (PROPOSAL/COMMIT sent during the sync,
 * NEWLEADER, UPTODATE) are read until the next slice. They stay in the link's buffer in TCP
 * order: the tree is whole before any of them is handled, as ZooKeeper's learner reads the
 * snapshot before its next packet, while pings, the election port, four-letter words and disk
 * completions run between slices.
 */
import type { SnapItem } from '../codec/index.js';
import { SnapshotLoader, type ParsedSnapshot, type SlicePacer } from '../storage/index.js';

/** Where the records come from: it hands on nothing while paused (QuorumLink). */
export interface PausableSource {
  pause(): void;
  resume(): void;
}

export class SlicedSnapLoad {
  private readonly loader: SnapshotLoader;
  private records = 0;

  constructor(
    readonly zxid: number,
    extendedTypesEnabled: boolean,
    private readonly source: PausableSource,
    private readonly pacer: SlicePacer,
  ) {
    this.loader = new SnapshotLoader(extendedTypesEnabled);
    // the first slice starts on a turn of its own, after what the SNAP packet's turn holds
    this.yieldToLoop();
  }

  /**
   * One record of the transfer: the loaded database once the transfer ends, else null.
   * Throws SnapshotError on a record that does not fit the tree.
   */
  item(item: SnapItem): ParsedSnapshot | null {
    this.records++;
    if (this.loader.item(item)) {
      this.pacer.endSlice();
      return this.loader.finish();
    }
    if (this.pacer.sliceDone()) this.yieldToLoop();
    return null;
  }

  /** Figures for the log: records loaded, and the pacer's (slices, the longest one, ...). */
  report(): object {
    return { records: this.records, ...this.pacer.report?.() };
  }

  private yieldToLoop(): void {
    this.source.pause();
    void this.pacer.nextSlice().then(() => this.source.resume());
  }
}
