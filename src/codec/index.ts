export { CodecError, JuteReader, JuteWriter } from './jute.js';
export * from './codes.js';
export * from './records.js';
export { FrameDecoder, FrameLengthError } from './frame.js';
export * from './txn.js';
