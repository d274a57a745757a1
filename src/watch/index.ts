export { WatchManager, WatchMode, type WatchEvent, type WatcherId } from './manager.js';
