// The lint boundaries bite: a pure-core module importing the AWS SDK, OTel or fastify fails, and so does a floating promise.
import t from 'tap';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';

const ROOT = join(import.meta.dirname, '../..');

/** Lints a probe file placed where the rule applies, then removes it. */
async function lintProbe(relative: string, source: string): Promise<string[]> {
  const path = join(ROOT, relative);
  writeFileSync(path, source);
  try {
    const [result] = await new ESLint({ cwd: ROOT }).lintFiles([path]);
    return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message.split('\n')[0]}`);
  } finally {
    rmSync(path, { force: true });
  }
}

t.test('decode/, classify/ and catalog/ may not import the AWS SDK, OTel or fastify', async (t) => {
  const messages = await lintProbe(
    'src/classify/lint-probe-imports.ts',
    "// probe\nimport { KMSClient } from '@aws-sdk/client-kms';\nimport { trace } from '@opentelemetry/api';\nimport Fastify from 'fastify';\nexport const probe = [KMSClient, trace, Fastify];\n",
  );
  t.same(messages, [
    "@typescript-eslint/no-restricted-imports: '@aws-sdk/client-kms' import is restricted from being used by a pattern. decode/, classify/, catalog/ and findings/ are pure: no AWS SDK (sources/ talk to AWS).",
    "@typescript-eslint/no-restricted-imports: '@opentelemetry/api' import is restricted from being used by a pattern. decode/, classify/, catalog/ and findings/ are pure: no OpenTelemetry (record/ owns the instruments).",
    "@typescript-eslint/no-restricted-imports: 'fastify' import is restricted from being used by a pattern. decode/, classify/, catalog/ and findings/ are pure: no HTTP framework (serve/ and the push sources own it).",
  ]);
});

t.test('a floating promise fails the lint anywhere', async (t) => {
  const messages = await lintProbe('src/lint-probe-floating.ts', '// probe\nasync function work(): Promise<void> {}\nexport function probe(): void {\n  work();\n}\n');
  t.equal(messages.length, 1);
  t.match(messages[0], /^@typescript-eslint\/no-floating-promises: Promises must be awaited/);
});
