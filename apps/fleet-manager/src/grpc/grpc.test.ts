// The gRPC API end to end: a real fleet manager serving REST and gRPC on
// free ports, the generated grpc-js client (through connectFleetApi), a
// simulated appliance on the real broker; on SQLite + embedded aedes and on
// PostgreSQL + Mosquitto. Each area is checked against the REST API: the
// same call gives the same result, the same audit rows and the same error.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { createCsr, devicePublicKeysPem, generateDeviceKeys } from '@netmirror/crypto';
import {
  connectFleetApi,
  FIELD_METADATA_KEY,
  FleetServiceClient,
  GetDeviceRequest,
  REASON_METADATA_KEY,
  type FleetApi,
} from '@netmirror/fleet-api';
import { boardProfilesDir, buildFirmwareImage, loadBoardProfile } from '@netmirror/fpga';
import { ControlClient, readFirmwareInstallArgs, TopicTree } from '@netmirror/protocol';
import { credentials, Metadata } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleetManager, type FleetManagerHandle } from '../main.js';
import { sqliteTestDatabase, TEST_STACKS, type TestDatabase } from '../testing/databases.js';
import { client, type Reply } from '../testing/http.js';
import { SimulatedDevice } from '../testing/simulated-device.js';
import { sampleTelemetry } from '../testing/telemetry.js';
import { until } from '../testing/until.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SPEC_V1 = {
  destinations: { lake: 'record:/var/lib/netmirror/rec' },
  rules: [{ name: 'web', priority: 10, match: { port: 443 }, destinations: ['lake'] }],
};
const SPEC_V2 = {
  destinations: { lake: 'record:/var/lib/netmirror/rec' },
  rules: [
    { name: 'dns', priority: 10, match: { protocol: 'udp', port: 53 }, destinations: ['lake'] },
  ],
};

const DEV_KEY = readFileSync(join(boardProfilesDir(), '../keys/netmirror-dev-2026.pem'), 'utf8');
let buildTime = 1_796_000_000;

/** A signed image for the nm-tap-4x10g (each call other bytes: no upload is a duplicate). */
function firmwareImage(): Buffer {
  return buildFirmwareImage({
    boardId: loadBoardProfile('nm-tap-4x10g').boardId,
    version: { major: 1, minor: 2, patch: 0 },
    payload: Buffer.alloc(4096, 1),
    buildTime: buildTime++,
    keyId: 'netmirror-dev-2026',
    privateKey: DEV_KEY,
  });
}

/** A gRPC message as REST would give it: Dates as ISO text, unset fields absent. */
function plain(v: unknown): Json {
  return JSON.parse(JSON.stringify(v)) as Json;
}

/** A REST body without its null fields (gRPC leaves them unset), except inside free-form JSON. */
function restShape(v: unknown, key = ''): unknown {
  if (key === 'details' || key === 'spec') return v;
  if (Array.isArray(v)) return v.map((x) => restShape(x));
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x !== null)
      .map(([k, x]) => [k, restShape(x, k)]),
  );
}

const body = (r: Reply): Json => r.body as Json;

interface GrpcFailure {
  code: status;
  details: string;
  field: string | undefined;
  /** x-netmirror-reason (a refused firmware image's). */
  reason?: string;
}

async function failure(p: Promise<unknown>): Promise<GrpcFailure> {
  try {
    await p;
  } catch (e) {
    const err = e as ServiceError;
    const field = err.metadata?.get(FIELD_METADATA_KEY)[0];
    const reason = err.metadata?.get(REASON_METADATA_KEY)[0];
    return {
      code: err.code,
      details: err.details,
      field: field === undefined ? undefined : String(field),
      reason: reason === undefined ? undefined : String(reason),
    };
  }
  throw new Error('the call succeeded; an error was expected');
}

/** The name of the first rule of the policy the simulated device applied last. */
function firstRule(sim: SimulatedDevice): string | undefined {
  return (sim.applied.get('policy')?.spec as Json | undefined)?.rules?.[0]?.name;
}

describe.each(TEST_STACKS)('gRPC API on $name', { timeout: 30_000 }, ({ db: makeDb, broker }) => {
  let db: TestDatabase;
  let fm: FleetManagerHandle;
  let grpc: FleetApi; // acting as operator "bob"
  let rest: ReturnType<typeof client>; // acting as operator "alice"
  const topics = new TopicTree(`nmtest/grpc-${randomBytes(5).toString('hex')}/v1`);
  const sims: SimulatedDevice[] = [];

  beforeAll(async () => {
    db = await makeDb();
    fm = await startFleetManager({
      databaseUrl: db.url,
      httpPort: 0,
      grpcPort: 0,
      logger: false,
      topicRoot: topics.root,
      ...broker,
    });
    grpc = connectFleetApi(fm.grpcUrl!, { actor: 'bob' });
    rest = client(fm.url, 'alice');
  });
  afterAll(async () => {
    grpc?.close();
    for (const s of sims) await s.close().catch(() => undefined);
    await fm?.close();
    await db?.drop();
  });

  /** Creates a token and enrolls a device with it, both over gRPC. */
  const enroll = async (
    deviceId: string,
    labels: Record<string, string>,
    keys = generateDeviceKeys(),
  ) => {
    const t = await grpc.createEnrollmentToken({ ttlSeconds: 600, labels });
    return grpc.enroll({ token: t.token, deviceId, publicKeys: devicePublicKeysPem(keys) });
  };

  it('listens on grpcUrl and reports health as GET /health does', async () => {
    expect(fm.grpcUrl).toMatch(/^127\.0\.0\.1:\d+$/);
    const h = await grpc.getHealth();
    expect(h).toMatchObject({ status: 'ok', database: { ok: true }, broker: { ok: true } });
    expect(plain(h)).toEqual(body(await rest('GET', '/health')));
  });

  it('creates a token and enrolls a device with a CSR, as REST does', async () => {
    const t = await grpc.createEnrollmentToken({
      deviceName: 'core tap',
      labels: { role: 'core', rack: 'r1' },
      ttlSeconds: 600,
    });
    expect(t.token).toMatch(/^nmt_[A-Za-z0-9_-]{43}$/);
    expect(t.expiresAt!.getTime() - Date.now()).toBeGreaterThan(590_000);

    const keys = generateDeviceKeys();
    const enrolled = await grpc.enroll({
      token: t.token,
      deviceId: 'g-tap-01',
      csrPem: await createCsr(keys, 'g-tap-01'),
      publicKeys: devicePublicKeysPem(keys),
      agentVersion: '0.1.0',
    });
    expect(enrolled.device).toMatchObject({
      id: 'g-tap-01',
      name: 'core tap',
      labels: { role: 'core', rack: 'r1' },
      online: false,
      agentVersion: '0.1.0',
      site: undefined,
    });
    expect(enrolled.device!.certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(enrolled.brokerUrl).toBe(fm.broker.url);
    expect(enrolled.caPem).toBe((await rest('GET', '/ca.pem')).text);
    // The device as REST shows it.
    expect(plain(enrolled.device)).toEqual(restShape(body(await rest('GET', '/devices/g-tap-01'))));

    // The token list, used now, is the REST list; the token itself is never shown again.
    const tokens = await grpc.listEnrollmentTokens();
    expect(tokens.items.find((x) => x.id === t.id)).toMatchObject({
      state: 'used',
      usedByDeviceId: 'g-tap-01',
    });
    expect(plain(tokens.items)).toEqual(restShape(body(await rest('GET', '/enrollment-tokens'))));
    expect(JSON.stringify(tokens)).not.toContain(t.token);

    // Audit: the operator named in x-netmirror-actor created the token; the device enrolled itself.
    const audit = await grpc.listAudit({ limit: 2 });
    expect(audit.items.map((a) => [a.action, a.actor])).toEqual([
      ['device.enroll', 'device:g-tap-01'],
      ['enrollment.token.create', 'operator:bob'],
    ]);
  });

  it('lists devices by label, online, limit and offset as GET /devices does', async () => {
    await enroll('g-edge-01', { role: 'edge', rack: 'r1' });
    await enroll('g-edge-02', { role: 'edge', rack: 'r2' });
    const cases: Array<[Parameters<FleetApi['listDevices']>[0], string]> = [
      [{}, ''],
      [{ label: ['role=edge'] }, '?label=role=edge'],
      [{ label: ['rack=r1', 'role=edge'] }, '?label=rack=r1&label=role=edge'],
      [{ label: ['role=nothing'] }, '?label=role=nothing'],
      [{ online: true }, '?online=true'],
      [{ online: false, limit: 1, offset: 1 }, '?online=false&limit=1&offset=1'],
    ];
    for (const [req, query] of cases) {
      const g = await grpc.listDevices(req);
      expect(plain(g), query).toEqual(restShape(body(await rest('GET', `/devices${query}`))));
    }
    const edge = await grpc.listDevices({ label: ['role=edge'] });
    expect(edge.total).toBe(2);
    expect(edge.items.map((d) => d.id)).toEqual(['g-edge-01', 'g-edge-02']);
    expect((await grpc.listDevices({ online: true })).total).toBe(0);
    expect((await grpc.listDevices({ limit: 1, offset: 1 })).items.map((d) => d.id)).toEqual([
      'g-edge-02',
    ]);
  });

  it('updates name, site and labels (with removal), audited under the gRPC actor', async () => {
    const updated = await grpc.updateDevice({
      id: 'g-edge-01',
      name: 'edge one',
      site: 'fra1',
      setLabels: { zone: 'dmz' },
      removeLabels: ['rack'],
    });
    expect(updated).toMatchObject({
      name: 'edge one',
      site: 'fra1',
      labels: { role: 'edge', zone: 'dmz' },
    });
    expect(updated.labels.rack).toBeUndefined();
    expect(plain(await grpc.getDevice({ id: 'g-edge-01' }))).toEqual(
      restShape(body(await rest('GET', '/devices/g-edge-01'))),
    );
    expect(plain(updated)).toEqual(plain(await grpc.getDevice({ id: 'g-edge-01' })));

    const cleared = await grpc.updateDevice({ id: 'g-edge-01', clearSite: true });
    expect(cleared.site).toBeUndefined();
    expect(body(await rest('GET', '/devices/g-edge-01')).site).toBeNull();

    const audit = await grpc.listAudit({ limit: 2, target: 'device:g-edge-01' });
    expect(audit.items.map((a) => a.action)).toEqual(['device.update', 'device.update']);
    expect(audit.items[0]).toMatchObject({
      actor: 'operator:bob',
      details: { before: { site: 'fra1' }, after: { site: null } },
    });
    expect(audit.items[1].details).toEqual({
      before: { name: 'g-edge-01', site: null, labels: { role: 'edge', rack: 'r1' } },
      after: { name: 'edge one', site: 'fra1', labels: { role: 'edge', zone: 'dmz' } },
    });
    // The same page over REST.
    expect(plain(audit)).toEqual(
      restShape(body(await rest('GET', '/audit?limit=2&target=device:g-edge-01'))),
    );
  });

  it('reads the actor from x-netmirror-actor exactly as the REST header is read', async () => {
    const anonymous = connectFleetApi(fm.grpcUrl!);
    const bogus = connectFleetApi(fm.grpcUrl!, { actor: 'not a name!' });
    try {
      await anonymous.updateDevice({ id: 'g-edge-02', name: 'by nobody' });
      await bogus.updateDevice({ id: 'g-edge-02', name: 'by a bad name' });
    } finally {
      anonymous.close();
      bogus.close();
    }
    const audit = await grpc.listAudit({ limit: 2, target: 'device:g-edge-02' });
    expect(audit.items.map((a) => a.actor)).toEqual(['operator:anonymous', 'operator:anonymous']);
  });

  it('maps validation errors to INVALID_ARGUMENT with the field, as REST names it in 400s', async () => {
    const cases: Array<[string, () => Promise<unknown>, string, string, unknown]> = [
      ['no ttl', () => grpc.createEnrollmentToken({}), 'POST', '/enrollment-tokens', {}],
      [
        'ttl too long',
        () => grpc.createEnrollmentToken({ ttlSeconds: 1e8 }),
        'POST',
        '/enrollment-tokens',
        { ttlSeconds: 1e8 },
      ],
      [
        'bad label key',
        () => grpc.createEnrollmentToken({ ttlSeconds: 600, labels: { 'bad key': 'x' } }),
        'POST',
        '/enrollment-tokens',
        { ttlSeconds: 600, labels: { 'bad key': 'x' } },
      ],
      [
        'no public keys',
        () => grpc.enroll({ token: 'nmt_x', deviceId: 'g-bad' }),
        'POST',
        '/enroll',
        { token: 'nmt_x', deviceId: 'g-bad' },
      ],
      [
        'unparseable public keys',
        () => grpc.enroll({ token: 'nmt_x', publicKeys: { tls: 'nope', x25519: 'nope' } }),
        'POST',
        '/enroll',
        { token: 'nmt_x', publicKeys: { tls: 'nope', x25519: 'nope' } },
      ],
      [
        'bad device id',
        () =>
          grpc.enroll({
            token: 'nmt_x',
            deviceId: 'a/b',
            publicKeys: devicePublicKeysPem(generateDeviceKeys()),
          }),
        'POST',
        '/enroll',
        { token: 'nmt_x', deviceId: 'a/b', publicKeys: devicePublicKeysPem(generateDeviceKeys()) },
      ],
      [
        'empty patch',
        () => grpc.updateDevice({ id: 'g-edge-01' }),
        'PATCH',
        '/devices/g-edge-01',
        {},
      ],
      [
        'bad label value',
        () => grpc.updateDevice({ id: 'g-edge-01', setLabels: { zone: 'a\u0007b' } }),
        'PATCH',
        '/devices/g-edge-01',
        { labels: { zone: 'a\u0007b' } },
      ],
      [
        'bad selector',
        () => grpc.listDevices({ label: ['nokey'] }),
        'GET',
        '/devices?label=nokey',
        undefined,
      ],
      [
        'limit too big',
        () => grpc.listDevices({ limit: 5000 }),
        'GET',
        '/devices?limit=5000',
        undefined,
      ],
      ['audit limit', () => grpc.listAudit({ limit: 0 }), 'GET', '/audit?limit=0', undefined],
    ];
    for (const [name, call, method, path, restBody] of cases) {
      const g = await failure(call());
      const r = await rest(method, path, restBody);
      expect(r.status, name).toBe(400);
      expect(g, name).toEqual({
        code: status.INVALID_ARGUMENT,
        details: body(r).message,
        field: body(r).field,
      });
      expect(g.details.startsWith(`${g.field}: `), name).toBe(true);
    }
    // gRPC-only shapes of the same patch are refused by name too.
    expect(
      await failure(grpc.updateDevice({ id: 'g-edge-01', site: 'x', clearSite: true })),
    ).toMatchObject({
      code: status.INVALID_ARGUMENT,
      field: 'clearSite',
    });
    expect(
      await failure(
        grpc.updateDevice({ id: 'g-edge-01', setLabels: { a: '1' }, removeLabels: ['a'] }),
      ),
    ).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'removeLabels' });
    // A refused CSR names csrPem, as REST does, and leaves the token usable.
    const t = await grpc.createEnrollmentToken({ ttlSeconds: 600 });
    const keys = generateDeviceKeys();
    const csr = await failure(
      grpc.enroll({
        token: t.token,
        deviceId: 'g-csr',
        csrPem: await createCsr(keys, 'someone-else'),
        publicKeys: devicePublicKeysPem(keys),
      }),
    );
    expect(csr).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'csrPem' });
    expect(csr.details).toMatch(/^csrPem: /);
    expect(
      (
        await grpc.enroll({
          token: t.token,
          deviceId: 'g-csr',
          publicKeys: devicePublicKeysPem(keys),
        })
      ).device!.id,
    ).toBe('g-csr');
  });

  it('maps not found, conflict, gone and unauthorized to NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, UNAUTHENTICATED', async () => {
    const notFound = await failure(grpc.getDevice({ id: 'nope' }));
    const restNotFound = await rest('GET', '/devices/nope');
    expect(restNotFound.status).toBe(404);
    expect(notFound).toEqual({
      code: status.NOT_FOUND,
      details: body(restNotFound).message,
      field: undefined,
    });
    expect((await failure(grpc.updateDevice({ id: 'nope', name: 'x' }))).code).toBe(
      status.NOT_FOUND,
    );
    expect((await failure(grpc.decommissionDevice({ id: 'nope' }))).code).toBe(status.NOT_FOUND);

    const t = await grpc.createEnrollmentToken({ ttlSeconds: 600 });
    const exists = await failure(
      grpc.enroll({
        token: t.token,
        deviceId: 'g-tap-01',
        publicKeys: devicePublicKeysPem(generateDeviceKeys()),
      }),
    );
    expect(exists).toMatchObject({
      code: status.ALREADY_EXISTS,
      details: 'device "g-tap-01" already exists',
    });

    await grpc.enroll({
      token: t.token,
      deviceId: 'g-once',
      publicKeys: devicePublicKeysPem(generateDeviceKeys()),
    });
    const reused = await failure(
      grpc.enroll({
        token: t.token,
        deviceId: 'g-twice',
        publicKeys: devicePublicKeysPem(generateDeviceKeys()),
      }),
    );
    expect(reused).toMatchObject({ code: status.FAILED_PRECONDITION });
    expect(reused.details).toMatch(/already been used/);

    const unknown = await failure(
      grpc.enroll({ token: 'nmt_nope', publicKeys: devicePublicKeysPem(generateDeviceKeys()) }),
    );
    expect(unknown).toEqual({
      code: status.UNAUTHENTICATED,
      details: 'enrollment token is not valid',
      field: undefined,
    });
  });

  it('decommissions a device, then it is gone from both APIs', async () => {
    expect(await grpc.decommissionDevice({ id: 'g-once' })).toEqual({});
    expect((await failure(grpc.getDevice({ id: 'g-once' }))).code).toBe(status.NOT_FOUND);
    expect((await rest('GET', '/devices/g-once')).status).toBe(404);
    const [last] = (await grpc.listAudit({ limit: 1 })).items;
    expect(last).toMatchObject({
      action: 'device.decommission',
      actor: 'operator:bob',
      target: 'device:g-once',
    });
  });

  it('pages the audit log as GET /audit does', async () => {
    let before: number | undefined;
    let restBefore: number | null = null;
    let pages = 0;
    do {
      const g = await grpc.listAudit({ limit: 3, before });
      const r = body(
        await rest('GET', `/audit?limit=3${restBefore === null ? '' : `&before=${restBefore}`}`),
      );
      expect(plain(g)).toEqual(restShape(r));
      before = g.nextBefore;
      restBefore = r.nextBefore as number | null;
      pages++;
    } while (before !== undefined);
    expect(restBefore).toBeNull();
    expect(pages).toBeGreaterThan(3);
  });

  it('also works with the generated callback client and raw metadata', async () => {
    const raw = new FleetServiceClient(fm.grpcUrl!, credentials.createInsecure());
    try {
      const md = new Metadata();
      md.set('x-netmirror-actor', 'carol');
      const device = await new Promise((resolve, reject) =>
        raw.getDevice(GetDeviceRequest.create({ id: 'g-tap-01' }), md, (err, res) =>
          err ? reject(err) : resolve(res),
        ),
      );
      expect(device).toMatchObject({ id: 'g-tap-01', name: 'core tap' });
    } finally {
      raw.close();
    }
  });

  describe('policies, rollouts, device state and drift', () => {
    let sim: SimulatedDevice;

    it('creates, reads, updates and versions policies as REST does', async () => {
      // A live device (connected, applies what it gets) and an offline one.
      sim = new SimulatedDevice({ id: 'g-live', brokerUrl: fm.broker.url, topics });
      sims.push(sim);
      await grpc.enroll({
        token: (await grpc.createEnrollmentToken({ ttlSeconds: 600, labels: { fleet: 'live' } }))
          .token,
        deviceId: 'g-live',
        publicKeys: sim.publicKeys(),
      });
      await sim.connect();
      await enroll('g-stuck', { fleet: 'stuck' });

      const created = await grpc.createPolicy({
        name: 'g-live',
        domain: 'policy',
        targetLabels: { fleet: 'live' },
        spec: SPEC_V1,
        comment: 'web only',
      });
      expect(created).toMatchObject({
        name: 'g-live',
        latestVersion: 1,
        deployedVersion: undefined,
        priority: 0,
      });
      expect(plain(await grpc.getPolicy({ name: 'g-live' }))).toEqual(
        restShape(body(await rest('GET', '/policies/g-live'))),
      );
      await grpc.createPolicy({
        name: 'g-stuck',
        domain: 'policy',
        targetLabels: { fleet: 'stuck' },
        spec: SPEC_V1,
      });

      const v1 = await grpc.getPolicyVersion({ name: 'g-live', version: 1 });
      expect(v1.spec).toEqual(SPEC_V1);
      expect(v1).toMatchObject({ comment: 'web only', createdBy: 'operator:bob' });
      expect(plain(v1)).toEqual(restShape(body(await rest('GET', '/policies/g-live/versions/1'))));

      const v2 = await grpc.createPolicyVersion({ name: 'g-live', spec: SPEC_V2 });
      expect(v2).toMatchObject({ version: 2, comment: undefined });
      expect(v2.hash).not.toBe(v1.hash);
      expect(plain(await grpc.listPolicyVersions({ name: 'g-live' }))).toEqual({
        items: restShape(body(await rest('GET', '/policies/g-live/versions'))),
      });

      const updated = await grpc.updatePolicy({ name: 'g-stuck', priority: 5 });
      expect(updated).toMatchObject({ priority: 5, targetLabels: { fleet: 'stuck' } });
      const relabelled = await grpc.updatePolicy({
        name: 'g-stuck',
        targetLabels: { labels: { fleet: 'stuck' } },
      });
      expect(relabelled.targetLabels).toEqual({ fleet: 'stuck' });
      expect(plain(await grpc.listPolicies())).toEqual({
        items: restShape(body(await rest('GET', '/policies'))),
      });

      // Errors, with the field (the spec is checked by libs/rules, as on the device).
      const badSpec = { destinations: { x: 'vxlan://' }, rules: [] };
      const g = await failure(grpc.createPolicyVersion({ name: 'g-live', spec: badSpec }));
      const r = await rest('POST', '/policies/g-live/versions', { spec: badSpec });
      expect(g).toEqual({ code: status.INVALID_ARGUMENT, details: body(r).message, field: 'spec' });
      expect(
        await failure(grpc.createPolicy({ name: 'Bad Name', domain: 'policy', spec: SPEC_V1 })),
      ).toMatchObject({
        code: status.INVALID_ARGUMENT,
        field: 'name',
      });
      expect(
        await failure(grpc.createPolicy({ name: 'x', domain: 'firewall', spec: SPEC_V1 })),
      ).toMatchObject({
        code: status.INVALID_ARGUMENT,
        field: 'domain',
      });
      expect(
        await failure(grpc.createPolicy({ name: 'g-live', domain: 'policy', spec: SPEC_V1 })),
      ).toMatchObject({
        code: status.ALREADY_EXISTS,
        details: 'policy "g-live" already exists',
      });
      expect((await failure(grpc.getPolicyVersion({ name: 'g-live', version: 9 }))).code).toBe(
        status.NOT_FOUND,
      );
      expect(await failure(grpc.updatePolicy({ name: 'g-live' }))).toMatchObject({
        code: status.INVALID_ARGUMENT,
        field: 'body',
      });
    });

    it('deploys to the live device, which applies it; state and rollouts read as over REST', async () => {
      const deployed = await grpc.deployPolicy({ name: 'g-live', version: 1 });
      expect(deployed).toMatchObject({ policy: 'g-live', version: 1, previousVersion: undefined });
      const done = await until('deploy of v1 completed', async () => {
        const r = await grpc.getRollout({ id: deployed.id });
        return r.status === 'completed' ? r : null;
      });
      // A deploy does not wait on outcomes: the device may not have reported yet.
      expect(done.stages.flatMap((s) => s.devices)).toEqual([
        {
          deviceId: 'g-live',
          outcome: expect.stringMatching(/^(pending|applied)$/),
          error: undefined,
        },
      ]);

      const v1 = await grpc.getPolicyVersion({ name: 'g-live', version: 1 });
      const state = await until('g-live in sync', async () => {
        const s = await grpc.getDeviceState({ deviceId: 'g-live' });
        const p = s.domains.find((d) => d.domain === 'policy');
        return p?.inSync && p.reported ? s : null;
      });
      expect(state.domains.find((d) => d.domain === 'policy')).toMatchObject({
        desired: { policy: 'g-live', policyVersion: 1, hash: v1.hash },
        reported: { status: 'applied', hash: v1.hash },
      });
      expect(sim.applied.get('policy')?.spec).toEqual(SPEC_V1);
      expect(plain(await grpc.getDeviceState({ deviceId: 'g-live' }))).toEqual(
        restShape(body(await rest('GET', '/devices/g-live/state'))),
      );
      expect((await failure(grpc.getDeviceState({ deviceId: 'nope' }))).code).toBe(
        status.NOT_FOUND,
      );
      expect((await grpc.getPolicy({ name: 'g-live' })).deployedVersion).toBe(1);
      expect(plain(await grpc.getRollout({ id: deployed.id }))).toEqual(
        restShape(body(await rest('GET', `/rollouts/${deployed.id}`))),
      );
    });

    it('starts a rollout with a strategy, then rolls it back', async () => {
      const started = await grpc.startRollout({
        policy: 'g-live',
        version: 2,
        strategy: { canary: 1, waves: [50, 100], maxFailuresPerStage: 0, successRatio: 1 },
      });
      expect(started).toMatchObject({
        version: 2,
        previousVersion: 1,
        strategy: { canary: 1, waves: [50, 100], maxFailuresPerStage: 0, successRatio: 1 },
        createdBy: 'operator:bob',
      });
      await until(
        'rollout of v2 completed',
        async () => (await grpc.getRollout({ id: started.id })).status === 'completed',
      );
      await until('g-live on v2', async () => firstRule(sim) === 'dns');

      const back = await grpc.rollbackRollout({ id: started.id });
      expect(back).toMatchObject({
        status: 'rolled-back',
        reason: 'rolled back to version 1 by operator:bob',
      });
      await until('g-live back on v1 spec', async () => firstRule(sim) === 'web');
      await until('g-live reported back in sync', async () => {
        const p = (await grpc.getDeviceState({ deviceId: 'g-live' })).domains.find(
          (d) => d.domain === 'policy',
        );
        return p?.inSync && p.desired?.policyVersion === 1;
      });
      expect(await failure(grpc.rollbackRollout({ id: started.id }))).toMatchObject({
        code: status.ALREADY_EXISTS,
        details: 'already rolled back',
      });
      expect(plain(await grpc.listRollouts({ policy: 'g-live' }))).toEqual({
        items: restShape(body(await rest('GET', '/rollouts?policy=g-live'))),
      });
      expect(await failure(grpc.startRollout({ policy: 'g-live' }))).toMatchObject({
        code: status.INVALID_ARGUMENT,
        field: 'version',
      });
      expect(
        await failure(
          grpc.startRollout({ policy: 'g-live', version: 1, strategy: { successRatio: 2 } }),
        ),
      ).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'strategy.successRatio' });
    });

    it('pauses, resumes and aborts a rollout stuck on an offline device, which shows as drift', async () => {
      const r = await grpc.startRollout({ policy: 'g-stuck', version: 1 });
      expect(r.status).toBe('running');
      expect(r.stages[0].devices).toEqual([
        { deviceId: 'g-stuck', outcome: 'pending', error: undefined },
      ]);
      expect(r.strategy).toEqual({
        canary: 1,
        waves: [25, 50, 100],
        maxFailuresPerStage: 0,
        successRatio: 1,
      });

      const conflict = await failure(grpc.deployPolicy({ name: 'g-stuck', version: 1 }));
      expect(conflict.code).toBe(status.ALREADY_EXISTS);
      expect(conflict.details).toMatch(/already has rollout/);

      const drift = await grpc.listDrift();
      expect(drift.items).toEqual([
        expect.objectContaining({
          deviceId: 'g-stuck',
          domain: 'policy',
          inSync: false,
          reported: undefined,
        }),
      ]);
      expect(plain(drift)).toEqual(restShape(body(await rest('GET', '/drift'))));

      expect((await grpc.pauseRollout({ id: r.id })).status).toBe('paused');
      expect((await grpc.resumeRollout({ id: r.id })).status).toBe('running');
      const aborted = await grpc.abortRollout({ id: r.id });
      expect(aborted).toMatchObject({ status: 'aborted', reason: 'aborted by operator:bob' });
      expect(await failure(grpc.pauseRollout({ id: r.id }))).toMatchObject({
        code: status.ALREADY_EXISTS,
        details: 'cannot pause a rollout that is aborted',
      });
      expect((await failure(grpc.getRollout({ id: 'nope' }))).code).toBe(status.NOT_FOUND);
      const actions = (await grpc.listAudit({ limit: 3, target: `rollout:${r.id}` })).items.map(
        (a) => [a.action, a.actor],
      );
      expect(actions).toEqual([
        ['rollout.abort', 'operator:bob'],
        ['rollout.resume', 'operator:bob'],
        ['rollout.pause', 'operator:bob'],
      ]);
    });

    it('queries telemetry and lists and acknowledges alerts as REST does', async () => {
      const t0 = Date.now() - 60_000;
      for (let i = 0; i < 5; i++) {
        await sim.client!.publishTelemetry('g-live', sampleTelemetry(t0 + i * 1000, i));
      }
      await sim.client!.publishAlert('g-live', {
        v: 1,
        type: 'alert',
        at: t0,
        severity: 'warning',
        code: 'queue.full',
        message: 'lake dropped copies',
      });
      const from = new Date(t0 + 1000);
      const to = new Date(t0 + 3000);
      const page = await until('telemetry stored', async () => {
        const p = await grpc.queryTelemetry({ deviceId: 'g-live', from, to });
        return p.items.length === 3 ? p : null;
      });
      expect(page.items[0]).toMatchObject({
        at: from,
        taps: [{ name: 'pcap', packetsSeen: 100, bytesSeen: 6400 }],
        destinations: [{ packetsSent: 90, packetsDropped: 1 }],
        cpuPercent: 1.5,
        memoryBytes: 50e6,
      });
      const restPage = await rest(
        'GET',
        `/devices/g-live/telemetry?from=${from.toISOString()}&to=${to.toISOString()}`,
      );
      expect(plain(page)).toEqual(restShape(body(restPage)));
      expect(
        (await grpc.queryTelemetry({ deviceId: 'g-live', from, to, limit: 1 })).items,
      ).toHaveLength(1);
      expect(
        await failure(grpc.queryTelemetry({ deviceId: 'g-live', from: to, to: from })),
      ).toMatchObject({
        code: status.INVALID_ARGUMENT,
        field: 'from',
      });
      expect((await failure(grpc.queryTelemetry({ deviceId: 'nope' }))).code).toBe(
        status.NOT_FOUND,
      );

      const alerts = await until('alert stored', async () => {
        const p = await grpc.listAlerts({ deviceId: 'g-live' });
        return p.items.length === 1 ? p : null;
      });
      expect(alerts.items[0]).toMatchObject({
        severity: 'warning',
        code: 'queue.full',
        acknowledgedAt: undefined,
      });
      expect(plain(alerts)).toEqual(restShape(body(await rest('GET', '/alerts?deviceId=g-live'))));
      expect((await grpc.listAlerts({ deviceId: 'g-live', severity: 'critical' })).items).toEqual(
        [],
      );
      expect(await failure(grpc.listAlerts({ severity: 'dire' }))).toMatchObject({
        code: status.INVALID_ARGUMENT,
        field: 'severity',
      });

      const ack = await grpc.acknowledgeAlert({ id: alerts.items[0].id });
      expect(ack).toMatchObject({ code: 'queue.full', acknowledgedBy: 'operator:bob' });
      expect(ack.acknowledgedAt).toBeInstanceOf(Date);
      expect((await failure(grpc.acknowledgeAlert({ id: alerts.items[0].id }))).code).toBe(
        status.ALREADY_EXISTS,
      );
      expect((await failure(grpc.acknowledgeAlert({ id: 999_999 }))).code).toBe(status.NOT_FOUND);
    });

    it('lists and rotates the fleet data keys as REST does', async () => {
      const before = await grpc.listKeys();
      expect(before.version).toBeGreaterThanOrEqual(1);
      expect(plain(before)).toEqual(restShape(body(await rest('GET', '/keys'))));
      const rotated = await grpc.rotateKeys();
      expect(rotated.version).toBe(before.version + 1);
      expect(rotated.keys[0]).toMatchObject({ active: true, retiredAt: undefined });
      expect(plain(rotated)).toEqual(restShape(body(await rest('GET', '/keys'))));
      const [last] = (await grpc.listAudit({ limit: 1 })).items;
      expect(last.actor).toBe('operator:bob');
    });

    it('deletes a policy', async () => {
      expect(await grpc.deletePolicy({ name: 'g-stuck' })).toEqual({});
      expect((await failure(grpc.getPolicy({ name: 'g-stuck' }))).code).toBe(status.NOT_FOUND);
      expect((await rest('GET', '/policies/g-stuck')).status).toBe(404);
      expect((await failure(grpc.deletePolicy({ name: 'g-stuck' }))).code).toBe(status.NOT_FOUND);
    });
  });

  it('uploads, lists and gets firmware and starts updates as REST does', async () => {
    const postImage = async (bytes: Buffer): Promise<{ status: number; body: Json }> => {
      const res = await fetch(`${fm.url}/firmware`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', 'x-netmirror-actor': 'alice' },
        body: bytes,
      });
      return { status: res.status, body: (await res.json()) as Json };
    };

    const img = firmwareImage();
    const uploaded = await grpc.uploadFirmware({ image: img });
    expect(uploaded).toMatchObject({
      boardId: loadBoardProfile('nm-tap-4x10g').boardId,
      boardProfile: 'nm-tap-4x10g',
      version: '1.2.0',
      size: img.length,
      sha256: createHash('sha256').update(img).digest('hex'),
      keyId: 'netmirror-dev-2026',
      createdBy: 'operator:bob',
    });
    expect(plain(uploaded)).toEqual(body(await rest('GET', `/firmware/${uploaded.id}`)));
    expect(plain(await grpc.getFirmware({ id: uploaded.id }))).toEqual(plain(uploaded));
    const viaRest = (await postImage(firmwareImage())).body;
    const listed = await grpc.listFirmware();
    expect(listed.items.map((i) => i.id)).toEqual([viaRest.id, uploaded.id]);
    expect(plain(listed)).toEqual(body(await rest('GET', '/firmware')));
    const [row] = (await grpc.listAudit({ limit: 1, target: `firmware:${uploaded.id}` })).items;
    expect(row).toMatchObject({ action: 'firmware.upload', actor: 'operator:bob' });

    // Refusals: REST's status and message; the reason REST puts in its body.
    expect(await failure(grpc.uploadFirmware({ image: img }))).toEqual({
      code: status.ALREADY_EXISTS,
      details: `this image was uploaded already, as ${uploaded.id}`,
      field: undefined,
      reason: undefined,
    });
    const tampered = firmwareImage();
    tampered[tampered.length - 1] ^= 1;
    const restRefusal = await postImage(tampered);
    expect(restRefusal.status).toBe(400);
    expect(await failure(grpc.uploadFirmware({ image: tampered }))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'firmware image refused: bad signature (key "netmirror-dev-2026")',
      field: undefined,
      reason: 'signature',
    });
    expect(restRefusal.body).toMatchObject({
      reason: 'signature',
      message: 'firmware image refused: bad signature (key "netmirror-dev-2026")',
    });
    expect(await failure(grpc.uploadFirmware({ image: Buffer.alloc(500, 7) }))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      reason: 'header',
    });
    expect(await failure(grpc.uploadFirmware({}))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      field: 'image',
    });
    // REST's 8 MiB: just past it, the handler's 413; far past it, grpc-js's own limit.
    const limit = 8 * 1024 * 1024;
    expect(await failure(grpc.uploadFirmware({ image: Buffer.alloc(limit + 1) }))).toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      details: `an image is at most ${limit} bytes`,
    });
    expect(
      (await failure(grpc.uploadFirmware({ image: Buffer.alloc(9 * 1024 * 1024) }))).code,
    ).toBe(status.RESOURCE_EXHAUSTED);
    expect(await failure(grpc.getFirmware({ id: 'nope' }))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      field: 'id',
    });
    expect((await rest('GET', '/firmware/nope')).status).toBe(400);
    expect((await failure(grpc.getFirmware({ id: randomUUID() }))).code).toBe(status.NOT_FOUND);

    // Updates: an unknown device, an offline one, bad fields; all as REST answers them.
    const unknown = await failure(
      grpc.startFirmwareUpdate({ deviceId: 'nope', imageId: uploaded.id }),
    );
    const restUnknown = await rest('POST', '/devices/nope/firmware-updates', {
      imageId: uploaded.id,
    });
    expect(restUnknown.status).toBe(404);
    expect(unknown).toMatchObject({ code: status.NOT_FOUND, details: body(restUnknown).message });
    const offline = await failure(
      grpc.startFirmwareUpdate({ deviceId: 'g-edge-01', imageId: uploaded.id }),
    );
    expect(offline.code).toBe(status.ALREADY_EXISTS);
    expect(offline.details).toMatch(/is offline/);
    expect(await failure(grpc.startFirmwareUpdate({ deviceId: 'g-edge-01' }))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: 'imageId: is required',
      field: 'imageId',
    });
    expect(
      await failure(
        grpc.startFirmwareUpdate({ deviceId: 'g-edge-01', imageId: uploaded.id, ttlSeconds: 5 }),
      ),
    ).toMatchObject({ code: status.INVALID_ARGUMENT, field: 'ttlSeconds' });
    expect(await grpc.listFirmwareUpdates({ deviceId: 'g-edge-01' })).toEqual({ items: [] });
    expect(
      (await failure(grpc.getFirmwareUpdate({ deviceId: 'g-edge-01', updateId: 'nope' }))).code,
    ).toBe(status.NOT_FOUND);

    // A device online: the command's URL is the REST API's own (no publicUrl here), and works.
    await enroll('g-fw', {});
    let url = '';
    const device = await ControlClient.connect({
      url: fm.broker.url,
      clientId: 'g-fw',
      presence: { deviceId: 'g-fw' },
      topics,
      logger: { info: () => undefined, warn: () => undefined },
    });
    try {
      await device.handleCommands('g-fw', async (cmd) => {
        const args = readFirmwareInstallArgs(cmd.args);
        if (!args.ok) throw new Error(args.reason);
        url = args.message.url;
        const res = await fetch(url);
        const got = createHash('sha256')
          .update(Buffer.from(await res.arrayBuffer()))
          .digest('hex');
        throw new Error(`downloaded ${res.status} ${got === args.message.sha256 ? 'ok' : 'bad'}`);
      });
      await until('g-fw online', async () => (await grpc.getDevice({ id: 'g-fw' })).online);
      const started = await grpc.startFirmwareUpdate({
        deviceId: 'g-fw',
        imageId: uploaded.id,
        ttlSeconds: 120,
      });
      expect(started).toMatchObject({
        deviceId: 'g-fw',
        imageId: uploaded.id,
        version: '1.2.0',
        status: 'sent',
        createdBy: 'operator:bob',
        finishedAt: undefined,
      });
      expect(started.expiresAt!.getTime() - started.createdAt!.getTime()).toBe(120_000);
      const failed = await until('update failed', async () => {
        const u = await grpc.getFirmwareUpdate({ deviceId: 'g-fw', updateId: started.id });
        return u.status === 'failed' ? u : null;
      });
      expect(url).toMatch(new RegExp(`^${fm.url}/firmware/${uploaded.id}/image\\?token=nmfw_`));
      expect(failed.message).toBe('downloaded 200 ok');
      expect(plain(failed)).toEqual(
        restShape(body(await rest('GET', `/devices/g-fw/firmware-updates/${started.id}`))),
      );
      expect(plain(await grpc.listFirmwareUpdates({ deviceId: 'g-fw' }))).toEqual(
        restShape(body(await rest('GET', '/devices/g-fw/firmware-updates'))),
      );
    } finally {
      await device.close();
    }
  });
});

describe('gRPC server lifecycle', () => {
  it('is off unless grpcPort is given, and a busy port fails the start', async () => {
    const db = sqliteTestDatabase();
    const off = await startFleetManager({
      databaseUrl: db.url,
      embeddedBrokerPort: 0,
      httpPort: 0,
      logger: false,
    });
    try {
      expect(off.grpcUrl).toBeNull();
    } finally {
      await off.close();
    }
    const on = await startFleetManager({
      databaseUrl: db.url,
      embeddedBrokerPort: 0,
      httpPort: 0,
      grpcPort: 0,
      logger: false,
    });
    const port = Number(on.grpcUrl!.split(':').pop());
    try {
      await expect(
        startFleetManager({
          databaseUrl: db.url,
          embeddedBrokerPort: 0,
          httpPort: 0,
          grpcPort: port,
          logger: false,
        }),
      ).rejects.toThrow(/gRPC: cannot listen/);
    } finally {
      await on.close();
    }
    // After close the port is free again: nothing is left listening on it.
    const again = await startFleetManager({
      databaseUrl: db.url,
      embeddedBrokerPort: 0,
      httpPort: 0,
      grpcPort: port,
      logger: false,
    });
    expect(again.grpcUrl).toBe(`127.0.0.1:${port}`);
    await again.close();
    await db.drop();
  });
});
