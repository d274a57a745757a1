/**
 * A 3-member ensemble with reconfigEnabled=true and a single-file zoo.cfg: the first leader
 * stamps the membership with the NEWLEADER zxid (0x100000000) and every member commits it:
 *   - /zookeeper/config holds that versioned membership, Stat version -1, aversion -1,
 *     mzxid 0x100000000;
 *   - zoo.cfg.dynamic.100000000 holds its lines sorted, without the version, no final newline;
 *   - zoo.cfg is rewritten (membership gone, clientPort gone as each line has a client part,
 *     dynamicConfigFile=<absolute path> last) and zoo.cfg.bak keeps the original;
 *   - after restarting every member, one at a time and then all at once, the ensemble forms
 *     again on the same version.
 * Links are direct (no fault proxies): NEWLEADER's membership must be the same for every member.
 *
 * Server: ZEPHYR_ENSEMBLE_SERVER=zk|zephyr, or ZEPHYR_ENSEMBLE_SERVERS=zk,zk,zephyr.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode } from '../../src/codec/index.js';
import { parseQuorumConfigText } from '../../src/config/index.js';
import type { Ensemble, Member } from '../support/ensemble-process.js';
import { waitFor } from '../support/server-process.js';
import { ensembleForSuite, withClient } from './ensemble-support.js';

const VERSION = 0x100000000;

function fileOf(m: Member, suffix = ''): string {
  return path.join(m.dir, `zoo.cfg${suffix}`);
}

/** The membership every member's original zoo.cfg describes (from its backup), at VERSION. */
function expectedMembers(ensemble: Ensemble): string[] {
  return ensemble.members.map(
    (m) => `server.${m.id}=127.0.0.1:${m.ports.quorum}:${m.ports.election}:participant;127.0.0.1:${m.ports.client}`,
  );
}

async function configNode(m: Member): Promise<{ text: string; version: number; aversion: number; mzxid: number }> {
  return withClient(m, async (c) => {
    const r = await c.getData('/zookeeper/config');
    assert.equal(r.err, ErrorCode.OK);
    assert.ok(r.stat !== undefined);
    return { text: r.data?.toString('utf8') ?? '', version: r.stat.version, aversion: r.stat.aversion, mzxid: r.stat.mzxid };
  });
}

async function checkMember(ensemble: Ensemble, m: Member): Promise<void> {
  const who = `member ${m.id} (${ensemble.serverOf(m)})`;
  const dynamic = fileOf(m, '.dynamic.100000000');
  await waitFor(`${who} to write ${dynamic}`, () => Promise.resolve(existsSync(dynamic) ? true : undefined), 20000);
  const members = expectedMembers(ensemble);
  const node = await configNode(m);
  const qc = parseQuorumConfigText(node.text, who);
  assert.equal(qc.version, VERSION, who);
  assert.deepEqual(node.text.split('\n').slice(0, -1).sort(), [...members].sort(), who);
  assert.deepEqual(
    { version: node.version, aversion: node.aversion, mzxid: node.mzxid },
    { version: -1, aversion: -1, mzxid: VERSION },
    who,
  );
  assert.equal(readFileSync(dynamic, 'utf8'), [...members].sort().join('\n'), who);
  const zooCfg = readFileSync(fileOf(m), 'utf8');
  assert.ok(zooCfg.endsWith(`\ndynamicConfigFile=${realpathSync(dynamic)}\n`), `${who}: ${zooCfg}`);
  assert.doesNotMatch(zooCfg, /^(server\.|clientPort)/m, who);
  assert.match(zooCfg, /^reconfigEnabled=true$/m, who);
  const backup = readFileSync(fileOf(m, '.bak'), 'utf8');
  assert.match(backup, new RegExp(`^clientPort=${m.ports.client}\n`, 'm'), who);
  assert.equal(backup.match(/^server\./gm)?.length, 3, who);
  assert.doesNotMatch(backup, /dynamicConfigFile/, who);
  assert.equal(existsSync(fileOf(m, '.dynamic.next')), false, who);
}

describe('reconfigEnabled: the first membership is versioned and written as ZooKeeper writes it', { timeout: 400000 }, () => {
  const getEnsemble = ensembleForSuite({ participants: 3, proxied: false, config: { reconfigEnabled: 'true', tickTime: '500' } });

  test('every member holds version 0x100000000 in /zookeeper/config and in its files', async () => {
    const ensemble = getEnsemble();
    await ensemble.leader(60000);
    for (const m of ensemble.members) await checkMember(ensemble, m);
  });

  test('restarted one at a time, every member comes back on the same version', async () => {
    const ensemble = getEnsemble();
    const backups = ensemble.members.map((m) => readFileSync(fileOf(m, '.bak')));
    for (const m of ensemble.members) {
      await m.kill9();
      await ensemble.restart(m.id);
      await ensemble.leader(60000);
    }
    for (const m of ensemble.members) await checkMember(ensemble, m);
    // the backup is made once, from the single-file config
    assert.deepEqual(
      ensemble.members.map((m) => readFileSync(fileOf(m, '.bak'))),
      backups,
    );
  });

  test('restarted all at once, the ensemble forms again on the same version', async () => {
    const ensemble = getEnsemble();
    await Promise.all(ensemble.members.map((m) => m.kill9()));
    await Promise.all(ensemble.members.map((m) => ensemble.restart(m.id)));
    await ensemble.leader(60000);
    for (const m of ensemble.members) await checkMember(ensemble, m);
  });
});
