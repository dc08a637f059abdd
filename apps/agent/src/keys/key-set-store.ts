import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateMessage } from '@netmirror/protocol';
import type { KeyDelivery } from '@netmirror/protocol';
import { writeFileAtomic } from '../enroll/index.js';
import { makeDirectory } from '../files/index.js';

/** The key set in effect as it is kept on disk: the delivery as received (keys still wrapped). */
export interface StoredKeySet {
  delivery: KeyDelivery;
  /** When it took effect, ms since the epoch. */
  appliedAt: number;
}

export type LoadedKeySet = { ok: true; set: StoredKeySet } | { ok: false; reason: string };

/**
 * `keys.json` in the state directory: the applied key delivery, wrapped to
 * this device's X25519 key exactly as the fleet manager sent it, so the set
 * survives a reboot without a clear key ever touching the disk. Written
 * atomically (0600: not secret without the device key, but nobody else's).
 */
export class KeySetStore {
  readonly path: string;

  constructor(readonly dir: string) {
    this.path = join(dir, 'keys.json');
  }

  /** null when no key set was ever applied. */
  load(): LoadedKeySet | null {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      return { ok: false, reason: `${this.path}: ${(err as Error).message}` };
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      return { ok: false, reason: `${this.path}: ${(err as Error).message}` };
    }
    const d = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
    if (typeof d.appliedAt !== 'number')
      return { ok: false, reason: `${this.path}: appliedAt: expected a time` };
    const delivery = validateMessage(d.delivery, 'keys');
    if (!delivery.ok) return { ok: false, reason: `${this.path}: delivery.${delivery.reason}` };
    return { ok: true, set: { delivery: delivery.message, appliedAt: d.appliedAt } };
  }

  save(set: StoredKeySet): void {
    makeDirectory(this.dir);
    writeFileAtomic(this.path, JSON.stringify(set, null, 2) + '\n', 0o600);
  }
}
