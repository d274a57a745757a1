export { runFourLetterWord, SERVER_VERSION, type FourLetterEnv } from './four-letter.js';
