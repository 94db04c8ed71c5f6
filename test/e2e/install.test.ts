// Installed the way a user installs it: `npm pack`, `npm install -g` of the tarball, then the command on
// each Node the package accepts (the project's Node 24, the oldest accepted 22.15.0) and on an older one.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { satisfies } from 'semver';
import { buildFilterPattern } from '../../src/catalog/filter-pattern.ts';

const ROOT = join(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; engines: { node: string } };
const OLDEST = '22.15.0';
const work = mkdtempSync(join(tmpdir(), 'kce-install-'));
const PATTERN = `${buildFilterPattern()}\n`;

function sh(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const result = spawnSync(command, args, { cwd: options.cwd ?? work, env: options.env ?? process.env, encoding: 'utf8', timeout: 240_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The machine's own `node`: the first on PATH outside any node_modules (npm scripts put the project's Node 24 first). */
function machineNode(): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir.includes('node_modules') || dir === '') continue;
    if (existsSync(join(dir, 'node'))) return join(dir, 'node');
  }
  return undefined;
}

/** Runs the installed command through its `#!/usr/bin/env node` line, with `node` on PATH being the given binary. */
function runInstalled(node: string, bin: string, args: readonly string[]) {
  return sh(bin, args, { env: { PATH: [dirname(node), '/usr/bin', '/bin'].join(delimiter), HOME: process.env['HOME'] ?? work } });
}

t.test('npm pack, npm install -g --prefix, then the installed kms-change-exporter', async (t) => {
  const packed = sh('npm', ['pack', '--pack-destination', work, '--loglevel', 'error'], { cwd: ROOT });
  t.equal(packed.status, 0, packed.stderr);
  const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
  t.equal(tarball, `${pkg.name}-${pkg.version}.tgz`);
  const listing = sh('tar', ['tzf', tarball!]).stdout.split('\n');
  t.ok(listing.includes('package/bin/kms-change-exporter.js'), 'the bin entry is packed');
  t.ok(listing.includes('package/dist/src/main.js'), 'prepack built dist/');
  t.notOk(listing.some((file) => file.startsWith('package/test/') || file.startsWith('package/src/')), 'no sources or tests');

  const prefix = join(work, 'prefix');
  const installed = sh('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel', 'error', join(work, tarball!)]);
  t.equal(installed.status, 0, installed.stderr);
  const bin = join(prefix, 'bin', pkg.name);
  t.ok(existsSync(bin), 'npm linked the command');

  t.test('on the project Node (24)', async (t) => {
    const result = runInstalled(process.execPath, bin, ['filter-pattern']);
    t.same(result, { status: 0, stdout: PATTERN, stderr: '' });
  });

  t.test(`on the oldest accepted Node (${OLDEST}); the pipeline runs on it too`, async (t) => {
    const dir = join(work, 'node-22');
    // The npm package `node` fetches the binary in its install script, which npm runs only when allowed.
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, allowScripts: { node: true } }));
    const got = sh('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--loglevel', 'error', `node@${OLDEST}`]);
    t.equal(got.status, 0, got.stderr);
    const node22 = join(dir, 'node_modules', '.bin', 'node');
    t.equal(sh(node22, ['-p', 'process.versions.node']).stdout.trim(), OLDEST);
    t.ok(satisfies(OLDEST, pkg.engines.node), `engines ${pkg.engines.node} accepts ${OLDEST}`);
    t.same(runInstalled(node22, bin, ['filter-pattern']), { status: 0, stdout: PATTERN, stderr: '' });
    const replay = runInstalled(node22, bin, ['replay', join(ROOT, 'examples/trail.jsonl.gz')]);
    t.equal(replay.status, 0, replay.stderr);
    const truth = JSON.parse(readFileSync(join(ROOT, 'examples/trail.expected.json'), 'utf8')) as { records: { matched: number } };
    t.match(replay.stdout, new RegExp(`^kms_exporter_records_total\\{source="replay",result="matched"\\} ${truth.records.matched}$`, 'm'));
  });

  const old = machineNode();
  const oldVersion = old === undefined ? undefined : sh(old, ['-p', 'process.versions.node']).stdout.trim();
  const skip = old === undefined || oldVersion === undefined || satisfies(oldVersion, pkg.engines.node) ? `no Node older than ${pkg.engines.node} on this machine (found ${oldVersion ?? 'none'})` : false;
  t.test('on an older Node: one line naming both versions, exit 1', { skip }, async (t) => {
    if (old === undefined || oldVersion === undefined) return;
    const version = oldVersion;
    const realPath = sh(old, ['-p', 'process.execPath']).stdout.trim();
    t.same(runInstalled(old, bin, ['filter-pattern']), { status: 1, stdout: '', stderr: `kms-change-exporter: needs Node ${pkg.engines.node}, found Node ${version} (${realPath})\n` });
  });
});
