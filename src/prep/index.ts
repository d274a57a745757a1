export { RequestPreparer, type PrepContext, type PrepSettings, type Prepared } from './prep.js';
export { type QuotaExceeded } from './quota-check.js';
export * from './auth.js';
