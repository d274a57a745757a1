import { formatHostPort, isAnyAddress, refuseSharedAddresses, sameHost, type Endpoint } from './addresses.js';
import { fail, locate, type Where } from './errors.js';
import type { Mutable } from './keys.js';
import { isEnsemble } from './membership.js';
import type { ParsedConfig } from './parse.js';
import { hierarchicalOf, majorityOf } from './quorum.js';
import { quorumConfigOf } from './versioned.js';
import type {
  Config,
  EnsembleConfig,
  EnsembleMember,
  HostPort,
  MyidFile,
  QuorumVerifier,
  ServerRole,
  ServerSpec,
  StartupPlan,
} from './types.js';

/** EphemeralType.MAX_EXTENDED_SERVER_ID: TTL and container owners keep the server id in one byte. */
const EXTENDED_SERVER_ID_MAX = 254;

/**
 * The id on the first line of dataDir/myid, read as ZooKeeper does (Long.parseLong of the line,
 * nothing trimmed, later lines ignored); undefined when there is no file.
 */
export function parseMyid(myid: MyidFile): number | undefined {
  if (myid.text === undefined) return undefined;
  const line = myid.text.split(/\r\n|\r|\n/)[0] ?? '';
  const at: Where = { file: myid.path, line: 1 };
  if (line === '') fail(at, "expected this server's id (a decimal number), got an empty line");
  const id = /^[+-]?\d+$/.test(line) ? Number(line) : Number.NaN;
  if (Number.isNaN(id)) {
    const hint = /\s/.test(line) ? ' (ZooKeeper reads the line as it is, so no spaces)' : '';
    fail(at, `expected this server's id (a decimal number), got "${line}"${hint}`);
  }
  if (!Number.isSafeInteger(id)) fail(at, `server id ${line} is too large`);
  return id;
}

/**
 * QuorumPeerConfig.setupClientPort: this server's line may carry its client address, which then
 * wins. When clientPort is set too, a specific clientPortAddress must equal the line's address,
 * and an any-address one must have its port; otherwise ZooKeeper refuses the config.
 */
function resolveClient(config: Config, origins: ReadonlyMap<string, Where>, self: ServerSpec, warn: (m: string) => void): HostPort {
  const fromFile: HostPort = { host: config.clientPortAddress, port: config.clientPort };
  const line = self.client;
  const portOrigin = origins.get('clientPort');
  if (line === undefined) return fromFile;
  if (portOrigin === undefined) return line;
  const same = isAnyAddress(fromFile.host)
    ? fromFile.port === line.port
    : fromFile.port === line.port && sameHost(fromFile.host, line.host);
  const where = origins.get(`server.${self.id}`) ?? {};
  if (same === undefined) {
    warn(
      `${locate(where)}cannot tell whether ${formatHostPort(line)} and ${formatHostPort(fromFile)} are one address without resolving names; using the server line's`,
    );
  } else if (!same) {
    const keys = origins.has('clientPortAddress') ? 'clientPortAddress and clientPort' : 'clientPort';
    const given = portOrigin.line === undefined ? (portOrigin.key ?? '') : `line ${portOrigin.line}`;
    fail(
      where,
      `this server's client address ${formatHostPort(line)} (myid ${self.id}) differs from ${formatHostPort(fromFile)}, ` +
        `given by ${keys} (${given}); ZooKeeper refuses two client addresses for one server`,
    );
  }
  return line;
}

/** QuorumPeerConfig.setupPeerType: the server list decides; a peerType that disagrees is only a warning. */
function checkPeerType(
  config: Config,
  origins: ReadonlyMap<string, Where>,
  self: ServerSpec | undefined,
  file: string,
  warn: (m: string) => void,
): ServerRole {
  const listed: ServerRole = self?.role ?? 'participant';
  if (listed !== config.peerType) {
    const where = origins.get('peerType') ?? (self === undefined ? undefined : origins.get(`server.${self.id}`)) ?? { file };
    warn(`${locate(where)}peerType is ${config.peerType} but this server's line makes it ${listed}; using ${listed}, as ZooKeeper does`);
  }
  return listed;
}

function member(spec: ServerSpec, client: HostPort | undefined): EnsembleMember {
  const { id, role, host, quorumPort, electionPort } = spec;
  return Object.freeze({
    id,
    role,
    host,
    quorumPort,
    electionPort,
    client: client === undefined ? undefined : Object.freeze({ ...client }),
  });
}

/** Every socket the members listen on, for refuseSharedAddresses. */
function endpointsOf(members: readonly EnsembleMember[], myid: number, config: Config, origins: ReadonlyMap<string, Where>): Endpoint[] {
  return members.flatMap((m) => {
    const where = origins.get(`server.${m.id}`) ?? {};
    const allIPs = m.id === myid && config.quorumListenOnAllIPs;
    const common = { memberId: m.id, memberHost: m.host, where };
    const out: Endpoint[] = [
      { ...common, kind: 'quorum', address: { host: m.host, port: m.quorumPort }, anyAddress: allIPs },
      { ...common, kind: 'election', address: { host: m.host, port: m.electionPort }, anyAddress: allIPs },
    ];
    if (m.client !== undefined) {
      const fromFile = m.id === myid && config.servers.find((s) => s.id === m.id)?.client === undefined;
      const clientWhere = fromFile ? (origins.get('clientPort') ?? origins.get('clientPortAddress') ?? where) : where;
      out.push({ ...common, kind: 'client', address: m.client, anyAddress: isAnyAddress(m.client.host), where: clientWhere });
    }
    return out;
  });
}

/** QuorumPeerConfig.checkValidity, and what QuorumPeer.start finds out later, checked now. */
function requireEnsembleBasics(
  config: Config,
  origins: ReadonlyMap<string, Where>,
  file: string,
  myid: MyidFile,
  id: number | undefined,
): number {
  for (const key of ['initLimit', 'syncLimit'] as const) {
    if (!origins.has(key)) fail({ file, key }, 'an ensemble needs this set (in ticks); ZooKeeper has no default for it');
  }
  const ids = config.servers.map((s) => s.id).join(', ');
  if (id === undefined) {
    fail({ file }, `describes an ensemble (servers ${ids}), so this server's id must be in ${myid.path}, which does not exist`);
  }
  if (!config.servers.some((s) => s.id === id))
    fail({ file: myid.path, line: 1 }, `myid ${id} is not among the servers of ${file} (${ids})`);
  if (config.extendedTypesEnabled) {
    const big = config.servers.find((s) => s.id > EXTENDED_SERVER_ID_MAX);
    if (big !== undefined) {
      fail(
        origins.get(`server.${big.id}`) ?? { file },
        `server id ${big.id} is above ${EXTENDED_SERVER_ID_MAX}, the largest zookeeper.extendedTypesEnabled allows`,
      );
    }
  }
  return id;
}

/** QuorumPeerConfig.createQuorumVerifier: hierarchical once any group or weight line is given. */
function quorumOf(config: Config): QuorumVerifier {
  if (config.quorumGroups.length > 0) return hierarchicalOf(config.servers, config.quorumGroups, config.serverWeights);
  return majorityOf(config.servers.filter((s) => s.role === 'participant').map((s) => s.id));
}

function buildEnsemble(
  config: Config,
  origins: ReadonlyMap<string, Where>,
  myid: number,
  selfClient: HostPort,
  role: ServerRole,
): EnsembleConfig {
  const members = config.servers.map((s) => member(s, s.id === myid ? selfClient : s.client));
  refuseSharedAddresses(endpointsOf(members, myid, config, origins));
  const self = members.find((m) => m.id === myid);
  if (self === undefined) throw new Error(`myid ${myid} vanished from the members`);
  const committedConfig = quorumConfigOf(config);
  return Object.freeze({
    myid,
    role,
    self,
    members: Object.freeze(members),
    quorum: quorumOf(config),
    committedConfig,
    configText: committedConfig.text,
    tickTimeMs: config.tickTimeMs,
    initLimit: config.initLimit,
    syncLimit: config.syncLimit,
    electionAlg: config.electionAlg,
    cnxTimeoutMs: config.cnxTimeoutMs,
    electionPortBindRetry: config.electionPortBindRetry,
    quorumListenOnAllIPs: config.quorumListenOnAllIPs,
    reconfigEnabled: config.reconfigEnabled,
  });
}

/**
 * Standalone or ensemble, decided as ZooKeeper 3.8's QuorumPeerMain decides it: no server lines,
 * or one participant with standaloneEnabled=true, run standalone; anything else is an ensemble,
 * validated in full. The myid file is read even for a standalone server, as ZooKeeper reads it:
 * it selects this server's line, whose client address then wins. `file` names the config file.
 */
export function decideStartup(parsed: Pick<ParsedConfig, 'config' | 'origins'>, file: string, myid: MyidFile): StartupPlan {
  const { config, origins } = parsed;
  const warnings: string[] = [];
  const warn = (message: string): void => void warnings.push(message);
  const id = parseMyid(myid);
  const self = config.servers.find((s) => s.id === id);
  const client =
    self === undefined ? { host: config.clientPortAddress, port: config.clientPort } : resolveClient(config, origins, self, warn);
  const role = checkPeerType(config, origins, self, file, warn);
  const next: Mutable<Config> = { ...config, clientPortAddress: client.host, clientPort: client.port, peerType: role };
  const effective = Object.freeze(next);
  if (!isEnsemble(config)) return { mode: 'standalone', config: effective, warnings };
  const myId = requireEnsembleBasics(config, origins, file, myid, id);
  return { mode: 'ensemble', config: effective, ensemble: buildEnsemble(config, origins, myId, client, role), warnings };
}

/** One paragraph for the operator: the members, this server, and what a quorum is. */
export function describeEnsemble(e: EnsembleConfig): string {
  const lines = e.members.map((m) => {
    const client = m.client === undefined ? '' : `;${formatHostPort(m.client)}`;
    return `server.${m.id}=${formatHostPort({ host: m.host, port: m.quorumPort })}:${m.electionPort}:${m.role}${client}`;
  });
  const voters = e.quorum.voters.length;
  return (
    `this config describes ${count(e.members.length, 'member')} (${count(voters, 'participant')}, ` +
    `${count(e.members.length - voters, 'observer')}): ` +
    `${lines.join(', ')}; this server is server.${e.myid} (${e.role}); ${describeQuorum(e.quorum)}`
  );
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

function describeQuorum(q: QuorumVerifier): string {
  if (q.kind === 'majority') return `a quorum is any ${q.quorumSize} of the ${q.voters.length} participants`;
  const groups = q.groups.map((g) => {
    const weights = g.members.map((sid) => `${sid}:${q.weights.get(sid) ?? 0}`).join(' ');
    return `group.${g.id} (server:weight ${weights})`;
  });
  const never = q.voters.filter((sid) => q.weightOf(sid) === 0);
  const leaders = never.length === 0 ? '' : `; weight 0, so never leader: ${never.join(', ')}`;
  return (
    `a quorum holds more than half of the weight of each of more than half of the ${count(q.weightedGroupCount, 'group')} ` +
    `of weight above 0: ${groups.join(', ')}${leaders}`
  );
}
