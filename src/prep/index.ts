export { RequestPreparer, type PrepContext, type PrepSettings, type Prepared } from './prep.js';
export * from './auth.js';
