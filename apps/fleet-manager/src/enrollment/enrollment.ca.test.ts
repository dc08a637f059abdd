// The CertificateAuthority seam: its call site signs at enrollment, and a CSR
// it refuses rolls the whole enrollment back (token still unused, no device).
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { startFleetManager, type FleetManagerHandle } from '../main.js';
import { client } from '../testing/http.js';
import {
  InvalidCsrError,
  type CertificateAuthority,
  type DeviceCertificateRequest,
} from './certificate-authority.js';

const keys = {
  tls: generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  x25519: generateKeyPairSync('x25519')
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString(),
};
const csrPem = '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n';

describe('enrollment with a certificate authority', () => {
  let fm: FleetManagerHandle | undefined;
  afterEach(async () => fm?.close());

  it('stores the certificate the CA signs, or refuses the CSR and changes nothing', async () => {
    const seen: DeviceCertificateRequest[] = [];
    const ca: CertificateAuthority = {
      async signDeviceCertificate(req) {
        seen.push(req);
        if (req.deviceId === 'refused')
          throw new InvalidCsrError('CSR key does not match publicKeys.tls');
        return `CERT FOR ${req.deviceId}`;
      },
    };
    fm = await startFleetManager({
      databaseUrl: 'sqlite::memory:',
      embeddedBrokerPort: 0,
      httpPort: 0,
      logger: false,
      certificateAuthority: ca,
    });
    const api = client(fm.url);
    const token = (
      (await api('POST', '/enrollment-tokens', { ttlSeconds: 600 })).body as { token: string }
    ).token;

    const refused = await api('POST', '/enroll', {
      token,
      deviceId: 'refused',
      csrPem,
      publicKeys: keys,
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ field: 'csrPem' });
    expect((await api('GET', '/devices')).body).toMatchObject({ total: 0 });
    expect((await api('GET', '/enrollment-tokens')).body).toMatchObject([{ state: 'unused' }]);

    const ok = await api('POST', '/enroll', {
      token,
      deviceId: 'tap-07',
      csrPem,
      publicKeys: keys,
    });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ id: 'tap-07', certificatePem: 'CERT FOR tap-07' });
    expect(seen.map((r) => r.deviceId)).toEqual(['refused', 'tap-07']);
    expect(seen[1]).toMatchObject({ csrPem, publicKeyPem: keys.tls });

    // This CA publishes no certificate: nothing to serve at /ca.pem, and no fleet CA was created.
    expect((await api('GET', '/ca.pem')).status).toBe(404);
    expect(
      (
        (await api('GET', '/audit?limit=500')).body as { items: Array<{ action: string }> }
      ).items.map((a) => a.action),
    ).not.toContain('ca.create');
  });
});
