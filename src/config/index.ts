/**
 * Configuration: zoo.cfg parsing with Apache ZooKeeper's key rules, CLI overrides, the start-up
 * decision (standalone or ensemble) and the `conf` four-letter word's view. Pure — the CLI reads
 * files and environment and passes text in.
 */
export { ConfigError, MembershipRuleError, type Where } from './errors.js';
export { parseZooCfg, defaultConfig, applyOverrides, dynamicConfigFileOf, type ParsedConfig, type DynamicFile } from './parse.js';
export { versionFromFileName } from './properties.js';
export {
  dynamicFileText,
  majorityConfigOf,
  ownLineHasClient,
  parseQuorumConfigText,
  quorumConfigOf,
  rewriteStaticConfig,
  roleIn,
  sameQuorumConfig,
  verifierOf,
  withVersion,
  type QuorumConfig,
} from './versioned.js';
export { decideStartup, describeEnsemble, parseMyid } from './ensemble.js';
export { majorityOf, hierarchicalOf, quorumConfigText, type ConfigTextMember, type QuorumTextInput } from './quorum.js';
export { javaHashMapOrder, javaPropertiesOrder } from './java-order.js';
export { describeConfig, type ConfRuntime } from './describe.js';
export {
  FOUR_LETTER_WORDS,
  type Config,
  type AdminConfig,
  type EnsembleConfig,
  type EnsembleMember,
  type HostPort,
  type MyidFile,
  type QuorumVerifier,
  type MajorityQuorum,
  type HierarchicalQuorum,
  type QuorumGroup,
  type ServerSpec,
  type ServerRole,
  type SnapshotCompression,
  type StartupPlan,
} from './types.js';
export { checkVoters, incrementalMembers, isRefusal, type ReconfigRefusal } from './reconfig.js';
