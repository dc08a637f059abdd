// The fleet manager's CertificateAuthority backed by @netmirror/crypto: the CSR
// checks (signature, CN == deviceId, ECDSA key, key == the declared TLS key)
// and the certificate profile are libs/crypto's; this adapter maps its
// refusals to InvalidCsrError (400 on csrPem).
import { X509Certificate } from 'node:crypto';
import {
  createServerCertificate,
  createServiceClientCertificate,
  CsrRejectedError,
  fingerprint,
  signDeviceCertificate,
  type ServerCredentials,
  type CertificateAuthority as CryptoCa,
} from '@netmirror/crypto';
import {
  InvalidCsrError,
  type CertificateAuthority,
  type DeviceCertificateRequest,
} from './certificate-authority.js';

export const DEFAULT_DEVICE_CERTIFICATE_VALID_DAYS = 397;

/**
 * The CA pin: SHA-256 of the CA certificate's public key (SPKI DER), `AB:CD:…`,
 * from libs/crypto's fingerprint(). Equal to `openssl x509 -pubkey -noout |
 * openssl pkey -pubin -outform DER | sha256sum`; it is not the certificate's
 * `openssl x509 -fingerprint -sha256`.
 */
export function caFingerprint(certificatePem: string): string {
  return fingerprint(new X509Certificate(certificatePem).publicKey);
}

export class CryptoCertificateAuthority implements CertificateAuthority {
  readonly certificatePem: string;
  /** caFingerprint() of the CA certificate. */
  readonly fingerprint: string;

  constructor(
    private readonly ca: CryptoCa,
    private readonly deviceCertificateValidDays = DEFAULT_DEVICE_CERTIFICATE_VALID_DAYS,
  ) {
    // Node's serialisation, as loadCa returns it: the same bytes whether the CA
    // was just created (@peculiar/x509 PEM, no final newline) or reloaded.
    this.certificatePem = new X509Certificate(ca.certificatePem).toString();
    this.fingerprint = caFingerprint(ca.certificatePem);
  }

  async signDeviceCertificate(request: DeviceCertificateRequest): Promise<string> {
    try {
      const issued = await signDeviceCertificate(this.ca, request.csrPem, {
        deviceId: request.deviceId,
        validDays: this.deviceCertificateValidDays,
        publicKey: request.publicKeyPem,
      });
      return issued.certificatePem;
    } catch (e) {
      if (e instanceof CsrRejectedError) throw new InvalidCsrError(e.message);
      throw e;
    }
  }

  /** A server certificate (serverAuth, the names as SANs) for the embedded MQTT broker (mqttTls). */
  issueServerCertificate(hostnames: string[]): Promise<ServerCredentials> {
    return createServerCertificate(this.ca, { hostnames });
  }

  /** A client certificate for a fleet service identity (CN with a ':', never a device id). */
  issueServiceClientCertificate(commonName: string): Promise<ServerCredentials> {
    return createServiceClientCertificate(this.ca, { commonName });
  }
}
