/**
 * The membership an incremental reconfig asks for, and how ZooKeeper 3.8.0 answers bad ones.
 * "ZooKeeper:" notes record what a 3-member ZooKeeper 3.8.0 ensemble with reconfigEnabled
 * answered kazoo's reconfig() with the same arguments.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkVoters, incrementalMembers, isRefusal, type ReconfigRefusal } from '../../../src/config/reconfig.js';
import { parseServerLine } from '../../../src/config/servers.js';
import type { ServerSpec } from '../../../src/config/types.js';
import type { ConfigTextMember } from '../../../src/config/quorum.js';

const member = (id: number, line: string): ServerSpec => parseServerLine(String(id), line, {});
const LOOPBACK = [1, 2, 3].map((id) => member(id, `127.0.0.1:2428${id}:2438${id};2418${id}`));
const HOSTS = [1, 2, 3].map((id) => member(id, `10.0.0.${id}:2888:3888;2181`));

function members(r: readonly ConfigTextMember[] | ReconfigRefusal): readonly ConfigTextMember[] {
  if (isRefusal(r)) assert.fail(`refused: ${r.code} ${r.message}`);
  return r;
}

function refusal(r: readonly ConfigTextMember[] | ReconfigRefusal): ReconfigRefusal {
  assert.ok(isRefusal(r), `expected a refusal, got ${JSON.stringify(r)}`);
  return r;
}

describe('incremental reconfig', () => {
  it('adds a joiner with its client port (ZooKeeper: OK, 4 members)', () => {
    const next = members(incrementalMembers(LOOPBACK, 'server.4=127.0.0.1:24284:24384;24184', null));
    assert.deepEqual(
      next.map((s) => s.id),
      [1, 2, 3, 4],
    );
    assert.deepEqual(next[3], {
      id: 4,
      host: '127.0.0.1',
      quorumPort: 24284,
      electionPort: 24384,
      role: 'participant',
      client: { host: '0.0.0.0', port: 24184 },
    });
  });

  it('a joiner with the id of a member replaces it: that is how a role changes (ZooKeeper: OK)', () => {
    const next = members(incrementalMembers(LOOPBACK, '3=127.0.0.1:24283:24383:observer;24183', null));
    assert.deepEqual(
      next.map((s) => `${s.id}:${s.role}`),
      ['1:participant', '2:participant', '3:observer'],
    );
  });

  it('removes leaving ids before adding joiners, ignores unknown ids, trims and skips empty items', () => {
    const next = members(incrementalMembers(LOOPBACK, ' , server.5=127.0.0.1:24285:24385;24185 ,', ' 2 , 9 ,,'));
    assert.deepEqual(
      next.map((s) => s.id),
      [1, 3, 5],
    );
  });

  it('a leaving id that is not a number: MARSHALLINGERROR (ZooKeeper: an unchecked NumberFormatException)', () => {
    assert.equal(refusal(incrementalMembers(LOOPBACK, null, 'x')).code, 'MARSHALLINGERROR');
    assert.equal(refusal(incrementalMembers(LOOPBACK, 'server.x=127.0.0.1:1:2;3', null)).code, 'MARSHALLINGERROR');
  });

  it('a joiner without its client port, or not of the form server.N=spec: BADARGUMENTS', () => {
    assert.equal(refusal(incrementalMembers(LOOPBACK, 'server.4=127.0.0.1:24284:24384', null)).code, 'BADARGUMENTS');
    assert.equal(refusal(incrementalMembers(LOOPBACK, 'server.4', null)).message, 'Wrong format of server string');
    assert.equal(refusal(incrementalMembers(LOOPBACK, 'server.4=a=b', null)).code, 'BADARGUMENTS');
    assert.equal(refusal(incrementalMembers(LOOPBACK, 'server.4=127.0.0.1:notaport:2;3', null)).message, 'Reconfiguration failed');
  });

  it("a joiner on another member's address is refused, except on loopback and wildcard addresses", () => {
    const clash = refusal(incrementalMembers(HOSTS, 'server.4=10.0.0.2:3888:4888;2182', null));
    assert.equal(clash.code, 'BADARGUMENTS');
    assert.match(clash.message, /10\.0\.0\.2:3888 of server\.4 conflicts 10\.0\.0\.2:3888 of server\.2/);
    // a new member moving onto its own old addresses is no clash
    members(incrementalMembers(HOSTS, 'server.2=10.0.0.2:2888:3888:observer;2181', null));
    // loopback addresses are never compared (ZooKeeper's excludedSpecialAddresses)
    members(incrementalMembers(LOOPBACK, 'server.4=127.0.0.1:24281:24384;24184', null));
  });

  it('needs 2 voters when a lone participant would run standalone, else 1 (ZooKeeper: leave 2,3 -> BADARGUMENTS)', () => {
    const left = members(incrementalMembers(LOOPBACK, null, '2,3'));
    const voters = left.filter((s) => s.role === 'participant').length;
    assert.equal(checkVoters(voters, true)?.code, 'BADARGUMENTS');
    assert.equal(checkVoters(voters, false), undefined);
    assert.equal(checkVoters(0, false)?.code, 'BADARGUMENTS');
    assert.equal(checkVoters(2, true), undefined);
  });
});
