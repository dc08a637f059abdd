// The openssl CLI as the independent check in tests.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface OpensslResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function openssl(args: string[], input?: string | Uint8Array): OpensslResult {
  const r = spawnSync('openssl', args, { input, encoding: 'buffer' });
  if (r.error) throw r.error;
  return {
    status: r.status ?? -1,
    stdout: r.stdout.toString('utf8'),
    stderr: r.stderr.toString('utf8'),
  };
}

/** A scratch directory; `file(name, text)` writes into it and returns the path. */
export interface Scratch {
  dir: string;
  file(name: string, content: string | Uint8Array): string;
  remove(): void;
}

export function scratch(): Scratch {
  const dir = mkdtempSync(join(tmpdir(), 'netmirror-crypto-'));
  return {
    dir,
    file(name: string, content: string | Uint8Array): string {
      const p = join(dir, name);
      writeFileSync(p, content);
      return p;
    },
    remove(): void {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
