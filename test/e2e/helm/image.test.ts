// The Dockerfile the chart's image is built from, read statically and its healthcheck run for real (image-run.test.ts builds and runs the image itself).
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ROOT } from '../../support/helm-cli.ts';

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  /** Index of the build stage (FROM) it belongs to. */
  readonly stage: number;
}

/** Dockerfile instructions, continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  const result: Instruction[] = [];
  let stage = -1;
  for (const line of joined.split('\n')) {
    const match = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (match === null || line.trimStart().startsWith('#')) continue;
    const keyword = (match[1] ?? '').toUpperCase();
    if (keyword === 'FROM') stage++;
    result.push({ keyword, args: (match[2] ?? '').trim(), stage });
  }
  return result;
}

const dockerfile = instructions(readFileSync(`${ROOT}Dockerfile`, 'utf8'));
const stages = dockerfile.filter((i) => i.keyword === 'FROM');
const finalStage = stages.length - 1;
const inStage = (stage: number, keyword: string): Instruction[] => dockerfile.filter((i) => i.stage === stage && i.keyword === keyword);
const last = (stage: number, keyword: string): Instruction | undefined => inStage(stage, keyword).at(-1);

/** The exec-form JSON array of an instruction; Docker silently falls back to a shell for invalid JSON. */
function execForm(args: string): string[] {
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) throw new Error(`not an exec-form array: ${args}`);
  return parsed;
}

t.test('multi-stage: build with the dev dependencies, run with production ones only', async (tt) => {
  tt.ok(stages.length >= 2, 'at least a build and a runtime stage');
  const build = stages.findIndex((s) => /\bAS\s+build\b/i.test(s.args));
  tt.ok(build >= 0 && build < finalStage, 'a build stage before the runtime stage');
  const buildRuns = inStage(build, 'RUN').map((i) => i.args).join('\n');
  tt.match(buildRuns, /\bnpm ci\b/, 'build: npm ci');
  tt.match(buildRuns, /\bnpm run build\b/, 'build: npm run build');
  const runtimeRuns = inStage(finalStage, 'RUN').map((i) => i.args).join('\n');
  tt.match(runtimeRuns, /\bnpm ci\b[^\n]*--omit=dev/, 'runtime: npm ci --omit=dev');
  tt.notMatch(runtimeRuns, /npm run build|\btsc\b/, 'runtime: compiles nothing');
  tt.ok(inStage(finalStage, 'COPY').some((i) => /--from=build\b.*\/app\/dist\/src/.test(i.args)), 'runtime: takes dist/src from the build stage');
});

t.test('a current Node LTS base image, the same major as development', async (tt) => {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { devDependencies: Record<string, string> };
  const major = /^(\d+)\./.exec(pkg.devDependencies['node'] ?? '')?.[1];
  const arg = dockerfile.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='));
  const image = arg?.args.slice('NODE_IMAGE='.length) ?? '';
  tt.match(image, new RegExp(`^node:${major}-(bookworm|trixie)-slim$`), `base image node:${major}-*-slim (the node devDependency is ${major})`);
  for (const from of stages) tt.match(from.args, /^\$\{NODE_IMAGE\}\s+AS\s+\w+$/i, `${from.args}: every stage uses that base`);
});

t.test('runs `node dist/src/main.js serve` as a non-root user', async (tt) => {
  const user = last(finalStage, 'USER')?.args ?? '';
  tt.match(user, /^[1-9]\d*(:\d+)?$/, 'USER is a numeric non-root uid (Kubernetes can verify runAsNonRoot)');
  tt.equal(user.split(':')[0], '1000', 'uid 1000, as the chart runs it');
  tt.same(execForm(last(finalStage, 'ENTRYPOINT')?.args ?? ''), ['node', '--max-semi-space-size=16', 'dist/src/main.js'], 'ENTRYPOINT ["node","--max-semi-space-size=16","dist/src/main.js"]: a young generation of 2 x 16 MiB');
  tt.same(execForm(last(finalStage, 'CMD')?.args ?? ''), ['serve'], 'CMD ["serve"]');
  tt.ok(inStage(finalStage, 'EXPOSE').some((i) => i.args === '9842'), 'EXPOSE 9842');
});

t.test('.dockerignore lets in exactly what the Dockerfile copies', async (tt) => {
  const lines = readFileSync(`${ROOT}.dockerignore`, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  tt.equal(lines[0], '*', 'everything is ignored unless allowed');
  const allowed = lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, '')).sort();
  const copied = dockerfile
    .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1))
    .map((p) => p.replace(/^\.\//, '').replace(/\/$/, ''));
  tt.same([...new Set(copied)].sort(), allowed, 'the allow-list equals the COPY sources');
  for (const path of allowed) tt.ok(existsSync(`${ROOT}${path}`), `${path} exists`);
});

/** Runs the image's HEALTHCHECK command with this machine's node, as Docker would inside the container. */
function runHealthcheck(listenAddress: string | undefined): Promise<number | null> {
  const command = execForm(/^.*?\bCMD\s+(\[.*\])$/.exec(last(finalStage, 'HEALTHCHECK')?.args ?? '')?.[1] ?? '[]');
  const [program, ...args] = command;
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '' };
  if (listenAddress !== undefined) env['KMS_EXPORTER_LISTEN_ADDRESS'] = listenAddress;
  return new Promise((resolve, reject) => {
    // The image's `node` is the base image's; here, the Node running the tests.
    const child = spawn(program === 'node' ? process.execPath : (program ?? 'false'), args, { env, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

t.test('HEALTHCHECK asks /-/healthy with node (no curl in the slim image)', async (tt) => {
  const healthcheck = last(finalStage, 'HEALTHCHECK')?.args ?? '';
  tt.match(healthcheck, /\bCMD\s+\["node",/, 'the healthcheck runs node, in exec form');
  let status = 200;
  const paths: string[] = [];
  const server = createServer((request, response) => {
    paths.push(request.url ?? '');
    response.statusCode = request.url === '/-/healthy' ? status : 404;
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tt.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;

  tt.equal(await runHealthcheck(`:${port}`), 0, 'exit 0 while /-/healthy answers 200');
  tt.same(paths, ['/-/healthy'], 'asks /-/healthy on the port of KMS_EXPORTER_LISTEN_ADDRESS');
  status = 503;
  tt.equal(await runHealthcheck(`0.0.0.0:${port}`), 1, 'exit 1 when /-/healthy fails');
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  tt.equal(await runHealthcheck(`:${port}`), 1, 'exit 1 when nothing listens');
});

t.test('HEALTHCHECK speaks HTTPS to a server with --web-config-file TLS (its own certificate, not checked)', async (tt) => {
  const dir = mkdtempSync(join(tmpdir(), 'healthcheck-tls-'));
  tt.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=kms-change-exporter', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  if (made.status !== 0) {
    tt.fail('openssl is needed to make the test certificate');
    return;
  }
  let status = 200;
  const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (request, response) => {
    response.statusCode = request.url === '/-/healthy' ? status : 404;
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tt.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  tt.equal(await runHealthcheck(`:${port}`), 0, 'exit 0 while /-/healthy answers 200 over TLS');
  status = 503;
  tt.equal(await runHealthcheck(`:${port}`), 1, 'exit 1 when it fails');
});
