// The emulated board behind a real pty pair (socat), driven by the real
// host side (SerialLink + BoardClient): identification, filter-table
// programming checked on the data path against the user-space matcher,
// fault injection, spontaneous resets, and firmware updates.
import { writeCaptureFile } from '@netmirror/capgen';
import {
  BoardClient,
  BoardError,
  buildFirmwareImage,
  boardProfilesDir,
  encodeTcamBank,
  loadBoardProfile,
  Reg,
  tcamGeometry,
  tcamTarget,
} from '@netmirror/fpga';
import type { BoardProfile } from '@netmirror/fpga';
import { decodeFrame, LinkType, PacketView } from '@netmirror/packet';
import { openCaptureReader } from '@netmirror/pcap';
import { FrameBatch } from '@netmirror/packet';
import { compileRulesTcam, RuleMatcher, validateRuleSet } from '@netmirror/rules';
import type { RuleSet } from '@netmirror/rules';
import { LinkError, openSerialTransport, SerialLink } from '@netmirror/serial-link';
import type { ByteTransport } from '@netmirror/serial-link';
import { crc32 } from 'node:zlib';
import { createPtyPair } from '@netmirror/serial-link/testing';
import type { PtyPair } from '@netmirror/serial-link/testing';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { firmwarePayload } from './board-model.js';
import type { EmulatorFaults } from './emulator.js';
import { BoardEmulator } from './emulator.js';
import { openPortOutput } from './outputs.js';

const BAUD = 921600;
const dir = mkdtempSync(join(tmpdir(), 'nm-emu-'));
const capture = join(dir, 'mix.pcap');
const DEV_KEY = readFileSync(join(boardProfilesDir(), '../keys/netmirror-dev-2026.pem'), 'utf8');

beforeAll(() => {
  writeCaptureFile({ path: capture, frames: 3000, seed: 21 });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The host's end of the line, which a test can cut (every byte lost both ways) and mend. */
class CuttableLine implements ByteTransport {
  cut = false;
  constructor(private readonly inner: ByteTransport) {}
  write(data: Buffer): void {
    if (!this.cut) this.inner.write(data);
  }
  onData(cb: (chunk: Buffer) => void): void {
    this.inner.onData((chunk) => {
      if (!this.cut) cb(chunk);
    });
  }
  onClose(cb: (err?: Error) => void): void {
    this.inner.onClose(cb);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Rig {
  line: CuttableLine;
  pty: PtyPair;
  emulator: BoardEmulator;
  link: SerialLink;
  client: BoardClient;
  out: string;
}
const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.link.close().catch(() => undefined);
    await r.emulator.close().catch(() => undefined);
    await r.pty.close();
  }
});

async function rig(
  boardId: string,
  faults: EmulatorFaults = {},
  clientProfile: BoardProfile = loadBoardProfile(boardId),
): Promise<Rig> {
  const pty = await createPtyPair();
  const profile = loadBoardProfile(boardId);
  const out = join(dir, `${boardId}-${rigs.length}-${Date.now()}.pcap`);
  const emulator = new BoardEmulator({
    profile,
    transport: await openSerialTransport(pty.a, BAUD),
    baudRate: BAUD,
    faults,
    outputs: new Map([[0, openPortOutput(`pcap:${out}`)]]),
  });
  const line = new CuttableLine(await openSerialTransport(pty.b, BAUD));
  const link = new SerialLink(line, { baudRate: BAUD, window: 8 });
  const r = { line, pty, emulator, link, client: new BoardClient(link, clientProfile), out };
  rigs.push(r);
  return r;
}

const rules = (list: object[]): RuleSet =>
  validateRuleSet({
    rules: list.map((r, i) => ({ name: `r${i}`, priority: i + 1, action: 'mirror', ...r })),
  });

const WEB_AND_DNS = rules([
  { action: 'skip', match: { src: '10.1.2.0/24' } },
  { match: { protocol: 'tcp', port: [443, 80] }, transforms: { slice: 128 } },
  { match: { protocol: 'udp', dstPort: '53' } },
  { match: { vlan: [20, 100] } },
]);

function bankFor(set: RuleSet, profile: BoardProfile): { bank: Buffer; used: number } {
  const program = compileRulesTcam(
    set,
    tcamTarget(profile, () => 1),
  );
  return {
    bank: encodeTcamBank(program.entries, profile),
    used: program.entries.length * tcamGeometry(profile).entryBytes,
  };
}

/** What the user-space pipeline copies for `set`: each selected frame, sliced as its rule says. */
function softwareSelection(set: RuleSet): Buffer[] {
  const matcher = new RuleMatcher(set, 1);
  const view = new PacketView();
  const out: Buffer[] = [];
  for (const f of readFrames(capture)) {
    decodeFrame(f, 0, f.length, f.length, LinkType.ETHERNET, view);
    if (view.vlanDepth > 2) continue; // beyond what the board parses
    const r = matcher.firstMatch(view, 0);
    if (r < 0 || set.rules[r].action !== 'mirror') continue;
    const slice = set.rules[r].transforms.slice ?? 0;
    out.push(slice > 0 && slice < f.length ? f.subarray(0, slice) : f);
  }
  return out;
}

interface CapturedFrame {
  data: Buffer;
  /** Arrival time, "sec.nsec". */
  time: string;
}

function readCapture(path: string): CapturedFrame[] {
  const reader = openCaptureReader(path);
  const batch = new FrameBatch(512);
  const frames: CapturedFrame[] = [];
  while (reader.next(batch) > 0)
    for (let i = 0; i < batch.count; i++)
      frames.push({
        data: Buffer.from(batch.buf.subarray(batch.offset[i], batch.offset[i] + batch.caplen[i])),
        time: `${batch.tsSec[i]}.${batch.tsNsec[i]}`,
      });
  reader.close();
  return frames;
}

function readFrames(path: string): Buffer[] {
  return readCapture(path).map((f) => f.data);
}

describe('the emulated board over a pty', () => {
  it('identifies as its profile, and a client expecting another board says so', async () => {
    const r = await rig('nm-tap-4x10g');
    const id = await r.client.identify();
    expect(id).toMatchObject({ boardId: 0x1001, regmap: '1.0', firmware: '1.0.0' });
    const wrong = await rig('nm-tap-2x100g', {}, loadBoardProfile('nm-tap-4x10g'));
    await expect(wrong.client.identify()).rejects.toThrow(
      'the board on this port is not a nm-tap-4x10g: board id 0x00002001, the nm-tap-4x10g profile says 0x00001001; filter table 2048 × 92 bytes (key 44), the profile says 512 × 44 (key 20)',
    );
  });

  it('mirrors what the software pipeline selects, once programmed and enabled', async () => {
    for (const boardId of ['nm-tap-4x10g', 'nm-tap-2x100g']) {
      const r = await rig(boardId);
      const profile = loadBoardProfile(boardId);
      await r.client.identify();
      const { bank, used } = bankFor(WEB_AND_DNS, profile);
      const report = await r.client.programTcam(bank, used);
      expect(report).toMatchObject({ bytes: used, generation: 1 });
      // Not enabled yet: nothing copied.
      expect(r.emulator.feedFile(capture)).toEqual({ frames: 3000, copies: 0 });
      await r.client.setMirroring(true);
      const fed = r.emulator.feedFile(capture);
      const expected = softwareSelection(WEB_AND_DNS);
      expect(expected.length).toBeGreaterThan(500);
      expect(fed.copies).toBe(expected.length);
      const got = readFrames(r.out);
      expect(got.length).toBe(expected.length);
      expect(got.every((f, i) => f.equals(expected[i]))).toBe(true);
      const ports = await r.client.portCounters();
      expect(ports[0]).toMatchObject({ name: 'p0', rxFrames: 6000 });
      expect(ports.find((p) => p.name === 'mon0')).toMatchObject({ txFrames: expected.length });
    }
  });

  it('timestamp trailers where the board has them, a clear refusal where it does not', async () => {
    const r = await rig('nm-tap-2x100g');
    const profile = loadBoardProfile('nm-tap-2x100g');
    await r.client.identify();
    const dns = rules([{ match: { protocol: 'udp', dstPort: '53' } }]);
    const { bank, used } = bankFor(dns, profile);
    await r.client.programTcam(bank, used);
    await r.client.setTimestamps('TRAILER');
    await r.client.setMirroring(true);
    r.emulator.feedFile(capture);
    const expected = softwareSelection(dns);
    const got = readFrames(r.out);
    expect(got.length).toBe(expected.length);
    // Each copy: the frame, then u32 seconds and u32 nanoseconds (big-endian) of its arrival.
    const input = new Set(readCapture(capture).map((f) => f.time));
    for (let i = 0; i < got.length; i++) {
      expect(got[i].subarray(0, -8).equals(expected[i])).toBe(true);
      const t = got[i].subarray(-8);
      expect(input.has(`${t.readUInt32BE(0)}.${t.readUInt32BE(4)}`)).toBe(true);
    }
    const small = await rig('nm-tap-4x10g');
    await small.client.identify();
    await expect(small.client.setTimestamps('TRAILER')).rejects.toThrow(
      'the nm-tap-4x10g has no trailer timestamps (it has none)',
    );
  });

  it('a failed programming leaves the rules in force; a commit replaces them atomically', async () => {
    const r = await rig('nm-tap-4x10g');
    const profile = loadBoardProfile('nm-tap-4x10g');
    await r.client.identify();
    const udpOnly = rules([{ match: { protocol: 'udp' } }]);
    const v1 = bankFor(udpOnly, profile);
    await r.client.programTcam(v1.bank, v1.used);
    await r.client.setMirroring(true);
    // The line goes dead while v2 is being written.
    const v2 = bankFor(WEB_AND_DNS, profile);
    const attempt = r.client.programTcam(v2.bank, v2.used);
    setTimeout(() => (r.line.cut = true), 2);
    await expect(attempt).rejects.toThrow(/the serial line loses even|no response/);
    r.line.cut = false;
    const [active] = await retry(() => r.link.readRegs(Reg.TCAM_ACTIVE_CRC, 1));
    expect(active >>> 0).toBe(crc32(v1.bank));
    const fed = r.emulator.feedFile(capture);
    expect(fed.copies).toBe(softwareSelection(udpOnly).length);
  }, 60_000);

  it('with 1% of bytes corrupted or lost, programming completes and verifies, or fails clearly', async () => {
    for (const seed of [1, 2]) {
      const r = await rig('nm-tap-4x10g', {
        corruptProbability: 0.005,
        dropProbability: 0.005,
        seed,
      });
      const profile = loadBoardProfile('nm-tap-4x10g');
      const started = Date.now();
      await retry(() => r.client.identify());
      // 128 entries, 5.5 KB of table.
      const many = rules([
        { match: { src: Array.from({ length: 128 }, (_, i) => `10.9.${i}.0/24`) } },
      ]);
      const { bank, used } = bankFor(many, profile);
      try {
        const report = await r.client.programTcam(bank, used);
        console.log(
          `seed ${seed}: programmed ${report.bytes} bytes in ${report.ms} ms, ${report.chunks} chunks, ${report.rewrites} rewritten, link ${JSON.stringify(r.link.stats)}`,
        );
        expect(report.rewrites).toBeGreaterThan(0);
        const [active] = await retry(() => r.link.readRegs(Reg.TCAM_ACTIVE_CRC, 1));
        expect(active >>> 0).toBe(crc32(bank));
      } catch (e) {
        console.log(`seed ${seed}: programming failed: ${(e as Error).message}`);
        expect(e).toBeInstanceOf(BoardError);
        expect(r.emulator.model.describe().generation).toBe(0);
      }
      expect(Date.now() - started).toBeLessThan(30_000);
    }
  }, 60_000);

  it('a spontaneous board reset fails the programming in flight with a reset error', async () => {
    const r = await rig('nm-tap-2x100g', { resetAfterRequests: 40 });
    const profile = loadBoardProfile('nm-tap-2x100g');
    await r.client.identify();
    const full = Buffer.alloc(tcamGeometry(profile).bankBytes, 0); // 188 KB: > 40 requests
    const err = await r.client.programTcam(full).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LinkError);
    expect((err as LinkError).code).toBe('reset');
  });
});

async function retry<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts) throw e;
    }
  }
}

describe('firmware updates', () => {
  const profile = loadBoardProfile('nm-tap-4x10g');
  const image = (healthy: boolean, hang = false, key: string = DEV_KEY): Buffer =>
    buildFirmwareImage({
      boardId: profile.boardId,
      version: { major: 1, minor: healthy ? 1 : 9, patch: hang ? 9 : 0 },
      payload: firmwarePayload({ healthy, hang }, 40_000),
      keyId: 'netmirror-dev-2026',
      privateKey: key,
    });

  it('an upload interrupted halfway resumes where it stopped, then installs', async () => {
    const r = await rig('nm-tap-4x10g');
    await r.client.identify();
    const img = image(true);
    let seen = 0;
    const first = r.client.installFirmware(img, (p) => {
      seen = p.bytes;
      if (p.phase === 'upload' && p.bytes > img.length / 2) throw new Error('cable pulled');
    });
    await expect(first).rejects.toThrow('cable pulled');
    expect(seen).toBeGreaterThan(img.length / 2);
    const report = await r.client.installFirmware(img);
    expect(report.outcome).toBe('installed');
    expect(report.resumedAt).toBeGreaterThan(img.length / 2);
    expect(report.message).toBe('firmware 1.1.0 installed and confirmed');
    expect((await r.client.identify()).firmware).toBe('1.1.0');
  });

  it('a bad signature is refused by the host, and by the board when sent anyway', async () => {
    const r = await rig('nm-tap-4x10g');
    await r.client.identify();
    const forged = image(true);
    forged[forged.length - 10] ^= 0xff;
    await expect(r.client.installFirmware(forged)).rejects.toThrow(
      'firmware image refused: bad signature (key "netmirror-dev-2026")',
    );
    await expect(
      r.client.installFirmware(forged, undefined, { checkLocally: false }),
    ).rejects.toThrow(
      'the board refused the image: BAD_SIGNATURE (the running firmware is unchanged)',
    );
    expect((await r.client.identify()).firmware).toBe('1.0.0');
  });

  it('a board that does not come up healthy is rolled back', async () => {
    const r = await rig('nm-tap-4x10g');
    await r.client.identify();
    const report = await r.client.installFirmware(image(false));
    expect(report).toMatchObject({ outcome: 'rolled-back' });
    expect(report.message).toBe(
      'firmware 1.9.0 rolled back: it failed its self-test; running 1.0.0 again',
    );
  });

  it('a board that never answers after activation reverts on its own', async () => {
    const r = await rig('nm-tap-4x10g');
    await r.client.identify();
    const started = Date.now();
    const report = await r.client.installFirmware(image(true, true));
    expect(report.outcome).toBe('rolled-back');
    expect(report.message).toMatch(
      /did not answer after booting it and reverted on its own; running 1.0.0 again/,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(profile.firmware.bootTimeoutMs);
  }, 30_000);
});
