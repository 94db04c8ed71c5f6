// Synthesizes the CDK app and writes each stack's CloudFormation template to deploy/aws/templates/; --check reports drift instead (exit 1).
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAwsApp, STACK_NAMES } from './app.ts';

export const TEMPLATES_DIR = join(import.meta.dirname, 'templates');

/** One difference between a fresh synth and the committed templates. */
export interface TemplateDrift {
  readonly file: string;
  readonly problem: 'missing' | 'differs' | 'stale';
}

/** The templates as `npm run synth` writes them: file name → text (2-space JSON, final newline). */
export function synthesizeTemplates(): ReadonlyMap<string, string> {
  const outdir = mkdtempSync(join(tmpdir(), 'kce-cdk-'));
  try {
    const assembly = buildAwsApp({ outdir }).app.synth();
    const templates = new Map<string, string>();
    for (const name of Object.values(STACK_NAMES).sort()) {
      const template = assembly.getStackByName(name).template as unknown;
      templates.set(`${name}.json`, `${JSON.stringify(template, null, 2)}\n`);
    }
    return templates;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Compares a fresh synth (or the one given) with `dir` and, unless `check`, rewrites it to match. */
export function syncTemplates(dir: string, check: boolean, fresh: ReadonlyMap<string, string> = synthesizeTemplates()): readonly TemplateDrift[] {
  const drift: TemplateDrift[] = [];
  for (const [file, text] of fresh) {
    const path = join(dir, file);
    if (!existsSync(path)) drift.push({ file, problem: 'missing' });
    else if (readFileSync(path, 'utf8') !== text) drift.push({ file, problem: 'differs' });
  }
  const committed = existsSync(dir) ? readdirSync(dir).filter((file) => file.endsWith('.json')) : [];
  for (const file of committed) if (!fresh.has(file)) drift.push({ file, problem: 'stale' });
  if (!check && drift.length > 0) {
    mkdirSync(dir, { recursive: true });
    for (const [file, text] of fresh) writeFileSync(join(dir, file), text);
    for (const { file, problem } of drift) if (problem === 'stale') rmSync(join(dir, file));
  }
  return drift;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const dirIndex = args.indexOf('--dir');
  const dir = dirIndex >= 0 && args[dirIndex + 1] !== undefined ? args[dirIndex + 1]! : TEMPLATES_DIR;
  if (args.some((arg, i) => arg !== '--check' && arg !== '--dir' && args[i - 1] !== '--dir')) {
    process.stderr.write('usage: npm run synth -- [--check] [--dir DIR]\n');
    process.exit(2);
  }
  let drift: readonly TemplateDrift[];
  try {
    drift = syncTemplates(dir, check);
  } catch (error) {
    // cdk-nag findings (ValidationFailed) and CDK errors: one message, no stack.
    process.stderr.write(`synth: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  const describe = (d: TemplateDrift): string => `${d.file}: ${d.problem === 'missing' ? 'missing from' : d.problem === 'stale' ? 'no such stack, yet in' : 'differs from a fresh synth in'} deploy/aws/templates`;
  if (check && drift.length > 0) {
    for (const item of drift) process.stderr.write(`synth: ${describe(item)}\n`);
    process.stderr.write('synth: the committed templates are out of date; run `npm run synth` and commit the result\n');
    process.exit(1);
  }
  for (const item of drift) process.stdout.write(`synth: wrote ${item.file} (${item.problem})\n`);
}
