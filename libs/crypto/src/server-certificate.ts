// Server certificates for the MQTT broker and the fleet manager's TLS
// endpoints: a fresh ECDSA P-256 key, serverAuth only, and every name the
// clients dial as a SAN (DNS names as dNSName, IP literals as iPAddress;
// clients check SANs, never the CN).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import type { CertificateAuthority } from './ca.js';
import { issueCertificate, type IssuedCertificate } from './issue.js';
import { exportPrivateKeyPem } from './keys.js';
import { isValidDeviceId } from './names.js';
import { x509 } from './x509.js';

const DNS_NAME =
  /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export interface ServerCertificateOptions {
  /** DNS names and IP addresses, e.g. ['localhost', '127.0.0.1', 'fleet.example.net']. */
  hostnames: string[];
  /** Default 397 days, the longest browsers accept. */
  validDays?: number;
}

export interface ServerCredentials extends IssuedCertificate {
  privateKey: KeyObject;
  /** PKCS#8 PEM, for node:tls `key` or a broker's keyfile. */
  privateKeyPem: string;
}

export async function createServerCertificate(
  ca: CertificateAuthority,
  opts: ServerCertificateOptions,
): Promise<ServerCredentials> {
  if (opts.hostnames.length === 0)
    throw new TypeError('hostnames must name at least one DNS name or IP address');
  const names = opts.hostnames.map(generalName);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const first = opts.hostnames[0];
  const issued = await issueCertificate({
    ca,
    subject: [{ CN: [first.length <= 64 ? first : 'netmirror server'] }],
    publicKey,
    validDays: opts.validDays ?? 397,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
    ],
  });
  return { ...issued, privateKey, privateKeyPem: exportPrivateKeyPem(privateKey) };
}

function generalName(host: string): x509.JsonGeneralName {
  if (isIP(host) !== 0) return { type: 'ip', value: host };
  if (host.length > 253 || !DNS_NAME.test(host))
    throw new TypeError(`not a DNS name or IP address: ${JSON.stringify(host)}`);
  return { type: 'dns', value: host.toLowerCase() };
}

export interface ServiceClientCertificateOptions {
  /**
   * Subject CN: the identity a broker reads (Mosquitto
   * `use_identity_as_username`). Give it a character device ids cannot have
   * (`:`), so it can never be confused with a device (e.g. `netmirror:fleet-manager`).
   */
  commonName: string;
  /** Default 397 days. */
  validDays?: number;
}

/**
 * A client certificate for a service of the fleet (the fleet manager's own
 * MQTT session): a fresh ECDSA P-256 key, clientAuth only, CN = the identity,
 * and no device URN, so deviceIdFromCertificate() returns null for it.
 */
export async function createServiceClientCertificate(
  ca: CertificateAuthority,
  opts: ServiceClientCertificateOptions,
): Promise<ServerCredentials> {
  if (opts.commonName.length < 1 || opts.commonName.length > 64)
    throw new TypeError('commonName must be 1..64 characters');
  if (isValidDeviceId(opts.commonName))
    throw new TypeError(
      `commonName ${JSON.stringify(opts.commonName)} could be a device id: give it a ':'`,
    );
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issued = await issueCertificate({
    ca,
    subject: [{ CN: [opts.commonName] }],
    publicKey,
    validDays: opts.validDays ?? 397,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  return { ...issued, privateKey, privateKeyPem: exportPrivateKeyPem(privateKey) };
}
