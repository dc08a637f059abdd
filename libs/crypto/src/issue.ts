// Certificate issuance shared by the CA's three products (its own root, device
// client certificates, server certificates).
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { CertificateAuthority } from './ca.js';
import { ECDSA_SHA256, randomSerial, toCryptoPublicKey, toCryptoSigningKey } from './webcrypto.js';
import { x509 } from './x509.js';

const DAY_MS = 86_400_000;
/** Certificates start 5 minutes in the past, for appliances whose clock lags. */
export const BACKDATE_MS = 5 * 60_000;
const MAX_VALID_DAYS = 36_500;

export interface IssuedCertificate {
  certificatePem: string;
  /** Lowercase hex, as `openssl x509 -serial` shows it (modulo case). */
  serialNumber: string;
  /** SHA-256 of the certificate DER, `AB:CD:…` (= Node's `fingerprint256`). */
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
}

export function validity(
  validDays: number,
  now: number,
  cap?: Date,
): { notBefore: Date; notAfter: Date } {
  if (!Number.isFinite(validDays) || validDays <= 0 || validDays > MAX_VALID_DAYS) {
    throw new TypeError(`validDays must be in (0, ${MAX_VALID_DAYS}], got ${validDays}`);
  }
  const notBefore = new Date(Math.floor((now - BACKDATE_MS) / 1000) * 1000);
  let notAfter = new Date(Math.floor((now + validDays * DAY_MS) / 1000) * 1000);
  if (cap && notAfter > cap) notAfter = cap;
  return { notBefore, notAfter };
}

export interface IssueParams {
  ca: CertificateAuthority;
  subject: x509.JsonName;
  publicKey: KeyObject;
  validDays: number;
  extensions: x509.Extension[];
}

/** Signs `publicKey` into a certificate by the CA, adding SKI and AKI. */
export async function issueCertificate(p: IssueParams): Promise<IssuedCertificate> {
  const caCert = new x509.X509Certificate(p.ca.certificatePem);
  const { notBefore, notAfter } = validity(p.validDays, Date.now(), caCert.notAfter);
  const publicKey = await toCryptoPublicKey(p.publicKey);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: p.subject,
    issuer: caCert.subjectName,
    notBefore,
    notAfter,
    publicKey,
    signingKey: await toCryptoSigningKey(p.ca.privateKey),
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      ...p.extensions,
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(
        await toCryptoPublicKey(createPublicKey(p.ca.privateKey)),
      ),
    ],
  });
  return describeIssued(cert.toString('pem'));
}

export function describeIssued(certificatePem: string): IssuedCertificate {
  const c = new X509Certificate(certificatePem);
  return {
    certificatePem,
    serialNumber: c.serialNumber.toLowerCase(),
    fingerprint: c.fingerprint256,
    notBefore: new Date(c.validFrom),
    notAfter: new Date(c.validTo),
  };
}
