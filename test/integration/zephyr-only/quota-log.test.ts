/** The warnings our log gives for writes over a quota's limits (ZephyrCoord's own log lines). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient } from '../../support/raw-client.js';
import { startServer } from '../../support/server-process.js';
import { B, setQuota } from '../quota-support.js';

const TIMEOUT = { timeout: 30000 };

describe('quota warnings in the log (ZephyrCoord)', { timeout: 60000 }, () => {
  test('a write over a soft limit is logged once per root and kind, then counted', TIMEOUT, async () => {
    const server = await startServer({ config: {} });
    const c = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 30000, readOnly: false });
    try {
      assert.equal((await c.create('/w', null)).err, 0);
      await setQuota(c, '/w', { count: 2, bytesHard: 1 });
      for (let i = 0; i < 4; i++) assert.equal((await c.create(`/w/n${i}`, B('xy'))).err, 0);
      const warnings = server
        .output()
        .split('\n')
        .filter((line) => line.includes('quota exceeded'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.deepEqual(
        warnings.map((w) => [w['msg'], w['quotaRoot'], w['count'] ?? w['bytes'], w['limit'], w['hard'], w['refused']]),
        [
          ['quota exceeded: hard limit not enforced', '/w', '2', '1', true, false],
          ['quota exceeded: soft limit', '/w', '3', '2', false, false],
        ],
      );
    } finally {
      c.destroy();
      await server.stop();
    }
  });
});
