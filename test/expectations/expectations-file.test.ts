// The expectations file: every bad fixture gives its exact message (file:line:col: path: reason); good files load frozen.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.ts';
import { loadExpectations, parseExpectations } from '../../src/expectations/expectations-file.ts';

const DIR = join(import.meta.dirname, '../fixtures/expectations');
const EXAMPLE = join(import.meta.dirname, '../../examples/expectations.yml');
const messages = JSON.parse(readFileSync(join(DIR, 'messages.json'), 'utf8')) as Record<string, string[]>;

function outcome(run: () => unknown): string {
  try {
    run();
    return 'accepted';
  } catch (error) {
    return error instanceof ConfigError ? `exit ${error.exitCode} ${error.flag} ${error.env}: ${error.message}` : `not a ConfigError: ${String(error)}`;
  }
}

const bad = readdirSync(DIR).filter((file) => file.endsWith('.bad.yml')).sort();

t.test('every bad fixture has its expected message, and every message its fixture', async (t) => {
  t.same(Object.keys(messages).sort(), bad);
});

for (const file of bad) {
  t.test(file, async (t) => {
    const text = readFileSync(join(DIR, file), 'utf8');
    t.equal(outcome(() => parseExpectations(text, file)), `exit 2 --expectations KMS_EXPORTER_EXPECTATIONS_FILE: ${(messages[file] ?? []).join('\n')}`);
  });
}

for (const file of readdirSync(DIR).filter((name) => name.endsWith('.ok.yml')).sort()) {
  t.test(file, async (t) => {
    t.equal(outcome(() => parseExpectations(readFileSync(join(DIR, file), 'utf8'), file)), 'accepted');
  });
}

t.test('a good file compiles to frozen rules in file order, account ids kept as written', async (t) => {
  const rules = parseExpectations(readFileSync(join(DIR, 'every-field.ok.yml'), 'utf8'), 'every-field.ok.yml');
  t.same(
    rules.map((rule) => rule.name),
    ['everything-at-once', 'no-rules-needed-below'],
  );
  const [first] = rules;
  t.equal(first?.description, 'Exercises every field the schema knows.');
  // YAML reads an unquoted 012345678901 as a number; the loader keeps the digits.
  t.same(first?.match.accounts, ['012345678901']);
  t.ok(Object.isFrozen(rules) && Object.isFrozen(first) && Object.isFrozen(first?.match) && Object.isFrozen(first?.match.keys));
});

t.test('the shipped example loads', async (t) => {
  t.same(
    loadExpectations(EXAMPLE).map((rule) => rule.name),
    ['aws-service-grants', 'aws-scheduled-maintenance', 'terraform-routine', 'ci-key-rotation'],
  );
});

t.test('a file that cannot be read names its path and the reason', async (t) => {
  const missing = join(DIR, 'no-such-file.yml');
  t.equal(outcome(() => loadExpectations(missing)), `exit 2 --expectations KMS_EXPORTER_EXPECTATIONS_FILE: invalid --expectations (KMS_EXPORTER_EXPECTATIONS_FILE): ${missing}: cannot read the file (ENOENT)`);
  t.equal(outcome(() => loadExpectations(DIR)), `exit 2 --expectations KMS_EXPORTER_EXPECTATIONS_FILE: invalid --expectations (KMS_EXPORTER_EXPECTATIONS_FILE): ${DIR}: cannot read the file (EISDIR)`);
});

t.test('the path a file was loaded from names it in every message', async (t) => {
  t.match(outcome(() => loadExpectations(join(DIR, 'not-a-list.bad.yml'))), `${join(DIR, 'not-a-list.bad.yml')}:4:19: rules[0].match.eventNames: expected a list`);
});
