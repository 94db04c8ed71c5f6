// The lint boundaries bite: a pure-core module importing the AWS SDK, OTel or fastify fails, and so does a floating promise.
import t from 'tap';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';

const ROOT = join(import.meta.dirname, '../..');

const PROBES = {
  imports: {
    path: 'src/classify/lint-probe-imports.ts',
    source:
      "// probe\nimport { KMSClient } from '@aws-sdk/client-kms';\nimport { trace } from '@opentelemetry/api';\nimport Fastify from 'fastify';\nexport const probe = [KMSClient, trace, Fastify];\n",
  },
  floating: {
    path: 'src/lint-probe-floating.ts',
    source: '// probe\nasync function work(): Promise<void> {}\nexport function probe(): void {\n  work();\n}\n',
  },
} as const;

/**
 * Lints every probe in one ESLint run. typescript-eslint keeps one TypeScript program per tsconfig for the whole process,
 * built from the files that exist when it is first asked: a probe written after that is "not found in the project".
 * So all probes are written first, linted together, then removed.
 */
async function lintProbes(): Promise<Record<keyof typeof PROBES, string[]>> {
  const names = Object.keys(PROBES) as (keyof typeof PROBES)[];
  for (const name of names) writeFileSync(join(ROOT, PROBES[name].path), PROBES[name].source);
  try {
    const results = await new ESLint({ cwd: ROOT }).lintFiles(names.map((name) => join(ROOT, PROBES[name].path)));
    const messagesOf = (name: keyof typeof PROBES): string[] =>
      (results.find((r) => r.filePath === join(ROOT, PROBES[name].path))?.messages ?? []).map(
        (m) => `${m.ruleId ?? 'parse'}: ${m.message.split('\n')[0]}`,
      );
    return { imports: messagesOf('imports'), floating: messagesOf('floating') };
  } finally {
    for (const name of names) rmSync(join(ROOT, PROBES[name].path), { force: true });
  }
}

const linted = lintProbes();

t.test('decode/, classify/ and catalog/ may not import the AWS SDK, OTel or fastify', async (t) => {
  t.same((await linted).imports, [
    "@typescript-eslint/no-restricted-imports: '@aws-sdk/client-kms' import is restricted from being used by a pattern. decode/, classify/, catalog/ and findings/ are pure: no AWS SDK (sources/ talk to AWS).",
    "@typescript-eslint/no-restricted-imports: '@opentelemetry/api' import is restricted from being used by a pattern. decode/, classify/, catalog/ and findings/ are pure: no OpenTelemetry (record/ owns the instruments).",
    "@typescript-eslint/no-restricted-imports: 'fastify' import is restricted from being used by a pattern. decode/, classify/, catalog/ and findings/ are pure: no HTTP framework (serve/ and the push sources own it).",
  ]);
});

t.test('a floating promise fails the lint anywhere', async (t) => {
  const messages = (await linted).floating;
  t.equal(messages.length, 1);
  t.match(messages[0], /^@typescript-eslint\/no-floating-promises: Promises must be awaited/);
});
