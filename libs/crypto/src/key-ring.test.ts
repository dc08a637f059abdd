import { describe, expect, it } from 'vitest';
import { generateDataKey, KeyRing, NoUsableKeyError, type RingKey } from './index.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);

function ringKey(keyId: string, notBefore: number, notAfter: number): RingKey {
  return { keyId, key: generateDataKey().key, notBefore, notAfter };
}

describe('KeyRing', () => {
  it('encrypts with the newest key in its window and still decrypts with the old one across a rotation', () => {
    const k1 = ringKey('k1', T0, T0 + 90 * DAY);
    const ring = new KeyRing([k1]);
    expect(ring.current(T0 + DAY).keyId).toBe('k1');

    // Rotation: k2 is delivered ahead of time and takes over at day 30.
    ring.add(ringKey('k2', T0 + 30 * DAY, T0 + 120 * DAY));
    expect(ring.current(T0 + 29 * DAY).keyId).toBe('k1');
    expect(ring.current(T0 + 30 * DAY).keyId).toBe('k2');
    // k2 already decrypts before its notBefore (a device whose clock lags), k1 still decrypts after it.
    expect(ring.forDecryption('k2', T0 + DAY).keyId).toBe('k2');
    expect(Buffer.from(ring.forDecryption('k1', T0 + 60 * DAY).key).equals(k1.key)).toBe(true);

    // k1 expires: gone for decryption too.
    expect(() => ring.forDecryption('k1', T0 + 90 * DAY)).toThrow(
      /data key k1 expired at 2025-04-01T00:00:00.000Z/,
    );
    expect(ring.current(T0 + 90 * DAY).keyId).toBe('k2');
  });

  it('has no current key before the first window or after the last', () => {
    const ring = new KeyRing([ringKey('k1', T0, T0 + DAY)]);
    expect(() => ring.current(T0 - 1)).toThrow(NoUsableKeyError);
    expect(() => ring.current(T0 + DAY)).toThrow(
      /no data key is valid at 2025-01-02T00:00:00.000Z \(1 held\)/,
    );
    expect(() => new KeyRing().current(T0)).toThrow(NoUsableKeyError);
    expect(() => ring.forDecryption('nope', T0)).toThrow(/no data key nope is held/);
  });

  it('falls back to an older key when a newer one expires first, and breaks ties the same way everywhere', () => {
    const ring = new KeyRing([
      ringKey('long', T0, T0 + 100 * DAY),
      ringKey('short', T0 + DAY, T0 + 2 * DAY),
    ]);
    expect(ring.current(T0 + DAY).keyId).toBe('short');
    expect(ring.current(T0 + 2 * DAY).keyId).toBe('long');

    const a = ringKey('a', T0, T0 + DAY);
    const b = ringKey('b', T0, T0 + DAY);
    expect(new KeyRing([a, b]).current(T0).keyId).toBe('b');
    expect(new KeyRing([b, a]).current(T0).keyId).toBe('b');
    expect(new KeyRing([a, b]).list().map((k) => k.keyId)).toEqual(['a', 'b']);
  });

  it('a keyId names one key: re-adding it with other bytes throws, with the same bytes updates its window', () => {
    const k1 = ringKey('k1', T0, T0 + DAY);
    const ring = new KeyRing([k1]);
    expect(() => ring.add({ ...k1, key: generateDataKey().key })).toThrow(
      /already held with other key material/,
    );
    ring.add({ ...k1, notAfter: T0 + 10 * DAY });
    expect(ring.forDecryption('k1', T0 + 5 * DAY).notAfter).toBe(T0 + 10 * DAY);
    expect(ring.size).toBe(1);
  });

  it('refuses bad entries', () => {
    const ring = new KeyRing();
    expect(() => ring.add(ringKey('k1', T0, T0))).toThrow(/must be before notAfter/);
    expect(() => ring.add({ ...ringKey('k1', T0, T0 + 1), key: new Uint8Array(16) })).toThrow(
      /16 bytes, expected 32/,
    );
    expect(() => ring.add(ringKey('a|b', T0, T0 + 1))).toThrow(/invalid keyId/);
    expect(() => ring.add(ringKey('k1', Number.NaN, T0))).toThrow(TypeError);
  });

  it('keeps its own copy of key bytes, and prune wipes and drops expired keys', () => {
    const k1 = ringKey('k1', T0, T0 + DAY);
    const original = Buffer.from(k1.key);
    const ring = new KeyRing([k1, ringKey('k2', T0, T0 + 2 * DAY)]);
    const held = ring.forDecryption('k1', T0);
    expect(held.key).not.toBe(k1.key);

    expect(ring.prune(T0 + DAY - 1)).toEqual([]);
    expect(ring.prune(T0 + DAY)).toEqual(['k1']);
    expect(held.key.every((b) => b === 0)).toBe(true);
    expect(Buffer.from(k1.key).equals(original)).toBe(true);
    expect(ring.has('k1')).toBe(false);
    expect(ring.has('k2')).toBe(true);
  });
});
