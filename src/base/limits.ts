/**
 * Every bound the server enforces, in one place. Names follow ZooKeeper's config keys where
 * one exists; the config module may override the defaults at start-up.
 */

/** `jute.maxbuffer`: largest frame, znode value or response accepted (1 MiB - 1). */
export const JUTE_MAXBUFFER_DEFAULT = 0xfffff;
/**
 * How far a logged txn may exceed jute.maxbuffer (a multi's txn holds every op's path, data
 * and ACL plus headers); larger "lengths" in a log are damage, not records.
 */
export const TXN_ENTRY_EXTRA_BYTES = 1024 * 1024;
/** `maxClientCnxns`: connections per client IP. 0 means unlimited. */
export const MAX_CLIENT_CNXNS_DEFAULT = 60;
/** `globalOutstandingLimit`: requests in flight across the server before reads are paused. */
export const GLOBAL_OUTSTANDING_LIMIT_DEFAULT = 1000;
/** Bytes queued for one connection's socket before we stop reading its requests. */
export const CONNECTION_OUTPUT_BYTES_MAX = 4 * 1024 * 1024;
/** Requests one connection may have queued before we stop reading from it. */
export const CONNECTION_PENDING_REQUESTS_MAX = 1000;
/** The length of a ConnectRequest without / with the trailing readOnly byte. */
export const CONNECT_REQUEST_BYTES_MIN = 44;
/** Password length ZooKeeper clients send and expect. */
export const SESSION_PASSWORD_BYTES = 16;
/** Sequential suffixes are 10 zero-padded digits of a signed 32-bit counter. */
export const SEQUENCE_DIGITS = 10;
/** Largest TTL ZooKeeper accepts: 40 bits of milliseconds (EphemeralType.MAX_TTL). */
export const TTL_MS_MAX = 0xffffffffff;
/** Paths listed in one watch summary / dump line. */
export const FOUR_LETTER_OUTPUT_BYTES_MAX = 64 * 1024 * 1024;
/** A repeated quota warning is logged at most once per this interval (ZooKeeper's RateLogger: 15 min). */
export const QUOTA_LOG_INTERVAL_MS = 15 * 60 * 1000;
/** Distinct quota warnings whose repeats are being counted; past this the counts start over. */
export const QUOTA_LOG_KEYS_MAX = 1024;

// ---------------------------------------------------------------- quorum (election and ZAB ports)

/**
 * `zookeeper.jute.maxbuffer.extrasize`: how far a string or buffer read by a peer may exceed
 * jute.maxbuffer (ZooKeeper's default is jute.maxbuffer itself, and never below 1024).
 */
export const JUTE_MAXBUFFER_EXTRASIZE_DEFAULT = JUTE_MAXBUFFER_DEFAULT;
/**
 * Largest string or buffer a peer accepts inside a quorum-port record or a SNAP stream:
 * BinaryInputArchive refuses a length above jute.maxbuffer + extrasize (2 MiB - 2 by default).
 */
export const QUORUM_RECORD_BYTES_MAX = JUTE_MAXBUFFER_DEFAULT + JUTE_MAXBUFFER_EXTRASIZE_DEFAULT;
/**
 * Largest whole QuorumPacket we wait for. ZooKeeper bounds each buffer and string but not the
 * authinfo vector's count; without a bound on the total, a bogus count would keep us buffering
 * bytes that never complete a packet. Real packets are one data buffer plus a few auth ids.
 */
export const QUORUM_PACKET_BYTES_MAX = 2 * QUORUM_RECORD_BYTES_MAX;
/** QuorumCnxManager.maxBuffer: longest address string in an election connection's initial message. */
export const ELECTION_ADDRESS_BYTES_MAX = 2048;
/** QuorumCnxManager.PACKETMAXSIZE: longest election message (the receiver closes the link past it). */
export const ELECTION_MESSAGE_BYTES_MAX = 512 * 1024;
/** Shortest notification FastLeaderElection decodes (the pre-3.4 form); shorter ones are dropped. */
export const NOTIFICATION_BYTES_MIN = 28;
/**
 * Longest stretch a snapshot's serialization (or compression) holds the event loop before it
 * lets requests and applies run: its slices take about this long, with the server's work between.
 */
export const SNAPSHOT_SLICE_MS = 2;
