// Bridges node:crypto KeyObjects (what the rest of the code and node:tls use)
// to WebCrypto CryptoKeys (what @peculiar/x509 signs with).
import { createPublicKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { describeKey } from './keys.js';

/** ECDSA with SHA-256 over P-256: the signature of every certificate and CSR here. */
export const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

function ecParams(key: KeyObject): webcrypto.EcKeyImportParams {
  const kind = describeKey(key);
  if (kind === 'ecdsa-p256') return { name: 'ECDSA', namedCurve: 'P-256' };
  if (kind === 'ecdsa-p384') return { name: 'ECDSA', namedCurve: 'P-384' };
  throw new TypeError(`expected an ECDSA P-256 or P-384 key, got ${kind}`);
}

export async function toCryptoPublicKey(key: KeyObject): Promise<webcrypto.CryptoKey> {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ type: 'spki', format: 'der' });
  return webcrypto.subtle.importKey('spki', der, ecParams(pub), true, ['verify']);
}

export async function toCryptoSigningKey(key: KeyObject): Promise<webcrypto.CryptoKey> {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, ecParams(key), false, ['sign']);
}

export async function toCryptoKeyPair(privateKey: KeyObject): Promise<webcrypto.CryptoKeyPair> {
  return {
    privateKey: await toCryptoSigningKey(privateKey),
    publicKey: await toCryptoPublicKey(privateKey),
  };
}

/**
 * A random positive certificate serial: 16 bytes (127 bits of entropy, well
 * over the 64 the CA/Browser Forum asks for), top bit clear so the DER
 * INTEGER is positive without padding, first byte non-zero so it is minimal.
 */
export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x01;
  return b.toString('hex');
}
