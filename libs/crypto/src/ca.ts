// The fleet manager's CA: a self-signed ECDSA P-256 root that signs device
// client certificates and the broker's / fleet manager's server certificates.
// One level, no intermediates: the fleet is one trust domain and the root key
// lives with the fleet manager (pathLength 0 says so to verifiers).
import { generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { validity } from './issue.js';
import { exportPrivateKeyPem, importPrivateKey } from './keys.js';
import { ECDSA_SHA256, randomSerial, toCryptoKeyPair } from './webcrypto.js';
import { x509 } from './x509.js';

export interface CertificateAuthority {
  certificatePem: string;
  privateKey: KeyObject;
}

/** What the fleet manager stores (encrypt privateKeyPem at rest). */
export interface StoredCertificateAuthority {
  certificatePem: string;
  privateKeyPem: string;
}

export interface CaOptions {
  commonName: string;
  validDays: number;
}

export async function createCa(opts: CaOptions): Promise<CertificateAuthority> {
  if (opts.commonName.length < 1 || opts.commonName.length > 64) {
    throw new TypeError('commonName must be 1..64 characters');
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keys = await toCryptoKeyPair(privateKey);
  const { notBefore, notAfter } = validity(opts.validDays, Date.now());
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [opts.commonName] }],
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificatePem: cert.toString('pem'), privateKey };
}

export function exportCa(ca: CertificateAuthority): StoredCertificateAuthority {
  return { certificatePem: ca.certificatePem, privateKeyPem: exportPrivateKeyPem(ca.privateKey) };
}

/** Loads a stored CA, checking the certificate is a CA and the key is its key. */
export function loadCa(stored: StoredCertificateAuthority): CertificateAuthority {
  const cert = new X509Certificate(stored.certificatePem);
  if (!cert.ca)
    throw new TypeError(`certificate ${cert.subject} is not a CA (basicConstraints CA:FALSE)`);
  const privateKey = importPrivateKey(stored.privateKeyPem, 'ecdsa-p256');
  if (!cert.checkPrivateKey(privateKey))
    throw new TypeError('the CA private key does not match its certificate');
  return { certificatePem: cert.toString(), privateKey };
}
