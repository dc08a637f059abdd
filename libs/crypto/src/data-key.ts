// Data keys: 256-bit AES keys the fleet manager generates and delivers to
// devices wrapped (key-wrap.ts), used to encrypt recordings at rest.
import { randomBytes } from 'node:crypto';
import { requireKeyId } from './names.js';

export const DATA_KEY_BYTES = 32;

export interface DataKey {
  /** `[A-Za-z0-9_.:-]{1,128}`; names exactly one key, ever. */
  keyId: string;
  key: Buffer;
}

/** 32 random bytes; the keyId defaults to `dk-` and 128 random bits in hex. */
export function generateDataKey(opts: { keyId?: string } = {}): DataKey {
  const keyId =
    opts.keyId === undefined ? `dk-${randomBytes(16).toString('hex')}` : requireKeyId(opts.keyId);
  return { keyId, key: randomBytes(DATA_KEY_BYTES) };
}
