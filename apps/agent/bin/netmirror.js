#!/usr/bin/env node
// The `netmirror` command: runs the compiled agent CLI (built by `npm run build`).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
