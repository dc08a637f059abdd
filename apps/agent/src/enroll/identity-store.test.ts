import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCa,
  createCsr,
  devicePublicKeysPem,
  fingerprint,
  generateDeviceKeys,
  signDeviceCertificate,
} from '@netmirror/crypto';
import type { CertificateAuthority } from '@netmirror/crypto';
import { writeFileAtomic } from './atomic-file.js';
import { IDENTITY_FILES, IdentityDamagedError, IdentityStore } from './identity-store.js';
import type { DeviceIdentity } from './identity-store.js';

/** An identity as enrollment would make it, signed by a real CA. */
async function identityFor(ca: CertificateAuthority, deviceId: string): Promise<DeviceIdentity> {
  const keys = generateDeviceKeys();
  const issued = await signDeviceCertificate(ca, await createCsr(keys, deviceId), {
    deviceId,
    validDays: 30,
    publicKey: devicePublicKeysPem(keys).tls,
  });
  return {
    deviceId,
    brokerUrl: 'mqtt://127.0.0.1:1883',
    fleetUrl: 'http://127.0.0.1:8080',
    keys,
    certificatePem: issued.certificatePem,
    caPem: ca.certificatePem,
    caFingerprint: fingerprint(new X509Certificate(ca.certificatePem).publicKey),
    enrolledAt: new Date().toISOString(),
  };
}

const mode = (path: string): number => statSync(path).mode & 0o777;

describe('IdentityStore', () => {
  let dir: string;
  let ca: CertificateAuthority;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'netmirror-identity-'));
    ca = await createCa({ commonName: 'Test Fleet CA', validDays: 30 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('stores an identity with private keys 0600 and loads the same identity back', async () => {
    const stateDir = join(dir, 'ok');
    const store = new IdentityStore(stateDir);
    expect(store.load()).toBeNull();
    const identity = await identityFor(ca, 'tap-07');
    store.save(identity);

    expect(readdirSync(stateDir).sort()).toEqual(Object.values(IDENTITY_FILES).sort());
    expect(mode(store.path('tlsKey'))).toBe(0o600);
    expect(mode(store.path('x25519Key'))).toBe(0o600);
    expect(readFileSync(store.path('tlsKey'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const loaded = new IdentityStore(stateDir).load();
    expect(loaded).not.toBeNull();
    expect(loaded).toMatchObject({
      deviceId: 'tap-07',
      brokerUrl: identity.brokerUrl,
      caFingerprint: identity.caFingerprint,
      certificatePem: identity.certificatePem,
    });
    expect(devicePublicKeysPem(loaded!.keys)).toEqual(devicePublicKeysPem(identity.keys));
  });

  it('treats an identity whose identity.json was never written as absent', async () => {
    const stateDir = join(dir, 'half');
    const store = new IdentityStore(stateDir);
    store.save(await identityFor(ca, 'tap-08'));
    rmSync(store.path('manifest')); // a crash before the commit mark
    expect(store.exists()).toBe(false);
    expect(store.load()).toBeNull();
  });

  it('refuses a damaged identity, naming the file', async () => {
    const stateDir = join(dir, 'damaged');
    const store = new IdentityStore(stateDir);
    store.save(await identityFor(ca, 'tap-09'));
    const other = await identityFor(ca, 'tap-10');
    writeFileSync(store.path('certificate'), other.certificatePem);
    expect(() => store.load()).toThrow(IdentityDamagedError);
    expect(() => store.load()).toThrow(/device\.pem: certifies another key/);
    rmSync(store.path('x25519Key'));
    expect(() => store.load()).toThrow(/device-x25519\.key: ENOENT/);
  });

  it('writes nothing for an identity whose parts do not belong together', async () => {
    const stateDir = join(dir, 'refused');
    const a = await identityFor(ca, 'tap-11');
    const foreignCa = await createCa({ commonName: 'Other CA', validDays: 30 });
    const b = await identityFor(foreignCa, 'tap-11');
    const store = new IdentityStore(stateDir);
    expect(() => store.save({ ...a, certificatePem: b.certificatePem })).toThrow(
      /not signed by the fleet CA/,
    );
    expect(() => store.save({ ...a, deviceId: 'tap-12' })).toThrow(/names device tap-11/);
    expect(() => readdirSync(stateDir)).toThrow(/ENOENT/);
  });

  it('writes files atomically with their mode from the start and leaves no temporary file', () => {
    const path = join(dir, 'secret.key');
    writeFileSync(`${path}.tmp-${process.pid}`, 'left over by a crash', { mode: 0o644 });
    writeFileAtomic(path, 'first', 0o600);
    writeFileAtomic(path, 'second', 0o600);
    expect(readFileSync(path, 'utf8')).toBe('second');
    expect(mode(path)).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });
});
