// The seam where libs/crypto plugs in. Enrollment calls signDeviceCertificate
// inside the enrollment transaction: if signing fails, the device is not
// created and the token stays unused. A device that sends no CSR enrolls with
// certificatePem = null.
//
// By default the fleet manager runs its own CA (CryptoCertificateAuthority,
// created on first start and kept in the database: see ca-store.ts); the
// `certificateAuthority` option replaces it with any implementation of this
// interface.
export interface DeviceCertificateRequest {
  deviceId: string;
  /** PKCS#10 CSR, PEM. Its public key must match publicKeyPem. */
  csrPem: string;
  /** The device's TLS public key (SPKI PEM) it declared at enrollment. */
  publicKeyPem: string;
}

export interface CertificateAuthority {
  /** Returns the device certificate (PEM); throws InvalidCsrError for a CSR it refuses. */
  signDeviceCertificate(request: DeviceCertificateRequest): Promise<string>;
  /** The CA certificate (PEM) devices verify servers with; served at GET /ca.pem. Absent: that route answers 404. */
  readonly certificatePem?: string;
}

/** DI token of the CertificateAuthority enrollment uses. */
export const CERTIFICATE_AUTHORITY = Symbol('CERTIFICATE_AUTHORITY');

export class InvalidCsrError extends Error {
  override name = 'InvalidCsrError';
}
