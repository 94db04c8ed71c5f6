// A loopback TCP proxy in front of a server, that can lose the answer to one request the way a dropped connection does: the server ran it, the client never hears.

import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Scope } from './prometheus-stack.ts';

export interface TcpProxy {
  readonly port: number;
  /**
   * The next client write matching `pattern` reaches the server; the server's answer is
   * swallowed and that connection is closed once the answer has come (so the request
   * certainly ran). Resolves when it has happened.
   */
  loseNextAnswer(pattern: RegExp): Promise<void>;
  close(): Promise<void>;
}

/** Bytes of each direction kept to match a pattern cut across two reads. */
const TAIL = 512;

export async function startTcpProxy(scope: Scope, target: { readonly host: string; readonly port: number }): Promise<TcpProxy> {
  let armed: { readonly pattern: RegExp; readonly done: () => void } | undefined;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new (client.constructor as typeof Socket)();
    upstream.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let tail = '';
    let losing: (() => void) | undefined;
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => {
      const seen = tail + chunk.toString('latin1');
      tail = seen.slice(-TAIL);
      if (armed !== undefined && armed.pattern.test(seen)) {
        losing = armed.done;
        armed = undefined;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (losing === undefined) {
        client.write(chunk);
        return;
      }
      const done = losing;
      end();
      done();
    });
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  const proxy: TcpProxy = {
    port: address.port,
    loseNextAnswer: (pattern) => new Promise((resolve) => (armed = { pattern, done: resolve })),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  scope.teardown(() => proxy.close());
  return proxy;
}
