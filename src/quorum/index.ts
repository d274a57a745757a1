export * from './election/index.js';
