/**
 * Why the fault test checks reads as ZooKeeper promises them (sessionOrderReads in
 * test/support/znode-model.ts), and that the check has teeth on real processes: a follower cut
 * off from the others keeps answering reads for a while, so a client there reads a value older
 * than one another client already wrote; the strict check flags that history, the session-order
 * check accepts it.
 *
 * Server: ZEPHYR_ENSEMBLE_SERVER=zk|zephyr (see test/support/ensemble-process.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { ErrorCode } from '../../src/codec/index.js';
import { Ensemble } from '../support/ensemble-process.js';
import { checkLinearizable } from '../support/linearizability.js';
import { sessionOrderReads, sessionReadAnomalies, znodeModel, type ZnodeOperation } from '../support/znode-model.js';
import { connectTo } from './ensemble-support.js';

/** As the fault test's, with syncLimit 10: the cut-off follower keeps serving for 10 s. */
const CONFIG = { tickTime: '1000', initLimit: '10', syncLimit: '10' };

describe('stale reads at a cut-off follower', () => {
  test(
    'a cut-off follower serves stale reads: the strict check flags them, the session-order check does not',
    { timeout: 180000 },
    async () => {
      const ensemble = await Ensemble.start({ participants: 3, config: CONFIG });
      try {
        const leader = ensemble.member(await ensemble.leader());
        const follower = ensemble.participants.find((m) => m !== leader)!;
        const writer = await connectTo(leader);
        const reader = await connectTo(follower);
        const history: ZnodeOperation[] = [];
        const timed = async (client: number, f: () => Promise<ZnodeOperation['output']>, input: ZnodeOperation['input']): Promise<void> => {
          const call = performance.now();
          const output = await f();
          history.push({ client, input, output, call, ret: performance.now() });
        };
        const path = '/stale';
        await timed(1, async () => ((await writer.create(path, Buffer.from('a'))).err === 0 ? { ok: true } : undefined), {
          kind: 'create',
          path,
          data: 'a',
        });
        await reader.sync(path);
        const readAt = async (): Promise<ZnodeOperation['output']> => {
          const r = await reader.getData(path);
          assert.equal(r.err, ErrorCode.OK);
          return { ok: true, data: r.data?.toString() ?? '', version: r.stat?.version ?? -1 };
        };
        await timed(2, readAt, { kind: 'read', path });
        ensemble.isolate(follower.id, 'drop');
        await timed(
          1,
          async () => {
            const r = await writer.setData(path, Buffer.from('b'));
            return r.err === 0 ? { ok: true, data: 'b', version: r.stat?.version ?? -1 } : undefined;
          },
          { kind: 'write', path, data: 'b', version: -1 },
        );
        await timed(2, readAt, { kind: 'read', path });
        writer.destroy();
        reader.destroy();
        ensemble.heal();
        assert.deepEqual(history.at(-1)?.output, { ok: true, data: 'a', version: 0 }, 'the cut-off follower answered from its old state');
        assert.equal(checkLinearizable(znodeModel, history).result, 'illegal');
        assert.equal(checkLinearizable(znodeModel, sessionOrderReads(history)).result, 'ok');
        assert.deepEqual(sessionReadAnomalies(history), []);
      } finally {
        await ensemble.close();
      }
    },
  );
});
