// Firmware images and updates at the fleet manager's edge, on SQLite + the
// embedded aedes and on PostgreSQL + Mosquitto: uploads checked as a board
// checks them, and updates followed from a simulated device that runs the
// real protocol code (downloads with the command's token, sends progress,
// answers). The real agent and board: tests/hardware-firmware.test.ts.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { boardProfilesDir, buildFirmwareImage, loadBoardProfile } from '@netmirror/fpga';
import {
  ControlClient,
  readFirmwareInstallArgs,
  TopicTree,
  type CommandContext,
  type CommandRequest,
  type JsonValue,
} from '@netmirror/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleetManager, type FleetManagerHandle } from '../main.js';
import { TEST_STACKS, type TestDatabase } from '../testing/databases.js';
import { client } from '../testing/http.js';
import { until } from '../testing/until.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const DEV_KEY = readFileSync(join(boardProfilesDir(), '../keys/netmirror-dev-2026.pem'), 'utf8');
const board = loadBoardProfile('nm-tap-4x10g');
let buildTime = 1_795_000_000;

/** A fresh image (each build time gives other bytes, so no upload is a duplicate). */
const image = (over: Partial<Parameters<typeof buildFirmwareImage>[0]> = {}): Buffer =>
  buildFirmwareImage({
    boardId: board.boardId,
    version: { major: 1, minor: 2, patch: 0 },
    payload: Buffer.from('NMBITSTREAM\n{"healthy":true}\n'.padEnd(3000, 'x')),
    buildTime: buildTime++,
    keyId: 'netmirror-dev-2026',
    privateKey: DEV_KEY,
    ...over,
  });

/** A device's handler of firmware.install: what the test wants it to do with the command. */
type Behaviour = (cmd: CommandRequest, ctx: CommandContext) => Promise<JsonValue | void>;

describe.each(TEST_STACKS)('firmware on $name', { timeout: 60_000 }, ({ db: makeDb, broker }) => {
  let db: TestDatabase;
  let fm: FleetManagerHandle;
  let api: ReturnType<typeof client>;
  let clockOffsetMs = 0;
  const topics = new TopicTree(`nmtest/fw-${randomBytes(5).toString('hex')}/v1`);
  const devices: ControlClient[] = [];

  const upload = async (
    body: Buffer,
    type = 'application/octet-stream',
  ): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${fm.url}/firmware`, {
      method: 'POST',
      headers: { 'content-type': type, 'x-netmirror-actor': 'alice' },
      body,
    });
    return { status: res.status, body: (await res.json()) as Json };
  };

  /** Enrolls `id` and brings it online, answering firmware.install with `behaviour`. */
  const device = async (id: string, behaviour: Behaviour): Promise<ControlClient> => {
    const t = await api('POST', '/enrollment-tokens', { ttlSeconds: 600 });
    const keys = () =>
      generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const tls = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    const r = await api('POST', '/enroll', {
      token: (t.body as Json).token,
      deviceId: id,
      publicKeys: { tls, x25519: keys() },
    });
    expect(r.status).toBe(201);
    const c = await ControlClient.connect({
      url: fm.broker.url,
      clientId: id,
      presence: { deviceId: id },
      topics,
      logger: { info: () => undefined, warn: () => undefined },
    });
    devices.push(c);
    await c.handleCommands(id, (cmd, ctx) => behaviour(cmd, ctx));
    await until(
      `${id} online`,
      async () => ((await api('GET', `/devices/${id}`)).body as Json).online,
    );
    return c;
  };

  /** What a real device does: download with the command's URL, check it, report progress. */
  const installs: Behaviour = async (cmd, ctx) => {
    const args = readFirmwareInstallArgs(cmd.args);
    if (!args.ok) throw new Error(args.reason);
    const res = await fetch(args.message.url);
    if (!res.ok) throw new Error(`download: HTTP ${res.status}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(args.message.sha256);
    await ctx.progress({ phase: 'download', bytes: bytes.length, total: bytes.length });
    for (const at of [0, 1024, 2048, bytes.length])
      await ctx.progress({ phase: 'upload', bytes: at, total: bytes.length });
    for (const phase of ['verify', 'activate', 'confirm', 'done'])
      await ctx.progress({ phase, bytes: bytes.length, total: bytes.length });
    return {
      outcome: 'installed',
      version: args.message.version,
      running: args.message.version,
      previous: '1.0.0',
      resumedAt: 0,
      rulesRestored: true,
      message: `firmware ${args.message.version} installed and confirmed`,
    };
  };

  beforeAll(async () => {
    db = await makeDb();
    fm = await startFleetManager({
      databaseUrl: db.url,
      httpPort: 0,
      logger: ['error'],
      now: () => new Date(Date.now() + clockOffsetMs),
      topicRoot: topics.root,
      ...broker,
    });
    api = client(fm.url);
  });
  afterAll(async () => {
    for (const d of devices) await d.close().catch(() => undefined);
    await fm?.close();
    await db?.drop();
  });

  it('stores a good image and lists it; the same image twice is a conflict', async () => {
    const img = image();
    const r = await upload(img);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      boardId: 0x1001,
      boardProfile: 'nm-tap-4x10g',
      version: '1.2.0',
      size: img.length,
      sha256: createHash('sha256').update(img).digest('hex'),
      keyId: 'netmirror-dev-2026',
      createdBy: 'operator:alice',
    });
    expect((await api('GET', `/firmware/${r.body.id}`)).body).toEqual(r.body);
    const listed = (await api('GET', '/firmware')).body as Json;
    expect(listed.items.map((i: Json) => i.id)).toContain(r.body.id);
    const again = await upload(img);
    expect(again.status).toBe(409);
    expect(again.body.message).toBe(`this image was uploaded already, as ${r.body.id}`);
    const audit = (await api('GET', `/audit?target=firmware:${r.body.id}`)).body as Json;
    expect(audit.items[0]).toMatchObject({ action: 'firmware.upload', actor: 'operator:alice' });
  });

  it('refuses bad images with 400 and the reason, and anything but an octet stream', async () => {
    const forged = image();
    forged[forged.length - 1] ^= 1;
    const rogue = generateKeyPairSync('ed25519').privateKey;
    const damaged = image();
    damaged[100] ^= 1;
    const cases: Array<[Buffer, string, string]> = [
      [forged, 'signature', 'firmware image refused: bad signature (key "netmirror-dev-2026")'],
      [
        image({ keyId: 'rogue-2026', privateKey: rogue }),
        'key',
        'firmware image refused: image is signed with unknown key "rogue-2026"',
      ],
      [damaged, 'crc', 'firmware image refused: payload CRC'],
      [
        image({ boardId: 0xdead }),
        'board',
        'firmware image refused: no board profile has board id 0x0000dead (known: nm-tap-2x100g 0x00002001, nm-tap-4x10g 0x00001001)',
      ],
      [Buffer.alloc(500, 7), 'header', 'firmware image refused: not a NetMirror firmware image'],
      [
        image({ payload: Buffer.alloc(board.firmware.slotBytes) }),
        'size',
        `do not fit the nm-tap-4x10g's firmware slot (${board.firmware.slotBytes} bytes)`,
      ],
    ];
    for (const [bytes, reason, message] of cases) {
      const r = await upload(bytes);
      expect(r.status, message).toBe(400);
      expect(r.body.reason).toBe(reason);
      expect(r.body.message).toContain(message);
    }
    expect((await upload(image(), 'text/plain')).status).toBe(415);
    expect((await upload(Buffer.alloc(9 * 1024 * 1024))).status).toBe(413);
    const images = ((await api('GET', '/firmware')).body as Json).items as Json[];
    expect(images.every((i) => i.keyId === 'netmirror-dev-2026')).toBe(true);
  });

  it('updates a device: progress in the record, then installed; the token is good only meanwhile', async () => {
    const id = `fw-ok-${randomBytes(2).toString('hex')}`;
    let url = '';
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    await device(id, async (cmd, ctx) => {
      url = String(cmd.args.url);
      await ctx.progress({ phase: 'download', bytes: 0, total: Number(cmd.args.size) });
      await held; // the test looks at the record mid-way
      return installs(cmd, ctx);
    });
    const img = (await upload(image({ version: { major: 1, minor: 3, patch: 0 } }))).body;
    expect((await api('GET', `/firmware/${img.id}/image`)).status).toBe(403);

    const started = await api('POST', `/devices/${id}/firmware-updates`, { imageId: img.id });
    expect(started.status).toBe(201);
    const u = started.body as Json;
    expect(u).toMatchObject({ deviceId: id, imageId: img.id, version: '1.3.0', status: 'sent' });
    expect(u).not.toHaveProperty('tokenHash');
    expect(u).not.toHaveProperty('correlationId');
    const record = async (): Promise<Json> =>
      (await api('GET', `/devices/${id}/firmware-updates/${u.id}`)).body as Json;

    await until('running', async () => (await record()).status === 'running');
    expect(await record()).toMatchObject({ phase: 'download', bytes: 0, total: img.size });
    expect(url).toMatch(new RegExp(`^${fm.url}/firmware/${img.id}/image\\?token=nmfw_`));
    expect((await fetch(url.replace(/token=.*/, 'token=nmfw_guess'))).status).toBe(403);
    const busy = await api('POST', `/devices/${id}/firmware-updates`, { imageId: img.id });
    expect(busy.status).toBe(409);
    expect((busy.body as Json).message).toBe(
      `firmware update ${u.id} of device "${id}" is still running`,
    );

    release();
    const done = await until('installed', async () => {
      const r = await record();
      return r.status === 'installed' ? r : null;
    });
    expect(done).toMatchObject({
      phase: 'done',
      bytes: img.size,
      runningVersion: '1.3.0',
      previousVersion: '1.0.0',
      message: 'firmware 1.3.0 installed and confirmed',
    });
    expect(done.finishedAt).not.toBeNull();
    expect((await fetch(url)).status).toBe(403); // the update is over: so is its token
    const list = (await api('GET', `/devices/${id}/firmware-updates`)).body as Json;
    expect(list.items.map((i: Json) => i.id)).toEqual([u.id]);
    const audit = (await api('GET', `/audit?target=device:${id}`)).body as Json;
    expect(audit.items.map((a: Json) => a.action)).toEqual(
      expect.arrayContaining(['firmware.update.start', 'firmware.update.installed']),
    );
  });

  it('records the device refusing, and refuses offline, unknown and missing targets', async () => {
    const id = `fw-no-${randomBytes(2).toString('hex')}`;
    await device(id, async () => {
      throw new Error(
        'firmware.install refused: this agent captures from pcap:x, not a hardware tap board (fpga:)',
      );
    });
    const img = (await upload(image())).body;
    const u = (await api('POST', `/devices/${id}/firmware-updates`, { imageId: img.id }))
      .body as Json;
    const failed = await until('failed', async () => {
      const r = (await api('GET', `/devices/${id}/firmware-updates/${u.id}`)).body as Json;
      return r.status === 'failed' ? r : null;
    });
    expect(failed.message).toContain('not a hardware tap board');

    expect(
      (await api('POST', '/devices/nobody/firmware-updates', { imageId: img.id })).status,
    ).toBe(404);
    const noImage = await api('POST', `/devices/${id}/firmware-updates`, {
      imageId: '00000000-0000-0000-0000-000000000000',
    });
    expect(noImage.status).toBe(400);
    expect((noImage.body as Json).field).toBe('imageId');
    expect((await api('POST', `/devices/${id}/firmware-updates`, {})).status).toBe(400);

    await devices.at(-1)?.close();
    await until('offline', async () => !((await api('GET', `/devices/${id}`)).body as Json).online);
    const offline = await api('POST', `/devices/${id}/firmware-updates`, { imageId: img.id });
    expect(offline.status).toBe(409);
    expect((offline.body as Json).message).toContain('is offline');
  });

  it('calls an update the device never starts expired once its command has expired', async () => {
    const id = `fw-exp-${randomBytes(2).toString('hex')}`;
    await device(id, () => new Promise(() => undefined)); // takes it, never says a word
    const img = (await upload(image())).body;
    const u = (
      await api('POST', `/devices/${id}/firmware-updates`, { imageId: img.id, ttlSeconds: 10 })
    ).body as Json;
    expect(u.status).toBe('sent');
    clockOffsetMs = 60_000; // past the expiry and its grace
    try {
      const expired = await until(
        'expired',
        async () => {
          const r = (await api('GET', `/devices/${id}/firmware-updates/${u.id}`)).body as Json;
          return r.status === 'expired' ? r : null;
        },
        15_000,
      );
      expect(expired.message).toContain('did not start the update before the command expired');
    } finally {
      clockOffsetMs = 0;
    }
  });
});
