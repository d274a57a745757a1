export * from './format.js';
export * from './file-system.js';
export { TxnLog, type OnDurable, type TxnLogOptions } from './txn-log.js';
export { writeSnapshot, readSnapshotBytes, listDataFiles, logsFrom, purge, type SnapshotCompression } from './snapshots.js';
export { recover, CorruptDataError, type Recovered, type RecoveryOptions } from './recovery.js';
export { DurableStore, type DurableStoreOptions } from './durable-store.js';
