// The web config file validated at start: each bad fixture with the exact one-line message, the good ones with what they mean, and the cipher and path conventions of exporter-toolkit.
import t from 'tap';
import type { Test } from 'tap';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { ConfigError } from '../../src/errors.ts';
import { loadWebConfig } from '../../src/serve/web-config.ts';
import { tempDir } from '../support/prometheus-stack.ts';
import { makeCertificates } from '../support/test-certificates.ts';

const DIR = join(import.meta.dirname, '../fixtures/web-config');

/** Each fixture is copied beside real certificates (server.crt/.key signed by ca.crt, and an unrelated other.key) so relative paths resolve as in a deployment. */
async function deployed(t: Test, fixture: string): Promise<{ dir: string; file: string }> {
  const dir = await tempDir(t, 'web-config');
  const certificates = makeCertificates(dir);
  certificates.issue('server', '127.0.0.1', { serverFor: '127.0.0.1' });
  certificates.issue('other', 'other');
  const file = join(dir, 'web.yml');
  copyFileSync(join(DIR, fixture), file);
  return { dir, file };
}

for (const name of readdirSync(DIR).filter((file) => file.endsWith('.bad.yml')).sort()) {
  t.test(name, async (t) => {
    const { dir, file } = await deployed(t, name);
    const expected = /^# message: (.*)$/m.exec(readFileSync(join(DIR, name), 'utf8'))?.[1] ?? 'no # message: line';
    let outcome = 'accepted';
    try {
      loadWebConfig(file);
    } catch (error) {
      outcome = error instanceof ConfigError ? `exit ${error.exitCode}: ${error.message}` : `not a ConfigError: ${String(error)}`;
    }
    t.equal(outcome, `exit 2: ${expected.replaceAll('<file>', file).replaceAll('<dir>', dir)}`);
    t.notMatch(outcome, /\n/, 'one line');
  });
}

t.test('everything.ok.yml: every key, relative paths against the file\'s directory, Go names mapped to OpenSSL\'s', async (t) => {
  const { dir, file } = await deployed(t, 'everything.ok.yml');
  const config = loadWebConfig(file);
  t.same(config.tls, {
    cert: { file: join(dir, 'server.crt') },
    key: { file: join(dir, 'server.key') },
    clientCa: { file: join(dir, 'ca.crt') },
    clientAuthType: 'RequireAndVerifyClientCert',
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    // TLS 1.3 suites are not configurable, in Go as in OpenSSL's cipher list: dropped.
    ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384',
    honorCipherOrder: false,
    ecdhCurve: 'X25519:P-256',
  });
  t.equal(config.http2, false);
  t.same(config.headers, { 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'deny', 'Strict-Transport-Security': 'max-age=31536000' });
  t.same([...config.users.keys()], ['prometheus']);
  t.same([...config.authExcludedPaths], ['/-/healthy', '/-/ready']);
  t.ok(Object.isFrozen(config));
});

t.test('empty.ok.yml and basic-auth-only.ok.yml: plain HTTP, HTTP/2 on by default as in exporter-toolkit', async (t) => {
  const empty = loadWebConfig(join(DIR, 'empty.ok.yml'));
  t.same({ tls: empty.tls, http2: empty.http2, users: empty.users.size, headers: empty.headers }, { tls: undefined, http2: true, users: 0, headers: {} });
  const basic = loadWebConfig(join(DIR, 'basic-auth-only.ok.yml'));
  t.equal(basic.tls, undefined);
  t.same([...basic.users.keys()], ['prometheus']);
});

t.test('RequireClientCert is the old name of RequireAnyClientCert; absolute paths stay absolute', async (t) => {
  const dir = await tempDir(t, 'web-config');
  const certificates = makeCertificates(dir);
  const server = certificates.issue('server', '127.0.0.1', { serverFor: '127.0.0.1' });
  const file = join(await tempDir(t, 'elsewhere'), 'web.yml');
  writeFileSync(file, `tls_server_config:\n  cert_file: ${server.certFile}\n  key_file: ${server.keyFile}\n  client_auth_type: RequireClientCert\n`);
  const config = loadWebConfig(file);
  t.equal(config.tls?.clientAuthType, 'RequireAnyClientCert');
  t.same(config.tls?.cert, { file: server.certFile });
});

t.test('a missing file names itself', async (t) => {
  t.throws(() => loadWebConfig('/nonexistent/web.yml'), { message: 'invalid --web-config-file (KMS_EXPORTER_WEB_CONFIG_FILE): /nonexistent/web.yml: cannot read the file: ENOENT' });
});

t.test('examples/web-config.yml is valid once its certificates exist beside it, and its hash is of "change-me"', async (t) => {
  const dir = await tempDir(t, 'web-example');
  mkdirSync(join(dir, 'tls'));
  const certificates = makeCertificates(join(dir, 'tls'));
  const server = certificates.issue('server', '127.0.0.1', { serverFor: '127.0.0.1' });
  renameSync(server.certFile, join(dir, 'tls/tls.crt'));
  renameSync(server.keyFile, join(dir, 'tls/tls.key'));
  copyFileSync(join(import.meta.dirname, '../../examples/web-config.yml'), join(dir, 'web-config.yml'));
  const config = loadWebConfig(join(dir, 'web-config.yml'));
  t.same(config.tls?.cert, { file: join(dir, 'tls/tls.crt') });
  t.ok(await bcrypt.compare('change-me', config.users.get('prometheus') ?? ''));
});
