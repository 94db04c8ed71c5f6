// The HTTP server's own limits: header, request and idle timeouts, and a connection cap that keeps descriptors for the scrape.
//
// Node checks the header and request timeouts on a timer (30 s by default), so a slow
// sender could outlive its timeout by that much: the timer runs at a tenth of the shorter
// timeout instead. The connection cap sits below the file descriptor limit; when it is
// reached the oldest connection with no request in progress (one that never sent its
// headers, or an idle keep-alive) is closed for the new one, so idle or half-open
// connections can never lock Prometheus out of /metrics.

import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';

export interface ServerLimits {
  readonly headerTimeout: number;
  readonly requestTimeout: number;
  readonly idleTimeout: number;
  readonly maxConnections: number;
}

export interface ConnectionCap {
  /** Connections open now. */
  readonly open: () => number;
  /** Connections closed to make room for newer ones, since the start. */
  readonly evicted: () => number;
}

export function applyServerLimits(server: Server, limits: ServerLimits): ConnectionCap {
  server.headersTimeout = limits.headerTimeout;
  server.requestTimeout = limits.requestTimeout;
  server.keepAliveTimeout = limits.idleTimeout;
  // Read by Node when the server starts listening.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(50, Math.min(1000, Math.floor(Math.min(limits.headerTimeout, limits.requestTimeout) / 10)));
  return capConnections(server, limits.maxConnections);
}

function capConnections(server: Server, max: number): ConnectionCap {
  // Insertion order is age: the first entry is the oldest connection that is doing nothing.
  const idle = new Set<Socket>();
  const busy = new Map<Socket, number>();
  let open = 0;
  let evicted = 0;
  // Over TLS a request's socket is the TLS socket, not the TCP one 'connection' gives: count those once the handshake is done.
  const opened = server instanceof TlsServer ? 'secureConnection' : 'connection';
  server.on(opened, (socket: Socket) => {
    open++;
    idle.add(socket);
    socket.once('close', () => {
      open--;
      idle.delete(socket);
      busy.delete(socket);
    });
    if (open <= max) return;
    const oldest = idle.values().next().value;
    // Every other connection has a request in progress: the newcomer waits its turn elsewhere.
    const victim = oldest !== undefined && oldest !== socket ? oldest : socket;
    if (victim !== socket) evicted++;
    idle.delete(victim);
    victim.destroy();
  });
  server.on('request', (request, response) => {
    const socket = request.socket;
    idle.delete(socket);
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    response.once('close', () => {
      const left = (busy.get(socket) ?? 1) - 1;
      if (left > 0) {
        busy.set(socket, left);
        return;
      }
      busy.delete(socket);
      // Back to idle, as the newest: a keep-alive connection that just worked is the last to go.
      if (!socket.destroyed) idle.add(socket);
    });
  });
  return { open: () => open, evicted: () => evicted };
}
