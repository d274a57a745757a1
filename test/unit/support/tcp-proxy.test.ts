import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { once } from 'node:events';
import { FaultProxy } from '../../support/tcp-proxy.js';

/** A server that echoes every byte in upper case (so an echo tells which side answered) and counts connections. */
class Upper {
  connections = 0;
  readonly sockets = new Set<net.Socket>();
  private constructor(readonly server: net.Server) {}
  static async start(): Promise<Upper> {
    const u = new Upper(net.createServer());
    u.server.on('connection', (s) => {
      u.connections++;
      u.sockets.add(s);
      s.on('close', () => u.sockets.delete(s));
      s.on('error', () => undefined);
      s.on('data', (d: Buffer) => s.write(d.toString('latin1').toUpperCase()));
    });
    u.server.listen(0, '127.0.0.1');
    await once(u.server, 'listening');
    return u;
  }
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** A client socket that keeps what it receives and how it ended. */
class Peer {
  received = '';
  ended: 'open' | 'closed' | 'reset' = 'open';
  readonly closed: Promise<void>;
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => (this.received += d.toString('latin1')));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNRESET') this.ended = 'reset';
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        if (this.ended === 'open') this.ended = 'closed';
        resolve();
      }),
    );
  }
  static async connect(port: number): Promise<Peer> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    return new Peer(socket);
  }
}

/** How a connection to `port` ends when the other side resets it, during or right after the handshake. */
function resetOutcome(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code));
    socket.on('close', () => resolve('closed without an error'));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('FaultProxy', { timeout: 30000 }, () => {
  let upper: Upper;
  const proxies: FaultProxy[] = [];
  const startProxy = async (options: Partial<Parameters<typeof FaultProxy.start>[0]> = {}): Promise<FaultProxy> => {
    const p = await FaultProxy.start({ targetPort: upper.port, ...options });
    proxies.push(p);
    return p;
  };
  before(async () => {
    upper = await Upper.start();
  });
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });
  after(async () => {
    await upper.close();
  });

  test('pass relays both directions', async () => {
    const proxy = await startProxy();
    const peer = await Peer.connect(proxy.port);
    peer.socket.write('hello');
    await until('the echo', () => peer.received === 'HELLO');
    assert.equal(proxy.stats.forwardedBytes, 10);
    peer.socket.destroy();
  });

  test('rewriteFirst replaces the first message once it is complete, and only it', async () => {
    const proxy = await startProxy({
      rewriteFirst: (bytes) => {
        const end = bytes.indexOf(';');
        return end < 0 ? undefined : { consumed: end + 1, replacement: Buffer.from('first;') };
      },
    });
    const peer = await Peer.connect(proxy.port);
    peer.socket.write('ab');
    await sleep(50);
    assert.equal(peer.received, '', 'an incomplete first message is held back');
    peer.socket.write('c;rest;');
    await until('the echo', () => peer.received === 'FIRST;REST;');
    peer.socket.destroy();
  });

  test('drop swallows bytes both ways and hides a close; leaving it resets the broken connection', async () => {
    const proxy = await startProxy();
    const peer = await Peer.connect(proxy.port);
    peer.socket.write('a');
    await until('the echo', () => peer.received === 'A');
    proxy.setMode('drop');
    peer.socket.write('b');
    await until('the drop', () => proxy.stats.droppedBytes === 1);
    // the server end closes behind the black hole: the client must not learn of it
    for (const s of upper.sockets) s.destroy();
    await sleep(100);
    assert.equal(peer.received, 'A');
    assert.equal(peer.ended, 'open');
    proxy.setMode('pass');
    await peer.closed;
    assert.equal(peer.ended, 'reset');
  });

  test('drop accepts new connections without dialling the target; pass then connects them', async () => {
    const proxy = await startProxy();
    proxy.setMode('drop');
    const before = upper.connections;
    const silent = await Peer.connect(proxy.port);
    await sleep(100);
    assert.equal(upper.connections, before, 'no upstream connection in drop');
    assert.equal(silent.ended, 'open');
    proxy.setMode('pass');
    // nothing was lost on it, so it carries on
    silent.socket.write('late');
    await until('the echo', () => silent.received === 'LATE');
    assert.equal(upper.connections, before + 1);
    silent.socket.destroy();
  });

  test('reset sends RST on open connections and refuses new ones until pass', async () => {
    const proxy = await startProxy();
    const peer = await Peer.connect(proxy.port);
    peer.socket.write('x');
    await until('the echo', () => peer.received === 'X');
    const serverEnds = [...upper.sockets];
    const serverReset = Promise.all(
      serverEnds.map((s) => new Promise<string | undefined>((resolve) => s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code)))),
    );
    proxy.setMode('reset');
    await peer.closed;
    assert.equal(peer.ended, 'reset');
    assert.deepEqual(await serverReset, ['ECONNRESET']);
    assert.equal(await resetOutcome(proxy.port), 'ECONNRESET');
    assert.equal(proxy.openLinks, 0);
    proxy.setMode('pass');
    const again = await Peer.connect(proxy.port);
    again.socket.write('y');
    await until('the echo', () => again.received === 'Y');
    again.socket.destroy();
  });
});

describe('FaultProxy following its target', { timeout: 30000 }, () => {
  test('refuses while the target is down, listens once it is up, and goes dark again after a refusal or a fault', async () => {
    const spare = net.createServer();
    spare.listen(0, '127.0.0.1');
    await once(spare, 'listening');
    const targetPort = (spare.address() as net.AddressInfo).port;
    await new Promise((resolve) => spare.close(resolve));
    const port = await (async () => {
      const s = net.createServer().listen(0, '127.0.0.1');
      await once(s, 'listening');
      const p = (s.address() as net.AddressInfo).port;
      await new Promise((resolve) => s.close(resolve));
      return p;
    })();
    const proxy = await FaultProxy.start({ targetPort, port, followTarget: true });
    try {
      assert.equal(await resetOutcome(port), 'ECONNREFUSED', 'refused while the target is down');
      // the proxy's probes connect and leave at once: their resets are no error here
      const target = net.createServer((s) => s.on('error', () => undefined).end('hi'));
      target.listen(targetPort, '127.0.0.1');
      await once(target, 'listening');
      await until('the proxy to listen', () => proxy.listening);
      const peer = await Peer.connect(port);
      await peer.closed;
      assert.equal(peer.received, 'hi');
      await new Promise((resolve) => target.close(resolve));
      // the first connection after the target went away is accepted and reset, later ones refused
      assert.equal(await resetOutcome(port), 'ECONNRESET');
      await until('the proxy to go dark', () => !proxy.listening);
      assert.equal(await resetOutcome(port), 'ECONNREFUSED');
      proxy.setMode('drop');
      await until('a black hole to listen', () => proxy.listening);
      const silent = await Peer.connect(port);
      await sleep(100);
      assert.equal(silent.ended, 'open', 'a black hole does not tell that the target is down');
      silent.socket.destroy();
      proxy.setMode('pass');
      assert.equal(await resetOutcome(port), 'ECONNREFUSED', 'healed, a target that is down refuses the first connection too');
    } finally {
      await proxy.close();
    }
  });
});
