/**
 * src/storage/epochs.ts: the acceptedEpoch / currentEpoch files in ZooKeeper's format and with
 * QuorumPeer's start-up rules, over the simulated disk (power cuts while one is written: in
 * test/sim/zab-storage.test.ts).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { AssertionError, SeededRandom } from '../../../src/base/index.js';
import {
  ACCEPTED_EPOCH_FILE,
  CURRENT_EPOCH_FILE,
  EpochFileError,
  EPOCH_MAX,
  epochOfZxid,
  QuorumEpochs,
  readEpochFile,
  writeEpochFile,
} from '../../../src/storage/index.js';
import { SimFs, SimScheduler, runUntilSettled } from '../../sim/sim-fs.js';

const DIR = '/zk/data/version-2';
const zxidOf = (epoch: number, counter: number): number => epoch * 2 ** 32 + counter;

async function newFs(seed = 1): Promise<SimFs> {
  const fs = new SimFs(new SimScheduler(new SeededRandom(seed)));
  await runUntilSettled(fs.sched, fs.mkdirp(DIR));
  return fs;
}

const run = <T>(fs: SimFs, p: Promise<T>): Promise<T> => runUntilSettled(fs.sched, p);
const text = (fs: SimFs, name: string): string | undefined => fs.peekDurable(`${DIR}/${name}`)?.toString('latin1');
const put = (fs: SimFs, name: string, content: string): void => fs.poke(`${DIR}/${name}`, Buffer.from(content, 'latin1'));

describe('epoch files', () => {
  test('written as ZooKeeper writes them: the decimal number, no newline, via <name>.tmp, fsync, rename, directory fsync', async () => {
    const fs = await newFs();
    await run(fs, writeEpochFile(fs, DIR, CURRENT_EPOCH_FILE, 1234));
    assert.equal(text(fs, CURRENT_EPOCH_FILE), '1234');
    const steps = fs.sched.trace.filter((l) => l.includes('Epoch'));
    assert.deepEqual(steps, [
      `create ${DIR}/currentEpoch.tmp`,
      `write ${DIR}/currentEpoch.tmp @0 +4`,
      `sync ${DIR}/currentEpoch.tmp`,
      `close ${DIR}/currentEpoch.tmp`,
      `rename ${DIR}/currentEpoch.tmp -> ${DIR}/currentEpoch`,
    ]);
    assert.equal(fs.sched.trace.at(-1), `syncDir ${DIR}`);
    assert.equal(fs.unsyncedCount(), 0, 'durable when it returns');
    await run(fs, writeEpochFile(fs, DIR, CURRENT_EPOCH_FILE, 7));
    assert.equal(text(fs, CURRENT_EPOCH_FILE), '7', 'replaced whole');
    assert.equal(await run(fs, readEpochFile(fs, DIR, CURRENT_EPOCH_FILE)), 7);
    assert.equal(await run(fs, readEpochFile(fs, DIR, ACCEPTED_EPOCH_FILE)), null, 'missing: null');
  });

  test('read as QuorumPeer.readLongFromFile reads: the first line as a Java long', async () => {
    const fs = await newFs();
    const read = (content: string): Promise<number | null> => {
      put(fs, ACCEPTED_EPOCH_FILE, content);
      return run(fs, readEpochFile(fs, DIR, ACCEPTED_EPOCH_FILE));
    };
    assert.equal(await read('5\n'), 5);
    assert.equal(await read('5\r\nignored'), 5);
    assert.equal(await read('+12'), 12);
    assert.equal(await read('007'), 7);
    assert.equal(await read(String(EPOCH_MAX)), EPOCH_MAX);
    await assert.rejects(read(''), new EpochFileError(`Found null in ${DIR}/acceptedEpoch`));
    await assert.rejects(read('\n5'), new EpochFileError(`Found  in ${DIR}/acceptedEpoch`));
    await assert.rejects(read('5 '), new EpochFileError(`Found 5  in ${DIR}/acceptedEpoch`));
    await assert.rejects(read('0x5'), /Found 0x5 in/);
    await assert.rejects(read('9223372036854775808'), /Found 9223372036854775808 in/, 'past a Java long');
    await assert.rejects(read('-1'), /epoch -1 in .* is outside/, 'a Java long, but no epoch this server can hold');
    await assert.rejects(read(String(EPOCH_MAX + 1)), /is outside/);
  });

  test('an epoch out of range is a bug at write', async () => {
    const fs = await newFs();
    await assert.rejects(writeEpochFile(fs, DIR, CURRENT_EPOCH_FILE, EPOCH_MAX + 1), AssertionError);
    await assert.rejects(writeEpochFile(fs, DIR, CURRENT_EPOCH_FILE, -1), AssertionError);
    await assert.rejects(writeEpochFile(fs, DIR, CURRENT_EPOCH_FILE, 1.5), AssertionError);
  });

  test('epochOfZxid: the high 32 bits', () => {
    assert.equal(epochOfZxid(0), 0);
    assert.equal(epochOfZxid(0xffffffff), 0);
    assert.equal(epochOfZxid(zxidOf(3, 0)), 3);
    assert.equal(epochOfZxid(zxidOf(EPOCH_MAX, 0xffffffff)), EPOCH_MAX);
  });
});

describe('QuorumEpochs.load: QuorumPeer.loadDataBase', () => {
  test('both files missing: each created with the epoch of the last zxid', async () => {
    const fs = await newFs();
    const infos: string[] = [];
    const epochs = await run(
      fs,
      QuorumEpochs.load(fs, DIR, zxidOf(4, 17), (m) => infos.push(m)),
    );
    assert.deepEqual([epochs.acceptedEpoch, epochs.currentEpoch], [4, 4]);
    assert.equal(text(fs, CURRENT_EPOCH_FILE), '4');
    assert.equal(text(fs, ACCEPTED_EPOCH_FILE), '4');
    assert.equal(infos.length, 2);
  });

  test('present files are read as they are; setters replace them durably', async () => {
    const fs = await newFs();
    put(fs, ACCEPTED_EPOCH_FILE, '9');
    put(fs, CURRENT_EPOCH_FILE, '8');
    const epochs = await run(fs, QuorumEpochs.load(fs, DIR, zxidOf(8, 3)));
    assert.deepEqual([epochs.acceptedEpoch, epochs.currentEpoch], [9, 8]);
    await run(fs, epochs.setAcceptedEpoch(10));
    await run(fs, epochs.setCurrentEpoch(10));
    assert.deepEqual([epochs.acceptedEpoch, epochs.currentEpoch], [10, 10]);
    assert.deepEqual([text(fs, ACCEPTED_EPOCH_FILE), text(fs, CURRENT_EPOCH_FILE)], ['10', '10']);
    const again = await run(fs, QuorumEpochs.load(fs, DIR, zxidOf(8, 3)));
    assert.deepEqual([again.acceptedEpoch, again.currentEpoch], [10, 10]);
  });

  test('only acceptedEpoch missing: derived from the last zxid, then checked against currentEpoch', async () => {
    const fs = await newFs();
    put(fs, CURRENT_EPOCH_FILE, '6');
    const epochs = await run(fs, QuorumEpochs.load(fs, DIR, zxidOf(6, 1)));
    assert.deepEqual([epochs.acceptedEpoch, epochs.currentEpoch], [6, 6]);
    const fs2 = await newFs(2);
    put(fs2, CURRENT_EPOCH_FILE, '6');
    await assert.rejects(
      run(fs2, QuorumEpochs.load(fs2, DIR, zxidOf(5, 1))),
      new EpochFileError('The accepted epoch, 5 is less than the current epoch, 6'),
      'the derived accepted epoch (5) is below the current one',
    );
    assert.equal(text(fs2, ACCEPTED_EPOCH_FILE), '5', 'ZooKeeper writes the derived file before it checks');
  });

  test('a current epoch older than the last zxid: refused, unless currentEpoch.tmp or the accepted epoch covers the log', async () => {
    const fs = await newFs();
    put(fs, CURRENT_EPOCH_FILE, '3');
    put(fs, ACCEPTED_EPOCH_FILE, '4');
    await assert.rejects(
      run(fs, QuorumEpochs.load(fs, DIR, zxidOf(5, 2))),
      new EpochFileError(`The current epoch, 3, is older than the last zxid, ${zxidOf(5, 2)}`),
      'txns of an epoch this member never accepted',
    );
    put(fs, 'currentEpoch.tmp', '5');
    put(fs, ACCEPTED_EPOCH_FILE, '5');
    const epochs = await run(fs, QuorumEpochs.load(fs, DIR, zxidOf(5, 2)));
    assert.deepEqual([epochs.acceptedEpoch, epochs.currentEpoch], [5, 5]);
    assert.equal(text(fs, CURRENT_EPOCH_FILE), '5', 'the recovered epoch is written back');
  });

  test('a sync whose txns were logged before currentEpoch was written (crash in between): the log epoch becomes current', async () => {
    for (const tmp of [null, '', '2']) {
      const fs = await newFs();
      put(fs, CURRENT_EPOCH_FILE, '3');
      put(fs, ACCEPTED_EPOCH_FILE, '6');
      if (tmp !== null) put(fs, 'currentEpoch.tmp', tmp);
      const epochs = await run(fs, QuorumEpochs.load(fs, DIR, zxidOf(5, 9)));
      assert.deepEqual([epochs.acceptedEpoch, epochs.currentEpoch], [6, 5], `tmp ${JSON.stringify(tmp)}`);
      assert.equal(text(fs, CURRENT_EPOCH_FILE), '5');
    }
  });

  test('an accepted epoch below the current one is refused', async () => {
    const fs = await newFs();
    put(fs, CURRENT_EPOCH_FILE, '7');
    put(fs, ACCEPTED_EPOCH_FILE, '6');
    await assert.rejects(run(fs, QuorumEpochs.load(fs, DIR, zxidOf(7, 0))), /The accepted epoch, 6 is less than the current epoch, 7/);
  });

  test('a damaged file stops start-up with its name', async () => {
    const fs = await newFs();
    put(fs, CURRENT_EPOCH_FILE, 'x');
    await assert.rejects(run(fs, QuorumEpochs.load(fs, DIR, 0)), new EpochFileError(`Found x in ${DIR}/currentEpoch`));
  });
});
