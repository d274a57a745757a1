export { SessionTracker, type Session } from './tracker.js';
