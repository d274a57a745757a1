export { SessionTracker, type Session } from './tracker.js';
export { LocalSessions } from './local.js';
export {
  LocalSessionAuthority,
  LearnerSessions,
  ReadOnlySessions,
  sessionTableApply,
  type SessionAuthority,
  type SessionLeaderLink,
  type Revalidation,
} from './authority.js';
