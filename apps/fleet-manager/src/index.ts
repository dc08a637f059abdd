// @netmirror/fleet-manager: the NestJS fleet manager. Start it with startFleetManager().
export { startFleetManager, type FleetManagerHandle, type FleetManagerOptions } from './main.js';
export {
  InvalidCsrError,
  type CertificateAuthority,
  type DeviceCertificateRequest,
} from './enrollment/certificate-authority.js';
export {
  caFingerprint,
  CryptoCertificateAuthority,
} from './enrollment/crypto-certificate-authority.js';
export { dataSourceOptionsFromUrl } from './database/data-source.js';
export { FLEET_MANAGER_IDENTITY } from './broker/mqtt-acl.js';
export { issueBrokerCertificate, type BrokerCertificate } from './broker/broker-certificate.js';
