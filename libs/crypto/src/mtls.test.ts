// A real TLS 1.3 handshake with node:tls: the broker's side requires a client
// certificate from the fleet CA and names the device from it.
import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CertificateAuthority,
  createCa,
  createCsr,
  createServerCertificate,
  deviceIdFromCertificate,
  exportDeviceKeys,
  generateDeviceKeys,
  signDeviceCertificate,
} from './index.js';
import { openssl, scratch } from './test-support/openssl.js';

const tmp = scratch();
let ca: CertificateAuthority;
let server: Server;
let port: number;
/** Same credentials but rejectUnauthorized: false, to say why the real one refuses. */
let probe: Server;
let probePort: number;
const clientErrors: string[] = [];
const accepted: string[] = [];
let onClientError: (() => void) | undefined;

beforeAll(async () => {
  ca = await createCa({ commonName: 'NetMirror mTLS CA', validDays: 30 });
  const creds = await createServerCertificate(ca, { hostnames: ['localhost', '127.0.0.1'] });
  server = createServer({
    key: creds.privateKeyPem,
    cert: creds.certificatePem,
    ca: [ca.certificatePem],
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
  });
  server.on('secureConnection', (s: TLSSocket) => {
    const id = deviceIdFromCertificate(s.getPeerCertificate().raw) ?? '?';
    accepted.push(id);
    s.end(`hello ${id}`);
  });
  server.on('tlsClientError', (e: Error) => {
    clientErrors.push(e.message);
    onClientError?.();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;

  probe = createServer({
    key: creds.privateKeyPem,
    cert: creds.certificatePem,
    ca: [ca.certificatePem],
    requestCert: true,
    rejectUnauthorized: false,
  });
  probe.on('secureConnection', (s: TLSSocket) =>
    s.end(s.authorized ? 'authorized' : String(s.authorizationError)),
  );
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  probePort = (probe.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  tmp.remove();
});

interface Outcome {
  received: string;
  error: string | null;
}

function dial(
  opts: { key: string; cert: string; ca?: string },
  to: number = port,
): Promise<Outcome> {
  return new Promise((resolve) => {
    let received = '';
    let error: string | null = null;
    const s = connect({
      host: '127.0.0.1',
      port: to,
      ca: opts.ca ?? ca.certificatePem,
      key: opts.key,
      cert: opts.cert,
    });
    s.setEncoding('utf8');
    s.on('data', (d: string) => (received += d));
    s.on('error', (e: Error) => (error = e.message));
    s.on('close', () => resolve({ received, error }));
  });
}

/** The server refuses the handshake; in TLS 1.3 the client may only see the connection close. */
async function expectRefused(device: { key: string; cert: string }, why: string): Promise<void> {
  expect((await dial(device, probePort)).received).toBe(why);
  const errors = clientErrors.length;
  const accepts = accepted.length;
  const serverRefused = new Promise<void>((resolve) => (onClientError = resolve));
  const out = await dial(device);
  await serverRefused;
  expect(out.received).toBe('');
  expect(accepted.length).toBe(accepts);
  expect(clientErrors.length).toBeGreaterThan(errors); // Node destroys the socket ("socket hang up")
}

async function enrolledDevice(
  id: string,
  by: CertificateAuthority,
): Promise<{ key: string; cert: string }> {
  const keys = generateDeviceKeys();
  const issued = await signDeviceCertificate(by, await createCsr(keys, id), {
    deviceId: id,
    validDays: 1,
  });
  return { key: exportDeviceKeys(keys).tls, cert: issued.certificatePem };
}

describe('mutual TLS with fleet CA certificates', () => {
  it('accepts a device certificate and knows which device it is', async () => {
    const device = await enrolledDevice('dev-a', ca);
    expect(await dial(device)).toEqual({ received: 'hello dev-a', error: null });
    expect((await dial(device, probePort)).received).toBe('authorized');
  });

  it('rejects a self-signed device certificate', async () => {
    const device = await enrolledDevice('dev-self', ca);
    const selfSigned = openssl([
      'req',
      '-x509',
      '-key',
      tmp.file('self.key', device.key),
      '-subj',
      '/CN=dev-self',
      '-days',
      '1',
    ]);
    expect(selfSigned.status, selfSigned.stderr).toBe(0);
    await expectRefused(
      { key: device.key, cert: selfSigned.stdout },
      'DEPTH_ZERO_SELF_SIGNED_CERT',
    );
  });

  it('rejects a device certificate from another CA', async () => {
    const rogue = await createCa({ commonName: 'NetMirror mTLS CA', validDays: 30 });
    await expectRefused(await enrolledDevice('dev-a', rogue), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('a device refuses a server not certified by the fleet CA', async () => {
    const other = await createCa({ commonName: 'other', validDays: 30 });
    const out = await dial({ ...(await enrolledDevice('dev-a', ca)), ca: other.certificatePem });
    expect(out.received).toBe('');
    expect(out.error).toMatch(/certificate/i);
  });
});
