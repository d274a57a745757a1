export * from './vote.js';
export * from './fast-leader-election.js';
export * from './connections.js';
export { quorumConfigText, configVersionOf } from './config-text.js';
