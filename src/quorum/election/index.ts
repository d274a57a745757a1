export * from './vote.js';
export * from './fast-leader-election.js';
export * from './connections.js';
export { configVersionOf } from './config-text.js';
