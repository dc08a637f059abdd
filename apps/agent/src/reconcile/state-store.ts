import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDirectory } from '../files/index.js';

/** A domain's state as the fleet manager versioned it. */
export interface VersionedState<T = unknown> {
  version: number;
  hash: string;
  spec: T;
}

/** What is in effect, per domain: survives a reboot so mirroring resumes before the fleet manager answers. */
export type AppliedStates = Partial<Record<string, VersionedState>>;

/**
 * The last applied state on disk (`applied.json` in the agent's state
 * directory), written atomically (temporary file, then rename), so a crash
 * mid-write leaves the previous state, never half of one.
 */
export class StateStore {
  private readonly path: string;

  constructor(readonly dir: string) {
    makeDirectory(dir);
    this.path = join(dir, 'applied.json');
  }

  load(): AppliedStates {
    try {
      const doc: unknown = JSON.parse(readFileSync(this.path, 'utf8'));
      return isObject(doc) ? (doc as AppliedStates) : {};
    } catch {
      return {};
    }
  }

  save(states: AppliedStates): void {
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(states, null, 2) + '\n');
    renameSync(tmp, this.path);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
