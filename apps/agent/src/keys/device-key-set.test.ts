import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeWrappedKey,
  generateDataKey,
  generateDeviceKeys,
  WRAP_ALG,
  wrapKey,
} from '@netmirror/crypto';
import type { DataKey, DeviceKeys } from '@netmirror/crypto';
import { buildKeyDelivery } from '@netmirror/protocol';
import type { KeyDelivery, WrappedKey } from '@netmirror/protocol';
import { DeviceKeySet } from './device-key-set.js';
import { KeySetStore } from './key-set-store.js';

/** A key wrapped as the fleet manager does: to the device's X25519 key, bound to its id and the key id. */
function wrappedFor(
  device: DeviceKeys,
  deviceId: string,
  dk: DataKey,
  notBefore?: number,
): WrappedKey {
  const wrapped = encodeWrappedKey(
    wrapKey(dk.key, device.x25519.publicKey, { deviceId, keyId: dk.keyId }),
  );
  return {
    keyId: dk.keyId,
    alg: WRAP_ALG,
    wrapped,
    ...(notBefore !== undefined ? { notBefore } : {}),
  };
}

function keySet(stateDir: string, deviceId: string, device: DeviceKeys): DeviceKeySet {
  return new DeviceKeySet(
    { deviceId, x25519PrivateKey: device.x25519.privateKey },
    new KeySetStore(stateDir),
  );
}

describe('DeviceKeySet', () => {
  let dir: string;
  const a = generateDeviceKeys();
  const b = generateDeviceKeys();
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'netmirror-keys-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('applies a delivery, keeps it wrapped on disk, and has it again after a restart', () => {
    const stateDir = join(dir, 'restart');
    const dk1 = generateDataKey();
    const dk2 = generateDataKey();
    const delivery = buildKeyDelivery(1, [
      wrappedFor(a, 'tap-a', dk1, 1000),
      wrappedFor(a, 'tap-a', dk2, 2000),
    ]);
    const first = keySet(stateDir, 'tap-a', a);
    expect(first.apply(delivery)).toEqual({ status: 'applied', version: 1, hash: delivery.hash });
    expect(first.ring.current(2500).keyId).toBe(dk2.keyId);
    expect(Buffer.from(first.ring.forDecryption(dk1.keyId).key)).toEqual(dk1.key);

    const file = join(stateDir, 'keys.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const onDisk = readFileSync(file, 'utf8');
    for (const clear of [dk1.key, dk2.key]) {
      expect(onDisk).not.toContain(clear.toString('base64'));
      expect(onDisk).not.toContain(clear.toString('hex'));
    }

    const second = keySet(stateDir, 'tap-a', a); // the reboot
    expect(second.ring.size).toBe(0);
    expect(second.restore()).toEqual({ status: 'applied', version: 1, hash: delivery.hash });
    expect(second.applied).toEqual({
      version: 1,
      hash: delivery.hash,
      spec: { keyIds: [dk1.keyId, dk2.keyId] },
    });
    expect(Buffer.from(second.ring.forDecryption(dk2.keyId).key)).toEqual(dk2.key);
    expect(second.ring.current(2500).keyId).toBe(dk2.keyId);
  });

  it('refuses a key wrapped for another device and keeps the previous set', () => {
    const stateDir = join(dir, 'foreign');
    const mine = generateDataKey();
    const set = keySet(stateDir, 'tap-a', a);
    const v1 = buildKeyDelivery(1, [wrappedFor(a, 'tap-a', mine)]);
    expect(set.apply(v1).status).toBe('applied');

    const cases: [string, KeyDelivery, RegExp][] = [
      [
        "wrapped to B's key",
        buildKeyDelivery(2, [
          wrappedFor(a, 'tap-a', mine),
          wrappedFor(b, 'tap-a', generateDataKey()),
        ]),
        /keys\[1\] \(dk-[0-9a-f]+\): cannot unwrap .* authentication failed/,
      ],
      [
        "wrapped to A's key but for device tap-b",
        buildKeyDelivery(2, [wrappedFor(a, 'tap-b', generateDataKey())]),
        /authentication failed/,
      ],
      [
        'not a wrap at all',
        buildKeyDelivery(2, [{ keyId: 'dk-x', alg: WRAP_ALG, wrapped: 'bm9wZQ==' }]),
        /keys\[0\] \(dk-x\): not a X25519-HKDF-SHA256-A256GCM wrapped key/,
      ],
      [
        'another algorithm',
        buildKeyDelivery(2, [{ ...wrappedFor(a, 'tap-a', generateDataKey()), alg: 'RSA-OAEP' }]),
        /alg RSA-OAEP is not X25519/,
      ],
      [
        'a hash that is not the keys',
        { ...buildKeyDelivery(2, [wrappedFor(a, 'tap-a', generateDataKey())]), hash: v1.hash },
        /does not match the keys/,
      ],
      [
        'an older version',
        buildKeyDelivery(1, [wrappedFor(a, 'tap-a', generateDataKey())]),
        /keys version 1 is not newer than the applied 1/,
      ],
      [
        'a held keyId with other bytes',
        buildKeyDelivery(2, [
          wrappedFor(a, 'tap-a', { keyId: mine.keyId, key: generateDataKey().key }),
        ]),
        /already held with other key material/,
      ],
    ];
    for (const [name, delivery, reason] of cases) {
      const result = set.apply(delivery);
      expect(result.status, name).toBe('error');
      expect(result, name).toMatchObject({
        version: delivery.version,
        error: expect.stringMatching(reason),
      });
      expect(set.applied?.version, name).toBe(1);
      expect(set.ring.size, name).toBe(1);
      expect(Buffer.from(set.ring.current().key), name).toEqual(mine.key);
    }
    // Nothing of the refused deliveries reached the disk either.
    const again = keySet(stateDir, 'tap-a', a);
    expect(again.restore()).toMatchObject({ status: 'applied', version: 1 });

    // An exact duplicate is not an error; a newer set replaces the old one whole.
    expect(set.apply(v1)).toEqual({ status: 'applied', version: 1, hash: v1.hash });
    const next = generateDataKey();
    const v3 = buildKeyDelivery(3, [wrappedFor(a, 'tap-a', next)]);
    expect(set.apply(v3).status).toBe('applied');
    expect(set.ring.has(mine.keyId)).toBe(false);
    expect(Buffer.from(set.ring.current().key)).toEqual(next.key);
  });

  it('drops a saved set that no longer opens, so the fleet manager sends it again', () => {
    const stateDir = join(dir, 'rekeyed');
    keySet(stateDir, 'tap-a', a).apply(
      buildKeyDelivery(4, [wrappedFor(a, 'tap-a', generateDataKey())]),
    );
    const rekeyed = keySet(stateDir, 'tap-a', generateDeviceKeys()); // a device key that changed
    expect(rekeyed.restore()).toMatchObject({ status: 'error', error: /authentication failed/ });
    expect(rekeyed.applied).toBeUndefined();
    expect(rekeyed.ring.size).toBe(0);

    writeFileSync(join(stateDir, 'keys.json'), '{"appliedAt": 1, "delivery": {"v": 1}}');
    expect(keySet(stateDir, 'tap-a', a).restore()).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/keys\.json: delivery\.type/),
    });
  });
});
