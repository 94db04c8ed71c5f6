// Real certificates for TLS tests, made with the openssl CLI in a temp dir: a CA, server certificates for 127.0.0.1 signed by it, and a client certificate.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Certificates {
  readonly dir: string;
  /** PEM of the CA that signed every certificate here. */
  readonly ca: string;
  readonly caFile: string;
  /** Issues (or re-issues, for rotation tests) a certificate and key under `name`.crt / `name`.key. */
  issue(name: string, subject: string, options?: { readonly serverFor?: string }): { readonly certFile: string; readonly keyFile: string; readonly cert: string; readonly key: string };
}

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA in `dir`; EC P-256 keys keep generation fast on a busy machine. */
export function makeCertificates(dir: string): Certificates {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=kms-change-exporter test CA']);
  const caFile = join(dir, 'ca.crt');
  return {
    dir,
    ca: readFileSync(caFile, 'utf8'),
    caFile,
    issue(name, subject, options = {}) {
      const extensions = join(dir, `${name}.ext`);
      writeFileSync(extensions, options.serverFor === undefined ? 'extendedKeyUsage=clientAuth\n' : `subjectAltName=IP:${options.serverFor}\nextendedKeyUsage=serverAuth\n`);
      openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${subject}`]);
      openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', extensions]);
      const certFile = join(dir, `${name}.crt`);
      const keyFile = join(dir, `${name}.key`);
      return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
    },
  };
}
