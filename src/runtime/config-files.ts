/**
 * The config files dynamic reconfiguration keeps next to zoo.cfg, written as ZooKeeper writes
 * them: `<zoo.cfg>.bak` (the original single file, once), `<zoo.cfg>.dynamic.<hex version>` (a
 * committed membership), `<zoo.cfg>.dynamic.next` (one proposed or announced, not yet committed)
 * and zoo.cfg itself, rewritten to point at the committed membership's file. Every write is
 * atomic (a temp file made durable, then renamed over the old one), as ZooKeeper's
 * AtomicFileWritingIdiom does, so a crash leaves either file whole.
 */
import { closeSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dynamicFileText, rewriteStaticConfig, type QuorumConfig } from '../config/index.js';
import { readOptionalTextFile } from './read-optional-file.js';

/** QuorumPeerConfig.nextDynamicConfigFileSuffix. */
export const NEXT_SUFFIX = '.dynamic.next';

function writeAtomically(file: string, data: string | Buffer): void {
  const temp = `${file}.tmp`;
  const fd = openSync(temp, 'w');
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
  const dir = openSync(path.dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

export class ConfigFiles {
  /** `configFile` is zoo.cfg's path as given on the command line (ZooKeeper names the others after it). */
  constructor(readonly configFile: string) {}

  get nextFile(): string {
    return this.configFile + NEXT_SUFFIX;
  }

  /** The `.dynamic.next` file's text, if there is one. */
  readNext(): string | undefined {
    return readOptionalTextFile(this.nextFile);
  }

  /** QuorumPeerConfig.backupOldConfig: zoo.cfg's bytes as they are, to `zoo.cfg.bak`. */
  backup(): void {
    writeAtomically(`${this.configFile}.bak`, readFileSync(this.configFile));
  }

  /** QuorumPeer.setLastSeenQuorumVerifier's file: the membership with its version line. */
  writeNext(qc: QuorumConfig): void {
    writeAtomically(this.nextFile, dynamicFileText(qc, true));
  }

  /**
   * QuorumPeer.setQuorumVerifier's files: the committed membership's own file, then zoo.cfg
   * rewritten to name it (and without clientPort when this member's line carries its client
   * address, `eraseClientPort`). Returns the dynamic file's path.
   */
  commit(qc: QuorumConfig, eraseClientPort: boolean): string {
    const dynamicFile = `${this.configFile}.dynamic.${qc.version.toString(16)}`;
    writeAtomically(dynamicFile, dynamicFileText(qc, false));
    const zooCfg = readFileSync(this.configFile, 'utf8');
    writeAtomically(this.configFile, rewriteStaticConfig(zooCfg, realpathSync(dynamicFile), eraseClientPort));
    return dynamicFile;
  }

  deleteNext(): void {
    rmSync(this.nextFile, { force: true });
  }
}
