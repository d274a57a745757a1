/**
 * Kill -9 at random moments, restart on the same dataDir, and check that nothing acknowledged
 * was lost. Several sessions pipeline creates, sequential creates, setData (half of them
 * version-conditional) and multis (a fresh parent plus 2-4 children, so a half-applied multi
 * shows) against the real server; every reply is recorded with its zxid. After each restart:
 *
 *   - every acknowledged write is there with the acknowledged data and version; a newer value
 *     is accepted only if it was sent (and then it is the one at that version, with a later
 *     mzxid), and the tree is a prefix of what each session sent;
 *   - no multi is half-applied; no node that was missing after a restart ever shows up later;
 *   - sequential suffixes never repeat and only grow;
 *   - the server answers, and the zxid of a new write is above every zxid acknowledged or seen.
 *
 * Kill moments come from a seeded PRNG (printed; rerun with ZEPHYR_FAULT_SEED=<seed>). The
 * interleaving of real processes is not replayable, so the seed fixes the plan (op mix, kill
 * delays, kills during start-up), not every byte.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { SeededRandom } from '../../src/base/index.js';
import { CreateMode, ErrorCode, OpCode, type Request, type Stat } from '../../src/codec/index.js';
import { OPEN_ACL_UNSAFE, RawClient } from '../support/raw-client.js';
import { runServerToExit, type ServerProcess } from '../support/server-process.js';
import { logFiles, snapshotFiles, startOn, tempDir } from './fault-support.js';

const SEED = Number(process.env['ZEPHYR_FAULT_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const CYCLES = Number(process.env['ZEPHYR_FAULT_CYCLES'] ?? 20);
/** Low snapCount: snapshots and log rolls happen all through the run. */
const CONFIG = {
  tickTime: '500',
  snapCount: '40',
  preAllocSize: '64',
};
const SESSIONS = 3;
const WINDOW = 24;

process.stdout.write(`# crash test seed ${SEED} (rerun with ZEPHYR_FAULT_SEED=${SEED})\n`);

/** A plain node: history[v] is the data it holds at version v (history[0] from the create). */
interface NodeModel {
  path: string;
  history: string[];
  /** Highest version known durable (acknowledged, read back, or seen after a restart); -1 = none. */
  durableVersion: number;
  /** mzxid of durableVersion, when known exactly. */
  durableMzxid: number | null;
  czxid: number | null;
}

interface MultiModel {
  parent: string;
  children: Map<string, string>;
  parentData: string;
  /** zxid of the acknowledged (or seen) multi; null while neither. */
  zxid: number | null;
}

interface SeqModel {
  token: string;
  /** Name (with suffix) once acknowledged or found. */
  name: string | null;
  zxid: number | null;
}

class Violations {
  readonly list: string[] = [];
  add(msg: string): void {
    if (this.list.length < 50) this.list.push(msg);
  }
  assertNone(when: string): void {
    assert.deepEqual(this.list, [], `${when} (seed ${SEED})`);
  }
}

function suffixOf(name: string): number {
  return Number(name.slice(-10));
}

describe(`kill -9 at random moments (seed ${SEED})`, { timeout: 150000 }, () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test(`${CYCLES} kill/restart cycles lose no acknowledged write`, { timeout: 120000 }, async (t) => {
    t.diagnostic(`seed ${SEED}`);
    const rng = new SeededRandom(SEED);
    const dataDir = tempDir('crash');
    dirs.push(dataDir);
    const v = new Violations();

    const nodes = new Map<string, NodeModel>();
    const multis: MultiModel[] = [];
    const seqs: SeqModel[] = [];
    /** Paths found missing after a restart (never acknowledged): must never appear later. */
    const gone = new Set<string>();
    /** Suffixes of sequential nodes known durable. */
    const knownSuffixes = new Set<number>();
    let maxKnownSuffix = -1;
    /** Highest zxid acknowledged or seen in the tree so far. */
    let maxZxid = 0;
    const stats = { acked: 0, sent: 0, lostUnacked: 0, kills: 0, startupKills: 0, multis: 0, seq: 0, sets: 0, creates: 0 };

    let server: ServerProcess = await startOn(dataDir, CONFIG);
    {
      const c = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 4000 });
      for (const p of ['/crash', '/crash/n', '/crash/m', '/crash/seq']) assert.equal((await c.create(p, Buffer.alloc(0))).err, 0, p);
      c.destroy();
    }

    const phase = { workload: 0, restart: 0, verify: 0 };
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      let t0 = Date.now();
      const zxidFloor = maxZxid;
      const seqAcks: Array<{ zxid: number; suffix: number }> = [];
      // ------------------------------------------------------------ workload until the kill
      const clients = await Promise.all(
        Array.from({ length: SESSIONS }, () => RawClient.connect({ host: server.host, port: server.port, timeoutMs: 2000 })),
      );
      const owned: string[][] = clients.map(() => []);
      let i = 0;
      for (const n of nodes.values()) owned[i++ % SESSIONS]?.push(n.path);
      let stopping = false;
      /** Per session: (xid, zxid, what) of every acknowledged write, to check zxids grow in request order. */
      const acks: Array<Array<{ xid: number; zxid: number; what: string }>> = clients.map(() => []);

      const ack = (k: number, what: string, r: { xid: number; zxid: number }): void => {
        stats.acked++;
        if (r.zxid <= zxidFloor)
          v.add(`cycle ${cycle}: ${what} acknowledged with zxid ${r.zxid}, not above ${zxidFloor} (before the restart)`);
        acks[k]?.push({ xid: r.xid, zxid: r.zxid, what });
      };

      const sendOne = (k: number, c: RawClient, seq: number): Promise<void> => {
        stats.sent++;
        const mine = owned[k] ?? [];
        // The op mix; new nodes get rarer as the tree grows, so each verification stays quick.
        const weights = {
          create: nodes.size < 600 ? 0.3 : 0.05,
          set: 0.35,
          multi: multis.length < 300 ? 0.2 : 0.03,
          seq: seqs.length < 400 ? 0.15 : 0.05,
          read: 0.05,
        };
        let roll = rng.next() * (weights.create + weights.set + weights.multi + weights.seq + weights.read);
        const is = (w: number): boolean => {
          roll -= w;
          return roll < 0;
        };
        if (is(weights.create) || mine.length === 0) {
          const path = `/crash/n/c${cycle}s${k}-${seq}`;
          const data = `d${cycle}.${k}.${seq}.0-${'z'.repeat(rng.int(64))}`;
          const model: NodeModel = { path, history: [data], durableVersion: -1, durableMzxid: null, czxid: null };
          nodes.set(path, model);
          mine.push(path);
          stats.creates++;
          return c.create(path, Buffer.from(data)).then(
            (r) => {
              if (r.err !== 0) {
                v.add(`cycle ${cycle}: create ${path} failed with ${r.err}`);
                return;
              }
              ack(k, `create ${path}`, r);
              model.czxid = r.zxid;
              if (model.durableVersion < 0) {
                model.durableVersion = 0;
                model.durableMzxid = r.zxid;
              }
            },
            () => undefined,
          );
        }
        if (is(weights.set)) {
          const path = rng.pick(mine);
          const model = nodes.get(path);
          if (model === undefined) return Promise.resolve();
          const version = model.history.length; // the version this setData makes, if all before it apply
          const data = `d${cycle}.${k}.${seq}.${version}`;
          model.history.push(data);
          const conditional = rng.chance(0.5);
          stats.sets++;
          return c.setData(path, Buffer.from(data), conditional ? version - 1 : -1).then(
            (r) => {
              if (r.err !== 0) {
                v.add(`cycle ${cycle}: setData ${path} (v${version - 1}) failed with ${r.err}`);
                return;
              }
              ack(k, `setData ${path}`, r);
              if (r.stat?.version !== version)
                v.add(`cycle ${cycle}: setData ${path} made version ${r.stat?.version}, expected ${version}`);
              if (r.stat?.mzxid !== r.zxid) v.add(`cycle ${cycle}: setData ${path}: stat.mzxid ${r.stat?.mzxid} != reply zxid ${r.zxid}`);
              if (version > model.durableVersion) {
                model.durableVersion = version;
                model.durableMzxid = r.zxid;
              }
            },
            () => undefined,
          );
        }
        if (is(weights.multi)) {
          const parent = `/crash/m/c${cycle}s${k}-${seq}`;
          const children = new Map<string, string>();
          const count = 2 + rng.int(3);
          for (let j = 0; j < count; j++) children.set(`k${j}`, `${parent}#${j}`);
          const m: MultiModel = { parent, children, parentData: `p${seq}`, zxid: null };
          multis.push(m);
          stats.multis++;
          const ops: Request[] = [
            { op: OpCode.create, path: parent, data: Buffer.from(m.parentData), acl: OPEN_ACL_UNSAFE, flags: 0 },
            ...[...children].map(([name, data]): Request => ({
              op: OpCode.create,
              path: `${parent}/${name}`,
              data: Buffer.from(data),
              acl: OPEN_ACL_UNSAFE,
              flags: 0,
            })),
          ];
          return c.multi(ops).then(
            (r) => {
              if (r.err !== 0) {
                v.add(`cycle ${cycle}: multi under ${parent} failed with ${r.err}`);
                return;
              }
              ack(k, `multi ${parent}`, r);
              if (r.results?.length !== ops.length || r.results.some((x) => x.type !== OpCode.create))
                v.add(`cycle ${cycle}: multi ${parent}: unexpected results ${JSON.stringify(r.results)}`);
              m.zxid = r.zxid;
            },
            () => undefined,
          );
        }
        if (is(weights.seq)) {
          const s: SeqModel = { token: `t${cycle}.${k}.${seq}`, name: null, zxid: null };
          seqs.push(s);
          stats.seq++;
          return c.create('/crash/seq/s-', Buffer.from(s.token), { flags: CreateMode.PERSISTENT_SEQUENTIAL }).then(
            (r) => {
              if (r.err !== 0 || r.path === undefined) {
                v.add(`cycle ${cycle}: sequential create (${s.token}) failed with ${r.err}`);
                return;
              }
              ack(k, `sequential create ${r.path}`, r);
              s.name = r.path.slice('/crash/seq/'.length);
              s.zxid = r.zxid;
              const suffix = suffixOf(s.name);
              if (knownSuffixes.has(suffix)) v.add(`cycle ${cycle}: sequence suffix ${suffix} reused (${r.path})`);
              seqAcks.push({ zxid: r.zxid, suffix });
            },
            () => undefined,
          );
        }
        // A read: what a session reads was made durable before it was applied, so it must survive.
        const path = rng.pick(mine);
        const model = nodes.get(path);
        if (model === undefined) return Promise.resolve();
        const expectAtLeast = model.durableVersion;
        return c.getData(path).then(
          (r) => {
            if (r.err === ErrorCode.NONODE && expectAtLeast < 0) return; // its create is still in flight
            if (r.err !== 0 || r.stat === undefined) {
              v.add(`cycle ${cycle}: getData ${path} failed with ${r.err}`);
              return;
            }
            const ver = r.stat.version;
            if (model.history[ver] !== r.data?.toString()) v.add(`cycle ${cycle}: getData ${path} read "${r.data?.toString()}" at v${ver}`);
            if (ver > model.durableVersion) {
              model.durableVersion = ver;
              model.durableMzxid = r.stat.mzxid;
            }
          },
          () => undefined,
        );
      };

      const loop = async (k: number, c: RawClient): Promise<void> => {
        const inflight = new Set<Promise<void>>();
        let seq = 0;
        while (!stopping && !c.isClosed) {
          if (inflight.size >= WINDOW) {
            await Promise.race(inflight);
            continue;
          }
          const p: Promise<void> = sendOne(k, c, seq++).finally(() => inflight.delete(p));
          inflight.add(p);
          if (seq % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
        await Promise.allSettled(inflight);
      };
      const loops = clients.map((c, k) => loop(k, c));
      const killAfter = rng.chance(0.1) ? rng.int(20) : 20 + rng.int(900);
      await new Promise((resolve) => setTimeout(resolve, killAfter));
      await server.kill9();
      stats.kills++;
      stopping = true;
      await Promise.all(loops);
      for (const c of clients) c.destroy();
      // A session's writes get zxids in the order it sent them.
      for (const list of acks) {
        list.sort((a, b) => a.xid - b.xid);
        for (let j = 1; j < list.length; j++) {
          const [p, q] = [list[j - 1], list[j]];
          if (p !== undefined && q !== undefined && q.zxid <= p.zxid)
            v.add(`cycle ${cycle}: ${q.what} (xid ${q.xid}) got zxid ${q.zxid}, not above ${p.zxid} of ${p.what} (xid ${p.xid})`);
        }
      }
      v.assertNone(`violations during cycle ${cycle}`);

      // Sequential suffixes acknowledged in this cycle only grow with the zxid, above all known ones.
      seqAcks.sort((a, b) => a.zxid - b.zxid);
      let prev = maxKnownSuffix;
      for (const a of seqAcks) {
        if (a.suffix <= prev) v.add(`cycle ${cycle}: sequential suffix ${a.suffix} (zxid ${a.zxid}) not above ${prev}`);
        prev = Math.max(prev, a.suffix);
      }
      for (const n of nodes.values()) if (n.durableMzxid !== null) maxZxid = Math.max(maxZxid, n.durableMzxid);
      for (const m of multis) if (m.zxid !== null) maxZxid = Math.max(maxZxid, m.zxid);
      for (const s of seqs) if (s.zxid !== null) maxZxid = Math.max(maxZxid, s.zxid);

      phase.workload += Date.now() - t0;
      t0 = Date.now();
      // ------------------------------------------------------------ restart (sometimes killed while starting)
      if (rng.chance(0.25)) {
        const r = await runServerToExit({ config: { dataDir, ...CONFIG } }, 30 + rng.int(400));
        assert.ok(r.timedOut, `the server exited by itself during start-up (cycle ${cycle}, seed ${SEED}):\n${r.output}`);
        stats.startupKills++;
      }
      try {
        server = await startOn(dataDir, CONFIG);
      } catch (e) {
        const files = `snapshots: ${snapshotFiles(dataDir)
          .map((f) => f.name)
          .join(' ')}; logs: ${logFiles(dataDir)
          .map((f) => f.name)
          .join(' ')}`;
        assert.fail(`restart after kill ${cycle} failed (seed ${SEED}); ${files}\n${(e as Error).message}`);
      }

      phase.restart += Date.now() - t0;
      t0 = Date.now();
      // ------------------------------------------------------------ verify
      const c = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 4000 });
      const seen = (zxid: number): void => {
        maxZxid = Math.max(maxZxid, zxid);
      };
      const nodeList = [...nodes.values()];
      const reads = await Promise.all(nodeList.map((n) => c.getData(n.path)));
      nodeList.forEach((n, j) => {
        const r = reads[j];
        if (r === undefined) return;
        if (r.err === ErrorCode.NONODE) {
          if (n.durableVersion >= 0) v.add(`cycle ${cycle}: LOST ${n.path} (create acknowledged or seen, v${n.durableVersion})`);
          else stats.lostUnacked++;
          nodes.delete(n.path);
          gone.add(n.path);
          return;
        }
        if (r.err !== 0 || r.stat === undefined) {
          v.add(`cycle ${cycle}: getData ${n.path}: ${r.err}`);
          return;
        }
        const st: Stat = r.stat;
        const data = r.data?.toString() ?? '';
        if (st.version < n.durableVersion)
          v.add(
            `cycle ${cycle}: LOST write to ${n.path}: version ${st.version} ("${data}"), acknowledged v${n.durableVersion} ("${n.history[n.durableVersion]}")`,
          );
        else if (st.version >= n.history.length)
          v.add(`cycle ${cycle}: ${n.path} at version ${st.version}, only ${n.history.length - 1} sets sent`);
        else if (n.history[st.version] !== data)
          v.add(`cycle ${cycle}: ${n.path} v${st.version} holds "${data}", sent "${n.history[st.version]}"`);
        if (st.version === n.durableVersion && n.durableMzxid !== null && st.mzxid !== n.durableMzxid)
          v.add(`cycle ${cycle}: ${n.path} v${st.version} mzxid ${st.mzxid}, acknowledged with zxid ${n.durableMzxid}`);
        if (st.version > n.durableVersion && n.durableMzxid !== null && st.mzxid <= n.durableMzxid)
          v.add(`cycle ${cycle}: ${n.path}: newer value with mzxid ${st.mzxid} not above the acknowledged ${n.durableMzxid}`);
        if (n.czxid !== null && st.czxid !== n.czxid) v.add(`cycle ${cycle}: ${n.path} czxid ${st.czxid}, created at ${n.czxid}`);
        // What is there now is durable: later restarts must keep at least this.
        n.czxid = st.czxid;
        n.durableVersion = Math.min(st.version, n.history.length - 1);
        n.durableMzxid = st.mzxid;
        n.history.length = n.durableVersion + 1; // unacknowledged later sets are gone for good
        seen(st.mzxid);
      });
      const goneReads = await Promise.all([...gone].map((p) => c.exists(p)));
      [...gone].forEach((p, j) => {
        if (goneReads[j]?.err !== ErrorCode.NONODE) v.add(`cycle ${cycle}: ${p} was missing after an earlier restart but exists now`);
      });

      const multiReads = await Promise.all(multis.map((m) => c.getChildren2(m.parent)));
      const childReads = await Promise.all(
        multis.map((m, j) =>
          multiReads[j]?.err === 0
            ? Promise.all([...m.children.keys()].map((name) => c.getData(`${m.parent}/${name}`)))
            : Promise.resolve([]),
        ),
      );
      for (let j = multis.length - 1; j >= 0; j--) {
        const m = multis[j];
        const r = multiReads[j];
        if (m === undefined || r === undefined) continue;
        if (r.err === ErrorCode.NONODE) {
          if (m.zxid !== null) v.add(`cycle ${cycle}: LOST multi ${m.parent} (acknowledged at zxid ${m.zxid})`);
          else stats.lostUnacked++;
          gone.add(m.parent);
          multis.splice(j, 1);
          continue;
        }
        const kids = [...(r.children ?? [])].sort();
        const want = [...m.children.keys()].sort();
        if (JSON.stringify(kids) !== JSON.stringify(want))
          v.add(`cycle ${cycle}: HALF-APPLIED multi ${m.parent}: children ${kids.join(',')} != ${want.join(',')}`);
        const czxid = r.stat?.czxid ?? -1;
        if (m.zxid !== null && czxid !== m.zxid) v.add(`cycle ${cycle}: multi ${m.parent} czxid ${czxid}, acknowledged at ${m.zxid}`);
        [...m.children].forEach(([name, data], x) => {
          const cr = childReads[j]?.[x];
          if (cr?.err !== 0) return; // reported above as a children mismatch
          if (cr.data?.toString() !== data) v.add(`cycle ${cycle}: multi child ${m.parent}/${name} holds "${cr.data?.toString()}"`);
          if (cr.stat?.czxid !== czxid)
            v.add(`cycle ${cycle}: multi child ${m.parent}/${name} czxid ${cr.stat?.czxid} != parent's ${czxid}`);
        });
        m.zxid = czxid;
        seen(czxid);
      }

      const seqKids = await c.getChildren('/crash/seq');
      assert.equal(seqKids.err, 0);
      const names = seqKids.children ?? [];
      const seqData = await Promise.all(names.map((name) => c.getData(`/crash/seq/${name}`)));
      const byToken = new Map(seqs.map((s) => [s.token, s]));
      const tokensSeen = new Set<string>();
      names.forEach((name, j) => {
        const r = seqData[j];
        const token = r?.data?.toString() ?? '';
        const s = byToken.get(token);
        if (s === undefined) {
          v.add(`cycle ${cycle}: /crash/seq/${name} holds "${token}", never sent`);
          return;
        }
        if (tokensSeen.has(token)) v.add(`cycle ${cycle}: sequential create ${token} applied twice`);
        tokensSeen.add(token);
        if (s.name !== null && s.name !== name)
          v.add(`cycle ${cycle}: sequential create ${token} acknowledged as ${s.name}, found as ${name}`);
        if (s.zxid !== null && r?.stat?.czxid !== s.zxid)
          v.add(`cycle ${cycle}: /crash/seq/${name} czxid ${r?.stat?.czxid}, acknowledged at ${s.zxid}`);
        s.name = name;
        s.zxid = r?.stat?.czxid ?? null;
        const suffix = suffixOf(name);
        knownSuffixes.add(suffix);
        maxKnownSuffix = Math.max(maxKnownSuffix, suffix);
        seen(r?.stat?.czxid ?? 0);
      });
      for (let j = seqs.length - 1; j >= 0; j--) {
        const s = seqs[j];
        if (s === undefined || tokensSeen.has(s.token)) continue;
        if (s.name !== null) v.add(`cycle ${cycle}: LOST sequential node ${s.name} (${s.token}), acknowledged at zxid ${s.zxid}`);
        else stats.lostUnacked++;
        seqs.splice(j, 1);
      }

      // The server answers writes, with a zxid above everything acknowledged or seen before.
      const probe = await c.create(`/crash/probe${cycle}`, Buffer.from('p'));
      assert.equal(probe.err, 0, `a write after restart ${cycle}`);
      if (probe.zxid <= maxZxid) v.add(`cycle ${cycle}: ZXID REUSED: new write got zxid ${probe.zxid}, not above ${maxZxid}`);
      maxZxid = probe.zxid;
      c.destroy();
      v.assertNone(`after restart ${cycle}`);
      phase.verify += Date.now() - t0;
    }
    t.diagnostic(`time: workload ${phase.workload} ms, restarts ${phase.restart} ms, verification ${phase.verify} ms`);
    await server.stop();
    t.diagnostic(`version-2 at the end: ${snapshotFiles(dataDir).length} snapshots, ${logFiles(dataDir).length} logs`);
    t.diagnostic(
      `${stats.kills} kills (+${stats.startupKills} during start-up); ${stats.sent} requests, ${stats.acked} acknowledged ` +
        `(${stats.creates} creates, ${stats.sets} setData, ${stats.multis} multis, ${stats.seq} sequential); ` +
        `${stats.lostUnacked} unacknowledged writes did not survive; ${nodes.size} nodes, ${multis.length} multis, ${seqs.length} sequential nodes at the end`,
    );
    assert.ok(stats.kills >= 20);
  });

  test(
    'a session that re-attaches within its timeout after kill -9 keeps its ephemerals; one that does not loses them',
    { timeout: 40000 },
    async () => {
      const dataDir = tempDir('eph');
      dirs.push(dataDir);
      const config = { tickTime: '500' }; // session timeouts 1 s .. 10 s
      let server = await startOn(dataDir, config);
      const a = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 10000 });
      const b = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 1000 });
      assert.equal(a.negotiatedTimeout, 10000);
      assert.equal((await a.create('/eph', Buffer.alloc(0))).err, 0);
      const mine = ['/eph/a1', '/eph/a2'];
      for (const p of mine) assert.equal((await a.create(p, Buffer.from(p), { flags: CreateMode.EPHEMERAL })).err, 0);
      const seq = await a.create('/eph/aseq-', Buffer.alloc(0), { flags: CreateMode.EPHEMERAL_SEQUENTIAL });
      assert.equal(seq.err, 0);
      mine.push(seq.path ?? '');
      assert.equal((await b.create('/eph/b1', Buffer.alloc(0), { flags: CreateMode.EPHEMERAL })).err, 0);
      const session = { id: a.sessionId, passwd: a.passwd };
      a.destroy();
      b.destroy();

      for (let round = 0; round < 2; round++) {
        await server.kill9();
        server = await startOn(dataDir, config);
        const again = await RawClient.connect({
          host: server.host,
          port: server.port,
          timeoutMs: 10000,
          sessionId: session.id,
          passwd: session.passwd,
          keepAliveMs: 1000,
        });
        assert.equal(again.expired, false, `round ${round}: the session survived the restart`);
        assert.equal(again.sessionId, session.id);
        for (const p of mine) {
          const r = await again.exists(p);
          assert.equal(r.err, 0, `round ${round}: ${p} kept`);
          assert.equal(r.stat?.ephemeralOwner, session.id, `round ${round}: ${p} still owned by the session`);
        }
        assert.deepEqual((await again.getEphemerals('/eph')).paths?.sort(), [...mine].sort());
        // b never comes back: its ephemeral goes once its 1 s timeout has run out after the restart.
        const deadline = Date.now() + 8000;
        while ((await again.exists('/eph/b1')).err === 0) {
          assert.ok(Date.now() < deadline, `round ${round}: /eph/b1 outlived its session's timeout`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        for (const p of mine) assert.equal((await again.exists(p)).err, 0, `round ${round}: ${p} kept after b expired`);
        again.destroy();
      }
      // A closed session's ephemerals are gone for good, also after kill -9 and restart.
      const last = await RawClient.connect({
        host: server.host,
        port: server.port,
        timeoutMs: 10000,
        sessionId: session.id,
        passwd: session.passwd,
      });
      assert.equal(last.expired, false);
      await last.close();
      await server.kill9();
      server = await startOn(dataDir, config);
      const check = await RawClient.connect({ host: server.host, port: server.port, timeoutMs: 10000 });
      assert.deepEqual((await check.getChildren('/eph')).children, []);
      const gone = await RawClient.connect({
        host: server.host,
        port: server.port,
        timeoutMs: 10000,
        sessionId: session.id,
        passwd: session.passwd,
      });
      assert.equal(gone.expired, true, 'a closed session cannot be re-attached after a restart');
      check.destroy();
      gone.destroy();
      await server.stop();
    },
  );
});
