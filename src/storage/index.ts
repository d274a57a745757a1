export * from './format.js';
export * from './file-system.js';
export { TxnLog, type OnDurable, type TxnLogOptions } from './txn-log.js';
export {
  writeSnapshot,
  SnapshotFileWriter,
  type SnapshotWritten,
  isTempSnapshotName,
  readSnapshotBytes,
  listDataFiles,
  logsFrom,
  purge,
  type SnapshotCompression,
} from './snapshots.js';
export { SnapshotSerializer, encodeSnapshot, UNSLICED, type ChunkSink, type SlicePacer, type StepResult } from './snapshot-serializer.js';
export { recover, replayTxn, removeDeadSessionsEphemerals, CorruptDataError, type Recovered, type RecoveryOptions } from './recovery.js';
export { DurableStore, type DurableStoreOptions } from './durable-store.js';
