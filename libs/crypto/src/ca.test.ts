import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CertificateAuthority,
  createCa,
  createCsr,
  createServerCertificate,
  CsrRejectedError,
  deviceIdFromCertificate,
  devicePublicKeysPem,
  exportCa,
  generateDeviceKeys,
  loadCa,
  signDeviceCertificate,
} from './index.js';
import { openssl, scratch } from './test-support/openssl.js';

const tmp = scratch();
let ca: CertificateAuthority;
let caFile: string;

beforeAll(async () => {
  ca = await createCa({ commonName: 'NetMirror Test Fleet CA', validDays: 3650 });
  caFile = tmp.file('ca.pem', ca.certificatePem);
});
afterAll(() => tmp.remove());

function x509Text(pem: string, name: string): string {
  const r = openssl(['x509', '-in', tmp.file(name, pem), '-noout', '-text']);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

function verify(pem: string, name: string, ...extra: string[]): { ok: boolean; out: string } {
  const r = openssl(['verify', '-CAfile', caFile, ...extra, tmp.file(name, pem)]);
  return { ok: r.status === 0, out: r.stdout + r.stderr };
}

/** PEM → DER → edit → PEM, for tampering. */
function editPem(pem: string, label: string, edit: (der: Buffer) => void): string {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  edit(der);
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

describe('the fleet CA', () => {
  it('is a self-signed ECDSA P-256 root limited to signing certificates and CRLs', () => {
    const text = x509Text(ca.certificatePem, 'ca-text.pem');
    expect(text).toContain('Subject: CN = NetMirror Test Fleet CA');
    expect(text).toContain('Issuer: CN = NetMirror Test Fleet CA');
    expect(text).toContain('ecdsa-with-SHA256');
    expect(text).toContain('NIST CURVE: P-256');
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(verify(ca.certificatePem, 'ca-self.pem').ok).toBe(true);
  });

  it('survives export and load, and refuses a key that is not its own', async () => {
    const stored = exportCa(ca);
    expect(stored.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const loaded = loadCa(stored);
    const keys = generateDeviceKeys();
    const cert = await signDeviceCertificate(loaded, await createCsr(keys, 'dev-loaded'), {
      deviceId: 'dev-loaded',
      validDays: 30,
    });
    expect(verify(cert.certificatePem, 'loaded.pem').ok).toBe(true);

    const other = exportCa(await createCa({ commonName: 'other', validDays: 1 }));
    expect(() =>
      loadCa({ certificatePem: stored.certificatePem, privateKeyPem: other.privateKeyPem }),
    ).toThrow(/does not match/);
    expect(() =>
      loadCa({ certificatePem: cert.certificatePem, privateKeyPem: stored.privateKeyPem }),
    ).toThrow(/not a CA/);
  });
});

describe('device certificates', () => {
  it('are issued for a device CSR: openssl verifies them for client auth and shows CN, SAN and EKU', async () => {
    const keys = generateDeviceKeys();
    const csr = await createCsr(keys, 'dev-a');
    const req = openssl([
      'req',
      '-in',
      tmp.file('dev-a.csr', csr),
      '-noout',
      '-verify',
      '-subject',
    ]);
    expect(req.status, req.stderr).toBe(0);
    expect(req.stdout + req.stderr).toMatch(/verify OK/i);
    expect(req.stdout).toContain('subject=CN = dev-a');

    const issued = await signDeviceCertificate(ca, csr, { deviceId: 'dev-a', validDays: 365 });
    const v = verify(issued.certificatePem, 'dev-a.pem');
    expect(v.out).toContain('dev-a.pem: OK');
    expect(verify(issued.certificatePem, 'dev-a-client.pem', '-purpose', 'sslclient').ok).toBe(
      true,
    );
    expect(verify(issued.certificatePem, 'dev-a-server.pem', '-purpose', 'sslserver').ok).toBe(
      false,
    );

    const text = x509Text(issued.certificatePem, 'dev-a-text.pem');
    expect(text).toContain('Subject: CN = dev-a');
    expect(text).toContain('Issuer: CN = NetMirror Test Fleet CA');
    expect(text).toMatch(/X509v3 Subject Alternative Name: \s+URI:urn:netmirror:device:dev-a\n/);
    expect(text).toMatch(/X509v3 Extended Key Usage: \s+TLS Web Client Authentication\n/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(text).toContain('X509v3 Authority Key Identifier');

    // It certifies the device's own key.
    const pub = openssl([
      'x509',
      '-in',
      tmp.file('dev-a-pub.pem', issued.certificatePem),
      '-noout',
      '-pubkey',
    ]);
    expect(pub.stdout).toBe(devicePublicKeysPem(keys).tls);
    expect(issued.fingerprint).toBe(new X509Certificate(issued.certificatePem).fingerprint256);
    expect(issued.notAfter.getTime() - issued.notBefore.getTime()).toBeCloseTo(
      365 * 86_400_000 + 300_000,
      -4,
    );
    expect(deviceIdFromCertificate(issued.certificatePem)).toBe('dev-a');
  });

  it('get random serials', async () => {
    const keys = generateDeviceKeys();
    const csr = await createCsr(keys, 'dev-s');
    const serials = new Set<string>();
    for (let i = 0; i < 5; i++)
      serials.add(
        (await signDeviceCertificate(ca, csr, { deviceId: 'dev-s', validDays: 1 })).serialNumber,
      );
    expect(serials.size).toBe(5);
    for (const s of serials) expect(s).toMatch(/^[0-7][0-9a-f]{31}$/);
  });

  it('accept a CSR made by openssl itself', async () => {
    const key = tmp.file(
      'ossl.key',
      openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']).stdout,
    );
    const csr = openssl(['req', '-new', '-key', key, '-subj', '/CN=dev-ossl']).stdout;
    const issued = await signDeviceCertificate(ca, csr, { deviceId: 'dev-ossl', validDays: 10 });
    expect(verify(issued.certificatePem, 'dev-ossl.pem').ok).toBe(true);
  });

  it('are never valid past the CA', async () => {
    const shortCa = await createCa({ commonName: 'short', validDays: 2 });
    const keys = generateDeviceKeys();
    const issued = await signDeviceCertificate(shortCa, await createCsr(keys, 'dev-c'), {
      deviceId: 'dev-c',
      validDays: 365,
    });
    expect(issued.notAfter.getTime()).toBe(
      new Date(new X509Certificate(shortCa.certificatePem).validTo).getTime(),
    );
  });
});

describe('a CSR is refused', () => {
  const keys = generateDeviceKeys();
  let csrA: string;
  beforeAll(async () => {
    csrA = await createCsr(keys, 'dev-a');
  });

  async function refusal(csr: string, deviceId: string, publicKey?: string): Promise<string> {
    const err = await signDeviceCertificate(ca, csr, { deviceId, validDays: 1, publicKey }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CsrRejectedError);
    return (err as Error).message;
  }

  it('when it is for another device id', async () => {
    expect(await refusal(csrA, 'dev-b')).toBe('the CSR is for CN="dev-a", not device "dev-b"');
  });

  it('when its signature does not verify', async () => {
    const badSig = editPem(csrA, 'CERTIFICATE REQUEST', (der) => {
      der[der.length - 1] ^= 0x01;
    });
    expect(await refusal(badSig, 'dev-a')).toBe('the CSR signature does not verify');
  });

  it('when its subject was edited to another device', async () => {
    const edited = editPem(csrA, 'CERTIFICATE REQUEST', (der) => {
      const at = der.indexOf('dev-a');
      expect(at).toBeGreaterThan(0);
      der.write('dev-b', at, 'latin1');
    });
    // openssl 3.0 exits 0 here but says so on stderr.
    const check = openssl(['req', '-in', tmp.file('edited.csr', edited), '-noout', '-verify']);
    expect(check.stdout + check.stderr).toMatch(/verify failure/);
    expect(await refusal(edited, 'dev-b')).toBe('the CSR signature does not verify');
  });

  it("when its key is not the device's declared TLS key", async () => {
    const other = devicePublicKeysPem(generateDeviceKeys()).tls;
    expect(await refusal(csrA, 'dev-a', other)).toBe(
      "the CSR's key is not the TLS key the device declared",
    );
    await expect(
      signDeviceCertificate(ca, csrA, {
        deviceId: 'dev-a',
        validDays: 1,
        publicKey: devicePublicKeysPem(keys).tls,
      }),
    ).resolves.toBeTruthy();
  });

  it('when its key is RSA, or it has two CNs, or it is not a CSR', async () => {
    const rsa = tmp.file(
      'rsa.key',
      openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']).stdout,
    );
    const rsaCsr = openssl(['req', '-new', '-key', rsa, '-subj', '/CN=dev-a']).stdout;
    expect(await refusal(rsaCsr, 'dev-a')).toBe(
      "the CSR's key is rsa, expected ECDSA P-256 or P-384",
    );

    const ec = tmp.file(
      'ec.key',
      openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']).stdout,
    );
    const twoCn = openssl(['req', '-new', '-key', ec, '-subj', '/CN=dev-a/CN=dev-b']).stdout;
    expect(await refusal(twoCn, 'dev-a')).toBe(
      'the CSR subject must have exactly one CN, it has 2',
    );

    expect(await refusal(ca.certificatePem, 'dev-a')).toBe('not a PEM "CERTIFICATE REQUEST"');
    const garbage =
      '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n';
    expect(await refusal(garbage, 'dev-a')).toMatch(/^not a parseable PKCS#10 request/);
  });
});

describe('server certificates', () => {
  it('carry DNS and IP SANs, serverAuth only, and verify for TLS servers', async () => {
    const server = await createServerCertificate(ca, {
      hostnames: ['localhost', '127.0.0.1', '::1', 'broker.fleet.example'],
    });
    expect(verify(server.certificatePem, 'srv.pem', '-purpose', 'sslserver').ok).toBe(true);
    expect(verify(server.certificatePem, 'srv-client.pem', '-purpose', 'sslclient').ok).toBe(false);
    const text = x509Text(server.certificatePem, 'srv-text.pem');
    expect(text).toContain('Subject: CN = localhost');
    expect(text).toContain(
      'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:broker.fleet.example',
    );
    expect(text).toMatch(/X509v3 Extended Key Usage: \s+TLS Web Server Authentication\n/);
    expect(new X509Certificate(server.certificatePem).checkPrivateKey(server.privateKey)).toBe(
      true,
    );
    expect(deviceIdFromCertificate(server.certificatePem)).toBeNull();
  });

  it('refuse a name that is neither a DNS name nor an IP address', async () => {
    await expect(createServerCertificate(ca, { hostnames: ['bad host'] })).rejects.toThrow(
      /not a DNS name or IP address/,
    );
    await expect(createServerCertificate(ca, { hostnames: [] })).rejects.toThrow(/at least one/);
  });
});
