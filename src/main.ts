#!/usr/bin/env node
// The installed command: runs the command line. Tests and benchmarks import service.ts, never this file.

import { main } from './cli.ts';

await main(process.argv, process.env);
