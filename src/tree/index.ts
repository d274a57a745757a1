export * from './datatree.js';
export * from './path.js';
export * from './ephemeral-type.js';
