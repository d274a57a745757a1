/**
 * The part of node-zookeeper-client 1.1.3 (pure JS, ships no types) that the integration tests
 * use, typed from its README and lib/ sources. Longs (zxids, times, session ids) are 8-byte
 * big-endian Buffers in this library.
 */
declare module 'node-zookeeper-client' {
  import type { EventEmitter } from 'node:events';

  namespace zookeeper {
    class Id {
      constructor(scheme: string, id: string);
      readonly scheme: string;
      readonly id: string;
      static readonly ANYONE_ID_UNSAFE: Id;
      static readonly AUTH_IDS: Id;
    }

    class ACL {
      constructor(permission: number, id: Id);
      readonly permission: number;
      readonly id: Id;
      static readonly OPEN_ACL_UNSAFE: ACL[];
      static readonly CREATOR_ALL_ACL: ACL[];
      static readonly READ_ACL_UNSAFE: ACL[];
    }

    const Permission: {
      readonly READ: 1;
      readonly WRITE: 2;
      readonly CREATE: 4;
      readonly DELETE: 8;
      readonly ADMIN: 16;
      readonly ALL: 31;
    };

    const CreateMode: {
      readonly PERSISTENT: 0;
      readonly EPHEMERAL: 1;
      readonly PERSISTENT_SEQUENTIAL: 2;
      readonly EPHEMERAL_SEQUENTIAL: 3;
    };

    class State {
      getName(): string;
      getCode(): number;
      static readonly DISCONNECTED: State;
      static readonly SYNC_CONNECTED: State;
      static readonly AUTH_FAILED: State;
      static readonly CONNECTED_READ_ONLY: State;
      static readonly SASL_AUTHENTICATED: State;
      static readonly EXPIRED: State;
    }

    class Event {
      getType(): number;
      getName(): string;
      getPath(): string;
      static readonly NODE_CREATED: 1;
      static readonly NODE_DELETED: 2;
      static readonly NODE_DATA_CHANGED: 3;
      static readonly NODE_CHILDREN_CHANGED: 4;
    }

    class Exception extends Error {
      getCode(): number;
      getName(): string;
      getPath(): string | undefined;
      static readonly OK: 0;
      static readonly CONNECTION_LOSS: -4;
      static readonly BAD_ARGUMENTS: -8;
      static readonly NO_NODE: -101;
      static readonly NO_AUTH: -102;
      static readonly BAD_VERSION: -103;
      static readonly NO_CHILDREN_FOR_EPHEMERALS: -108;
      static readonly NODE_EXISTS: -110;
      static readonly NOT_EMPTY: -111;
      static readonly SESSION_EXPIRED: -112;
      static readonly INVALID_ACL: -114;
      static readonly AUTH_FAILED: -115;
    }

    interface Stat {
      czxid: Buffer;
      mzxid: Buffer;
      ctime: Buffer;
      mtime: Buffer;
      version: number;
      cversion: number;
      aversion: number;
      ephemeralOwner: Buffer;
      dataLength: number;
      numChildren: number;
      pzxid: Buffer;
    }

    /** What Transaction.commit reports per op: `type` is the op code (-1 for an error result). */
    interface TransactionResult {
      type: number;
      path?: string;
      stat?: Stat;
      err?: number;
    }

    interface ClientOptions {
      sessionTimeout?: number;
      spinDelay?: number;
      retries?: number;
      /** Undocumented (ConnectionManager): re-attach to this session. */
      sessionId?: Buffer;
      sessionPassword?: Buffer;
    }

    type Callback<T> = (error: Exception | Error | null | undefined, result: T) => void;
    type Watcher = (event: Event) => void;

    class Transaction {
      create(path: string, data?: Buffer | null, acls?: ACL[], mode?: number): Transaction;
      create(path: string, mode: number): Transaction;
      setData(path: string, data: Buffer | null, version?: number): Transaction;
      check(path: string, version?: number): Transaction;
      remove(path: string, version?: number): Transaction;
      commit(callback: (error: Exception | Error | null | undefined, results: TransactionResult[] | undefined) => void): void;
    }

    interface Client extends EventEmitter {
      connect(): void;
      close(): void;
      getState(): State;
      getSessionId(): Buffer;
      getSessionPassword(): Buffer;
      getSessionTimeout(): number;
      addAuthInfo(scheme: string, auth: Buffer): void;
      create(path: string, data: Buffer | null, acls: ACL[], mode: number, callback: Callback<string>): void;
      remove(path: string, version: number, callback: (error: Exception | Error | null | undefined) => void): void;
      exists(path: string, watcher: Watcher | null, callback: Callback<Stat | null>): void;
      exists(path: string, callback: Callback<Stat | null>): void;
      getChildren(
        path: string,
        watcher: Watcher | null,
        callback: (error: Exception | Error | null | undefined, children: string[], stat: Stat) => void,
      ): void;
      getData(
        path: string,
        watcher: Watcher | null,
        callback: (error: Exception | Error | null | undefined, data: Buffer | null, stat: Stat) => void,
      ): void;
      setData(path: string, data: Buffer | null, version: number, callback: Callback<Stat>): void;
      getACL(path: string, callback: (error: Exception | Error | null | undefined, acls: ACL[], stat: Stat) => void): void;
      setACL(path: string, acls: ACL[], version: number, callback: Callback<Stat>): void;
      mkdirp(path: string, callback: Callback<string>): void;
      transaction(): Transaction;
      /** Internal: the connection manager; used only to drop a connection without closing its session. */
      readonly connectionManager: { state: number; socket: { destroy(): void } | undefined };
    }

    function createClient(connectionString: string, options?: ClientOptions): Client;
  }

  export = zookeeper;
}
