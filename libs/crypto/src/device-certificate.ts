// Device client certificates: the fleet manager checks the request, then
// certifies the device's TLS key for client authentication only, naming the
// device twice: CN={deviceId} (what brokers' ACLs usually read) and the URI
// SAN urn:netmirror:device:{deviceId} (the RFC 5280 place for an identity).
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { CertificateAuthority } from './ca.js';
import { CsrRejectedError } from './errors.js';
import { issueCertificate, type IssuedCertificate } from './issue.js';
import { describeKey, spkiDer } from './keys.js';
import { DEVICE_URN_PREFIX, deviceUrn, isValidDeviceId, requireDeviceId } from './names.js';
import { x509 } from './x509.js';

const MAX_CSR_CHARS = 16_384;
const ACCEPTED_KEYS = new Set(['ecdsa-p256', 'ecdsa-p384']);

export interface DeviceCertificateOptions {
  deviceId: string;
  validDays: number;
  /** The TLS public key the device declared at enrollment; the CSR's key must be it. */
  publicKey?: KeyObject | string;
}

/**
 * Verifies the CSR (its self-signature, CN == deviceId, an ECDSA P-256/P-384
 * key, and the declared key if given) and issues a client certificate.
 * Throws CsrRejectedError saying why a request is refused.
 */
export async function signDeviceCertificate(
  ca: CertificateAuthority,
  csrPem: string,
  opts: DeviceCertificateOptions,
): Promise<IssuedCertificate> {
  const deviceId = requireDeviceId(opts.deviceId);
  const csr = parseCsr(csrPem);
  const key = csrPublicKey(csr);
  if (!(await verifyCsr(csr))) throw new CsrRejectedError('the CSR signature does not verify');
  const cns = csr.subjectName.getField('CN');
  if (cns.length !== 1)
    throw new CsrRejectedError(`the CSR subject must have exactly one CN, it has ${cns.length}`);
  if (cns[0] !== deviceId) {
    throw new CsrRejectedError(
      `the CSR is for CN=${JSON.stringify(cns[0])}, not device ${JSON.stringify(deviceId)}`,
    );
  }
  if (opts.publicKey !== undefined && !spkiDer(opts.publicKey).equals(spkiDer(key))) {
    throw new CsrRejectedError("the CSR's key is not the TLS key the device declared");
  }
  return issueCertificate({
    ca,
    subject: [{ CN: [deviceId] }],
    publicKey: key,
    validDays: opts.validDays,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: deviceUrn(deviceId) }]),
    ],
  });
}

function parseCsr(csrPem: string): x509.Pkcs10CertificateRequest {
  if (csrPem.length > MAX_CSR_CHARS)
    throw new CsrRejectedError(`the CSR is over ${MAX_CSR_CHARS} characters`);
  if (!/^\s*-----BEGIN CERTIFICATE REQUEST-----/.test(csrPem)) {
    throw new CsrRejectedError('not a PEM "CERTIFICATE REQUEST"');
  }
  try {
    return new x509.Pkcs10CertificateRequest(csrPem);
  } catch (e) {
    throw new CsrRejectedError(`not a parseable PKCS#10 request: ${(e as Error).message}`);
  }
}

function csrPublicKey(csr: x509.Pkcs10CertificateRequest): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
  } catch {
    throw new CsrRejectedError("the CSR's public key cannot be parsed");
  }
  const kind = describeKey(key);
  if (!ACCEPTED_KEYS.has(kind))
    throw new CsrRejectedError(`the CSR's key is ${kind}, expected ECDSA P-256 or P-384`);
  return key;
}

async function verifyCsr(csr: x509.Pkcs10CertificateRequest): Promise<boolean> {
  try {
    return await csr.verify();
  } catch {
    return false;
  }
}

/**
 * The device a client certificate names (PEM, or DER as in
 * `tlsSocket.getPeerCertificate().raw`): the id in its one
 * urn:netmirror:device: URI SAN, which must equal its CN. Null if it names
 * no device or names it inconsistently. Does not verify the chain: call it
 * on a certificate node:tls (or the broker) has already verified.
 */
export function deviceIdFromCertificate(cert: string | Uint8Array): string | null {
  let c: X509Certificate;
  try {
    c = new X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert));
  } catch {
    return null;
  }
  const urns = (c.subjectAltName ?? '')
    .split(', ')
    .filter((n) => n.startsWith(`URI:${DEVICE_URN_PREFIX}`))
    .map((n) => n.slice(`URI:${DEVICE_URN_PREFIX}`.length));
  if (urns.length !== 1 || !isValidDeviceId(urns[0])) return null;
  return c.subject === `CN=${urns[0]}` ? urns[0] : null;
}
