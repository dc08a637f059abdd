#!/usr/bin/env node
// Runs the compiled emulator (build first: npx tsc -b tools/board-emulator).
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
