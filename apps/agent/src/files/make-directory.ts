import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * `mkdir -p`, one level at a time. Node 20's `mkdirSync(dir, { recursive: true })`
 * spins forever when mkdir answers ENOENT for a path whose parent exists
 * (any directory under /proc, say), which would wedge the agent on one bad
 * destination; this fails with the system's error instead.
 */
export function makeDirectory(dir: string, mode?: number): void {
  const path = resolve(dir);
  if (existsSync(path)) return;
  const parent = dirname(path);
  if (parent !== path) makeDirectory(parent, mode);
  try {
    mkdirSync(path, mode === undefined ? undefined : { mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new Error(`cannot create directory ${path}: ${(err as Error).message}`, { cause: err });
  }
}
