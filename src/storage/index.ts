export * from './format.js';
export * from './file-system.js';
export { TxnLog, type OnDurable, type TxnLogEntry, type TxnLogOptions } from './txn-log.js';
export { TxnLogReader, LogFileScanner, TxnLogDamageError, lastLoggedZxid, type LoggedTxn, type TxnLogReadOptions } from './log-reader.js';
export { truncateLogFiles, finishInterruptedTruncation, truncationMarkerName } from './log-truncate.js';
export { CommittedLog, COMMIT_LOG_COUNT_DEFAULT } from './committed-log.js';
export {
  QuorumEpochs,
  readEpochFile,
  writeEpochFile,
  epochOfZxid,
  EpochFileError,
  ACCEPTED_EPOCH_FILE,
  CURRENT_EPOCH_FILE,
  EPOCH_MAX,
} from './epochs.js';
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
