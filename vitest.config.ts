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

const alias = Object.fromEntries(
  packages.map(({ dir }) => {
    const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as {
      name: string;
    };
    return [pkg.name, resolve(root, dir, 'src/index.ts')];
  }),
);

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
