// Every setting validated at start: fixtures of bad settings paired with the exact one-line message, and good ones with what they mean.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkServeConfig, loadConfig } from '../src/config.ts';
import { ConfigError } from '../src/errors.ts';

const DIR = join(import.meta.dirname, 'fixtures/config');

interface Fixture {
  readonly settings: Record<string, unknown>;
  readonly message?: string;
  readonly expect?: Record<string, unknown>;
}

function read(name: string): Fixture {
  return JSON.parse(readFileSync(join(DIR, name), 'utf8')) as Fixture;
}

/** What serve does with its options before anything starts. */
function serveConfig(settings: Record<string, unknown>) {
  const config = loadConfig(settings);
  checkServeConfig(config);
  return config;
}

for (const name of readdirSync(DIR).filter((file) => file.endsWith('.bad.json')).sort()) {
  t.test(name, async (t) => {
    const fixture = read(name);
    let outcome = 'accepted';
    try {
      serveConfig(fixture.settings);
    } catch (error) {
      outcome = error instanceof ConfigError ? `exit ${error.exitCode}: ${error.message}` : `not a ConfigError: ${String(error)}`;
    }
    t.equal(outcome, `exit 2: ${fixture.message}`);
  });
}

for (const name of readdirSync(DIR).filter((file) => file.endsWith('.ok.json')).sort()) {
  t.test(name, async (t) => {
    const fixture = read(name);
    const config = serveConfig(fixture.settings) as unknown as Record<string, unknown>;
    for (const [key, want] of Object.entries(fixture.expect ?? {})) {
      const value = config[key];
      t.same(value instanceof URL ? value.toString() : (value ?? null), want, key);
    }
    t.ok(Object.isFrozen(config), 'the config is frozen');
  });
}
