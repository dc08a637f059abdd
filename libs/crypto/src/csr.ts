// The appliance asks for its certificate with a PKCS#10 request signed by its
// TLS key, subject CN={deviceId}. The request carries no extensions: the CA
// decides every extension of the certificate itself.
import type { DeviceKeys } from './keys.js';
import { requireDeviceId } from './names.js';
import { ECDSA_SHA256, toCryptoKeyPair } from './webcrypto.js';
import { x509 } from './x509.js';

/** A PEM "CERTIFICATE REQUEST" for the device's TLS key. */
export async function createCsr(keys: DeviceKeys, deviceId: string): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [requireDeviceId(deviceId)] }],
    keys: await toCryptoKeyPair(keys.tls.privateKey),
    signingAlgorithm: ECDSA_SHA256,
  });
  return csr.toString('pem');
}
