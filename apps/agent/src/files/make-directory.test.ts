import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDirectory } from './make-directory.js';

describe('makeDirectory', () => {
  const base = mkdtempSync(join(tmpdir(), 'nm-mkdir-'));
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('creates missing levels, with the mode given, and accepts what exists', () => {
    const dir = join(base, 'a/b/c');
    makeDirectory(dir, 0o700);
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    makeDirectory(dir);
    expect(existsSync(dir)).toBe(true);
  });

  it('fails with the error under /proc, where fs recursive mkdir never returns', () => {
    expect(() => makeDirectory('/proc/netmirror-test/x')).toThrow(
      /cannot create directory \/proc\/netmirror-test: ENOENT/,
    );
  });
});
