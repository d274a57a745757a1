import { failRule, type Where } from './errors.js';
import type { Config, ServerSpec } from './types.js';

type Warn = (at: Where, message: string) => void;

/** ZooKeeper 3.8's QuorumPeerConfig.isDistributed: server lines, and more than one voter or standalone mode off. */
export function isEnsemble(config: Config): boolean {
  const participants = config.servers.filter((s) => s.role === 'participant').length;
  return config.servers.length > 0 && (!config.standaloneEnabled || participants > 1);
}

/**
 * The membership rules ZooKeeper applies while it reads the server lines, before it knows which
 * server it is (QuorumPeerConfig.parseDynamicConfig): what it refuses fails here, what it only
 * logs becomes a warning.
 */
export function checkMembership(config: Config, seen: ReadonlyMap<string, Where>, file: string, warn: Warn): void {
  const lineOf = (s: ServerSpec): Where => seen.get(`server.${s.id}`) ?? { file };
  const participants = config.servers.filter((s) => s.role === 'participant');
  const firstObserver = config.servers.find((s) => s.role === 'observer');
  if (participants.length === 0) {
    if (!config.standaloneEnabled) {
      failRule(
        seen.get('standaloneEnabled') ?? { file },
        'standaloneEnabled=false needs an ensemble, but no server.N line names a participant',
      );
    }
    if (firstObserver !== undefined)
      failRule(lineOf(firstObserver), 'observers without participants: an observer needs an ensemble to follow');
  } else if (participants.length === 1 && config.standaloneEnabled) {
    if (firstObserver !== undefined) {
      failRule(
        lineOf(firstObserver),
        'an observer needs an ensemble to follow, but one participant with standaloneEnabled=true runs standalone ' +
          '(standaloneEnabled=false makes it a one-member ensemble)',
      );
    }
    const only = participants[0];
    if (only !== undefined) {
      warn(lineOf(only), 'the only server line, with standaloneEnabled=true: the server runs standalone (ZooKeeper ignores the line too)');
    }
  } else if (participants.length <= 2) {
    warn({ file }, `${participants.length} participant(s): no server failure will be tolerated; that takes at least 3`);
  } else if (participants.length % 2 === 0) {
    warn({ file }, `${participants.length} participants: an even number tolerates no more failures than one fewer would`);
  }
}
