/**
 * Txn records (zookeeper.jute, package org.apache.zookeeper.txn): what prep produces, what the
 * txn log stores and what applyTxn consumes. Field orders follow ZooKeeper's so the log can be
 * written in its format.
 */
import { CodecError, JuteReader, JuteWriter } from './jute.js';
import { OpCode } from './codes.js';
import { readAclList, writeAclList, type ACL } from './records.js';

export interface TxnHeader {
  clientId: bigint;
  cxid: number;
  zxid: number;
  time: number;
  type: number;
}

export type Txn =
  | {
      type: typeof OpCode.create | typeof OpCode.create2;
      path: string;
      data: Buffer | null;
      acl: ACL[];
      ephemeral: boolean;
      parentCVersion: number;
    }
  | { type: typeof OpCode.createContainer; path: string; data: Buffer | null; acl: ACL[]; parentCVersion: number }
  | { type: typeof OpCode.createTTL; path: string; data: Buffer | null; acl: ACL[]; parentCVersion: number; ttl: number }
  | { type: typeof OpCode.delete | typeof OpCode.deleteContainer; path: string }
  | { type: typeof OpCode.setData; path: string; data: Buffer | null; version: number }
  | { type: typeof OpCode.setACL; path: string; acl: ACL[]; version: number }
  | { type: typeof OpCode.check; path: string; version: number }
  | { type: typeof OpCode.createSession; timeOut: number }
  | { type: typeof OpCode.closeSession; paths2Delete: string[] | null }
  | { type: typeof OpCode.error; err: number }
  | { type: typeof OpCode.multi; txns: Txn[] };

export function writeTxnHeader(w: JuteWriter, h: TxnHeader): void {
  w.writeBigLong(h.clientId).writeInt(h.cxid).writeLong(h.zxid).writeLong(h.time).writeInt(h.type);
}
export function readTxnHeader(r: JuteReader): TxnHeader {
  return { clientId: r.readBigLong(), cxid: r.readInt(), zxid: r.readLong(), time: r.readLong(), type: r.readInt() };
}

export function writeTxn(w: JuteWriter, txn: Txn): void {
  switch (txn.type) {
    case OpCode.create:
    case OpCode.create2:
      w.writeString(txn.path).writeBuffer(txn.data);
      writeAclList(w, txn.acl);
      w.writeBool(txn.ephemeral).writeInt(txn.parentCVersion);
      return;
    case OpCode.createContainer:
      w.writeString(txn.path).writeBuffer(txn.data);
      writeAclList(w, txn.acl);
      w.writeInt(txn.parentCVersion);
      return;
    case OpCode.createTTL:
      w.writeString(txn.path).writeBuffer(txn.data);
      writeAclList(w, txn.acl);
      w.writeInt(txn.parentCVersion).writeLong(txn.ttl);
      return;
    case OpCode.delete:
    case OpCode.deleteContainer:
      w.writeString(txn.path);
      return;
    case OpCode.setData:
      w.writeString(txn.path).writeBuffer(txn.data).writeInt(txn.version);
      return;
    case OpCode.setACL:
      w.writeString(txn.path);
      writeAclList(w, txn.acl);
      w.writeInt(txn.version);
      return;
    case OpCode.check:
      w.writeString(txn.path).writeInt(txn.version);
      return;
    case OpCode.createSession:
      w.writeInt(txn.timeOut);
      return;
    case OpCode.closeSession:
      if (txn.paths2Delete !== null) w.writeStrings(txn.paths2Delete);
      return;
    case OpCode.error:
      w.writeInt(txn.err);
      return;
    case OpCode.multi:
      // MultiTxn: vector<Txn{int type; buffer data}>. Each sub-txn is encoded in place after
      // its length, which is filled in after it (a writer of its own per sub-txn, grown and
      // copied, was most of what a multi of four setData allocated).
      w.writeInt(txn.txns.length);
      for (const sub of txn.txns) {
        w.writeInt(sub.type);
        const lengthAt = w.reserveInt();
        const start = w.length;
        writeTxn(w, sub);
        w.patchInt(lengthAt, w.length - start);
      }
      return;
  }
}

/** Decodes the body of a txn of `type` (the TxnHeader's type). */
export function readTxn(type: number, r: JuteReader): Txn {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
      return {
        type,
        path: r.readText(),
        data: r.readBufferView(),
        acl: readAclList(r) ?? [],
        ephemeral: r.readBool(),
        parentCVersion: r.readInt(),
      };
    case OpCode.createContainer:
      return { type, path: r.readText(), data: r.readBufferView(), acl: readAclList(r) ?? [], parentCVersion: r.readInt() };
    case OpCode.createTTL:
      return {
        type,
        path: r.readText(),
        data: r.readBufferView(),
        acl: readAclList(r) ?? [],
        parentCVersion: r.readInt(),
        ttl: r.readLong(),
      };
    case OpCode.delete:
    case OpCode.deleteContainer:
      return { type, path: r.readText() };
    case OpCode.setData:
      return { type, path: r.readText(), data: r.readBufferView(), version: r.readInt() };
    case OpCode.reconfig:
      // ZooKeeper's reconfig txn is a SetDataTxn of the new config on /zookeeper/config: it is
      // read, applied and written as one (the header keeps type reconfig)
      return { type: OpCode.setData, path: r.readText(), data: r.readBufferView(), version: r.readInt() };
    case OpCode.setACL:
      return { type, path: r.readText(), acl: readAclList(r) ?? [], version: r.readInt() };
    case OpCode.check:
      return { type, path: r.readText(), version: r.readInt() };
    case OpCode.createSession:
      return { type, timeOut: r.readInt() };
    case OpCode.closeSession:
      return { type, paths2Delete: r.remaining > 0 ? r.readStrings() : null };
    case OpCode.error:
      return { type, err: r.readInt() };
    case OpCode.multi: {
      const n = r.readInt();
      if (n < 0 || n > r.remaining) throw new CodecError(`bad multi txn count ${n}`);
      const txns: Txn[] = [];
      for (let i = 0; i < n; i++) {
        const subType = r.readInt();
        const body = r.readBuffer() ?? Buffer.alloc(0);
        txns.push(readTxn(subType, new JuteReader(body)));
      }
      return { type, txns };
    }
    default:
      throw new CodecError(`unknown txn type ${type}`);
  }
}

// ---------------------------------------------------------------- txn entries (proposals)

/** TxnDigest: the data tree's digest after the txn (3.6+, `zookeeper.digest.enabled`, on by default). */
export interface TxnDigest {
  version: number;
  treeDigest: bigint;
}
const TXN_DIGEST_BYTES = 12;

/**
 * A txn as a PROPOSAL or INFORM carries it (Util.marshallTxnEntry, read by
 * SerializeUtils.deserializeTxn): TxnHeader, the txn record of the header's type, then the
 * TxnDigest when the leader keeps digests. The txn log holds the same entry.
 */
export interface TxnEntry {
  header: TxnHeader;
  /** A reconfig's txn (header type reconfig) is its SetDataTxn, typed setData. */
  txn: Txn;
  digest: TxnDigest | null;
}

/**
 * Decodes a txn entry filling the reader to its end. Two readings are narrower than ZooKeeper's:
 * an entry whose txn is cut short is an error (ZooKeeper re-reads a short create as the 3.2
 * CreateTxnV0, which no 3.8 leader sends), and so is anything after the txn but a whole digest
 * (ZooKeeper drops a partial digest and ignores what follows it). A closeSession txn is read as
 * the 3.6+ CloseSessionTxn, which needs `zookeeper.closeSessionTxn.enabled` (the default) on the
 * leader: without it the leader sends none, and the digest would be misread as its path list.
 */
export function readTxnEntry(r: JuteReader): TxnEntry {
  const header = readTxnHeader(r);
  const txn = readTxn(header.type, r);
  if (r.remaining === 0) return { header, txn, digest: null };
  if (r.remaining !== TXN_DIGEST_BYTES) throw new CodecError(`${r.remaining} bytes after the txn, not a TxnDigest`);
  return { header, txn, digest: { version: r.readInt(), treeDigest: r.readBigLong() } };
}

export function writeTxnEntry(w: JuteWriter, e: TxnEntry): void {
  writeTxnHeader(w, e.header);
  writeTxn(w, e.txn);
  if (e.digest !== null) w.writeInt(e.digest.version).writeBigLong(e.digest.treeDigest);
}
