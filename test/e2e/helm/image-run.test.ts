// The container image, built from the Dockerfile by scripts/build-image.sh (buildah) and run: /-/healthy, /metrics and filter-pattern from inside it.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ROOT } from '../../support/helm-cli.ts';

const TAG = 'localhost/kms-change-exporter:e2e';
const FIXTURE = 'test/fixtures/cloudtrail/DisableKey.json';

function run(command: string, args: readonly string[], timeout = 60_000): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? result.error?.message ?? '' };
}

/** Why the image cannot be built here, or undefined when it can. */
function cannotBuild(): string | undefined {
  if (spawnSync('buildah', ['--version']).status !== 0) return 'buildah is not installed (sudo bash scripts/install-test-tools.sh installs it on Debian)';
  if (spawnSync('mmdebstrap', ['--version']).status !== 0) return 'mmdebstrap is not installed (sudo bash scripts/install-test-tools.sh installs it on Debian)';
  if (process.getuid?.() !== 0) return 'building the image needs root (buildah and mmdebstrap run as root here)';
  return undefined;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function poll(url: string, deadline: number): Promise<Response | undefined> {
  while (Date.now() < deadline) {
    try {
      return await fetch(url, { signal: AbortSignal.timeout(2_000) });
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  return undefined;
}

const reason = cannotBuild();

t.test('the image builds from the Dockerfile and runs the exporter', { skip: reason ?? false, timeout: 1_800_000 }, async (tt) => {
  const started = Date.now();
  const build = run('bash', ['scripts/build-image.sh', TAG], 1_700_000);
  tt.equal(build.status, 0, 'scripts/build-image.sh succeeds', { stderr: build.stderr });
  tt.comment(`build: ${Math.round((Date.now() - started) / 1000)} s (${build.stderr.trim().split('\n').at(-1) ?? ''})`);
  if (build.status !== 0) return;

  const inspect = JSON.parse(run('buildah', ['inspect', '--type', 'image', TAG]).stdout) as {
    OCIv1: { config: { User?: string; Entrypoint?: string[]; Cmd?: string[]; ExposedPorts?: Record<string, unknown> } };
    Docker: { config: { Healthcheck?: { Test?: string[] } } };
  };
  const config = inspect.OCIv1.config;
  tt.match(inspect.Docker.config.Healthcheck?.Test, ['CMD', 'node', '-e', /\/-\/healthy/], 'the HEALTHCHECK is in the image');
  tt.equal(config.User, '1000:1000', 'runs as uid 1000');
  tt.same(config.Entrypoint, ['node', '--max-semi-space-size=16', 'dist/src/main.js'], 'entrypoint');
  tt.same(config.Cmd, ['serve'], 'command');
  tt.same(Object.keys(config.ExposedPorts ?? {}), ['9842/tcp'], 'exposes 9842');

  const from = run('buildah', ['from', '--pull-never', TAG]);
  tt.equal(from.status, 0, 'buildah from the image', { stderr: from.stderr });
  const container = from.stdout.trim();
  tt.teardown(() => void run('buildah', ['rm', container]));
  // buildah run takes no ENTRYPOINT: run the image's own, with the image's user and workdir
  // (chroot isolation, as scripts/build-image.sh builds: no cgroups needed).
  const entrypoint = config.Entrypoint ?? [];

  const pattern = run('buildah', ['run', '--isolation', 'chroot', '--network', 'host', container, '--', ...entrypoint, 'filter-pattern']);
  const expected = run(process.execPath, ['src/main.ts', 'filter-pattern']);
  tt.equal(pattern.status, 0, 'filter-pattern exits 0 in the image', { stderr: pattern.stderr });
  tt.ok(expected.stdout.length > 100, 'the host prints a pattern to compare with');
  tt.equal(pattern.stdout, expected.stdout, 'filter-pattern in the image prints the same pattern as the source tree');

  const whoami = run('buildah', ['run', '--isolation', 'chroot', container, '--', 'id', '-u']);
  tt.equal(whoami.stdout.trim(), '1000', 'processes in the container run as uid 1000');

  const port = await freePort();
  const serve = spawn(
    'buildah',
    ['run', '--isolation', 'chroot', '--network', 'host', '--volume', `${ROOT}test/fixtures/cloudtrail:/fixtures:ro`, '--env', `KMS_EXPORTER_LISTEN_ADDRESS=127.0.0.1:${port}`, container, '--', ...entrypoint, ...(config.Cmd ?? []), '--source', 'replay', '--replay', '/fixtures/DisableKey.json'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  serve.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  serve.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => serve.on('exit', (code) => resolve(code)));
  tt.teardown(async () => {
    if (serve.exitCode === null) serve.kill('SIGKILL');
    await exited;
  });

  const healthy = await poll(`http://127.0.0.1:${port}/-/healthy`, Date.now() + 60_000);
  tt.equal(healthy?.status, 200, `/-/healthy answers 200 from the container`, { output });
  tt.equal(await healthy?.text(), 'kms-change-exporter is healthy.\n', '/-/healthy body');
  const metrics = await (await poll(`http://127.0.0.1:${port}/metrics`, Date.now() + 10_000))?.text();
  tt.match(
    metrics,
    'kms_config_changes_total{event_name="DisableKey",category="key_lifecycle",risk="high",aws_account_id="111122223333",aws_region="us-east-1",principal_type="AssumedRole",expected="false"} 1',
    `/metrics counts ${FIXTURE}, replayed inside the container`,
  );

  serve.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
  tt.not(code, 'timeout', 'SIGTERM stops the container process within 30 s');
});

if (reason !== undefined) t.comment(`image build skipped: ${reason}`);
