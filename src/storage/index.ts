export * from './format.js';
export * from './file-system.js';
export { TxnLog, type OnDurable, type TxnLogOptions } from './txn-log.js';
export {
  writeSnapshot,
  writeSnapshotImage,
  isTempSnapshotName,
  readSnapshotBytes,
  listDataFiles,
  logsFrom,
  purge,
  type SnapshotCompression,
} from './snapshots.js';
export {
  SnapshotSerializer,
  serializeSnapshot,
  runSerializer,
  encodeSnapshot,
  UNSLICED,
  type SlicePacer,
  type SnapshotImage,
} from './snapshot-serializer.js';
export { recover, replayTxn, removeDeadSessionsEphemerals, CorruptDataError, type Recovered, type RecoveryOptions } from './recovery.js';
export { DurableStore, type DurableStoreOptions } from './durable-store.js';
