/**
 * The txn log (src/storage): appendTxnRecord is what TxnLog.append does for every write
 * (TxnHeader + txn + Adler-32 + framing, format.ts, into the group commit's one writer); the second case is TxnLog.append itself
 * with group commit over a disk that costs nothing (NullFileSystem): n appends issued back to
 * back, as a loaded server issues them, awaited together. Both use a setData of 100 bytes.
 */
import { JuteWriter, OpCode, type Txn, type TxnHeader } from '../../src/codec/index.js';
import { TxnLog, appendTxnRecord } from '../../src/storage/index.js';
import { sink, type AsyncCase, type MicroCase, type Suite } from './case.js';
import { DATA_BYTES, SAMPLE_PATH, SAMPLE_ZXID, noise } from './fixtures.js';
import { NullFileSystem } from './null-fs.js';

const HEADER: TxnHeader = { clientId: 0x0100000000000001n, cxid: 7, zxid: SAMPLE_ZXID, time: 1_700_000_000_000, type: OpCode.setData };
const TXN: Txn = { type: OpCode.setData, path: SAMPLE_PATH, data: noise(DATA_BYTES), version: 42 };

function appendCase(): AsyncCase {
  // The log refuses a zxid at or below the last one: each append takes the next one (the
  // record is encoded during the call, so one header object serves them all).
  const header: TxnHeader = { ...HEADER };
  // A failed log completes nothing: its error fails the sample instead of leaving it waiting.
  let failure: Error | null = null;
  let rejectSample: ((e: Error) => void) | null = null;
  const log = new TxnLog(new NullFileSystem(), '/nowhere/version-2', { preAllocBytes: 64 * 1024 * 1024, forceSync: true }, (e) => {
    failure = e;
    rejectSample?.(e);
  });
  return {
    name: 'TxnLog.append, group commit, no-op disk',
    async: true,
    // Group commit batches of a few hundred, as a busy server sees them.
    maxBatch: 256,
    run(n) {
      return new Promise<void>((resolve, reject) => {
        if (failure !== null) {
          reject(failure);
          return;
        }
        rejectSample = reject;
        let left = n;
        const durable = {
          durable: (): void => {
            if (--left === 0) resolve();
          },
        };
        for (let i = 0; i < n; i++) {
          header.zxid++;
          log.append(header, TXN, durable);
        }
      });
    },
  };
}

export function txnLogSuite(): Suite {
  const batch = new JuteWriter(64 * 1024);
  const cases: MicroCase[] = [
    {
      name: 'encode setData record (100 B)',
      run(n) {
        // a batch writer as the log keeps one, restarted every 256 records
        for (let i = 0; i < n; i++) {
          if ((i & 255) === 0) batch.reset();
          appendTxnRecord(batch, HEADER, TXN);
        }
        sink.value = batch;
      },
    },
    appendCase(),
  ];
  return { name: 'txn-log', source: 'src/storage/format.ts, txn-log.ts', cases };
}
