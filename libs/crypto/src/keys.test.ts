import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  devicePublicKeysPem,
  exportDeviceKeys,
  fingerprint,
  generateDeviceKeys,
  importDeviceKeys,
  importPublicKey,
} from './index.js';
import { openssl, scratch } from './test-support/openssl.js';

const tmp = scratch();
afterAll(() => tmp.remove());

describe('device keys', () => {
  const keys = generateDeviceKeys();

  it('are an ECDSA P-256 TLS key and an X25519 key', () => {
    expect(keys.tls.privateKey.asymmetricKeyType).toBe('ec');
    expect(keys.tls.privateKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(keys.x25519.privateKey.asymmetricKeyType).toBe('x25519');
  });

  it('export as PKCS#8 / SPKI PEM that openssl reads, and import back', () => {
    const priv = exportDeviceKeys(keys);
    const pub = devicePublicKeysPem(keys);
    expect(priv.tls).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(pub.x25519).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const text = openssl(['pkey', '-in', tmp.file('tls.key', priv.tls), '-noout', '-text']);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('NIST CURVE: P-256');
    expect(
      openssl(['pkey', '-pubin', '-in', tmp.file('x.pub', pub.x25519), '-noout', '-text']).stdout,
    ).toContain('X25519 Public-Key');

    const back = importDeviceKeys(priv);
    expect(devicePublicKeysPem(back)).toEqual(pub);
  });

  it('refuse a key of the wrong kind', () => {
    const priv = exportDeviceKeys(keys);
    expect(() => importDeviceKeys({ tls: priv.x25519, x25519: priv.tls })).toThrow(
      /expected an ecdsa-p256 key, got x25519/,
    );
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    expect(() => importPublicKey(p384, 'ecdsa-p256')).toThrow(/got ecdsa-p384/);
  });

  it('fingerprint is SHA-256 of the SPKI DER as openssl prints it', () => {
    const pem = devicePublicKeysPem(keys).tls;
    const der = `${tmp.dir}/tls.pub.der`;
    expect(
      openssl(['pkey', '-pubin', '-in', tmp.file('tls.pub', pem), '-outform', 'DER', '-out', der])
        .status,
    ).toBe(0);
    const viaOpenssl = openssl(['dgst', '-sha256', '-c', der]);
    // `-c` prints "SHA2-256(…/tls.pub.der)= ab:cd:…"
    const expected = viaOpenssl.stdout.trim().split('= ')[1].toUpperCase();
    expect(fingerprint(pem)).toBe(expected);
    expect(fingerprint(keys.tls.publicKey)).toBe(expected);
    expect(fingerprint(createPublicKey(pem).export({ type: 'spki', format: 'der' }))).toBe(
      expected,
    );
    expect(expected).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });
});
