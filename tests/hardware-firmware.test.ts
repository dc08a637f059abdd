// Firmware updates of a hardware tap board, from the fleet manager: the agent
// daemon drives an emulated FPGA tap board (tools/board-emulator behind a
// socat pty) as in hardware-fpga.test.ts; an operator uploads signed images
// and starts updates through the REST API. A good image ends installed with
// its progress in the update record and the board on the new version; an
// image that fails its self-test ends rolled back with the board on the old
// one; badly signed images never get past the upload. After each update the
// board copies exactly what the software pipeline selects for the same
// rules, as before it.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { firmwarePayload, type FirmwareManifest } from '@netmirror/board-emulator';
import { writeCaptureFile } from '@netmirror/capgen';
import { startFleetManager, type FleetManagerHandle } from '@netmirror/fleet-manager';
import { boardProfilesDir, buildFirmwareImage, loadBoardProfile } from '@netmirror/fpga';
import { ControlClient, TopicTree, type CommandProgress } from '@netmirror/protocol';
import { startEnrolledAgent, type AgentProcess } from './support/agent-process.js';
import { startBoard, WEB_AND_DNS_TO_MON0, type BoardProcess } from './support/board.js';
import { fleetApi, type Json } from './support/fleet-api.js';
import { readFrames, tempDir } from './support/frames.js';
import { mirror, NETMIRROR, run, type RunResult } from './support/run.js';
import { until } from './support/until.js';

const BOARD = 'nm-tap-4x10g';
const DEV_KEY = readFileSync(join(boardProfilesDir(), '../keys/netmirror-dev-2026.pem'), 'utf8');
const REPLICA = 'fw-e2e';

const RULES = WEB_AND_DNS_TO_MON0;

/** A signed image for the board; 160 kB of payload is about 2 s on the 921600-baud line. */
function image(
  version: [number, number, number],
  boots: FirmwareManifest,
  over: Partial<Parameters<typeof buildFirmwareImage>[0]> = {},
): Buffer {
  const [major, minor, patch] = version;
  return buildFirmwareImage({
    boardId: loadBoardProfile(BOARD).boardId,
    version: { major, minor, patch },
    payload: firmwarePayload(boots, 160_000),
    keyId: 'netmirror-dev-2026',
    privateKey: DEV_KEY,
    ...over,
  });
}

describe(
  'firmware updates of an FPGA tap board from the fleet manager',
  { timeout: 180_000 },
  () => {
    let fm: FleetManagerHandle;
    let agent: AgentProcess;
    let board: BoardProcess;
    let observer: ControlClient;
    const tmp = tempDir('hw-firmware');
    const topics = new TopicTree(`nmtest/hw-fw-${randomBytes(5).toString('hex')}/v1`);
    const id = `hwfw-${randomBytes(3).toString('hex')}`;
    const capture = tmp.path('mix.pcap');
    const boardOut = tmp.path('mon0.pcap');
    const api = fleetApi(() => fm.url);
    /** Every command-progress the device sent the fleet manager, seen on the broker. */
    const progress: CommandProgress[] = [];

    const upload = async (bytes: Buffer): Promise<{ status: number; body: Json }> => {
      const res = await fetch(`${fm.url}/firmware`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', 'x-netmirror-actor': 'e2e' },
        body: bytes,
        signal: AbortSignal.timeout(10_000),
      });
      return { status: res.status, body: (await res.json()) as Json };
    };

    /** Starts an update to `imageId`; polls its record until it ends, keeping every state seen. */
    const runUpdate = async (imageId: string): Promise<{ final: Json; seen: Json[] }> => {
      const started = await api('POST', `/devices/${id}/firmware-updates`, { imageId });
      expect(started.status).toBe('sent');
      const seen: Json[] = [];
      const final = await until(
        `update ${started.id} finished`,
        async () => {
          const r = await api('GET', `/devices/${id}/firmware-updates/${started.id}`);
          seen.push(r);
          return ['sent', 'running'].includes(r.status) ? null : r;
        },
        90_000,
      );
      return { final, seen };
    };

    const fleet = (args: string[]): Promise<RunResult> =>
      run('node', [NETMIRROR, 'fleet', '--url', fm.url, '--actor', 'e2e', ...args], {
        timeoutMs: 90_000,
      });

    const boardFirmware = async (): Promise<string> =>
      ((await board.command('status')).status as Json).firmware;

    /** Frames written to mon0 by the next feed of the capture (the output file only grows). */
    const feedBoard = async (): Promise<Buffer[]> => {
      const before = readFrames(boardOut).length;
      const answer = await board.command(`feed ${capture} p0`);
      expect(answer.fed).toMatchObject({ frames: 4000 });
      return readFrames(boardOut)
        .slice(before)
        .map((f) => f.data);
    };

    let expected: Buffer[] = [];
    /** The board copies exactly what the software pipeline selects for RULES. */
    const mirrorsTheRules = async (): Promise<void> => {
      const got = await feedBoard();
      expect(got.length).toBe(expected.length);
      expect(
        got.findIndex((f, i) => !f.equals(expected[i])),
        'first differing copy',
      ).toBe(-1);
    };

    beforeAll(async () => {
      writeCaptureFile({ path: capture, frames: 4000, seed: 33 });
      board = await startBoard({ board: BOARD, baud: 921600, out: [`mon0=pcap:${boardOut}`] });
      fm = await startFleetManager({
        databaseUrl: `sqlite:${tmp.path('fleet.db')}`,
        httpPort: 0,
        embeddedBrokerPort: 0,
        logger: ['error'],
        topicRoot: topics.root,
        replicaId: REPLICA,
      });
      observer = await ControlClient.connect({
        url: fm.broker.url,
        clientId: 'fw-observer',
        topics,
        logger: { info: () => undefined, warn: () => undefined },
      });
      observer.onMessage((m) => {
        if (m.message.type === 'command-progress') progress.push(m.message);
      });
      await observer.transport.subscribeAsync([topics.responseFilter(`fleet-${REPLICA}`)], {
        qos: 1,
      });

      agent = await startEnrolledAgent({
        api,
        fleetUrl: fm.url,
        dir: tmp.path('agent'),
        deviceId: id,
        labels: { tier: 'hwfw' },
        topicRoot: topics.root,
        taps: [`fpga:${board.hostPort}?board=${BOARD}&baud=921600`],
      });
      await api('POST', '/policies', {
        name: 'hwfw',
        domain: 'policy',
        targetLabels: { tier: 'hwfw' },
        spec: RULES,
      });
      await api('POST', '/policies/hwfw/deploy', { version: 1 });
      await until('the rules applied', async () => {
        const { domains } = await api('GET', `/devices/${id}/state`);
        const s = domains.find((d: Json) => d.domain === 'policy');
        return s?.inSync && s.reported?.status === 'applied';
      });
      const rules = tmp.path('rules.json');
      writeFileSync(
        rules,
        JSON.stringify({ ...RULES, destinations: { mon: `pcap:${tmp.path('sw.pcap')}` } }),
      );
      const r = await mirror(['--from', `pcap:${capture}`, '--rules', rules], tmp.path('sw.json'));
      expect(r.code, r.stderr).toBe(0);
      expected = readFrames(tmp.path('sw.pcap')).map((f) => f.data);
      expect(expected.length).toBeGreaterThan(100);
    }, 60_000);
    afterEach((ctx) => {
      if (ctx.task.result?.state === 'fail')
        process.stderr.write(
          `--- agent stderr ---\n${agent?.stderr().slice(-3000)}\n--- board stderr ---\n${board?.stderr().slice(-2000)}\n`,
        );
    });
    afterAll(async () => {
      await observer?.close();
      await agent?.stop().catch(() => undefined);
      await fm?.close();
      await board?.close();
      tmp.remove();
    });

    it('refuses at upload an image with a bad signature, or signed by a key the board does not trust', async () => {
      const forged = image([1, 2, 0], { healthy: true });
      forged[forged.length - 10] ^= 0x40;
      const bad = await upload(forged);
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({
        reason: 'signature',
        message: 'firmware image refused: bad signature (key "netmirror-dev-2026")',
      });
      const unknown = await upload(
        image(
          [1, 2, 0],
          { healthy: true },
          {
            keyId: 'someone-else',
            privateKey: generateKeyPairSync('ed25519').privateKey,
          },
        ),
      );
      expect(unknown.status).toBe(400);
      expect(unknown.body).toMatchObject({
        reason: 'key',
        message: 'firmware image refused: image is signed with unknown key "someone-else"',
      });
      expect((await api('GET', '/firmware')).items).toEqual([]);
      await mirrorsTheRules(); // and the board was not touched
    });

    it('installs a good image: progress in the record and on the wire, the board on the new version, the same rules in force', async () => {
      expect(await boardFirmware()).toBe('1.0.0');
      const img = await upload(image([1, 2, 0], { healthy: true }));
      expect(img.status).toBe(201);
      const { final, seen } = await runUpdate(img.body.id);
      expect(final).toMatchObject({
        status: 'installed',
        phase: 'done',
        version: '1.2.0',
        previousVersion: '1.0.0',
        runningVersion: '1.2.0',
        message: 'firmware 1.2.0 installed and confirmed',
      });
      expect(await boardFirmware()).toBe('1.2.0');

      // The record showed the upload under way, its bytes rising.
      const uploading = seen.filter((r) => r.status === 'running' && r.phase === 'upload');
      const bytes = uploading.map((r) => r.bytes as number);
      expect(new Set(bytes.filter((b) => b > 0 && b < img.body.size)).size).toBeGreaterThan(1);
      expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
      // The device said every phase, in order, and counted the upload up (throttled).
      const phases = progress.map((p) => p.phase).filter((p, i, all) => p !== all[i - 1]);
      expect(phases).toEqual(['download', 'upload', 'verify', 'activate', 'confirm', 'done']);
      const uploads = progress.filter((p) => p.phase === 'upload').map((p) => p.bytes ?? -1);
      expect(uploads.length).toBeGreaterThan(2);
      expect(uploads).toEqual([...uploads].sort((a, b) => a - b));
      expect(uploads.at(-1)).toBe(img.body.size);
      expect(progress.map((p) => p.seq)).toEqual(progress.map((_p, i) => i + 1));

      await mirrorsTheRules();
      const { domains } = await api('GET', `/devices/${id}/state`);
      expect(domains.find((d: Json) => d.domain === 'policy')).toMatchObject({ inSync: true });
    });

    it('rolls back an image that fails its self-test: the board is back on the old version, mirroring the same rules', async () => {
      progress.length = 0;
      const img = await upload(image([1, 9, 0], { healthy: false }));
      expect(img.status).toBe(201);
      const { final } = await runUpdate(img.body.id);
      expect(final).toMatchObject({
        status: 'rolled-back',
        phase: 'rolled-back',
        version: '1.9.0',
        previousVersion: '1.2.0',
        runningVersion: '1.2.0',
        message: 'firmware 1.9.0 rolled back: it failed its self-test; running 1.2.0 again',
      });
      expect(await boardFirmware()).toBe('1.2.0');
      expect(progress.map((p) => p.phase).filter((p, i, all) => p !== all[i - 1])).toEqual([
        'download',
        'upload',
        'verify',
        'activate',
        'rolled-back',
      ]);
      await mirrorsTheRules();
    });

    it("through the operator CLI: an image that never answers is rolled back by the board's own boot timer; mirroring resumes", async () => {
      const file = tmp.path('hangs.nmfw');
      writeFileSync(file, image([2, 0, 0], { healthy: true, hang: true }));
      const up = await fleet(['firmware', 'upload', file, '--json']);
      expect(up.code, up.stderr).toBe(0);
      const img = JSON.parse(up.stdout) as Json;
      const forged = tmp.path('forged.nmfw');
      const bytes = image([2, 0, 1], { healthy: true });
      bytes[bytes.length - 1] ^= 1;
      writeFileSync(forged, bytes);
      const refused = await fleet(['firmware', 'upload', forged]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('firmware image refused: bad signature');

      const started = Date.now();
      const watch = await fleet(['firmware', 'install', id, img.id, '--watch', '--timeout', '60']);
      expect(Date.now() - started).toBeGreaterThanOrEqual(
        loadBoardProfile(BOARD).firmware.bootTimeoutMs,
      );
      expect(watch.code).toBe(1); // not installed
      expect(watch.stdout).toMatch(/running {2}upload [\d.]+ KiB\/156\.\d KiB \(\d+ %\)/);
      expect(watch.stderr).toMatch(/firmware update \S+ rolled-back: firmware 2\.0\.0 rolled back/);
      const updates = (await api('GET', `/devices/${id}/firmware-updates`)).items as Json[];
      expect(updates.map((u) => u.version)).toEqual(['2.0.0', '1.9.0', '1.2.0']);
      const final = updates[0];
      expect(final).toMatchObject({
        status: 'rolled-back',
        runningVersion: '1.2.0',
        message:
          'firmware 2.0.0 rolled back: the board did not answer after booting it and reverted on its own; running 1.2.0 again',
      });
      expect(await boardFirmware()).toBe('1.2.0');
      await mirrorsTheRules();

      const audit = await api('GET', `/audit?target=device:${id}&limit=20`);
      expect(audit.items.map((a: Json) => a.action)).toEqual(
        expect.arrayContaining([
          'firmware.update.start',
          'firmware.update.installed',
          'firmware.update.rolled-back',
        ]),
      );
    });
  },
);
