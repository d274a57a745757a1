export { runFourLetterWord, SERVER_VERSION, type FourLetterEnv, type QuorumFacts } from './four-letter.js';
