// Certificate reload through real TLS connections to the service in-process: a new pair is served on the next connection, a half-written one keeps the previous pair and says so.
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { inProcessService } from '../support/in-process-service.ts';
import { tempDir } from '../support/prometheus-stack.ts';
import { makeCertificates } from '../support/test-certificates.ts';

/** The fingerprint of the certificate a new TLS connection is served. */
function served(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.on('error', reject);
  });
}

t.test('a rotated pair is served on the next connection; a mismatched one keeps the previous pair and logs why', async (t) => {
  const dir = await tempDir(t, 'tls-reload');
  const certificates = makeCertificates(dir);
  const first = certificates.issue('server', '127.0.0.1', { serverFor: '127.0.0.1' });
  const file = join(dir, 'web.yml');
  writeFileSync(file, 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nhttp_server_config:\n  http2: false\n');
  const { service, logs } = await inProcessService(t, { source: 'replay', replay: join(import.meta.dirname, '../../examples/trail.jsonl.gz'), webConfigFile: file, listenAddress: '127.0.0.1:0' }, { start: false });
  const address = await service.start();
  const port = Number(new URL(address ?? '').port);
  t.match(address, /^https:\/\/127\.0\.0\.1:\d+$/, 'listens over https');
  const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
  t.equal(await served(port, certificates.ca), fingerprint(first.cert));

  // Half a rotation: the new certificate is on disk, its key not yet.
  const next = certificates.issue('next', '127.0.0.1', { serverFor: '127.0.0.1' });
  copyFileSync(next.certFile, first.certFile);
  t.equal(await served(port, certificates.ca), fingerprint(first.cert), 'the previous pair is still served');
  t.match(logs.lines().filter((line) => line.level === 40).map((line) => line.msg), [/^cannot reload the TLS certificate, serving the previous one: .*key values mismatch/]);
  t.equal(await served(port, certificates.ca), fingerprint(first.cert), 'and tried once per change, not per connection');
  t.equal(logs.lines().filter((line) => line.level === 40).length, 1);

  copyFileSync(next.keyFile, first.keyFile);
  t.equal(await served(port, certificates.ca), fingerprint(next.cert), 'the whole new pair is served on the next connection');
  t.ok(logs.lines().some((line) => line.msg === 'TLS certificate reloaded'));
});
