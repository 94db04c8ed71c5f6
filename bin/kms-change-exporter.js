#!/usr/bin/env node
// The installed command. Plain JavaScript that any Node able to load an ES module can parse:
// it checks the running Node against package.json's `engines` before loading the compiled
// service, so an older Node gets one line naming both versions instead of a silent no-op
// or a syntax error from code it cannot run.

import { readFileSync } from 'fs';
import { createRequire } from 'module';

const require = createRequire(import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const satisfies = require('semver/functions/satisfies');
const needed = pkg.engines.node;
const found = process.versions.node;

if (!satisfies(found, needed)) {
  process.stderr.write(pkg.name + ': needs Node ' + needed + ', found Node ' + found + ' (' + process.execPath + ')\n');
  process.exitCode = 1;
} else {
  import('../dist/src/main.js').catch(function (error) {
    process.stderr.write(pkg.name + ': ' + (error && error.stack ? error.stack : String(error)) + '\n');
    process.exitCode = 1;
  });
}
