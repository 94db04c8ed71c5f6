// deploy/aws/synth.ts: the committed CloudFormation templates equal a fresh synth of the CDK app, and drift is caught.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { synthesizeTemplates, syncTemplates, TEMPLATES_DIR } from '../../../deploy/aws/synth.ts';

const ROOT = join(import.meta.dirname, '../../..');
const SCRIPT = join(ROOT, 'deploy/aws/synth.ts');

function runScript(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

t.test('the committed templates match a fresh synth (npm run synth -- --check)', async (t) => {
  const result = runScript(['--check']);
  t.equal(result.status, 0, 'node deploy/aws/synth.ts --check exits 0; if not, run npm run synth', { stderr: result.stderr });
  t.same(readdirSync(TEMPLATES_DIR).sort(), [
    'KmsChangeExporterCloudWatchLogsFirehose.json', 'KmsChangeExporterEventBridgeCentralApiDestination.json',
    'KmsChangeExporterEventBridgeCentralSqs.json', 'KmsChangeExporterEventBridgeMember.json',
  ]);
  for (const file of readdirSync(TEMPLATES_DIR)) {
    const text = readFileSync(join(TEMPLATES_DIR, file), 'utf8');
    t.match(JSON.parse(text), { Description: /Generated from deploy\/aws\/ \(AWS CDK\) by `npm run synth`/ }, `${file} says it is generated`);
  }
});

t.test('drift is reported, then repaired', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kce-templates-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fresh = synthesizeTemplates();
  t.same(synthesizeTemplates(), fresh, 'two synths in one process are the same (deterministic)');
  t.same(syncTemplates(dir, true, fresh).map((d) => d.problem), ['missing', 'missing', 'missing', 'missing'], 'an empty directory misses every template');
  cpSync(TEMPLATES_DIR, dir, { recursive: true });
  t.same(syncTemplates(dir, true, fresh), [], 'a copy of the committed ones is clean');

  const member = join(dir, 'KmsChangeExporterEventBridgeMember.json');
  const original = readFileSync(member, 'utf8');
  writeFileSync(member, original.replace('"DeleteTrail",', ''));
  writeFileSync(join(dir, 'KmsChangeExporterOldStack.json'), '{}\n');
  t.same(syncTemplates(dir, true, fresh), [{ file: 'KmsChangeExporterEventBridgeMember.json', problem: 'differs' }, { file: 'KmsChangeExporterOldStack.json', problem: 'stale' }], 'an edited template and a leftover one are caught');

  const check = runScript(['--check', '--dir', dir]);
  t.equal(check.status, 1, '--check exits 1 on drift');
  t.equal(check.stderr, [
    'synth: KmsChangeExporterEventBridgeMember.json: differs from a fresh synth in deploy/aws/templates',
    'synth: KmsChangeExporterOldStack.json: no such stack, yet in deploy/aws/templates',
    'synth: the committed templates are out of date; run `npm run synth` and commit the result',
    '',
  ].join('\n'));

  const sync = runScript(['--dir', dir]);
  t.equal(sync.status, 0, { stderr: sync.stderr });
  t.equal(readFileSync(member, 'utf8'), original, 'the template is rewritten byte for byte');
  t.same(readdirSync(dir).sort(), readdirSync(TEMPLATES_DIR).sort(), 'the stale one is removed');
  t.same(syncTemplates(dir, true, fresh), [], 'and nothing drifts');
  t.equal(runScript(['--bogus']).status, 2, 'a wrong argument is a usage error');
});
