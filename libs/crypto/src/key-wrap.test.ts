import { createDecipheriv, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeWrappedKey,
  devicePublicKeysPem,
  encodeWrappedKey,
  exportDeviceKeys,
  generateDataKey,
  generateDeviceKeys,
  KeyUnwrapError,
  type UnwrapFailure,
  unwrapKey,
  WRAP_ALG,
  type WrappedDataKey,
  wrapKey,
} from './index.js';
import { openssl, scratch } from './test-support/openssl.js';

const tmp = scratch();
afterAll(() => tmp.remove());

const deviceA = generateDeviceKeys();
const deviceB = generateDeviceKeys();
const ctxA = { deviceId: 'dev-a', keyId: 'dk-2024-01' };

function failure(f: () => unknown): { reason: UnwrapFailure; message: string } {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(KeyUnwrapError);
    const err = e as KeyUnwrapError;
    return { reason: err.reason, message: err.message };
  }
  throw new Error('expected unwrapKey to fail');
}

function flipped(b64: string, byte: number, bit: number): string {
  const b = Buffer.from(b64, 'base64');
  b[byte] ^= 1 << bit;
  return b.toString('base64');
}

describe('data keys wrapped to one device', () => {
  const dk = generateDataKey();
  const wrapped = wrapKey(dk.key, deviceA.x25519.publicKey, { deviceId: 'dev-a', keyId: dk.keyId });

  it('generateDataKey gives 32 random bytes and a keyId', () => {
    expect(dk.key.length).toBe(32);
    expect(dk.keyId).toMatch(/^dk-[0-9a-f]{32}$/);
    expect(generateDataKey().key.equals(dk.key)).toBe(false);
    expect(generateDataKey({ keyId: 'rec-2025-06' }).keyId).toBe('rec-2025-06');
    expect(() => generateDataKey({ keyId: 'a|b' })).toThrow(TypeError);
  });

  it('round-trip, from KeyObjects or PEM, through the base64 form the protocol carries', () => {
    expect(Object.keys(wrapped).sort()).toEqual(['alg', 'ct', 'epk', 'iv', 'tag']);
    expect(wrapped.alg).toBe(WRAP_ALG);
    const ctx = { deviceId: 'dev-a', keyId: dk.keyId };
    expect(unwrapKey(wrapped, deviceA.x25519.privateKey, ctx).equals(dk.key)).toBe(true);

    const viaPem = wrapKey(dk.key, devicePublicKeysPem(deviceA).x25519, ctx);
    const encoded = encodeWrappedKey(viaPem);
    expect(encoded).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const back = decodeWrappedKey(encoded);
    expect(back).toEqual(viaPem);
    expect(unwrapKey(back, exportDeviceKeys(deviceA).x25519, ctx).equals(dk.key)).toBe(true);
  });

  it('use a fresh ephemeral key and IV each time', () => {
    const again = wrapKey(dk.key, deviceA.x25519.publicKey, { deviceId: 'dev-a', keyId: dk.keyId });
    expect(again.epk).not.toBe(wrapped.epk);
    expect(again.iv).not.toBe(wrapped.iv);
    expect(again.ct).not.toBe(wrapped.ct);
  });

  it('a key delivered to device A cannot be unwrapped by device B', () => {
    const ctx = { deviceId: 'dev-a', keyId: dk.keyId };
    const f = failure(() => unwrapKey(wrapped, deviceB.x25519.privateKey, ctx));
    expect(f.reason).toBe('unauthentic');
    expect(f.message).toContain(
      `cannot unwrap key ${dk.keyId} for device dev-a: authentication failed`,
    );
    // Nor by B claiming its own id.
    expect(
      failure(() =>
        unwrapKey(wrapped, deviceB.x25519.privateKey, { deviceId: 'dev-b', keyId: dk.keyId }),
      ).reason,
    ).toBe('unauthentic');
  });

  it('is bound to its deviceId and keyId', () => {
    const key = deviceA.x25519.privateKey;
    expect(
      failure(() => unwrapKey(wrapped, key, { deviceId: 'dev-a2', keyId: dk.keyId })).reason,
    ).toBe('unauthentic');
    expect(
      failure(() => unwrapKey(wrapped, key, { deviceId: 'dev-a', keyId: `${dk.keyId}x` })).reason,
    ).toBe('unauthentic');
  });

  it('fails on every single changed bit of epk, iv, ct and tag', () => {
    const ctx = { deviceId: 'dev-a', keyId: dk.keyId };
    let tried = 0;
    for (const field of ['epk', 'iv', 'ct', 'tag'] as const) {
      const len = Buffer.from(wrapped[field], 'base64').length;
      for (let byte = 0; byte < len; byte++) {
        for (const bit of [0, 7]) {
          const t: WrappedDataKey = { ...wrapped, [field]: flipped(wrapped[field], byte, bit) };
          expect(
            failure(() => unwrapKey(t, deviceA.x25519.privateKey, ctx)).reason,
            `${field}[${byte}] bit ${bit}`,
          ).toBe('unauthentic');
          tried++;
        }
      }
    }
    expect(tried).toBe(2 * (32 + 12 + 32 + 16));
  });

  it('refuses what is not a wrap of ours, and a low-order ephemeral key, without crashing', () => {
    const key = deviceA.x25519.privateKey;
    const ctx = { deviceId: 'dev-a', keyId: dk.keyId };
    const bad = (w: unknown): { reason: UnwrapFailure; message: string } =>
      failure(() => unwrapKey(w as WrappedDataKey, key, ctx));
    expect(bad({ ...wrapped, alg: 'X25519-HKDF-SHA256-A128GCM' }).message).toMatch(
      /alg is "X25519-HKDF-SHA256-A128GCM"/,
    );
    expect(bad({ ...wrapped, ct: wrapped.ct.slice(4) }).message).toMatch(
      /ct is 29 bytes, expected 32/,
    );
    expect(bad({ ...wrapped, iv: '!!!!' }).message).toMatch(/iv is not a base64 string/);
    expect(bad({ ...wrapped, kid: 'x' }).message).toMatch(/unexpected field kid/);
    expect(bad(null).reason).toBe('malformed');
    expect(() => decodeWrappedKey('e30=')).toThrow(/alg is undefined/); // "{}"
    expect(() => decodeWrappedKey('not base64!')).toThrow(KeyUnwrapError);
    expect(bad({ ...wrapped, epk: Buffer.alloc(32).toString('base64') }).reason).toBe(
      'unauthentic',
    );
  });
});

describe('the wrap agrees with openssl', () => {
  it('ECDH (pkeyutl -derive) and HKDF (openssl kdf) give the KEK that opens the wrap', () => {
    const dk = generateDataKey();
    const w = wrapKey(dk.key, deviceA.x25519.publicKey, ctxA);
    const epk = Buffer.from(w.epk, 'base64');
    // Raw X25519 public key → SPKI (RFC 8410: fixed 12-byte prefix).
    const spkiPrefix = Buffer.from('302a300506032b656e032100', 'hex');
    const epkPem = createPublicKey({
      key: Buffer.concat([spkiPrefix, epk]),
      format: 'der',
      type: 'spki',
    })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const sharedFile = `${tmp.dir}/shared.bin`;
    const derive = openssl([
      'pkeyutl',
      '-derive',
      '-inkey',
      tmp.file('device-a.key', exportDeviceKeys(deviceA).x25519),
      '-peerkey',
      tmp.file('epk.pem', epkPem),
      '-out',
      sharedFile,
    ]);
    expect(derive.status, derive.stderr).toBe(0);
    const shared = readFileSync(sharedFile);
    expect(shared.length).toBe(32);

    const rcpt = rawOf(devicePublicKeysPem(deviceA).x25519);
    const label = Buffer.from(`netmirror-key-wrap|${ctxA.deviceId}|${ctxA.keyId}`, 'utf8');
    const kdf = openssl([
      'kdf',
      '-keylen',
      '32',
      '-kdfopt',
      'digest:SHA256',
      '-kdfopt',
      `hexkey:${shared.toString('hex')}`,
      '-kdfopt',
      `hexsalt:${Buffer.concat([epk, rcpt]).toString('hex')}`,
      '-kdfopt',
      `hexinfo:${label.toString('hex')}`,
      'HKDF',
    ]);
    expect(kdf.status, kdf.stderr).toBe(0);
    const kek = Buffer.from(kdf.stdout.trim().replace(/:/g, ''), 'hex');
    expect(kek.length).toBe(32);

    const d = createDecipheriv('aes-256-gcm', kek, Buffer.from(w.iv, 'base64')).setAAD(label);
    d.setAuthTag(Buffer.from(w.tag, 'base64'));
    const opened = Buffer.concat([d.update(Buffer.from(w.ct, 'base64')), d.final()]);
    expect(opened.equals(dk.key)).toBe(true);
  });
});

function rawOf(spkiPem: string): Buffer {
  return createPublicKey(spkiPem).export({ type: 'spki', format: 'der' }).subarray(12);
}
