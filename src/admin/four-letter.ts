/**
 * Four-letter words on the client port, rendered as Apache ZooKeeper 3.8 renders them, from a
 * read-only look at the server. Pure: the caller supplies environment facts.
 */
import type { ZkServer } from '../server/zk-server.js';
import type { ConnectionState } from '../server/connection-state.js';
import { nodeKind } from '../tree/index.js';

/** The ZooKeeper protocol level we implement, and who we are; kazoo parses this from `envi`. */
export const SERVER_VERSION = '3.8.0-zephyr-coord-0.1.0, built on 2026-11-26 00:00 UTC';

export interface FourLetterEnv {
  /** `conf` lines. */
  conf: () => Array<[string, string]>;
  /** `envi` lines after zookeeper.version. */
  environment: () => Array<[string, string]>;
  /** Bytes under the data and log directories. */
  dirSizes: () => { dataDir: number; logDir: number };
  openFileDescriptors: () => number;
  maxFileDescriptors: () => number;
  nowMs: () => number;
  /** An ensemble member's role and figures; absent on a standalone server. */
  quorum?: () => QuorumFacts;
}

/** What `srvr`, `stat` and `mntr` say of an ensemble member. */
export interface QuorumFacts {
  readonly mode: 'leader' | 'follower' | 'observer' | 'read-only';
  /** ZooKeeper's detailed peer state, e.g. "leading - broadcast", "following - broadcast - diff". */
  readonly peerState: string;
  /** The leader's view of its learners. */
  readonly leader?: {
    readonly learners: number;
    readonly followers: number;
    readonly syncedFollowers: number;
    readonly syncedObservers: number;
    readonly pendingSyncs: number;
  };
}

function hex(v: number | bigint): string {
  return `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;
}

function avgLatency(total: number, count: number): string {
  return count === 0 ? '0.0' : (total / count).toFixed(4);
}

function connectionLine(c: ConnectionState, full: boolean, now: number): string {
  const s = c.stats;
  const base = ` /${c.conn.remoteAddress}:${c.conn.remotePort}[${c.sessionId === null ? 0 : 1}](queued=${c.queue.length},recved=${s.packetsReceived},sent=${s.packetsSent}`;
  if (!full || c.sessionId === null) return `${base})`;
  const min = s.latencyCount === 0 ? 0 : s.minLatencyMs;
  return (
    `${base},sid=${hex(c.sessionId)},lop=${s.lastOp},est=${c.establishedMs},to=${c.sessionTimeoutMs},lcxid=${hex(s.lastCxid)},` +
    `lzxid=${hex(s.lastZxid)},lresp=${Math.floor(s.lastResponseTimeMs)},llat=${Math.round(s.lastLatencyMs)},minlat=${Math.round(min)},` +
    `avglat=${s.latencyCount === 0 ? 0 : Math.round(s.totalLatencyMs / s.latencyCount)},maxlat=${Math.round(s.maxLatencyMs)})` +
    (now < 0 ? '' : '')
  );
}

/**
 * The node count ZooKeeper reports: its node table holds the root twice (under "" and "/"),
 * so a fresh server says 5 for its 4 nodes. Monitoring compares these figures across servers.
 */
function zkNodeCount(server: ZkServer): number {
  return server.tree.size + 1;
}

function serverStats(server: ZkServer, liveConnections: number, env: FourLetterEnv): string[] {
  const c = server.counters;
  const min = c.latencyCount === 0 ? 0 : Math.round(c.minLatencyMs);
  return [
    `Latency min/avg/max: ${min}/${avgLatency(c.totalLatencyMs, c.latencyCount)}/${Math.round(c.maxLatencyMs)}`,
    `Received: ${c.packetsReceived}`,
    `Sent: ${c.packetsSent}`,
    `Connections: ${liveConnections}`,
    `Outstanding: ${server.outstandingRequests}`,
    `Zxid: ${hex(server.lastZxid)}`,
    `Mode: ${env.quorum?.().mode ?? 'standalone'}`,
    `Node count: ${zkNodeCount(server)}`,
  ];
}

// ZooKeeper's wchs/wchc/wchp report the data (and exist) watch table only.
function watchesByConnection(server: ZkServer): Map<bigint, Set<string>> {
  const out = new Map<bigint, Set<string>>();
  for (const table of [server.watches.data]) {
    for (const watcher of table.byWatcher.keys()) {
      const sid = server.connections.get(watcher)?.sessionId ?? 0n;
      let set = out.get(sid);
      if (set === undefined) out.set(sid, (set = new Set()));
      for (const p of table.pathsOf(watcher)) set.add(p);
    }
  }
  return out;
}

function watchesByPath(server: ZkServer): Map<string, Set<bigint>> {
  const out = new Map<string, Set<bigint>>();
  for (const table of [server.watches.data]) {
    for (const [path, watchers] of table.watchedPaths()) {
      let set = out.get(path);
      if (set === undefined) out.set(path, (set = new Set()));
      for (let i = 0; i < watchers.size; i++) set.add(server.connections.get(watchers.watcherAt(i))?.sessionId ?? 0n);
    }
  }
  return out;
}

function mntr(server: ZkServer, env: FourLetterEnv, liveConnections: number): string[] {
  const c = server.counters;
  const quorum = env.quorum?.();
  let ephemerals = 0;
  for (const set of server.tree.ephemerals.values()) ephemerals += set.size;
  const kv: Array<[string, string | number]> = [
    ['zk_version', SERVER_VERSION],
    ['zk_server_state', quorum?.mode ?? 'standalone'],
    ['zk_ephemerals_count', ephemerals],
    ['zk_num_alive_connections', liveConnections],
    ['zk_avg_latency', avgLatency(c.totalLatencyMs, c.latencyCount)],
    ['zk_outstanding_requests', server.outstandingRequests],
    ['zk_znode_count', zkNodeCount(server)],
    ['zk_global_sessions', server.sessionTable.size],
    ['zk_packets_sent', c.packetsSent],
    ['zk_packets_received', c.packetsReceived],
    ['zk_watch_count', server.watches.watchCount],
    ['zk_min_latency', c.latencyCount === 0 ? 0 : Math.round(c.minLatencyMs)],
    ['zk_max_latency', Math.round(c.maxLatencyMs)],
    ['zk_approximate_data_size', server.tree.approximateDataSize],
    ['zk_open_file_descriptor_count', env.openFileDescriptors()],
    ['zk_max_file_descriptor_count', env.maxFileDescriptors()],
    ['zk_uptime', Math.max(0, env.nowMs() - server.startedMs)],
    ['zk_local_sessions', server.localSessions?.count ?? 0],
  ];
  if (quorum !== undefined) kv.push(['zk_peer_state', quorum.peerState]);
  const leader = quorum?.leader;
  if (leader !== undefined) {
    kv.push(
      ['zk_learners', leader.learners],
      ['zk_followers', leader.followers],
      ['zk_synced_followers', leader.syncedFollowers],
      ['zk_synced_observers', leader.syncedObservers],
      ['zk_pending_syncs', leader.pendingSyncs],
    );
  }
  return kv.map(([k, v]) => `${k}\t${v}`);
}

/**
 * The session part of `dump`, laid out as ZooKeeper's trackers print it: local sessions first
 * (with local sessions on), then the global ones; a learner lists those with their timeouts.
 */
function sessionsDump(server: ZkServer, mode: string | undefined): string[] {
  const lines: string[] = [];
  const local = server.localSessions;
  if (local !== null) {
    lines.push(`Local Session Sets (${local.count})/(${local.count}):`);
    for (const sessionId of local.ids()) lines.push(`\t${hex(sessionId)}`);
  }
  const global = server.sessionTable;
  if (mode === 'follower' || mode === 'observer') {
    lines.push(`Global Sessions(${global.size}):`);
    const sorted = [...global.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const sessionId of sorted) lines.push(`${hex(sessionId)}\t${global.get(sessionId) ?? 0}ms`);
    return lines;
  }
  lines.push(`${local === null ? '' : 'Global '}Session Sets (${global.size})/(${global.size}):`);
  for (const sessionId of global.keys()) lines.push(`\t${hex(sessionId)}`);
  return lines;
}

function dump(server: ZkServer, mode: string | undefined): string[] {
  const lines = ['SessionTracker dump:', ...sessionsDump(server, mode)];
  lines.push('ephemeral nodes dump:', `Sessions with Ephemerals (${server.tree.ephemerals.size}):`);
  for (const [sid, paths] of server.tree.ephemerals) {
    lines.push(`${hex(sid)}:`);
    for (const p of paths) if (nodeKind(sid, server.tree.extendedTypesEnabled) === 'ephemeral') lines.push(`\t${p}`);
  }
  return lines;
}

function versionLines(server: ZkServer): string[] {
  const version = `Zookeeper version: ${SERVER_VERSION}`;
  return server.readOnly ? [version, 'READ-ONLY mode; serving only read-only clients'] : [version];
}

export function runFourLetterWord(word: string, server: ZkServer, env: FourLetterEnv): string {
  const live = [...server.connections.values()];
  const now = env.nowMs();
  switch (word) {
    case 'ruok':
      return 'imok';
    case 'isro':
      return server.readOnly ? 'ro' : 'rw';
    case 'srvr':
      return [...versionLines(server), ...serverStats(server, live.length, env)].join('\n') + '\n';
    case 'stat':
      return (
        [
          ...versionLines(server),
          'Clients:',
          ...live.map((c) => connectionLine(c, false, now)),
          '',
          ...serverStats(server, live.length, env),
        ].join('\n') + '\n'
      );
    case 'cons':
      return live.map((c) => connectionLine(c, true, now) + '\n').join('') + '\n';
    case 'crst':
      for (const c of live) c.stats.reset();
      return 'Connection stats reset.\n';
    case 'srst': {
      const c = server.counters;
      c.packetsReceived = c.packetsSent = c.maxLatencyMs = c.totalLatencyMs = c.latencyCount = 0;
      c.minLatencyMs = Number.MAX_SAFE_INTEGER;
      return 'Server stats reset.\n';
    }
    case 'conf':
      return env
        .conf()
        .map(([k, v]) => `${k}=${v}\n`)
        .join('');
    case 'envi':
      return ['Environment:', `zookeeper.version=${SERVER_VERSION}`, ...env.environment().map(([k, v]) => `${k}=${v}`)].join('\n') + '\n';
    case 'mntr':
      return mntr(server, env, live.length).join('\n') + '\n';
    case 'wchs': {
      const byConn = watchesByConnection(server);
      const paths = watchesByPath(server);
      let total = 0;
      for (const m of server.watches.data.byPath.values()) total += m.size;
      return `${byConn.size} connections watching ${paths.size} paths\nTotal watches:${total}\n`;
    }
    case 'wchc': {
      const lines: string[] = [];
      for (const [sid, paths] of watchesByConnection(server)) lines.push(hex(sid), ...[...paths].map((p) => `\t${p}`));
      return lines.map((l) => `${l}\n`).join('') + '\n';
    }
    case 'wchp': {
      const lines: string[] = [];
      for (const [path, sids] of watchesByPath(server)) lines.push(path, ...[...sids].map((s) => `\t${hex(s)}`));
      return lines.map((l) => `${l}\n`).join('') + '\n';
    }
    case 'dump':
      return dump(server, env.quorum?.().mode).join('\n') + '\n';
    case 'dirs': {
      const d = env.dirSizes();
      return `datadir_size: ${d.dataDir}\nlogdir_size: ${d.logDir}\n`;
    }
    case 'gtmk':
      return '0\n';
    case 'stmk':
      return '0\n';
    case 'hash':
      return 'Digest in history:\n';
    default:
      return `Unknown command: ${word}\n`;
  }
}
