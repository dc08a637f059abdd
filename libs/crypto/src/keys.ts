// A device's own keys, generated on the appliance and never leaving it:
// - tls:    ECDSA P-256, the key of its TLS client certificate (MQTT mTLS,
//           mirrored streams). P-256 because every TLS stack, broker and HSM
//           takes it.
// - x25519: X25519, the key data keys are wrapped to. Kept apart from the TLS
//           key so neither key serves two protocols.
// Public keys travel as SPKI PEM, private keys are stored as PKCS#8 PEM.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';

export interface KeyPair {
  publicKey: KeyObject;
  privateKey: KeyObject;
}

export interface DeviceKeys {
  tls: KeyPair;
  x25519: KeyPair;
}

/** One PEM per key: SPKI for public keys, PKCS#8 for private keys. */
export interface DeviceKeysPem {
  tls: string;
  x25519: string;
}

export type KeyKind = 'ecdsa-p256' | 'x25519';

export function generateDeviceKeys(): DeviceKeys {
  return {
    tls: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    x25519: generateKeyPairSync('x25519'),
  };
}

/** The public halves, as the device declares them at enrollment. */
export function devicePublicKeysPem(keys: DeviceKeys): DeviceKeysPem {
  return {
    tls: exportPublicKeyPem(keys.tls.publicKey),
    x25519: exportPublicKeyPem(keys.x25519.publicKey),
  };
}

/** The private halves, for the appliance's key store (write them 0600). */
export function exportDeviceKeys(keys: DeviceKeys): DeviceKeysPem {
  return {
    tls: exportPrivateKeyPem(keys.tls.privateKey),
    x25519: exportPrivateKeyPem(keys.x25519.privateKey),
  };
}

/** Reads back what exportDeviceKeys wrote; each key must be of its kind. */
export function importDeviceKeys(pem: DeviceKeysPem): DeviceKeys {
  const tls = importPrivateKey(pem.tls, 'ecdsa-p256');
  const x25519 = importPrivateKey(pem.x25519, 'x25519');
  return {
    tls: { privateKey: tls, publicKey: createPublicKey(tls) },
    x25519: { privateKey: x25519, publicKey: createPublicKey(x25519) },
  };
}

export function exportPublicKeyPem(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'pem' }).toString();
}

export function exportPrivateKeyPem(key: KeyObject): string {
  if (key.type !== 'private') throw new TypeError(`expected a private key, got a ${key.type} key`);
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** An SPKI public key (PEM, DER or a KeyObject), checked to be of `kind`. */
export function importPublicKey(key: string | Uint8Array | KeyObject, kind: KeyKind): KeyObject {
  let k: KeyObject;
  if (typeof key === 'string') k = createPublicKey({ key, format: 'pem' });
  else if (key instanceof Uint8Array)
    k = createPublicKey({ key: Buffer.from(key), format: 'der', type: 'spki' });
  else k = key.type === 'private' ? createPublicKey(key) : key;
  if (k.type !== 'public') throw new TypeError(`expected a public key, got a ${k.type} key`);
  return requireKind(k, kind);
}

/** A PKCS#8 (or SEC1) private key PEM, checked to be of `kind`. */
export function importPrivateKey(pem: string, kind: KeyKind): KeyObject {
  return requireKind(createPrivateKey({ key: pem, format: 'pem' }), kind);
}

export function requireKind(key: KeyObject, kind: KeyKind): KeyObject {
  const actual = describeKey(key);
  if (actual !== kind) throw new TypeError(`expected an ${kind} key, got ${actual}`);
  return key;
}

export function describeKey(key: KeyObject): string {
  const type = key.asymmetricKeyType ?? 'secret';
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    return curve === 'prime256v1'
      ? 'ecdsa-p256'
      : curve === 'secp384r1'
        ? 'ecdsa-p384'
        : `ec ${curve ?? '?'}`;
  }
  return type;
}

/**
 * SHA-256 over the DER SubjectPublicKeyInfo, as colon-separated uppercase hex
 * (`AB:CD:…`, the form of `openssl x509 -fingerprint` and Node's
 * `fingerprint256`). Takes the key, its SPKI DER, or its PEM.
 */
export function fingerprint(spki: KeyObject | Uint8Array | string): string {
  const der = spki instanceof Uint8Array ? spki : spkiDer(spki);
  return colonHex(createHash('sha256').update(der).digest());
}

export function spkiDer(key: KeyObject | string): Buffer {
  const k = typeof key === 'string' ? createPublicKey({ key, format: 'pem' }) : key;
  const pub = k.type === 'private' ? createPublicKey(k) : k;
  return pub.export({ type: 'spki', format: 'der' });
}

export function colonHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}
