// ControlClient over mqtts:// with a client certificate (the `tls` option):
// an aedes behind node:tls that demands a client certificate from its CA.
// Certificates come from the openssl command, so this library needs no
// certificate code of its own.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient, statusMessage } from './control-client.js';
import { uniqueId, uniqueTree, waitFor } from './test-support/brokers.js';

const quiet = { info: () => undefined, warn: () => undefined };

describe('ControlClient with mutual TLS', () => {
  let dir: string;
  let aedes: Aedes;
  let server: Server;
  let url: string;
  const pem = (name: string) => readFileSync(join(dir, name), 'utf8');
  const peers: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nm-proto-tls-'));
    const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const ca = (name: string) => {
      ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
      ssl(
        'req',
        '-x509',
        '-new',
        '-key',
        `${name}.key`,
        '-subj',
        `/CN=${name}`,
        '-days',
        '2',
        '-out',
        `${name}.pem`,
      );
    };
    ca('ca');
    ca('other-ca');
    // A leaf certificate with the extensions given.
    const leafWith = (name: string, issuer: string, ext: string) => {
      ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
      ssl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`);
      writeFileSync(join(dir, `${name}.ext`), ext);
      ssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${issuer}.pem`,
        '-CAkey',
        `${issuer}.key`,
        '-CAcreateserial',
        '-days',
        '1',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.pem`,
      );
    };
    leafWith(
      'server',
      'ca',
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
    );
    leafWith('tap-01', 'ca', 'extendedKeyUsage=clientAuth\n');
    leafWith('stranger', 'other-ca', 'extendedKeyUsage=clientAuth\n');

    aedes = await Aedes.createBroker();
    server = createServer(
      {
        ca: pem('ca.pem'),
        cert: pem('server.pem'),
        key: pem('server.key'),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (sock: TLSSocket) => {
        const cn = sock.getPeerCertificate().subject?.CN;
        peers.push(Array.isArray(cn) ? cn.join(',') : String(cn));
        aedes.handle(sock);
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `mqtts://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    if (aedes) await new Promise<void>((r) => aedes.close(() => r()));
    if (server) await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('presents the client certificate and verifies the broker against the given CA', async () => {
    const tree = uniqueTree('tls');
    const id = uniqueId('tap');
    const c = await ControlClient.connect({
      url,
      clientId: id,
      topics: tree,
      protocol: 'auto',
      logger: quiet,
      tls: { ca: pem('ca.pem'), cert: pem('tap-01.pem'), key: pem('tap-01.key') },
    });
    try {
      expect(c.mqtt5).toBe(false); // aedes: 3.1.1 after the v5 attempt, over TLS both times
      expect(peers).toContain('tap-01');
      // A round trip over the TLS session: our own retained status comes back.
      const seen: string[] = [];
      c.onMessage((m) => seen.push(m.topic));
      await c.publishStatus(id, statusMessage('online'));
      await c.transport.subscribeAsync([tree.status(id)], { qos: 1 });
      await waitFor(() => seen.includes(tree.status(id)), 2_000, 'our status back');
    } finally {
      await c.close();
    }
  });

  it('refuses a broker whose certificate does not chain to the given CA (no way to skip verification)', async () => {
    await expect(
      ControlClient.connect({
        url,
        clientId: uniqueId('tap'),
        protocol: 4,
        connectTimeoutMs: 2_000,
        reconnect: { minMs: 0 },
        logger: quiet,
        tls: { ca: pem('other-ca.pem'), cert: pem('tap-01.pem'), key: pem('tap-01.key') },
      }),
    ).rejects.toThrow(/cannot connect/);
  });

  it('is refused by the broker with a certificate from another CA', async () => {
    await expect(
      ControlClient.connect({
        url,
        clientId: uniqueId('tap'),
        protocol: 4,
        connectTimeoutMs: 2_000,
        reconnect: { minMs: 0 },
        logger: quiet,
        tls: { ca: pem('ca.pem'), cert: pem('stranger.pem'), key: pem('stranger.key') },
      }),
    ).rejects.toThrow(/cannot connect/);
  });

  it('refuses TLS credentials with a plain mqtt:// URL', async () => {
    await expect(
      ControlClient.connect({
        url: url.replace('mqtts:', 'mqtt:'),
        clientId: uniqueId('tap'),
        logger: quiet,
        tls: { ca: pem('ca.pem'), cert: pem('tap-01.pem'), key: pem('tap-01.key') },
      }),
    ).rejects.toThrow(/mqtts/);
  });
});
