// One vitest run covers every package: each package is a project named after
// its folder, and workspace imports resolve to TypeScript sources (no build
// needed to test).
import { readdirSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

const root = import.meta.dirname;
const groups = ['libs', 'apps', 'firmware-bindings', 'tools'];

const packages = groups.flatMap((group) =>
  readdirSync(join(root, group), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, group, d.name, 'package.json')))
    .map((d) => ({ dir: join(group, d.name), short: d.name })),
);

/** A RegExp matching exactly `text`. */
const exactly = (text: string): RegExp =>
  new RegExp('^' + text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '$');

// Each package by name, and each subpath it exports with a "@netmirror/source"
// condition (e.g. @netmirror/native/testing), matched exactly: a package's
// name is never taken for the start of one of its subpaths.
const alias = packages.flatMap(({ dir }) => {
  const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as {
    name: string;
    exports?: Record<string, string | Record<string, string>>;
  };
  const entries: [string, string][] = [[pkg.name, 'src/index.ts']];
  for (const [key, target] of Object.entries(pkg.exports ?? {}))
    if (key !== '.' && typeof target === 'object' && target['@netmirror/source'])
      entries.push([`${pkg.name}${key.slice(1)}`, target['@netmirror/source']]);
  return entries.map(([specifier, source]) => ({
    find: exactly(specifier),
    replacement: resolve(root, dir, source),
  }));
});

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      ...packages.map(({ dir, short }) => ({
        resolve: { alias },
        test: { name: short, root: join(root, dir), include: ['src/**/*.test.ts'] },
      })),
      {
        resolve: { alias },
        test: {
          name: 'e2e',
          root: join(root, 'tests'),
          include: ['**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
