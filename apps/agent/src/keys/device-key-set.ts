import { timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { decodeWrappedKey, KeyRing, unwrapKey, WRAP_ALG } from '@netmirror/crypto';
import type { RingKey } from '@netmirror/crypto';
import { contentHash } from '@netmirror/protocol';
import type { KeyDelivery } from '@netmirror/protocol';
import type { ApplyResult, VersionedState } from '../reconcile/index.js';
import type { KeySetStore } from './key-set-store.js';

/** Whose keys these are: the wraps are bound to this device id and opened with this key. */
export interface KeyOwner {
  deviceId: string;
  x25519PrivateKey: KeyObject;
}

/** The key ring as later consumers (encrypted sinks) see it: they read, only deliveries write. */
export type KeyRingView = Pick<KeyRing, 'size' | 'has' | 'current' | 'forDecryption' | 'list'>;

/** What "applied" shows for the keys domain: never key material, only ids. */
export interface KeySetSummary {
  keyIds: string[];
}

/**
 * The protocol gives a delivered key a notBefore but no end: a key is held
 * until a later delivery leaves it out (each delivery is the whole set).
 */
export const HELD_UNTIL_REPLACED = Number.MAX_SAFE_INTEGER;

/**
 * The device's key set: the one owner of the keys domain on the agent. A
 * delivery is applied whole or not at all: every key unwrapped with the
 * device's X25519 key, the wrapped set written to disk, and only then the
 * new ring swapped in and "applied" returned. Anything that fails (a wrap
 * for another device, a stale version, a changed hash) leaves the previous
 * set in place and returns the error to report.
 */
export class DeviceKeySet {
  private ringInEffect = new KeyRing();
  private inEffect: KeyDelivery | null = null;

  constructor(
    private readonly owner: KeyOwner,
    private readonly store: KeySetStore,
  ) {}

  /** The data keys in effect (a new ring object after each applied delivery). */
  get ring(): KeyRingView {
    return this.ringInEffect;
  }

  /** The version and hash in effect, for reports, health and the gate; undefined before any. */
  get applied(): VersionedState<KeySetSummary> | undefined {
    const d = this.inEffect;
    return d
      ? { version: d.version, hash: d.hash, spec: { keyIds: d.keys.map((k) => k.keyId) } }
      : undefined;
  }

  /**
   * Reloads the set saved before a restart. A set that no longer opens
   * (damaged file, a device key that changed) is dropped: the agent then
   * reports no keys and the fleet manager delivers them again.
   */
  restore(): ApplyResult | null {
    const saved = this.store.load();
    if (saved === null) return null;
    if (!saved.ok) return { status: 'error', version: 0, hash: '', error: saved.reason };
    const d = saved.set.delivery;
    try {
      this.ringInEffect = this.unwrapAll(d, new KeyRing());
      this.inEffect = d;
      return { status: 'applied', version: d.version, hash: d.hash };
    } catch (err) {
      return { status: 'error', version: d.version, hash: d.hash, error: (err as Error).message };
    }
  }

  /** Applies a delivery (synchronously: deliveries cannot interleave). */
  apply(delivery: KeyDelivery, now: number = Date.now()): ApplyResult {
    const fail = (error: string): ApplyResult => ({
      status: 'error',
      version: delivery.version,
      hash: delivery.hash,
      error,
    });
    const current = this.inEffect;
    if (current && delivery.version === current.version && delivery.hash === current.hash)
      return { status: 'applied', version: current.version, hash: current.hash }; // a duplicate: nothing to do
    if (current && delivery.version <= current.version)
      return fail(
        `keys version ${delivery.version} is not newer than the applied ${current.version}`,
      );
    let ring: KeyRing;
    try {
      ring = this.unwrapAll(delivery, this.ringInEffect);
      this.store.save({ delivery, appliedAt: now });
    } catch (err) {
      return fail((err as Error).message);
    }
    this.ringInEffect = ring;
    this.inEffect = delivery;
    return { status: 'applied', version: delivery.version, hash: delivery.hash };
  }

  /** A new ring with every key of the delivery, or an error naming the first key that fails. */
  private unwrapAll(delivery: KeyDelivery, previous: KeyRingView): KeyRing {
    const actual = contentHash(delivery.keys);
    if (actual !== delivery.hash)
      throw new Error(
        `keys version ${delivery.version}: hash ${delivery.hash} does not match the keys (${actual})`,
      );
    const ring = new KeyRing();
    delivery.keys.forEach((k, i) => {
      const at = `keys[${i}] (${k.keyId})`;
      if (ring.has(k.keyId)) throw new Error(`${at}: keyId appears twice`);
      if (k.alg !== WRAP_ALG) throw new Error(`${at}: alg ${k.alg} is not ${WRAP_ALG}`);
      const key = this.unwrapOne(k.wrapped, k.keyId, at);
      try {
        sameKeyAsBefore(previous, k.keyId, key, at);
        ring.add({
          keyId: k.keyId,
          key,
          notBefore: k.notBefore ?? 0,
          notAfter: HELD_UNTIL_REPLACED,
        });
      } finally {
        key.fill(0); // the ring holds its own copy
      }
    });
    return ring;
  }

  private unwrapOne(wrapped: string, keyId: string, at: string): Buffer {
    try {
      return unwrapKey(decodeWrappedKey(wrapped), this.owner.x25519PrivateKey, {
        deviceId: this.owner.deviceId,
        keyId,
      });
    } catch (err) {
      throw new Error(`${at}: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** A keyId names one key, ever: a later set may not give it other bytes. */
function sameKeyAsBefore(previous: KeyRingView, keyId: string, key: Uint8Array, at: string): void {
  if (!previous.has(keyId)) return;
  const before: RingKey = previous.forDecryption(keyId, 0);
  if (!timingSafeEqual(before.key, key))
    throw new Error(`${at}: keyId is already held with other key material`);
}
