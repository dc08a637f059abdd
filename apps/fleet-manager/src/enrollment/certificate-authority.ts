// The seam where libs/crypto plugs in. Enrollment calls signDeviceCertificate
// inside the enrollment transaction: if signing fails, the device is not
// created and the token stays unused. With no CA configured, a device enrolls
// with certificatePem = null (the CSR is not kept) and gets its certificate
// once a CA exists (not built yet).
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
}

export class InvalidCsrError extends Error {
  override name = 'InvalidCsrError';
}
