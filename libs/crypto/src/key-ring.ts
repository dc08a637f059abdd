// The data keys a device holds, by keyId, each with a window:
//   notBefore: from then on the key may become the one new data is
//              encrypted with;
//   notAfter:  until then the key decrypts; after it, it is gone (prune()
//              wipes it), and so is anything still encrypted only with it.
// Rotation is adding a key with a later notBefore: it takes over encryption
// when its time comes, while older keys keep decrypting what they encrypted
// until their own notAfter. So a key's notAfter must outlive the retention of
// the data it encrypted; that is the fleet manager's rule to keep.
// Times are milliseconds since the epoch, as in the protocol's messages.
import { timingSafeEqual } from 'node:crypto';
import { DATA_KEY_BYTES } from './data-key.js';
import { NoUsableKeyError } from './errors.js';
import { requireKeyId } from './names.js';

export interface RingKey {
  keyId: string;
  key: Uint8Array;
  notBefore: number;
  notAfter: number;
}

export class KeyRing {
  readonly #keys = new Map<string, RingKey>();

  constructor(keys: Iterable<RingKey> = []) {
    for (const k of keys) this.add(k);
  }

  get size(): number {
    return this.#keys.size;
  }

  /**
   * Adds a key (a copy of its bytes). Adding a keyId again with the same
   * bytes updates its window; with other bytes it throws: a keyId names one
   * key, ever, or data encrypted under it would become unreadable.
   */
  add(k: RingKey): void {
    requireKeyId(k.keyId);
    if (k.key.length !== DATA_KEY_BYTES)
      throw new TypeError(`key ${k.keyId}: ${k.key.length} bytes, expected ${DATA_KEY_BYTES}`);
    if (
      !Number.isFinite(k.notBefore) ||
      !Number.isFinite(k.notAfter) ||
      k.notBefore >= k.notAfter
    ) {
      throw new TypeError(
        `key ${k.keyId}: notBefore ${k.notBefore} must be before notAfter ${k.notAfter}`,
      );
    }
    const old = this.#keys.get(k.keyId);
    if (old && !timingSafeEqual(old.key, k.key))
      throw new TypeError(`key ${k.keyId} is already held with other key material`);
    this.#keys.set(k.keyId, {
      keyId: k.keyId,
      key: old?.key ?? Uint8Array.from(k.key),
      notBefore: k.notBefore,
      notAfter: k.notAfter,
    });
  }

  has(keyId: string): boolean {
    return this.#keys.has(keyId);
  }

  /**
   * The key to encrypt with at `now`: among keys in their window
   * (notBefore <= now < notAfter) the newest (latest notBefore; ties: later
   * notAfter, then the greater keyId, so every holder picks the same one).
   */
  current(now: number = Date.now()): RingKey {
    let best: RingKey | undefined;
    for (const k of this.#keys.values()) {
      if (k.notBefore > now || now >= k.notAfter) continue;
      if (!best || newer(k, best)) best = k;
    }
    if (!best)
      throw new NoUsableKeyError(
        `no data key is valid at ${new Date(now).toISOString()} (${this.size} held)`,
      );
    return best;
  }

  /** The key to decrypt data marked `keyId`, as long as it has not expired (a future notBefore is fine). */
  forDecryption(keyId: string, now: number = Date.now()): RingKey {
    const k = this.#keys.get(keyId);
    if (!k) throw new NoUsableKeyError(`no data key ${keyId} is held`);
    if (now >= k.notAfter)
      throw new NoUsableKeyError(
        `data key ${keyId} expired at ${new Date(k.notAfter).toISOString()}`,
      );
    return k;
  }

  /** All held keys, oldest notBefore first. */
  list(): RingKey[] {
    return [...this.#keys.values()].sort((a, b) => (newer(a, b) ? 1 : newer(b, a) ? -1 : 0));
  }

  /** Removes (and zero-fills) the keys expired at `now`; returns their ids. */
  prune(now: number = Date.now()): string[] {
    const gone: string[] = [];
    for (const [id, k] of this.#keys) {
      if (now < k.notAfter) continue;
      k.key.fill(0);
      this.#keys.delete(id);
      gone.push(id);
    }
    return gone;
  }
}

function newer(a: RingKey, b: RingKey): boolean {
  if (a.notBefore !== b.notBefore) return a.notBefore > b.notBefore;
  if (a.notAfter !== b.notAfter) return a.notAfter > b.notAfter;
  return a.keyId > b.keyId;
}
