// A server certificate for an external MQTT broker (Mosquitto with
// deploy/mosquitto/), issued by the fleet CA read from the fleet manager's
// database. A local operation for whoever can read the database (and so the
// CA key anyway): tools/fleet-ca/issue-broker-cert.mjs calls it. It is
// deliberately not a REST route, which would need authentication first.
import { createServerCertificate, loadCa } from '@netmirror/crypto';
import { DataSource } from 'typeorm';
import { dataSourceOptionsFromUrl } from '../database/data-source.js';
import {
  CertificateAuthorityRecord,
  FLEET_CA_ID,
} from '../enrollment/certificate-authority.entity.js';

export interface BrokerCertificate {
  /** The fleet CA certificate: the broker's `cafile` (clients' certificates chain to it). */
  caPem: string;
  /** The broker's `certfile`. */
  certificatePem: string;
  /** The broker's `keyfile` (PKCS#8 PEM; keep it 0600). */
  privateKeyPem: string;
  notAfter: Date;
}

/**
 * Issues a broker server certificate (serverAuth; `hostnames` as SANs, the
 * names devices and the fleet manager dial) from the fleet CA in
 * `databaseUrl`. The fleet manager must have started once (that creates the CA).
 */
export async function issueBrokerCertificate(
  databaseUrl: string,
  hostnames: string[],
  validDays = 397,
): Promise<BrokerCertificate> {
  const ds = new DataSource({ ...dataSourceOptionsFromUrl(databaseUrl), migrationsRun: false });
  await ds.initialize();
  try {
    const row = await ds.getRepository(CertificateAuthorityRecord).findOneBy({ id: FLEET_CA_ID });
    if (!row)
      throw new Error('no fleet CA in this database: start the fleet manager on it once first');
    const ca = loadCa({ certificatePem: row.certificatePem, privateKeyPem: row.privateKeyPem });
    const cert = await createServerCertificate(ca, { hostnames, validDays });
    return {
      caPem: ca.certificatePem,
      certificatePem: cert.certificatePem,
      privateKeyPem: cert.privateKeyPem,
      notAfter: cert.notAfter,
    };
  } finally {
    await ds.destroy();
  }
}
