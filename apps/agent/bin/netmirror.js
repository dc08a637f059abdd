#!/usr/bin/env node
// The `netmirror` command: the bundled build (`npm run build`, or the set-up
// script), or the plain compiled modules when only `tsc -b` has run.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/netmirror.mjs', import.meta.url);
const { main } = await import(existsSync(bundle) ? bundle.href : '../dist/cli/main.js');
process.exitCode = await main(process.argv.slice(2));
