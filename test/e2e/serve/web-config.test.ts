// End to end: the service started with --web-config-file, scraped by a real Prometheus over TLS with basic auth, certificates made by openssl in the test, a certificate rotated on disk, client certificates required.
import t from 'tap';
import type { Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect as http2Connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import type { RequestOptions } from 'node:https';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Child, EXPORTER_JOB, ROOT, startPrometheus, tempDir, waitUntil } from '../../support/prometheus-stack.ts';
import { makeCertificates } from '../../support/test-certificates.ts';
import type { Certificates } from '../../support/test-certificates.ts';

/** "scrape-secret" at bcrypt cost 4: fast enough for a test, still a real bcrypt. */
const HASH = '$2b$04$OoOgntYg4gifRu8jXZiBJegJpjkieLCRhBkI8wYKUHxmNq04.Rb4W';
const PASSWORD = 'scrape-secret';
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
  /** SHA-256 fingerprint of the certificate the server presented. */
  readonly served: string;
}

/** One HTTPS GET on a new connection (no keep-alive), so each call sees the server's certificate of the moment. */
function get(address: string, path: string, options: RequestOptions = {}): Promise<Answer> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const request = httpsRequest({ host, port: Number(port), path, agent: false, timeout: 5_000, ...options }, (response) => {
      const served = (response.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body, served }));
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
    request.end();
  });
}

/** A plain-HTTP GET: what a scrape without `scheme: https` does. */
function plainGet(address: string, path: string): Promise<number> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host, port: Number(port), path, agent: false, timeout: 5_000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
    request.end();
  });
}

/** One HTTP/2 GET: the ALPN protocol negotiated and the status. */
function getHttp2(address: string, path: string, ca: string, authorization: string): Promise<{ protocol: string | undefined; status: number }> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(`https://${address}`, { ca });
    session.on('error', reject);
    const stream = session.request({ ':path': path, authorization });
    stream.on('response', (headers) => {
      const result = { protocol: session.alpnProtocol, status: Number(headers[':status']) };
      stream.resume();
      stream.on('end', () => session.close(() => resolve(result)));
    });
    stream.on('error', reject);
    stream.end();
  });
}

const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

/** `serve` replaying the example trail with the web config; resolves with host:port once it listens over HTTPS. */
async function startServe(t: Test, webConfig: string): Promise<{ address: string; child: Child }> {
  const child = new Child(t, 'kms-change-exporter', process.execPath, [
    join(ROOT, 'src/main.ts'), 'serve', '--source', 'replay', '--replay', join(ROOT, 'examples/trail.jsonl.gz'), '--listen-address', '127.0.0.1:0', '--web-config-file', webConfig,
  ]);
  const match = await child.waitForOutput(/Server listening at https:\/\/(127\.0\.0\.1:\d+)/, 30_000);
  return { address: match[1] ?? '', child };
}

async function deploy(t: Test): Promise<{ dir: string; certificates: Certificates; serverCert: string }> {
  const dir = await tempDir(t, 'web-e2e');
  const certificates = makeCertificates(dir);
  const server = certificates.issue('server', '127.0.0.1', { serverFor: '127.0.0.1' });
  return { dir, certificates, serverCert: server.cert };
}

t.test('Prometheus scrapes over TLS with basic auth; wrong credentials get 401, plain HTTP fails, a rotated certificate is served on the next connection', async (t) => {
  const { dir, certificates, serverCert } = await deploy(t);
  const webConfig = join(dir, 'web.yml');
  // Relative paths: resolved against the file's directory, as exporter-toolkit does.
  writeFileSync(webConfig, `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: ${HASH}\n`);
  const { address, child } = await startServe(t, webConfig);

  const prometheus = await startPrometheus(t, {
    targets: [address],
    scrape: { scheme: 'https', tls_config: { ca_file: certificates.caFile }, basic_auth: { username: 'prometheus', password: PASSWORD } },
  });
  await prometheus.waitForScrape([address]);
  const up = await prometheus.query(`up{job="${EXPORTER_JOB}"}`);
  t.same(up.data?.result.map((sample) => sample.value?.[1]), ['1'], 'target up=1 over TLS with basic auth');
  const scraped = await prometheus.waitForValue('kms_exporter_build_info', (value) => value === 1);
  t.equal(scraped.length, 1, 'our metrics reached Prometheus');
  await prometheus.waitForValue('process_resident_memory_bytes', (value) => value > 0);

  const ca = certificates.ca;
  const good = await get(address, '/metrics', { ca, headers: { authorization: basic('prometheus', PASSWORD) } });
  t.equal(good.status, 200);
  t.equal(good.served, fingerprint(serverCert), 'the certificate of the file');
  for (const authorization of [undefined, basic('prometheus', 'wrong'), basic('grafana', PASSWORD)]) {
    const denied = await get(address, '/metrics', { ca, headers: authorization === undefined ? {} : { authorization } });
    t.same({ status: denied.status, challenge: denied.headers['www-authenticate'], body: denied.body }, { status: 401, challenge: 'Basic', body: 'Unauthorized\n' }, `401 for ${authorization ?? 'no credentials'}`);
  }
  await t.rejects(plainGet(address, '/metrics'), 'plain HTTP gets no answer');
  t.same(await getHttp2(address, '/-/healthy', ca, basic('prometheus', PASSWORD)), { protocol: 'h2', status: 200 }, 'HTTP/2 is offered (http2 defaults to true), HTTP/1.1 served too');

  // Rotation: the files are replaced in place (a renewed Secret, cert-manager); no restart.
  const rotated = certificates.issue('server', '127.0.0.1', { serverFor: '127.0.0.1' });
  t.not(fingerprint(rotated.cert), fingerprint(serverCert), 'a new certificate was issued');
  const after = await get(address, '/-/healthy', { ca, headers: { authorization: basic('prometheus', PASSWORD) } });
  t.same({ status: after.status, served: after.served }, { status: 200, served: fingerprint(rotated.cert) }, 'the next connection is served the new certificate');
  await waitUntil('a scrape after the rotation', async () => {
    const response = await prometheus.query(`up{job="${EXPORTER_JOB}"} == 1 and changes(up{job="${EXPORTER_JOB}"}[1m]) == 0`);
    return (response.data?.result.length ?? 0) === 1 ? true : undefined;
  }, { timeoutMs: 15_000, child: prometheus.child });
  t.ok(child.running, 'still the same process');
});

t.test('client_auth_type RequireAndVerifyClientCert refuses a client without a certificate, or with one from another CA', async (t) => {
  const { dir, certificates } = await deploy(t);
  const client = certificates.issue('client', 'prometheus');
  const stranger = makeCertificates(await tempDir(t, 'other-ca')).issue('client', 'prometheus');
  const webConfig = join(dir, 'web.yml');
  writeFileSync(webConfig, `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n`);
  const { address } = await startServe(t, webConfig);
  const ca = certificates.ca;
  await t.rejects(get(address, '/-/healthy', { ca }), 'no client certificate: the handshake fails');
  await t.rejects(get(address, '/-/healthy', { ca, cert: stranger.cert, key: stranger.key }), 'a certificate of another CA: the handshake fails');
  const accepted = await get(address, '/-/healthy', { ca, cert: client.cert, key: client.key });
  t.same({ status: accepted.status, body: accepted.body }, { status: 200, body: 'kms-change-exporter is healthy.\n' });

  const prometheus = await startPrometheus(t, { targets: [address], scrape: { scheme: 'https', tls_config: { ca_file: certificates.caFile, cert_file: client.certFile, key_file: client.keyFile } } });
  await prometheus.waitForScrape([address]);
  t.pass('Prometheus with the client certificate scrapes: up=1');
});

t.test('RequireAnyClientCert wants some certificate; VerifyClientCertIfGiven verifies one only when it is sent', async (t) => {
  const { dir, certificates } = await deploy(t);
  const client = certificates.issue('client', 'prometheus');
  const stranger = makeCertificates(await tempDir(t, 'other-ca')).issue('client', 'stranger');
  const ca = certificates.ca;
  const status = async (address: string, cert?: { cert: string; key: string }): Promise<number | string> =>
    get(address, '/-/healthy', { ca, ...cert }).then((answer) => answer.status, () => 'refused');
  const policy = async (name: string): Promise<string> => {
    const file = join(dir, `${name}.yml`);
    writeFileSync(file, `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: ${name}\n  client_ca_file: ca.crt\n`);
    return (await startServe(t, file)).address;
  };
  const any = await policy('RequireAnyClientCert');
  t.same([await status(any), await status(any, stranger), await status(any, client)], ['refused', 200, 200], 'RequireAnyClientCert: none refused, any accepted');
  const ifGiven = await policy('VerifyClientCertIfGiven');
  t.same([await status(ifGiven), await status(ifGiven, stranger), await status(ifGiven, client)], [200, 'refused', 200], 'VerifyClientCertIfGiven: none accepted, an untrusted one refused');
});

t.test('a bad web config stops the start: exit 2, one line naming the file and the key', async (t) => {
  const dir = await tempDir(t, 'web-bad');
  const webConfig = join(dir, 'web.yml');
  writeFileSync(webConfig, 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth: RequireAndVerifyClientCert\n');
  const result = spawnSync(process.execPath, [join(ROOT, 'src/main.ts'), 'serve', '--source', 'replay', '--replay', '-', '--web-config-file', webConfig], { encoding: 'utf8', timeout: 30_000, input: '' });
  t.equal(result.status, 2);
  t.equal(result.stderr, `kms-change-exporter: invalid --web-config-file (KMS_EXPORTER_WEB_CONFIG_FILE): ${webConfig}: tls_server_config.client_auth: unknown key\n`);
});
