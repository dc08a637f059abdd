// The fleet manager end to end over real HTTP, on SQLite (temp file +
// embedded aedes) and on PostgreSQL (fresh database + the local Mosquitto).
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createCsr,
  deviceIdFromCertificate,
  devicePublicKeysPem,
  generateDeviceKeys,
} from '@netmirror/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { dataSourceOptionsFromUrl } from './database/data-source.js';
import { startFleetManager, type FleetManagerHandle } from './main.js';
import { TEST_STACKS, type TestDatabase } from './testing/databases.js';
import { client, type Reply } from './testing/http.js';

type Json = Record<string, unknown>;
const obj = (r: Reply): Json => r.body as Json;

function deviceKeys(): { tls: string; x25519: string } {
  const tls = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();
  const x25519 = generateKeyPairSync('x25519')
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();
  return { tls, x25519 };
}

/** `openssl verify -CAfile ca.pem device.pem` (client purpose); returns its output, throws if it fails. */
function opensslVerify(caPem: string, certPem: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'nm-verify-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), caPem);
    writeFileSync(join(dir, 'device.pem'), certPem);
    return execFileSync(
      'openssl',
      ['verify', '-purpose', 'sslclient', '-CAfile', join(dir, 'ca.pem'), join(dir, 'device.pem')],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What an appliance would compute to pin the CA: SHA-256 over the certificate's SPKI DER. */
function spkiSha256(certPem: string): string {
  const der = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

describe.each(TEST_STACKS)('fleet manager on $name', ({ db: makeDb, broker }) => {
  let db: TestDatabase;
  let fm: FleetManagerHandle;
  let api: ReturnType<typeof client>;
  let clockOffsetMs = 0;
  const now = (): Date => new Date(Date.now() + clockOffsetMs);

  const start = async (): Promise<void> => {
    fm = await startFleetManager({
      databaseUrl: db.url,
      httpPort: 0,
      logger: false,
      now,
      // A topic root of its own: other runs may share the Mosquitto.
      topicRoot: `nmtest/fm-${process.pid}/v1`,
      ...broker,
    });
    api = client(fm.url);
  };

  const token = async (body: Json = { ttlSeconds: 600 }): Promise<string> => {
    const r = await api('POST', '/enrollment-tokens', body);
    expect(r.status).toBe(201);
    return obj(r).token as string;
  };

  const auditCount = async (): Promise<number> =>
    (obj(await api('GET', '/audit?limit=500')).items as unknown[]).length;
  const deviceCount = async (): Promise<number> =>
    obj(await api('GET', '/devices')).total as number;

  beforeAll(async () => {
    db = await makeDb();
    await start();
  });
  afterAll(async () => {
    await fm?.close();
    await db?.drop();
  });

  it('creates the schema from empty by migrations and reports healthy', async () => {
    expect(await deviceCount()).toBe(0);
    const h = await api('GET', '/health');
    expect(h.status).toBe(200);
    expect(h.body).toMatchObject({ status: 'ok', database: { ok: true }, broker: { ok: true } });
    expect(obj(h).broker).toMatchObject(
      broker.brokerUrl ? { mode: 'external', url: broker.brokerUrl } : { mode: 'embedded' },
    );
  });

  it('enrolls a device with a one-time token, end to end', async () => {
    const created = await api('POST', '/enrollment-tokens', {
      deviceName: 'core tap',
      labels: { role: 'core', rack: 'r1' },
      ttlSeconds: 600,
    });
    expect(created.status).toBe(201);
    const t = obj(created);
    expect(t.token).toMatch(/^nmt_[A-Za-z0-9_-]{43}$/);

    const keys = deviceKeys();
    const enrolled = await api('POST', '/enroll', {
      token: t.token,
      deviceId: 'tap-01',
      publicKeys: keys,
      agentVersion: '0.1.0',
    });
    expect(enrolled.status).toBe(201);
    expect(enrolled.body).toMatchObject({
      id: 'tap-01',
      name: 'core tap',
      labels: { role: 'core', rack: 'r1' },
      online: false,
      agentVersion: '0.1.0',
      certificatePem: null,
    });
    expect((obj(enrolled).publicKeys as Json).x25519).toBe(keys.x25519);

    const listed = await api('GET', '/devices');
    expect(listed.body).toMatchObject({ total: 1, items: [{ id: 'tap-01' }] });
    expect((await api('GET', '/devices/tap-01')).status).toBe(200);

    const tokens = (await api('GET', '/enrollment-tokens')).body as Json[];
    expect(tokens.find((x) => x.id === t.id)).toMatchObject({
      state: 'used',
      usedByDeviceId: 'tap-01',
    });
    expect(JSON.stringify(tokens)).not.toContain(t.token as string);
  });

  it('refuses a reused, unknown or expired token and changes nothing', async () => {
    const t = await token();
    expect(
      (await api('POST', '/enroll', { token: t, deviceId: 'tap-02', publicKeys: deviceKeys() }))
        .status,
    ).toBe(201);
    const devicesBefore = await deviceCount();
    const auditBefore = await auditCount();

    const reuse = await api('POST', '/enroll', {
      token: t,
      deviceId: 'tap-99',
      publicKeys: deviceKeys(),
    });
    expect(reuse.status).toBe(410);
    expect(obj(reuse).message).toMatch(/already been used/);

    const unknown = await api('POST', '/enroll', { token: 'nmt_nope', publicKeys: deviceKeys() });
    expect(unknown.status).toBe(401);
    expect(obj(unknown).message).toMatch(/not valid/);

    const soon = await token({ ttlSeconds: 60 });
    clockOffsetMs = 61_000;
    try {
      const expired = await api('POST', '/enroll', {
        token: soon,
        deviceId: 'tap-98',
        publicKeys: deviceKeys(),
      });
      expect(expired.status).toBe(410);
      expect(obj(expired).message).toMatch(/expired/);
    } finally {
      clockOffsetMs = 0;
    }

    // A device id that already exists: 409, and the token stays usable.
    const fresh = await token();
    expect(
      (await api('POST', '/enroll', { token: fresh, deviceId: 'tap-01', publicKeys: deviceKeys() }))
        .status,
    ).toBe(409);

    expect(await deviceCount()).toBe(devicesBefore);
    expect(await auditCount()).toBe(auditBefore + 2); // only the two token creations
    expect((await api('GET', '/devices/tap-99')).status).toBe(404);
    expect(
      (await api('POST', '/enroll', { token: fresh, deviceId: 'tap-03', publicKeys: deviceKeys() }))
        .status,
    ).toBe(201);
  });

  it('filters devices by label and by online', async () => {
    const t = await token({ labels: { role: 'edge', rack: 'r1' }, ttlSeconds: 600 });
    expect(
      (await api('POST', '/enroll', { token: t, deviceId: 'edge-01', publicKeys: deviceKeys() }))
        .status,
    ).toBe(201);

    const ids = async (q: string): Promise<string[]> => {
      const r = await api('GET', `/devices${q}`);
      expect(r.status).toBe(200);
      return (obj(r).items as Json[]).map((d) => d.id as string);
    };
    expect(await ids('?label=role=core')).toEqual(['tap-01']);
    expect(await ids('?label=rack=r1')).toEqual(['edge-01', 'tap-01']);
    expect(await ids('?label=rack=r1&label=role=edge')).toEqual(['edge-01']);
    expect(await ids('?label=role=nothing')).toEqual([]);
    expect(await ids('?online=true')).toEqual([]);
    expect((await ids('?online=false')).length).toBe(await deviceCount());
    expect(await ids('?limit=1&offset=1')).toEqual(['tap-01']);
  });

  it('patches labels/name/site and decommissions, each with an audit row', async () => {
    const p = await api('PATCH', '/devices/edge-01', {
      name: 'edge one',
      site: 'fra1',
      labels: { rack: null, zone: 'dmz' },
    });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({
      name: 'edge one',
      site: 'fra1',
      labels: { role: 'edge', zone: 'dmz' },
    });
    expect((obj(p).labels as Json).rack).toBeUndefined();
    expect((await api('GET', '/devices?label=zone=dmz')).body).toMatchObject({ total: 1 });

    const del = await api('DELETE', '/devices/tap-02');
    expect(del.status).toBe(204);
    expect((await api('GET', '/devices/tap-02')).status).toBe(404);
    expect((await api('DELETE', '/devices/tap-02')).status).toBe(404);
    expect((await api('PATCH', '/devices/nope', { name: 'x' })).status).toBe(404);

    const audit = obj(await api('GET', '/audit?limit=2'));
    const items = audit.items as Json[];
    expect(items.map((a) => a.action)).toEqual(['device.decommission', 'device.update']);
    expect(items[0]).toMatchObject({ actor: 'operator:alice', target: 'device:tap-02' });
    expect(items[1]).toMatchObject({
      target: 'device:edge-01',
      details: {
        before: { name: 'edge-01', site: null },
        after: { name: 'edge one', site: 'fra1' },
      },
    });
  });

  it('pages the audit log, which has one row per mutation and no way to change it', async () => {
    const all: Json[] = [];
    let before: number | null = null;
    do {
      const page = obj(
        await api('GET', `/audit?limit=3${before === null ? '' : `&before=${before}`}`),
      );
      all.push(...(page.items as Json[]));
      before = page.nextBefore as number | null;
    } while (before !== null);
    const actions = all.map((a) => a.action).reverse();
    expect(actions.filter((a) => a === 'enrollment.token.create').length).toBe(5);
    expect(actions.filter((a) => a === 'device.enroll').length).toBe(4);
    expect(actions.slice(-2)).toEqual(['device.update', 'device.decommission']);
    const ids = all.map((a) => a.id as number);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);

    expect((await api('PUT', '/audit', {})).status).toBe(404);
    expect((await api('DELETE', '/audit')).status).toBe(404);
    // Even with direct database access the rows cannot be changed.
    const ds = new DataSource(dataSourceOptionsFromUrl(db.url));
    await ds.initialize();
    try {
      await expect(ds.query(`UPDATE audit_log SET actor = 'mallory'`)).rejects.toThrow(
        /append-only/,
      );
      await expect(ds.query('DELETE FROM audit_log')).rejects.toThrow(/append-only/);
    } finally {
      await ds.destroy();
    }
  });

  it('answers /metrics in Prometheus text format', async () => {
    const r = await api('GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.contentType).toMatch(/^text\/plain/);
    const samples = new Map<string, number>();
    for (const line of r.text.trimEnd().split('\n')) {
      if (line.startsWith('#')) {
        expect(line).toMatch(/^# (HELP|TYPE) [a-z_:][a-z0-9_:]* .+$/);
        continue;
      }
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+]+|NaN|[+-]Inf)$/.exec(line);
      expect(m, line).not.toBeNull();
      samples.set(m![1], Number(m![2]));
    }
    expect(samples.get('netmirror_devices')).toBe(await deviceCount());
    expect(samples.get('netmirror_devices_online')).toBe(0);
    expect(samples.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(
      samples.get('netmirror_http_requests_total{method="GET",route="/devices/:id",status="404"}'),
    ).toBeGreaterThan(0);
    expect(
      samples.get('netmirror_http_requests_total{method="POST",route="/enroll",status="410"}'),
    ).toBeGreaterThan(0);
  });

  it('serves OpenAPI at /docs-json listing the routes, and Swagger UI at /docs', async () => {
    const r = await api('GET', '/docs-json');
    expect(r.status).toBe(200);
    const doc = obj(r);
    expect(doc.openapi).toMatch(/^3\./);
    const paths = doc.paths as Record<string, Json>;
    for (const [path, methods] of Object.entries({
      '/devices': ['get'],
      '/devices/{id}': ['get', 'patch', 'delete'],
      '/enrollment-tokens': ['get', 'post'],
      '/enroll': ['post'],
      '/ca.pem': ['get'],
      '/audit': ['get'],
      '/health': ['get'],
      '/metrics': ['get'],
    })) {
      expect(Object.keys(paths[path] ?? {}), path).toEqual(expect.arrayContaining(methods));
    }
    const schemas = (doc.components as Json).schemas as Json;
    expect(Object.keys(schemas)).toEqual(
      expect.arrayContaining(['EnrollDto', 'DeviceDto', 'CreateTokenDto', 'UpdateDeviceDto']),
    );
    const ui = await api('GET', '/docs');
    expect(ui.status).toBe(200);
    expect(ui.text).toMatch(/swagger/i);
  });

  it('answers bad input with 400 naming the field, never 500', async () => {
    const keys = deviceKeys();
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    const cases: Array<[string, string, unknown, string]> = [
      ['POST', '/enrollment-tokens', {}, 'ttlSeconds'],
      ['POST', '/enrollment-tokens', { ttlSeconds: 'soon' }, 'ttlSeconds'],
      ['POST', '/enrollment-tokens', { ttlSeconds: 5 }, 'ttlSeconds'],
      [
        'POST',
        '/enrollment-tokens',
        { ttlSeconds: 600, labels: { 'bad key!': 'x' } },
        'labels.bad key!',
      ],
      ['POST', '/enrollment-tokens', { ttlSeconds: 600, labels: { k: 5 } }, 'labels.k'],
      ['POST', '/enrollment-tokens', { ttlSeconds: 600, colour: 'red' }, 'colour'],
      ['POST', '/enrollment-tokens', [1, 2], 'body'],
      ['POST', '/enroll', { publicKeys: keys }, 'token'],
      ['POST', '/enroll', { token: 'x' }, 'publicKeys'],
      ['POST', '/enroll', { token: 'x', publicKeys: { tls: keys.tls } }, 'publicKeys.x25519'],
      [
        'POST',
        '/enroll',
        { token: 'x', publicKeys: { tls: keys.x25519, x25519: keys.x25519 } },
        'publicKeys.tls',
      ],
      [
        'POST',
        '/enroll',
        { token: 'x', publicKeys: { tls: rsa1024, x25519: keys.x25519 } },
        'publicKeys.tls',
      ],
      [
        'POST',
        '/enroll',
        { token: 'x', publicKeys: { tls: keys.tls, x25519: keys.tls } },
        'publicKeys.x25519',
      ],
      [
        'POST',
        '/enroll',
        {
          token: 'x',
          publicKeys: {
            tls: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----',
            x25519: keys.x25519,
          },
        },
        'publicKeys.tls',
      ],
      ['POST', '/enroll', { token: 'x', deviceId: 'a/b/#', publicKeys: keys }, 'deviceId'],
      ['POST', '/enroll', { token: 'x', csrPem: 'hello', publicKeys: keys }, 'csrPem'],
      ['PATCH', '/devices/tap-01', {}, 'body'],
      ['PATCH', '/devices/tap-01', { name: '' }, 'name'],
      ['PATCH', '/devices/tap-01', { labels: 'role=core' }, 'labels'],
      ['PATCH', '/devices/tap-01', { id: 'other' }, 'id'],
      ['GET', '/devices?label=role', undefined, 'label'],
      ['GET', '/devices?online=maybe', undefined, 'online'],
      ['GET', '/devices?limit=0', undefined, 'limit'],
      ['GET', '/audit?before=x', undefined, 'before'],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await api(method, path, body);
      expect(r.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(obj(r).field, `${method} ${path} ${JSON.stringify(body)}`).toBe(field);
      expect(obj(r).message).toContain(field);
    }
    const malformed = await api('POST', '/enroll', undefined, '{"token": ');
    expect(malformed.status).toBe(400);
    expect(malformed.text).not.toMatch(/at .*\.js/); // no stack trace
  });

  it('serves the fleet CA at GET /ca.pem with its fingerprint, created once', async () => {
    const r = await api('GET', '/ca.pem');
    expect(r.status).toBe(200);
    expect(r.contentType).toMatch(/^application\/x-pem-file/);
    expect(r.text).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n?$/);
    const cert = new X509Certificate(r.text);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('CN=NetMirror Fleet CA');
    expect(r.fingerprint).toBe(spkiSha256(r.text));
    expect(r.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const created = (obj(await api('GET', '/audit?limit=500')).items as Json[]).filter(
      (a) => a.action === 'ca.create',
    );
    expect(created).toEqual([
      expect.objectContaining({
        actor: 'system:fleet-manager',
        details: expect.objectContaining({ fingerprint: r.fingerprint }),
      }),
    ]);
  });

  it('issues a device certificate from a CSR that openssl verifies against /ca.pem', async () => {
    const caPem = (await api('GET', '/ca.pem')).text;
    const keys = generateDeviceKeys();
    const t = await token();
    const enrolled = await api('POST', '/enroll', {
      token: t,
      deviceId: 'tap-10',
      csrPem: await createCsr(keys, 'tap-10'),
      publicKeys: devicePublicKeysPem(keys),
    });
    expect(enrolled.status).toBe(201);
    const certPem = obj(enrolled).certificatePem as string;
    expect(certPem).toMatch(/^-----BEGIN CERTIFICATE-----/);

    expect(opensslVerify(caPem, certPem)).toMatch(/device\.pem: OK/);
    const cert = new X509Certificate(certPem);
    expect(cert.subject).toBe('CN=tap-10');
    expect(deviceIdFromCertificate(certPem)).toBe('tap-10');
    expect(cert.publicKey.export({ type: 'spki', format: 'pem' })).toBe(
      devicePublicKeysPem(keys).tls,
    );
    expect(obj(await api('GET', '/devices/tap-10')).certificatePem).toBe(certPem);
    const audit = obj(await api('GET', '/audit?limit=1')).items as Json[];
    expect(audit[0]).toMatchObject({
      action: 'device.enroll',
      target: 'device:tap-10',
      details: { certificateIssued: true },
    });
  });

  it('refuses a CSR for another device, with another key, or unparseable, with 400 on csrPem and changes nothing', async () => {
    const keys = generateDeviceKeys();
    const other = generateDeviceKeys();
    const t = await token();
    const devicesBefore = await deviceCount();
    const auditBefore = await auditCount();
    const cases: Array<[string, unknown, RegExp]> = [
      [
        'CSR for another device id',
        {
          deviceId: 'tap-11',
          csrPem: await createCsr(keys, 'tap-12'),
          publicKeys: devicePublicKeysPem(keys),
        },
        /tap-12/,
      ],
      [
        'CSR key is not publicKeys.tls',
        {
          deviceId: 'tap-11',
          csrPem: await createCsr(other, 'tap-11'),
          publicKeys: devicePublicKeysPem(keys),
        },
        /key/,
      ],
      [
        'unparseable CSR',
        {
          deviceId: 'tap-11',
          csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n',
          publicKeys: devicePublicKeysPem(keys),
        },
        /PKCS#10/,
      ],
    ];
    for (const [name, body, reason] of cases) {
      const r = await api('POST', '/enroll', { token: t, ...(body as Json) });
      expect(r.status, name).toBe(400);
      expect(obj(r).field, name).toBe('csrPem');
      expect(obj(r).message, name).toMatch(/^csrPem: /);
      expect(obj(r).message, name).toMatch(reason);
    }
    expect(await deviceCount()).toBe(devicesBefore);
    expect(await auditCount()).toBe(auditBefore);
    expect((await api('GET', '/devices/tap-11')).status).toBe(404);

    // The same token still enrolls the device with a good CSR.
    const ok = await api('POST', '/enroll', {
      token: t,
      deviceId: 'tap-11',
      csrPem: await createCsr(keys, 'tap-11'),
      publicKeys: devicePublicKeysPem(keys),
    });
    expect(ok.status).toBe(201);
    expect(deviceIdFromCertificate(obj(ok).certificatePem as string)).toBe('tap-11');
  });

  it('keeps devices, token state, the audit log and the CA across a restart', async () => {
    const devices = obj(await api('GET', '/devices')).items;
    const tokens = (await api('GET', '/enrollment-tokens')).body;
    const audit = obj(await api('GET', '/audit?limit=500')).items;
    const ca = await api('GET', '/ca.pem');
    await fm.close();
    await start();
    expect(obj(await api('GET', '/devices')).items).toEqual(devices);
    expect((await api('GET', '/enrollment-tokens')).body).toEqual(tokens);
    expect(obj(await api('GET', '/audit?limit=500')).items).toEqual(audit);
    expect((await api('GET', '/health')).status).toBe(200);

    const after = await api('GET', '/ca.pem');
    expect(after.fingerprint).toBe(ca.fingerprint);
    expect(after.text).toBe(ca.text);
    // A certificate issued after the restart verifies against the CA fetched before it.
    const keys = generateDeviceKeys();
    const enrolled = await api('POST', '/enroll', {
      token: await token(),
      deviceId: 'tap-20',
      csrPem: await createCsr(keys, 'tap-20'),
      publicKeys: devicePublicKeysPem(keys),
    });
    expect(enrolled.status).toBe(201);
    expect(opensslVerify(ca.text, obj(enrolled).certificatePem as string)).toMatch(
      /device\.pem: OK/,
    );
  });
});

describe('startup', () => {
  it('falls back to a free port when the default MQTT port 1883 is taken', async () => {
    // Mosquitto holds 127.0.0.1:1883 on this machine; if not, 1883 itself is fine.
    const fm = await startFleetManager({
      databaseUrl: 'sqlite::memory:',
      httpPort: 0,
      logger: false,
    });
    try {
      expect(fm.broker.mode).toBe('embedded');
      expect(fm.broker.url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${fm.url}/health`)).status).toBe(200);
    } finally {
      await fm.close();
    }
  });

  it('rejects an unknown database URL scheme without leaking the password', async () => {
    await expect(
      startFleetManager({
        databaseUrl: 'mysql://u:secret@h/db',
        httpPort: 0,
        logger: false,
        embeddedBrokerPort: 0,
      }),
    ).rejects.toThrow(/unsupported scheme/);
    await expect(
      startFleetManager({
        databaseUrl: 'mysql://u:secret@h/db',
        httpPort: 0,
        logger: false,
        embeddedBrokerPort: 0,
      }),
    ).rejects.not.toThrow(/secret/);
  });
});
