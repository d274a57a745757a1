/**
 * Helpers for tests of the election port: election links on ephemeral ports of 127.0.0.1 with a
 * log that records what they say, raw connections that send chosen bytes, and waits.
 */
import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ELECTION_PROTOCOL_V1, type ElectionAddress } from '../../src/codec/index.js';
import { ElectionLinks, type ElectionLinksOptions } from '../../src/net/election-links.js';
import type { Logger } from '../../src/server/types.js';

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error' | 'debug';
  readonly msg: string;
  readonly obj: Record<string, unknown>;
}

export class RecordingLogger implements Logger {
  readonly lines: LogLine[] = [];
  info(obj: object, msg: string): void {
    this.lines.push({ level: 'info', msg, obj: obj as Record<string, unknown> });
  }
  warn(obj: object, msg: string): void {
    this.lines.push({ level: 'warn', msg, obj: obj as Record<string, unknown> });
  }
  error(obj: object, msg: string): void {
    this.lines.push({ level: 'error', msg, obj: obj as Record<string, unknown> });
  }
  debug(obj: object, msg: string): void {
    this.lines.push({ level: 'debug', msg, obj: obj as Record<string, unknown> });
  }
  /** Lines whose message contains `text`. */
  find(text: string): LogLine[] {
    return this.lines.filter((l) => l.msg.includes(text));
  }
}

export interface TestMember {
  readonly sid: number;
  readonly links: ElectionLinks;
  readonly address: ElectionAddress;
  readonly log: RecordingLogger;
  /** Messages received, as [from, text]. */
  readonly received: Array<[number, string]>;
}

/**
 * Starts election links for `sids` on ephemeral ports; every member knows every other. `peers`
 * is filled once all are bound (the links read it as connections come).
 */
export async function startMembers(
  sids: readonly number[],
  options: Partial<Omit<ElectionLinksOptions, 'mySid' | 'peers' | 'listen' | 'log' | 'onMessage'>> = {},
  peers = new Map<number, ElectionAddress>(),
): Promise<TestMember[]> {
  const members = await Promise.all(sids.map((sid) => startMember(sid, peers, options)));
  for (const m of members) peers.set(m.sid, m.address);
  return members;
}

export async function startMember(
  sid: number,
  peers: Map<number, ElectionAddress>,
  options: Partial<Omit<ElectionLinksOptions, 'mySid' | 'peers' | 'log' | 'onMessage'>> = {},
): Promise<TestMember> {
  const log = new RecordingLogger();
  const received: Array<[number, string]> = [];
  const links = new ElectionLinks({
    mySid: sid,
    // the shared map lists this member too: harmless, as a member never connects to itself
    peers,
    listen: options.listen ?? { host: '127.0.0.1', port: 0 },
    initialMessageTimeoutMs: 2000,
    cnxTimeoutMs: 2000,
    ...options,
    log,
    onMessage: (from, message) => received.push([from, message.toString('utf8')]),
  });
  const address = await links.start();
  return { sid, links, address, log, received };
}

export async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A V1 initial message as 3.8 writes it by default, built by hand: `address` goes as it is. */
export function initialMessageBytes(sid: number | bigint, address: string): Buffer {
  const head = Buffer.alloc(20);
  head.writeBigInt64BE(ELECTION_PROTOCOL_V1, 0);
  head.writeBigInt64BE(BigInt(sid), 8);
  head.writeInt32BE(Buffer.byteLength(address), 16);
  return Buffer.concat([head, Buffer.from(address)]);
}

export function frame(message: Buffer | string): Buffer {
  const body = typeof message === 'string' ? Buffer.from(message) : message;
  const len = Buffer.alloc(4);
  len.writeInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/**
 * Opens a raw connection, writes `bytes`, and resolves with what came back and whether the other
 * side closed it within `timeoutMs` (false: still open, then closed here).
 */
export function rawExchange(address: ElectionAddress, bytes: Buffer, timeoutMs = 3000): Promise<{ closedByPeer: boolean; reply: Buffer }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closedByPeer = false;
    const socket = net.connect(address, () => socket.write(bytes));
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => {
      closedByPeer = true;
    });
    socket.on('error', () => {
      closedByPeer = true;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ closedByPeer, reply: Buffer.concat(chunks) });
    });
  });
}

export async function closeAll(members: readonly TestMember[]): Promise<void> {
  await Promise.all(members.map((m) => m.links.close()));
}
