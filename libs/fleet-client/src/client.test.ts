// The client over real HTTP: a node:http server on loopback records each
// request and answers as the fleet manager does (Nest's error bodies, 204s,
// /health's 503). The client against the real fleet manager is
// tests/fleet-cli.test.ts.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FleetApiError, FleetClient, FleetConnectionError } from './index.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

interface Reply {
  status: number;
  body?: unknown;
  text?: string;
  type?: string;
  headers?: Record<string, string>;
  delayMs?: number;
}

let server: Server;
let base: string;
let seen: Seen[] = [];
let reply: Reply = { status: 200, body: {} };

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      const r = reply;
      setTimeout(() => {
        const text = r.text ?? (r.body === undefined ? '' : JSON.stringify(r.body));
        res.writeHead(r.status, {
          'content-type': r.type ?? 'application/json; charset=utf-8',
          ...r.headers,
        });
        res.end(text);
      }, r.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
  reply = { status: 200, body: {} };
});

describe('FleetClient requests', () => {
  it('sends X-NetMirror-Actor only when an actor is set', async () => {
    reply = { status: 200, body: { items: [], total: 0 } };
    await new FleetClient({ url: base, actor: 'alice' }).listDevices();
    await new FleetClient({ url: base }).listDevices();
    expect(seen[0].headers['x-netmirror-actor']).toBe('alice');
    expect(seen[1].headers['x-netmirror-actor']).toBeUndefined();
  });

  it('repeats ?label=k=v and leaves out absent query values', async () => {
    reply = { status: 200, body: { items: [], total: 0 } };
    const c = new FleetClient({ url: base });
    await c.listDevices({ labels: { role: 'core', rack: 'r 12' }, online: false, limit: 5 });
    await c.listDevices();
    const u = new URL(seen[0].url, base);
    expect(u.pathname).toBe('/devices');
    expect(u.searchParams.getAll('label')).toEqual(['role=core', 'rack=r 12']);
    expect(u.searchParams.get('online')).toBe('false');
    expect(u.searchParams.get('limit')).toBe('5');
    expect(u.searchParams.has('offset')).toBe(false);
    expect(seen[1].url).toBe('/devices');
  });

  it('sends JSON bodies with the method of each endpoint, ids escaped', async () => {
    const c = new FleetClient({ url: base, actor: 'bob' });
    reply = { status: 200, body: { id: 'a/b' } };
    await c.updateDevice('a/b', { site: null, labels: { old: null, role: 'edge' } });
    reply = { status: 201, body: {} };
    await c.startRollout({ policy: 'core', version: 3, strategy: { canary: 2 } });
    await c.deployPolicy('core', 4);
    await c.pushPolicyVersion('core', { spec: { rules: [] }, comment: 'x' });
    await c.acknowledgeAlert(7);
    await c.rotateKeys();
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'PATCH /devices/a%2Fb',
      'POST /rollouts',
      'POST /policies/core/deploy',
      'POST /policies/core/versions',
      'POST /alerts/7/acknowledge',
      'POST /keys/rotate',
    ]);
    expect(seen[0].headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen[0].body)).toEqual({ site: null, labels: { old: null, role: 'edge' } });
    expect(JSON.parse(seen[1].body)).toEqual({
      policy: 'core',
      version: 3,
      strategy: { canary: 2 },
    });
    expect(JSON.parse(seen[2].body)).toEqual({ version: 4 });
    expect(seen[4].body).toBe('');
  });

  it('keeps a path prefix and drops a trailing slash', async () => {
    reply = { status: 200, body: [] };
    const c = new FleetClient({ url: `${base}/fleet/` });
    expect(c.url).toBe(`${base}/fleet`);
    await c.listRollouts({ policy: 'core' });
    expect(seen[0].url).toBe('/fleet/rollouts?policy=core');
  });

  it('resolves a 204 to undefined', async () => {
    reply = { status: 204 };
    await expect(new FleetClient({ url: base }).removeDevice('tap-01')).resolves.toBeUndefined();
    expect(seen[0].method).toBe('DELETE');
  });

  it('returns /health for 503 too, and /ca.pem with its fingerprint header', async () => {
    const down = {
      status: 'unavailable',
      database: { ok: true, type: 'sqlite' },
      broker: { ok: false, error: 'ECONNREFUSED', mode: 'external', url: 'mqtt://x' },
    };
    reply = { status: 503, body: down };
    const c = new FleetClient({ url: base });
    expect(await c.health()).toEqual(down);
    reply = {
      status: 200,
      text: '-----BEGIN CERTIFICATE-----\n',
      type: 'application/x-pem-file',
      headers: { 'x-netmirror-ca-fingerprint': 'AB:CD' },
    };
    expect(await c.getCaCertificate()).toEqual({
      pem: '-----BEGIN CERTIFICATE-----\n',
      fingerprint: 'AB:CD',
    });
  });
});

describe('FleetClient errors', () => {
  it("a validation error carries the server's status, field and message", async () => {
    reply = {
      status: 400,
      body: {
        statusCode: 400,
        error: 'Bad Request',
        field: 'ttlSeconds',
        message: 'ttlSeconds: must be an integer between 60 and 2592000',
      },
    };
    const err = await new FleetClient({ url: base })
      .createEnrollmentToken({ ttlSeconds: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FleetApiError);
    const e = err as FleetApiError;
    expect(e.status).toBe(400);
    expect(e.statusText).toBe('Bad Request');
    expect(e.field).toBe('ttlSeconds');
    expect(e.message).toBe('ttlSeconds: must be an integer between 60 and 2592000');
    expect(e.method).toBe('POST');
    expect(e.path).toBe('/enrollment-tokens');
  });

  it('a 404 names no field', async () => {
    reply = {
      status: 404,
      body: { statusCode: 404, error: 'Not Found', message: 'device "nope" not found' },
    };
    const e = (await new FleetClient({ url: base })
      .getDevice('nope')
      .catch((x: unknown) => x)) as FleetApiError;
    expect([e.status, e.field, e.message]).toEqual([404, null, 'device "nope" not found']);
  });

  it('a non-JSON error body becomes the message', async () => {
    reply = { status: 502, text: 'upstream went away\n', type: 'text/plain' };
    const e = (await new FleetClient({ url: base })
      .getKeys()
      .catch((x: unknown) => x)) as FleetApiError;
    expect(e).toBeInstanceOf(FleetApiError);
    expect([e.status, e.message, e.field]).toEqual([502, 'upstream went away', null]);
  });

  it('no listener: FleetConnectionError naming the URL and ECONNREFUSED', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const e = (await new FleetClient({ url: `http://127.0.0.1:${port}` })
      .health()
      .catch((x: unknown) => x)) as FleetConnectionError;
    expect(e).toBeInstanceOf(FleetConnectionError);
    expect(e.reason).toBe('ECONNREFUSED');
    expect(e.message).toBe(`cannot reach http://127.0.0.1:${port}: ECONNREFUSED`);
  });

  it('a server that does not answer in time: FleetConnectionError, timed out', async () => {
    reply = { status: 200, body: {}, delayMs: 500 };
    const e = (await new FleetClient({ url: base, timeoutMs: 100 })
      .getKeys()
      .catch((x: unknown) => x)) as FleetConnectionError;
    expect(e).toBeInstanceOf(FleetConnectionError);
    expect(e.reason).toBe('timed out after 100 ms');
  });

  it('refuses URLs that are not http(s) base URLs', () => {
    expect(() => new FleetClient({ url: 'localhost:8080' })).toThrow(/must be http/);
    expect(() => new FleetClient({ url: 'not a url' })).toThrow(/is not a URL/);
    expect(() => new FleetClient({ url: 'http://h/?x=1' })).toThrow(/query/);
  });
});
