export * from './datatree.js';
export * from './path.js';
export * from './ephemeral-type.js';
export * from './quota.js';
