// Lint rules that keep the boundaries: a pure core free of the AWS SDK, OTel and fastify, and no promise left floating.
import tseslint from 'typescript-eslint';

/** The pure core decides what a record is; effects (AWS, telemetry, HTTP) stay at the edges. */
const PURE_CORE_FORBIDDEN = [
  { group: ['@aws-sdk/*', '@smithy/*'], message: 'decode/, classify/, catalog/ and findings/ are pure: no AWS SDK (sources/ talk to AWS).' },
  { group: ['@opentelemetry/*'], message: 'decode/, classify/, catalog/ and findings/ are pure: no OpenTelemetry (record/ owns the instruments).' },
  { group: ['fastify', 'fastify/*', '@fastify/*'], message: 'decode/, classify/, catalog/ and findings/ are pure: no HTTP framework (serve/ and the push sources own it).' },
  { group: ['ioredis', 'pino', 'node:fs', 'node:net', 'node:http', 'node:https'], message: 'decode/, classify/, catalog/ and findings/ are pure: no I/O.' },
];

export default tseslint.config(
  { ignores: ['examples/**', 'eslint.config.js', 'dist/**', 'node_modules/**', '.tools/**', 'test/fixtures/**', 'helm/**', 'dashboards/*.json'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // tap's t.test() returns a promise (PromiseWithSubtest) that tap itself awaits: the one known-safe floating promise.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] }],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration', message: 'No `export *`: name what a module exports.' }],
    },
  },
  {
    // The expectation matcher is pure too; only its loader (expectations-file.ts) reads a file.
    files: ['src/decode/**/*.ts', 'src/classify/**/*.ts', 'src/catalog/**/*.ts', 'src/findings/**/*.ts', 'src/expectations/expectation-rules.ts', 'src/expectations/wildcard.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: PURE_CORE_FORBIDDEN }],
    },
  },
);
