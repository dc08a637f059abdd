// The agent's firmware.install pieces that need no board: the progress
// throttle, the bounded download (against a real HTTP server), and the
// refusals made before anything is downloaded. With the board:
// tests/hardware-firmware.test.ts.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CommandRequest, FirmwareInstallArgs } from '@netmirror/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CaptureSession, MirrorSummary } from '../pipeline/index.js';
import { downloadImage, firmwareInstallHandler, ProgressThrottle } from './firmware-install.js';
import type { ProgressUpdate } from './firmware-install.js';

describe('ProgressThrottle', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends each phase change at once, and within a phase the latest at most once per interval', async () => {
    vi.useFakeTimers();
    const sent: ProgressUpdate[] = [];
    const t = new ProgressThrottle(async (p) => void sent.push(p), 250);
    t.push({ phase: 'download', bytes: 0 });
    for (let b = 1; b <= 10; b++) t.push({ phase: 'download', bytes: b * 100 });
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.map((p) => p.bytes)).toEqual([0]);
    await vi.advanceTimersByTimeAsync(250);
    expect(sent.map((p) => p.bytes)).toEqual([0, 1000]); // the latest, not every one
    t.push({ phase: 'upload', bytes: 0 });
    t.push({ phase: 'upload', bytes: 64 });
    t.push({ phase: 'verify', bytes: 64 });
    await t.flush();
    expect(sent.map((p) => `${p.phase} ${p.bytes}`)).toEqual([
      'download 0',
      'download 1000',
      'upload 0',
      'upload 64', // held back, sent before the phase changes
      'verify 64',
    ]);
  });

  it('flush sends what is held back', async () => {
    const sent: ProgressUpdate[] = [];
    const t = new ProgressThrottle(async (p) => void sent.push(p), 10_000);
    t.push({ phase: 'upload', bytes: 1 });
    t.push({ phase: 'upload', bytes: 2 });
    await t.flush();
    expect(sent.map((p) => p.bytes)).toEqual([1, 2]);
  });
});

describe('downloadImage', () => {
  let server: Server;
  let base = '';
  const body = Buffer.alloc(50_000, 0xa5);
  const sha256 = createHash('sha256').update(body).digest('hex');
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/ok')) return void res.end(body);
      if (req.url?.startsWith('/long')) return void res.end(Buffer.concat([body, body]));
      if (req.url?.startsWith('/slow')) {
        res.write(body.subarray(0, 10)); // and then nothing
        return;
      }
      if (req.url?.startsWith('/moved')) {
        res.writeHead(302, { location: '/ok' });
        return void res.end();
      }
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end('{"message":"firmware download needs a valid download token"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const args = (path: string, over: Partial<FirmwareInstallArgs> = {}): FirmwareInstallArgs => ({
    imageId: 'img',
    url: `${base}${path}?token=secret`,
    size: body.length,
    sha256,
    version: '1.2.0',
    board: 'nm-tap-4x10g',
    ...over,
  });

  it('downloads and checks the image, reporting bytes as they come', async () => {
    const seen: number[] = [];
    const got = await downloadImage(args('/ok'), 5000, (n) => seen.push(n));
    expect(got.equals(body)).toBe(true);
    expect(seen.at(-1)).toBe(body.length);
  });

  it.each([
    ['/ok', { sha256: '0'.repeat(64) }, `SHA-256 ${sha256} is not the command's ${'0'.repeat(64)}`],
    ['/ok', { size: 100 }, `the server sends ${body.length} bytes, the command says 100`],
    ['/long', {}, `the server sends ${2 * body.length} bytes, the command says ${body.length}`],
    ['/denied', {}, 'HTTP 403: {"message":"firmware download needs a valid download token"}'],
    ['/moved', {}, 'fetch failed'],
    ['/slow', {}, 'no complete image within 0.5 s'],
  ])('refuses %s %j', async (path, over, why) => {
    await expect(downloadImage(args(path, over), 500, () => undefined)).rejects.toThrow(
      `download of ${base}${path} failed: ${why}`, // never the token
    );
  });
});

describe('firmwareInstallHandler', () => {
  const cmd = (args: Record<string, unknown>): CommandRequest => ({
    v: 1,
    type: 'command',
    name: 'firmware.install',
    correlationId: 'c-1',
    responseTopic: 'netmirror/v1/d/response/fleet-1',
    expiresAt: Date.now() + 60_000,
    args: args as CommandRequest['args'],
  });
  const ctx = { progress: async (): Promise<void> => undefined };
  const software: CaptureSession = {
    run: () => new Promise<MirrorSummary>(() => undefined),
    stop: () => undefined,
    reconfigure: async () => undefined,
    snapshot: () => ({ source: 'afpacket:eth1' }) as MirrorSummary,
  };

  it('refuses malformed args and a session that is not a hardware tap, before any download', async () => {
    const handler = firmwareInstallHandler(software, {
      fetch: () => Promise.reject(new Error('must not download')),
    });
    await expect(handler(cmd({ imageId: 'x' }), ctx)).rejects.toThrow(
      'firmware.install refused: firmware.install.args.url: expected a string of 1-2048 characters, got nothing',
    );
    await expect(
      handler(
        cmd({
          imageId: 'x',
          url: 'http://127.0.0.1:1/firmware/x/image?token=t',
          size: 10,
          sha256: 'a'.repeat(64),
          version: '1.0.0',
          board: 'nm-tap-4x10g',
        }),
        ctx,
      ),
    ).rejects.toThrow(
      'firmware.install refused: this agent captures from afpacket:eth1, not a hardware tap board (fpga:)',
    );
  });
});
