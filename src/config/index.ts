/**
 * Configuration: zoo.cfg parsing with Apache ZooKeeper's key rules, CLI overrides, and the `conf`
 * four-letter word's view. Pure — the CLI reads files and environment and passes text in.
 */
export { ConfigError } from './errors.js';
export { parseZooCfg, defaultConfig, applyOverrides } from './parse.js';
export { describeConfig, type ConfRuntime } from './describe.js';
export { FOUR_LETTER_WORDS, type Config, type AdminConfig, type ServerSpec, type ServerRole, type SnapshotCompression } from './types.js';
