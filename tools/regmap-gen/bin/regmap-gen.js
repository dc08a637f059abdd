#!/usr/bin/env node
// Runs the compiled CLI (build first: npx tsc -b tools/regmap-gen).
import { main } from '../dist/cli.js';

process.exitCode = main(process.argv.slice(2));
