// @netmirror/crypto: device identity, the fleet CA, and data keys wrapped to
// one device. See README.md for formats and algorithms.
export {
  type CaOptions,
  type CertificateAuthority,
  type StoredCertificateAuthority,
  createCa,
  exportCa,
  loadCa,
} from './ca.js';
export { createCsr } from './csr.js';
export { type DataKey, DATA_KEY_BYTES, generateDataKey } from './data-key.js';
export {
  type DeviceCertificateOptions,
  deviceIdFromCertificate,
  signDeviceCertificate,
} from './device-certificate.js';
export {
  CsrRejectedError,
  KeyUnwrapError,
  NoUsableKeyError,
  type UnwrapFailure,
} from './errors.js';
export type { IssuedCertificate } from './issue.js';
export { KeyRing, type RingKey } from './key-ring.js';
export {
  decodeWrappedKey,
  encodeWrappedKey,
  unwrapKey,
  WRAP_ALG,
  type WrapContext,
  type WrappedDataKey,
  wrapKey,
} from './key-wrap.js';
export {
  type DeviceKeys,
  type DeviceKeysPem,
  devicePublicKeysPem,
  exportDeviceKeys,
  exportPrivateKeyPem,
  exportPublicKeyPem,
  fingerprint,
  generateDeviceKeys,
  importDeviceKeys,
  importPrivateKey,
  importPublicKey,
  type KeyKind,
  type KeyPair,
} from './keys.js';
export { DEVICE_URN_PREFIX, deviceUrn, isValidDeviceId, isValidKeyId } from './names.js';
export {
  createServerCertificate,
  createServiceClientCertificate,
  type ServerCertificateOptions,
  type ServiceClientCertificateOptions,
  type ServerCredentials,
} from './server-certificate.js';
