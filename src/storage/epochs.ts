/**
 * The epochs a ZAB peer keeps on disk (ZooKeeper's QuorumPeer): `acceptedEpoch`, the newest
 * epoch it accepted in discovery, and `currentEpoch`, the epoch of the leader it last
 * synchronized with. Each is a file in the snapshot directory (dataDir/version-2) holding the
 * number in decimal with no newline, replaced atomically: `<name>.tmp` written and fsynced,
 * renamed over the file, and (beyond ZooKeeper, whose rename can be lost in a power cut) the
 * directory fsynced. A standalone server has neither file: only ZooKeeper's QuorumPeer reads
 * or writes them, and ZooKeeperServerMain never does.
 */
import path from 'node:path';
import { assert, EPOCH_MAX, epochOfZxid } from '../base/index.js';
import type { FileSystem } from './file-system.js';

export const ACCEPTED_EPOCH_FILE = 'acceptedEpoch';
export const CURRENT_EPOCH_FILE = 'currentEpoch';
/** AtomicFileOutputStream's temp suffix; ZooKeeper reads `currentEpoch.tmp` back at start-up. */
const TMP_SUFFIX = '.tmp';
export { EPOCH_MAX, epochOfZxid };

/** An epoch file holds no epoch, or the epochs disagree with each other or with the log. */
export class EpochFileError extends Error {
  override readonly name = 'EpochFileError';
}

/**
 * What ZooKeeper's readLongFromFile accepts: the first line (BufferedReader.readLine, so an
 * empty file has none) as a Java long. Epochs this server cannot hold exactly are refused too.
 */
function parseEpoch(text: string, file: string): number {
  const line = text.length === 0 ? null : (text.split(/\r\n|\r|\n/)[0] ?? '');
  const value = line !== null && /^[+-]?[0-9]+$/.test(line) ? BigInt(line) : null;
  if (value === null || value < -(2n ** 63n) || value >= 2n ** 63n) throw new EpochFileError(`Found ${line ?? 'null'} in ${file}`);
  if (value < 0n || value > BigInt(EPOCH_MAX)) throw new EpochFileError(`epoch ${value} in ${file} is outside 0..${EPOCH_MAX}`);
  return Number(value);
}

/** The epoch in `dir/name`, or null if there is no such file. */
export async function readEpochFile(fs: FileSystem, dir: string, name: string): Promise<number | null> {
  if (!(await fs.list(dir)).includes(name)) return null;
  const file = path.join(dir, name);
  return parseEpoch((await fs.readFile(file)).toString('utf8'), file);
}

/** Replaces `dir/name` with `epoch`, atomically and durably. */
export async function writeEpochFile(fs: FileSystem, dir: string, name: string, epoch: number): Promise<void> {
  assert(Number.isInteger(epoch) && epoch >= 0 && epoch <= EPOCH_MAX, () => `epoch ${epoch} is outside 0..${EPOCH_MAX}`);
  const temp = path.join(dir, name + TMP_SUFFIX);
  const handle = await fs.create(temp);
  try {
    await handle.write(Buffer.from(String(epoch), 'latin1'), 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(temp, path.join(dir, name));
  await fs.syncDir(dir);
}

const hex = (n: number): string => n.toString(16);

/** currentEpoch.tmp's epoch; null if there is none or a crash left it torn (it was never renamed into place). */
async function readPendingEpoch(fs: FileSystem, dir: string, info: (msg: string, details: object) => void): Promise<number | null> {
  try {
    return await readEpochFile(fs, dir, CURRENT_EPOCH_FILE + TMP_SUFFIX);
  } catch (e) {
    if (!(e instanceof EpochFileError)) throw e;
    info(`${CURRENT_EPOCH_FILE}${TMP_SUFFIX} is torn; ignored`, { error: e.message });
    return null;
  }
}

/** A peer's two epochs, as read at start-up and kept in step with their files. */
export class QuorumEpochs {
  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private accepted: number,
    private current: number,
  ) {}

  get acceptedEpoch(): number {
    return this.accepted;
  }

  get currentEpoch(): number {
    return this.current;
  }

  /**
   * Reads both files as QuorumPeer.loadDataBase does, given the recovered state's zxid: a
   * missing file is created with that zxid's epoch; a current epoch older than that zxid's is
   * replaced by `currentEpoch.tmp` if one is there (a rename that did not survive a crash);
   * an accepted epoch below the current one is refused.
   *
   * One case ZooKeeper refuses and we accept: the log holds txns of an epoch above the current
   * one, but not above the accepted one. A learner logs (and fsyncs) the txns its sync brought
   * before it writes currentEpoch and ACKs NEWLEADER (the order ZOOKEEPER-4643/4785 settled
   * on), so a crash in between leaves exactly this state (or a torn currentEpoch.tmp); those
   * txns came from the leader of the accepted epoch, whose history holds them. Refusing would
   * keep the member down until someone edits its files (the ensemble simulation met it after
   * power cuts); the current epoch becomes the log's, as the rename would have made it.
   */
  static async load(
    fs: FileSystem,
    snapDir: string,
    lastZxid: number,
    info: (msg: string, details: object) => void = () => undefined,
  ): Promise<QuorumEpochs> {
    const zxidEpoch = epochOfZxid(lastZxid);
    const derived = async (name: string): Promise<number> => {
      info(`${name} not found; created with the epoch of the last zxid`, { file: path.join(snapDir, name), epoch: zxidEpoch });
      await writeEpochFile(fs, snapDir, name, zxidEpoch);
      return zxidEpoch;
    };
    let current = (await readEpochFile(fs, snapDir, CURRENT_EPOCH_FILE)) ?? (await derived(CURRENT_EPOCH_FILE));
    if (zxidEpoch > current) {
      const pending = await readPendingEpoch(fs, snapDir, info);
      const accepted = await readEpochFile(fs, snapDir, ACCEPTED_EPOCH_FILE);
      if (pending !== null && pending >= zxidEpoch) {
        info(`${CURRENT_EPOCH_FILE}${TMP_SUFFIX} found; its epoch becomes the current epoch`, { epoch: pending });
        current = pending;
      } else if (accepted !== null && accepted >= zxidEpoch) {
        info('the log holds txns a sync brought before currentEpoch was written; the current epoch becomes their epoch', {
          currentEpoch: current,
          acceptedEpoch: accepted,
          lastZxid: hex(lastZxid),
        });
        current = zxidEpoch;
      } else {
        throw new EpochFileError(`The current epoch, ${hex(current)}, is older than the last zxid, ${lastZxid}`);
      }
      await writeEpochFile(fs, snapDir, CURRENT_EPOCH_FILE, current);
    }
    const accepted = (await readEpochFile(fs, snapDir, ACCEPTED_EPOCH_FILE)) ?? (await derived(ACCEPTED_EPOCH_FILE));
    if (accepted < current) {
      throw new EpochFileError(`The accepted epoch, ${hex(accepted)} is less than the current epoch, ${hex(current)}`);
    }
    return new QuorumEpochs(fs, snapDir, accepted, current);
  }

  /** Discovery: the epoch accepted from a new leader (or proposed as one), durable on return. */
  async setAcceptedEpoch(epoch: number): Promise<void> {
    await writeEpochFile(this.fs, this.dir, ACCEPTED_EPOCH_FILE, epoch);
    this.accepted = epoch;
  }

  /** Synchronization: the epoch of the leader now followed (NEWLEADER), durable on return. */
  async setCurrentEpoch(epoch: number): Promise<void> {
    await writeEpochFile(this.fs, this.dir, CURRENT_EPOCH_FILE, epoch);
    this.current = epoch;
  }
}
