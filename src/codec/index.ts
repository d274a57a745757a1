export { CodecError, JuteReader, JuteWriter, putBigLong, putLong } from './jute.js';
export * from './codes.js';
export * from './records.js';
export { FrameDecoder, FrameLengthError } from './frame.js';
export * from './txn.js';
export { INCOMPLETE } from './measure.js';
export * from './election.js';
export * from './quorum.js';
export * from './snap-stream.js';
