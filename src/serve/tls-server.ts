// The HTTPS server's TLS: options from the web config, the client certificate policy, and certificates reloaded from disk on the next connection after they change.

import { statSync } from 'node:fs';
import type { Server as TlsServer, TLSSocket, TlsOptions } from 'node:tls';
import type { FastifyBaseLogger } from 'fastify';
import { secureContextOptions, tlsFiles } from './web-config.ts';
import type { TlsServerConfig } from './web-config.ts';

/** The options Fastify's `https` takes: the secure context plus whether a client certificate is asked for and verified in the handshake. */
export function serverOptions(tls: TlsServerConfig): TlsOptions {
  const requestCert = tls.clientAuthType !== 'NoClientCert';
  return { ...secureContextOptions(tls), requestCert, rejectUnauthorized: tls.clientAuthType === 'RequireAndVerifyClientCert' };
}

function signature(files: readonly string[]): string {
  return files
    .map((file) => {
      try {
        const stat = statSync(file);
        return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

/**
 * Checks the certificate, key and client CA files before each new connection and installs a
 * new secure context when one changed, as exporter-toolkit re-reads them per connection: a
 * rotated certificate (cert-manager, a renewed Secret) is served without a restart. The check
 * runs ahead of the TLS server's own connection listener, so that very connection gets it.
 * A half-written or mismatched pair keeps the previous context and is logged.
 */
export function reloadCertificates(server: TlsServer, tls: TlsServerConfig, log: FastifyBaseLogger): void {
  const files = tlsFiles(tls);
  if (files.length === 0) return;
  let loaded = signature(files);
  let failed: string | undefined;
  server.prependListener('connection', () => {
    const now = signature(files);
    if (now === loaded || now === failed) return;
    try {
      server.setSecureContext(secureContextOptions(tls));
      loaded = now;
      failed = undefined;
      log.info({ files }, 'TLS certificate reloaded');
    } catch (error) {
      failed = now;
      log.warn({ files, err: error }, `cannot reload the TLS certificate, serving the previous one: ${(error as Error).message}`);
    }
  });
}

/**
 * The policies the handshake cannot enforce by itself in Node: RequireAnyClientCert wants a
 * certificate but does not verify it; VerifyClientCertIfGiven verifies only one that is sent.
 */
export function enforceClientCertificate(server: TlsServer, tls: TlsServerConfig): void {
  if (tls.clientAuthType !== 'RequireAnyClientCert' && tls.clientAuthType !== 'VerifyClientCertIfGiven') return;
  server.on('secureConnection', (socket: TLSSocket) => {
    const presented = Object.keys(socket.getPeerCertificate()).length > 0;
    if (tls.clientAuthType === 'RequireAnyClientCert' ? !presented : presented && !socket.authorized) socket.destroy();
  });
}
