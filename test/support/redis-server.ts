// A real redis-server for one test: a free loopback port, its own data dir, every acknowledged write fsynced, and kill -9 / restart on the same port and data.

import { createConnection } from 'node:net';
import { Child, findCommand, freePort, tempDir, waitUntil } from './prometheus-stack.ts';
import type { Scope } from './prometheus-stack.ts';

export const REDIS_INSTALL_HINT = 'redis-server not found on PATH: run `sudo bash scripts/install-test-tools.sh` (it installs the Debian redis-server package)';

export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:PORT/0, for --state-url. */
  readonly url: string;
  readonly dir: string;
  /** The running process (a new one after each restart). */
  readonly child: Child;
  /** SIGKILL: no shutdown save, no goodbye to clients; only what the append-only file holds survives. */
  kill(): Promise<void>;
  /** Starts again on the same port and data dir; resolves once it answers PING (the append-only file is loaded). */
  restart(): Promise<void>;
  /** SIGTERM and wait (also done by the scope's teardown). */
  stop(): Promise<void>;
}

/**
 * appendfsync always: redis-server answers a write only once it is in the append-only file
 * on disk, so a kill -9 and a restart keep everything the exporter was told is committed.
 * No RDB snapshots (save ''): one persistence path, the one under test.
 */
function serverArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no', '--logfile', '', '--loglevel', 'warning'];
}

/** PONG from the server: it is up and has loaded its data (while loading it answers -LOADING). */
function ping(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (value: true | undefined) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(1_000, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') ? true : undefined);
    });
  });
}

export async function startRedisServer(scope: Scope): Promise<RedisServer> {
  const command = findCommand(['redis-server']);
  if (command === undefined) throw new Error(REDIS_INSTALL_HINT);
  const dir = await tempDir(scope, 'redis');

  const launch = async (port: number): Promise<Child> => {
    const child = new Child(scope, 'redis-server', command, serverArgs(port, dir));
    await waitUntil(`redis-server to answer PING on port ${port}`, () => ping(port), { timeoutMs: 15_000, intervalMs: 50, child });
    return child;
  };

  let port = 0;
  let child: Child | undefined;
  // The port is free when probed; another process may take it before redis-server binds: try another.
  for (let attempt = 1; child === undefined; attempt++) {
    port = await freePort();
    try {
      child = await launch(port);
    } catch (error) {
      if (attempt >= 3 || !/address already in use/i.test((error as Error).message)) throw error;
    }
  }

  let current: Child = child;
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    dir,
    get child() {
      return current;
    },
    async kill() {
      if (!current.running) return;
      current.process.kill('SIGKILL');
      await current.exited;
    },
    async restart() {
      if (current.running) throw new Error('redis-server is still running; kill or stop it before restarting');
      current = await launch(port);
    },
    async stop() {
      await current.stop();
    },
  };
}
