/**
 * regmap-gen command line:
 *   regmap-gen [--spec PATH] [--out PATH] [--check]
 * Writes the bindings (or, with --check, exits 1 when the file on disk differs).
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { generateBindings } from './generate.js';
import type { RegmapSpec } from './spec.js';

const ROOT = resolve(import.meta.dirname, '../../..');
export const DEFAULT_SPEC = resolve(ROOT, 'firmware-bindings/fpga/regmap.json');
export const DEFAULT_OUT = resolve(ROOT, 'firmware-bindings/fpga/src/generated/regmap.ts');

/** The bindings `specPath` generates (paths in the header are relative to the repository). */
export function bindingsFor(specPath: string): string {
  const spec = JSON.parse(readFileSync(specPath, 'utf8')) as RegmapSpec;
  return generateBindings(spec, relative(ROOT, specPath));
}

/** Runs the CLI with `argv`; returns the exit code. */
export function main(
  argv: readonly string[],
  log: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): number {
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        spec: { type: 'string', default: DEFAULT_SPEC },
        out: { type: 'string', default: DEFAULT_OUT },
        check: { type: 'boolean', default: false },
      },
    });
    const text = bindingsFor(resolve(values.spec));
    const out = resolve(values.out);
    if (values.check) {
      let current = '';
      try {
        current = readFileSync(out, 'utf8');
      } catch {
        // missing: differs
      }
      if (current === text) return 0;
      log(
        `regmap-gen: ${relative(ROOT, out)} is not what ${relative(ROOT, values.spec)} generates; run npm run regmap`,
      );
      return 1;
    }
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, text);
    log(`regmap-gen: wrote ${relative(ROOT, out)}`);
    return 0;
  } catch (e) {
    log(`regmap-gen: ${(e as Error).message}`);
    return 2;
  }
}
