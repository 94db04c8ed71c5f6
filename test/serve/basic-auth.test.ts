// The basic auth hook as a scrape or a sender sees it through app.inject: 401 with exporter-toolkit's challenge, 200 with the right credentials, /firehose left to its access key.
import t from 'tap';
import type { Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BasicAuth } from '../../src/serve/basic-auth.ts';
import { subscriptionRecord } from '../support/firehose-request.ts';
import { inProcessService } from '../support/in-process-service.ts';
import { tempDir } from '../support/prometheus-stack.ts';

const WEB_CONFIG = join(import.meta.dirname, '../fixtures/web-config/basic-auth-only.ok.yml');
/** The password hashed (cost 4) in the fixture. */
const PASSWORD = 'scrape-secret';
const KEY = 'firehose-access-key';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function service(t: Test) {
  return inProcessService(t, { source: 'firehose', webConfigFile: WEB_CONFIG }, { env: { KMS_EXPORTER_FIREHOSE_ACCESS_KEY: KEY } });
}

t.test('every endpoint but /firehose asks for basic auth: 401, WWW-Authenticate: Basic, "Unauthorized"', async (t) => {
  const { service: { app } } = await service(t);
  for (const url of ['/metrics', '/-/healthy', '/-/ready', '/', '/no-such-page']) {
    for (const authorization of [undefined, basic('prometheus', 'wrong'), basic('nobody', PASSWORD), 'Bearer abc', 'Basic !!!', basic('prometheus', '')]) {
      const response = await app.inject({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } });
      t.same(
        { status: response.statusCode, challenge: response.headers['www-authenticate'], type: response.headers['content-type'], body: response.body },
        { status: 401, challenge: 'Basic', type: 'text/plain; charset=utf-8', body: 'Unauthorized\n' },
        `${url} with ${authorization ?? 'no Authorization'}`,
      );
    }
  }
});

t.test('the right credentials pass', async (t) => {
  const { service: { app } } = await service(t);
  const healthy = await app.inject({ method: 'GET', url: '/-/healthy', headers: { authorization: basic('prometheus', PASSWORD) } });
  t.same({ status: healthy.statusCode, body: healthy.body, challenge: healthy.headers['www-authenticate'] }, { status: 200, body: 'kms-change-exporter is healthy.\n', challenge: undefined });
  const first = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: basic('prometheus', PASSWORD) } });
  t.equal(first.statusCode, 200);
  t.match(first.body, /^kms_exporter_build_info\{/m);
});

t.test('/firehose is not asked for basic auth: its own access key decides', async (t) => {
  const { service: { app } } = await service(t);
  const body = JSON.stringify({ requestId: 'r-1', timestamp: 1_795_000_000_000, records: [{ data: subscriptionRecord([]) }] });
  const post = (key: string) => app.inject({ method: 'POST', url: '/firehose', headers: { 'content-type': 'application/json', 'x-amz-firehose-request-id': 'r-1', 'x-amz-firehose-access-key': key }, body });
  const accepted = await post(KEY);
  t.same({ status: accepted.statusCode, challenge: accepted.headers['www-authenticate'] }, { status: 200, challenge: undefined });
  const refused = await post('not-the-key');
  t.same({ status: refused.statusCode, challenge: refused.headers['www-authenticate'] }, { status: 403, challenge: undefined });
});

t.test('an unauthenticated client is answered before its body is read', async (t) => {
  const { service: { app } } = await service(t);
  // A body over the limit would be a 413 if it were read first.
  const response = await app.inject({ method: 'POST', url: '/metrics', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(2 * 1024 * 1024) });
  t.equal(response.statusCode, 401);
});

t.test('http_server_config.headers are on every answer, a 401 included', async (t) => {
  const dir = await tempDir(t, 'web-headers');
  const file = join(dir, 'web.yml');
  writeFileSync(file, `http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Content-Security-Policy: default-src 'none'\n${readFileSync(WEB_CONFIG, 'utf8')}`);
  const { service: { app } } = await inProcessService(t, { source: 'firehose', webConfigFile: file }, { env: { KMS_EXPORTER_FIREHOSE_ACCESS_KEY: KEY } });
  for (const authorization of [undefined, basic('prometheus', PASSWORD)]) {
    const response = await app.inject({ method: 'GET', url: '/-/healthy', headers: authorization === undefined ? {} : { authorization } });
    t.same([response.statusCode, response.headers['x-frame-options'], response.headers['content-security-policy']], [authorization === undefined ? 401 : 200, 'deny', "default-src 'none'"]);
  }
});

t.test('auth_excluded_paths are served without credentials, by exact path as exporter-toolkit matches them', async (t) => {
  const dir = await tempDir(t, 'web-excluded');
  const file = join(dir, 'web.yml');
  writeFileSync(file, `auth_excluded_paths: [/-/healthy, /-/ready]\n${readFileSync(WEB_CONFIG, 'utf8')}`);
  const { service: { app } } = await inProcessService(t, { source: 'firehose', webConfigFile: file }, { env: { KMS_EXPORTER_FIREHOSE_ACCESS_KEY: KEY } });
  const status = async (url: string) => (await app.inject({ method: 'GET', url })).statusCode;
  t.same(await Promise.all(['/-/healthy', '/-/ready?verbose', '/-/healthy/', '/metrics'].map(status)), [200, 200, 401, 401]);
});

t.test('BasicAuth: a pair is verified by bcrypt once, concurrent checks share it, an unknown user costs a bcrypt too', async (t) => {
  const users = new Map([['prometheus', '$2b$04$OoOgntYg4gifRu8jXZiBJegJpjkieLCRhBkI8wYKUHxmNq04.Rb4W']]);
  const auth = new BasicAuth(users, { cacheSize: 2 });
  t.same(await Promise.all([auth.check(basic('prometheus', PASSWORD)), auth.check(basic('prometheus', PASSWORD))]), [true, true]);
  let started = performance.now();
  t.equal(await auth.check(basic('prometheus', PASSWORD)), true);
  const cached = performance.now() - started;
  t.ok(cached < 5, `a cached pair takes no bcrypt (${cached.toFixed(2)} ms)`);
  started = performance.now();
  t.equal(await auth.check(basic('nobody', PASSWORD)), false);
  const unknown = performance.now() - started;
  // The stand-in hash has cost 10, at least as dear as a configured one: the answer does not tell which users exist.
  t.ok(unknown > cached, `an unknown user still costs a bcrypt (${unknown.toFixed(1)} ms)`);
  t.equal(await auth.check(basic('prometheus', 'wrong')), false);
  t.equal(await auth.check(basic('prometheus', PASSWORD)), true, 'still right after the small cache evicted it');
});
