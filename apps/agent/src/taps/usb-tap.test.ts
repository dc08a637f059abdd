// The usb: tap on the device model (this machine has no USB bus): its
// options, a capture file through the device into a real MirrorSession
// writing pcapng (read back by us and by capinfos), unplug and re-plug
// mid-capture, its own ring overflowing, and openTap on the real node-usb.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeCaptureFile } from '@netmirror/capgen';
import { FrameBatch } from '@netmirror/packet';
import { openCaptureReader } from '@netmirror/pcap';
import type { CaptureInterface } from '@netmirror/pcap';
import { validateRuleSet } from '@netmirror/rules';
import { ModelUsbBus, replayCapture, UsbTapModel } from '@netmirror/usb-tap/testing';
import type { UsbTapModelOptions } from '@netmirror/usb-tap/testing';
import { MirrorSession } from '../pipeline/index.js';
import type { MirrorSummary } from '../pipeline/index.js';
import { openSink } from '../sinks/index.js';
import { openTap } from './open-tap.js';
import { UsbTap, usbTapOptions } from './usb-tap.js';
import type { UsbTapOptions } from './usb-tap.js';

interface Frame {
  bytes: Buffer;
  sec: number;
  nsec: number;
  wirelen: number;
  ifIndex: number;
  flags: number;
}

function readAll(path: string): { frames: Frame[]; interfaces: readonly CaptureInterface[] } {
  const reader = openCaptureReader(path);
  const batch = new FrameBatch(512);
  const frames: Frame[] = [];
  try {
    for (let n; (n = reader.next(batch)) > 0;)
      for (let i = 0; i < n; i++)
        frames.push({
          bytes: Buffer.from(
            batch.buf.subarray(batch.offset[i], batch.offset[i] + batch.caplen[i]),
          ),
          sec: batch.tsSec[i],
          nsec: batch.tsNsec[i],
          wirelen: batch.wirelen[i],
          ifIndex: batch.ifIndex[i],
          flags: batch.flags[i],
        });
    return { frames, interfaces: [...reader.interfaces] };
  } finally {
    reader.close();
  }
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A model bus with one tap plugged in, and a UsbTap on it (fast counters and rescans). */
function tapOnModel(
  model: UsbTapModelOptions = {},
  options: Partial<UsbTapOptions> = {},
): { bus: ModelUsbBus; model: UsbTapModel; tap: UsbTap } {
  const bus = new ModelUsbBus();
  const m = new UsbTapModel(model);
  bus.plug(m);
  const tap = new UsbTap(
    'usb:1209:0001',
    {
      ...usbTapOptions('usb:1209:0001', '1209:0001', undefined),
      driver: { countersIntervalMs: 20, rescanIntervalMs: 30, retryMs: 5 },
      ...options,
    },
    bus,
  );
  return { bus, model: m, tap };
}

const everything = validateRuleSet({ rules: [{ name: 'all', priority: 1, match: {} }] });

/** A session from the tap into a pcapng file. */
function session(tap: UsbTap, out: string): MirrorSession {
  const sink = openSink('out', `pcapng:${out}`);
  return new MirrorSession({
    tap,
    ruleSet: everything,
    sinks: new Map([['out', sink]]),
    defaultSinks: [sink],
  });
}

describe('usbTapOptions', () => {
  const uri = 'usb:';
  it('defaults to the protocol ids and the UT-4 ports', () => {
    expect(usbTapOptions(uri, '', undefined)).toEqual({
      vendorId: 0x1209,
      productId: 0x0001,
      portMask: 0xf,
      name: 'usb0',
    });
  });

  it('parses ids and every option', () => {
    expect(usbTapOptions(uri, 'CafE:00ff', 'serial=NM-UT4-0042&snaplen=128&ports=0x30')).toEqual({
      vendorId: 0xcafe,
      productId: 0x00ff,
      serial: 'NM-UT4-0042',
      name: 'usb-NM-UT4-0042',
      snaplen: 128,
      portMask: 0x30,
    });
    expect(usbTapOptions(uri, '', 'ports=3').portMask).toBe(3);
  });

  it('names the option in every error', () => {
    expect(() => usbTapOptions(uri, '1209', undefined)).toThrow(
      /usb:: expected usb:VID:PID in hex/,
    );
    expect(() => usbTapOptions(uri, '', 'snaplen=32')).toThrow(
      /snaplen=32: must be an integer in 64..65535/,
    );
    expect(() => usbTapOptions(uri, '', 'ports=0')).toThrow(
      /ports=0: a port mask from 0x1 to 0xffff/,
    );
    expect(() => usbTapOptions(uri, '', 'ports=0x10000')).toThrow(/ports=0x10000/);
    expect(() => usbTapOptions(uri, '', 'serial=')).toThrow(/serial=: 1 to 32 printable/);
    expect(() => usbTapOptions(uri, '', 'queue=1')).toThrow(
      /unknown option queue; usb takes serial, snaplen, ports/,
    );
  });
});

describe('UsbTap on the device model', () => {
  let dir: string;
  let input: string;
  const N = 2000;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'netmirror-usb-tap-'));
    input = join(dir, 'in.pcap');
    writeCaptureFile({ path: input, frames: N, seed: 11 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has one interface per port, and settles ready() now and then while the device is absent', async () => {
    const bus = new ModelUsbBus();
    const events: string[] = [];
    const tap = new UsbTap(
      'usb:',
      { ...usbTapOptions('usb:', '', 'ports=0x5'), onEvent: (e) => events.push(e.message) },
      bus,
    );
    const batch = new FrameBatch(64);
    try {
      expect(tap.live).toBe(true);
      expect(tap.interfaces.map((i) => i.name)).toEqual(['usb0:p0', 'usb0:p1', 'usb0:p2']);
      expect(tap.interfaces[0]).toMatchObject({ linkType: 1, snapLen: 65535 });
      expect(Array.from(tap.linkTypes)).toEqual([1, 1, 1]);
      expect(tap.state).toBe('absent');
      expect(events).toEqual(['no 1209:0001 on the bus; waiting for one']);
      const t0 = Date.now();
      const wait = tap.ready();
      expect(wait).not.toBeNull();
      await wait;
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(tap.next(batch)).toBe(-1);
      expect(tap.sourceDrops()).toEqual([0, 0, 0]);
      // A two-port unit: the tap says that port 2 will stay empty.
      bus.plug(new UsbTapModel({ ports: 2 }));
      await waitFor(() => events.length === 2, 'the device');
      expect(tap.state).toBe('active');
      expect(events[1]).toMatch(
        /attached: 2 ports.*; ports 2..2 are not on this device and stay empty$/,
      );
    } finally {
      tap.close();
    }
    expect(tap.ready()).toBeNull();
    expect(tap.next(batch)).toBe(0);
    tap.close(); // twice is fine
  });

  it('feeds a MirrorSession: the pcapng holds exactly the input frames, and the counts add up', async () => {
    const { model, tap } = tapOnModel({ ports: 4 });
    const out = join(dir, 'out.pcapng');
    const s = session(tap, out);
    const running = s.run();
    let summary: MirrorSummary;
    try {
      await waitFor(() => tap.state === 'active' && model.capturing, 'capture');
      const fed = await replayCapture(model, input, { lossless: true, port: (i) => i % 4 });
      expect(fed.captured).toBe(N);
      await waitFor(() => s.snapshot().counters.read === N, 'every frame through the pipeline');
    } finally {
      s.stop();
      summary = await running;
    }
    expect(summary.sourceError).toBeNull();
    expect(summary.counters).toMatchObject({ read: N, mirrored: N });
    expect(summary.sourceDropped).toBe(0);
    expect(summary.interfaces.map((i) => [i.name, i.read, i.dropped])).toEqual([
      ['usb0:p0', N / 4, 0],
      ['usb0:p1', N / 4, 0],
      ['usb0:p2', N / 4, 0],
      ['usb0:p3', N / 4, 0],
    ]);
    expect(summary.interfaces.reduce((n, i) => n + i.bytes, 0)).toBe(summary.counters.bytesRead);
    expect(summary.destinations[0]).toMatchObject({ offered: N, sent: N, dropped: 0, failed: 0 });

    const want = readAll(input).frames;
    const got = readAll(out);
    expect(got.frames).toHaveLength(N);
    got.frames.forEach((f, i) => {
      expect(f.bytes.equals(want[i].bytes), `frame ${i}`).toBe(true);
      expect([f.sec, f.nsec, f.wirelen, f.ifIndex, f.flags]).toEqual([
        want[i].sec,
        want[i].nsec,
        want[i].wirelen,
        i % 4,
        1, // inbound
      ]);
    });
    expect(got.interfaces.map((i) => i.name)).toEqual(['usb0:p0', 'usb0:p1', 'usb0:p2', 'usb0:p3']);
    expect(got.interfaces.map((i) => i.stats?.ifRecv)).toEqual([N / 4, N / 4, N / 4, N / 4]);
    // A third-party reader agrees.
    expect(execFileSync('capinfos', ['-c', '-M', out]).toString()).toMatch(
      new RegExp(`Number of packets:\\s+${N}\\b`),
    );
  });

  it('keeps the session running through an unplug and a re-plug, and reports what was lost', async () => {
    const events: string[] = [];
    const { bus, model, tap } = tapOnModel(
      { ports: 2, serial: 'NM-UT4-0009' },
      { portMask: 0x3, onEvent: (e) => events.push(e.type) },
    );
    const out = join(dir, 'replug.pcapng');
    const s = session(tap, out);
    const running = s.run();
    const frame = (n: number): Buffer => Buffer.alloc(120, n & 0xff).fill(n >> 8, 0, 1);
    let summary: MirrorSummary;
    try {
      await waitFor(() => tap.state === 'active' && model.capturing, 'capture');
      for (let i = 0; i < 200; i++) model.receive(i % 2, frame(i), 100, i);
      await waitFor(() => s.snapshot().counters.read === 200, 'the first 200');
      model.holdOutput(true); // 30 records wait in the device when it is pulled
      for (let i = 200; i < 230; i++) model.receive(i % 2, frame(i), 101, i);
      await waitFor(() => tap.stats.counters?.ports[0].seen === 115, 'a counters reading');
      bus.unplug(model);
      await waitFor(() => tap.state === 'absent', 'the detach');
      expect(s.snapshot().sourceDropped).toBe(30);
      bus.plug(model);
      await waitFor(() => tap.state === 'active' && model.capturing, 'the re-attach');
      for (let i = 230; i < 330; i++) model.receive(i % 2, frame(i), 102, i);
      await waitFor(() => s.snapshot().counters.read === 300, 'the last 100');
    } finally {
      s.stop();
      summary = await running;
    }
    expect(events).toEqual(['attached', 'detached', 'attached']);
    expect(summary.counters.read).toBe(300);
    expect(summary.interfaces.map((i) => [i.read, i.dropped])).toEqual([
      [150, 15],
      [150, 15],
    ]);
    expect(summary.counters.read + summary.sourceDropped).toBe(330);
    // The recording's statistics blocks carry the same losses.
    const { interfaces } = readAll(out);
    expect(interfaces.map((i) => [i.stats?.ifRecv, i.stats?.ifDrop])).toEqual([
      [150, 15],
      [150, 15],
    ]);
  });

  it('counts what its own ring cannot hold while the pipeline does not read', async () => {
    const { model, tap } = tapOnModel(
      { ports: 1 },
      { portMask: 1, ringBytes: 16 << 10, ringFrames: 64 },
    );
    try {
      await waitFor(() => tap.state === 'active' && model.capturing, 'capture');
      for (let i = 0; i < 100; i++) model.receive(0, Buffer.alloc(1000, i), 1, i);
      await waitFor(() => tap.stats.stream.records === 100, 'every record off the device');
      expect(tap.backlog()).toBeGreaterThan(0.9);
      const batch = new FrameBatch(1024);
      expect(tap.ready()).toBeNull();
      const n = tap.next(batch);
      expect(n).toBe(16); // 16 KiB of 1000-byte frames
      expect(tap.sourceDrops()).toEqual([84]);
      for (let i = 0; i < n; i++) expect(batch.buf[batch.offset[i]]).toBe(i);
    } finally {
      tap.close();
    }
  });
});

describe('openTap', () => {
  it('refuses a malformed usb: source', () => {
    expect(() => openTap('usb:12:34')).toThrow(/--from usb:12:34: expected usb:VID:PID in hex/);
  });

  it('opens usb: on the real node-usb, which finds no device on this machine, and closes', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const tap = openTap('usb:?serial=NM-UT4-0001');
      expect(tap).toBeInstanceOf(UsbTap);
      expect((tap as UsbTap).state).toBe('absent');
      expect(tap.interfaces[3].name).toBe('usb-NM-UT4-0001:p3');
      await tap.ready();
      expect(tap.next(new FrameBatch(8))).toBe(-1);
      tap.close();
      expect(write).toHaveBeenCalledWith(
        'netmirror: usb:?serial=NM-UT4-0001: no 1209:0001 on the bus; waiting for one\n',
      );
    } finally {
      write.mockRestore();
    }
  });
});
