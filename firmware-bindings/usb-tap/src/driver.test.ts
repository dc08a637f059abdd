// The driver against the device model on a model bus: a capture file
// through the device arrives whole, records split across transfers, the
// device's drops when the host stalls, transfer failures, damage on the
// stream, unplug and re-plug, and a clean stop.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeCaptureFile } from '@netmirror/capgen';
import { recordLength } from './protocol.js';
import { replayCapture, UsbTapModel } from './testing/index.js';
import { frameOf, readFrames, rig, waitFor } from './testdata/rig.js';
import type { FileFrame, Rig } from './testdata/rig.js';

let dir: string;
let input: string;
let frames: FileFrame[];
const N = 1500;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'usb-tap-'));
  input = join(dir, 'in.pcap');
  writeCaptureFile({ path: input, frames: N, seed: 7 });
  frames = readFrames(input);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Plugs the model in, starts the driver, waits until it captures. */
async function started(r: Rig): Promise<void> {
  r.bus.plug(r.model);
  r.driver.start();
  await waitFor(() => r.driver.state === 'active' && r.model.capturing, 'the driver to start');
}

describe('UsbTapDriver with the device model', () => {
  it('delivers a capture file complete and byte-identical, with device timestamps and ports', async () => {
    const r = rig({ ports: 4 });
    try {
      await started(r);
      expect(r.events.map((e) => e.type)).toEqual(['attached']);
      expect(r.events[0].message).toMatch(
        /^1209:0001 serial NM-UT4-0001 attached: 4 ports, firmware 1.0.0, max snaplen 16384, clock synced$/,
      );
      const result = await replayCapture(r.model, input, { lossless: true, port: (i) => i % 4 });
      expect(result).toEqual({ frames: N, captured: N, dropped: 0, ignored: 0 });
      await waitFor(() => r.got.length === N, 'every record');
      r.got.forEach((g, i) => {
        const f = frames[i];
        expect(g.frame.equals(f.frame), `frame ${i}`).toBe(true);
        expect([g.sec, g.nsec, g.origlen, g.port]).toEqual([f.sec, f.nsec, f.wirelen, i % 4]);
      });
      for (let p = 0; p < 4; p++) {
        expect(r.driver.port(p)).toEqual({
          received: N / 4,
          deviceDropped: 0,
          lostInTransit: 0,
          lostAtDetach: 0,
        });
      }
      expect(r.driver.stats.stream).toMatchObject({ records: N, resyncs: 0, truncated: 0 });
    } finally {
      await r.driver.stop();
    }
  });

  it('puts records split across transfers back together', async () => {
    const r = rig({}, { transferSize: 1024, transfers: 2 });
    try {
      await started(r);
      await replayCapture(r.model, input, { lossless: true });
      await waitFor(() => r.got.length === N, 'every record');
      r.got.forEach((g, i) => expect(g.frame.equals(frames[i].frame), `frame ${i}`).toBe(true));
      const bytes = frames.reduce((n, f) => n + recordLength(f.frame.length), 0);
      const transfers = r.bus.deviceOf(r.model)!.streamEndpoint.transfers;
      expect(transfers).toBeGreaterThanOrEqual(Math.ceil(bytes / 1024));
      expect(frames.some((f) => recordLength(f.frame.length) > 1024)).toBe(true); // some span 2+ transfers
    } finally {
      await r.driver.stop();
    }
  });

  it('several records share a transfer', async () => {
    const r = rig({}, { transferSize: 65536, transfers: 1 });
    try {
      await started(r);
      r.model.holdOutput(true);
      for (let i = 0; i < 50; i++) r.model.receive(0, frameOf(i, 64), 1, i);
      r.model.holdOutput(false);
      await waitFor(() => r.got.length === 50, '50 records');
      expect(r.bus.deviceOf(r.model)!.streamEndpoint.transfers).toBe(1);
      expect(r.got.map((g) => g.frame.readUInt32BE(0))).toEqual([...Array(50).keys()]);
    } finally {
      await r.driver.stop();
    }
  });

  it('slices frames to the snaplen, keeping the original length', async () => {
    const r = rig({}, { snaplen: 96 });
    try {
      await started(r);
      expect((await r.driver.readCounters())?.snaplen).toBe(96);
      await replayCapture(r.model, input, { lossless: true });
      await waitFor(() => r.got.length === N, 'every record');
      r.got.forEach((g, i) => {
        const f = frames[i];
        expect(g.frame.equals(f.frame.subarray(0, 96)), `frame ${i}`).toBe(true);
        expect(g.origlen).toBe(f.wirelen);
      });
      expect(r.got.some((g) => g.origlen > 96)).toBe(true);
    } finally {
      await r.driver.stop();
    }
  });

  it('counts what the device dropped while the host did not read', async () => {
    const r = rig({ ports: 2, bufferBytes: 32 << 10 });
    try {
      await started(r);
      // 600 frames of 1000 bytes in one go: the event loop (the host) is busy meanwhile.
      const fates = { captured: 0, dropped: 0, ignored: 0 };
      for (let i = 0; i < 600; i++) fates[r.model.receive(i % 2, frameOf(i, 1000), 5, i)]++;
      expect(fates.dropped).toBeGreaterThan(500);
      await waitFor(() => r.got.length === fates.captured, 'the buffered records');
      // The next record of each port carries the drops since its previous one.
      r.model.receive(0, frameOf(600, 64), 6, 0);
      r.model.receive(1, frameOf(601, 64), 6, 1);
      await waitFor(() => r.got.length === fates.captured + 2, 'two more records');
      const c = r.model.counters();
      for (const p of [0, 1]) {
        expect(r.driver.port(p).deviceDropped, `port ${p} in-band`).toBe(c.ports[p].dropped);
        expect(r.driver.port(p).received + r.driver.port(p).deviceDropped).toBe(301);
      }
      expect(
        r.got
          .filter((g) => g.port === 0)
          .at(-1)!
          .frame.readUInt32BE(0),
      ).toBe(600);
      expect((await r.driver.readCounters())!.ports.map((p) => p.dropped)).toEqual(
        c.ports.map((p) => p.dropped),
      );
      expect(r.driver.lost(0) + r.driver.lost(1)).toBe(fates.dropped);
    } finally {
      await r.driver.stop();
    }
  });

  it('rides out a failed transfer: polling restarts, the records it carried count as lost', async () => {
    const r = rig({ ports: 1 }, { transferSize: 2048, transfers: 1 });
    try {
      await started(r);
      r.model.holdOutput(true);
      for (let i = 0; i < 40; i++) r.model.receive(0, frameOf(i, 300), 1, i);
      r.model.failNextTransfers(1); // loses the first 2048 bytes: 6 whole records, and part of the 7th
      r.model.holdOutput(false);
      await waitFor(() => r.driver.stats.transferErrors === 1, 'the error');
      await waitFor(() => r.got.length === 33, 'the rest', 2000);
      expect(r.events.filter((e) => e.type === 'transfer-error')).toHaveLength(1);
      expect(r.got[0].seq).toBe(7);
      expect(r.driver.port(0)).toMatchObject({ received: 33, lostInTransit: 7 });
      for (let i = 40; i < 50; i++) r.model.receive(0, frameOf(i, 300), 1, i);
      await waitFor(() => r.got.length === 43, 'records after the restart');
      expect(r.driver.state).toBe('active');
    } finally {
      await r.driver.stop();
    }
  });

  it('clears a halted (STALLed) stream endpoint and goes on without losing a byte', async () => {
    const r = rig({ ports: 1 }, { transferSize: 1024, transfers: 1 });
    try {
      await started(r);
      r.model.holdOutput(true);
      for (let i = 0; i < 30; i++) r.model.receive(0, frameOf(i, 700), 1, i);
      // After the first transfer (record 0 and part of record 1) the endpoint halts.
      r.bus.deviceOf(r.model)!.streamEndpoint.once('data', () => r.model.haltStream());
      r.model.holdOutput(false);
      await waitFor(() => r.got.length === 30, 'the rest, once the halt is cleared');
      expect(r.driver.stats.transferErrors).toBe(1);
      expect(r.events.find((e) => e.type === 'transfer-error')?.message).toMatch(
        /LIBUSB_TRANSFER_STALL/,
      );
      expect(r.got.map((g) => g.frame.readUInt32BE(0))).toEqual([...Array(30).keys()]);
      expect(r.driver.port(0)).toMatchObject({ received: 30, lostInTransit: 0 });
      expect(r.driver.stats.stream).toMatchObject({ truncated: 0, resyncs: 0 });
    } finally {
      await r.driver.stop();
    }
  });

  it('skips garbage and a damaged record on the stream, and counts the record lost', async () => {
    const r = rig({ ports: 2 });
    try {
      await started(r);
      r.model.holdOutput(true);
      r.model.receive(0, frameOf(0, 100), 1, 0);
      r.model.insertGarbage(Buffer.from('d59a0001ffffd59a', 'hex'));
      r.model.receive(1, frameOf(1, 100), 1, 1);
      r.model.corruptNextRecord(9); // port 0's record 1: a sequence byte, so the check fails
      r.model.receive(0, frameOf(2, 100), 1, 2);
      r.model.receive(0, frameOf(3, 100), 1, 3);
      r.model.holdOutput(false);
      await waitFor(() => r.got.length === 3, 'three records');
      expect(r.got.map((g) => g.frame.readUInt32BE(0))).toEqual([0, 1, 3]);
      expect(r.driver.port(0)).toMatchObject({ received: 2, lostInTransit: 1 });
      expect(r.driver.port(1)).toMatchObject({ received: 1, lostInTransit: 0 });
      expect(r.driver.stats.stream).toMatchObject({ resyncs: 2, badChecks: 2 });
    } finally {
      await r.driver.stop();
    }
  });

  it('follows an unplug mid-stream and the re-plug, and counts what was lost', async () => {
    const r = rig({ ports: 2, serial: 'NM-UT4-0007' });
    try {
      await started(r);
      for (let i = 0; i < 100; i++) r.model.receive(i % 2, frameOf(i, 200), 10, i);
      await waitFor(() => r.got.length === 100, 'the first 100');
      // 20 more wait in the device; the host reads the counters; then the
      // device goes away 40 bytes into the second of them.
      r.model.holdOutput(true);
      for (let i = 100; i < 120; i++) r.model.receive(i % 2, frameOf(i, 200), 11, i);
      expect((await r.driver.readCounters())!.ports.map((p) => p.seen)).toEqual([60, 60]);
      r.model.unplugAfter(recordLength(200) + 40);
      r.model.holdOutput(false);
      await waitFor(() => r.driver.state === 'absent', 'the detach');
      expect(r.got.length).toBe(101);
      expect(r.events.map((e) => e.type)).toEqual(['attached', 'detached']);
      expect(r.driver.stats.stream.truncated).toBe(1);
      const lost = r.driver.port(0).lostAtDetach + r.driver.port(1).lostAtDetach;
      expect(lost).toBe(19);

      // Unplugged: nothing is captured. Another unit shows up first: not the one followed.
      expect(r.model.receive(0, frameOf(999, 200), 12, 0)).toBe('ignored');
      const other = new UsbTapModel({ ports: 2, serial: 'NM-UT4-0008' });
      r.bus.plug(other);
      await waitFor(() => r.events.some((e) => e.type === 'skipped'), 'the other unit');
      expect(r.events.at(-1)!.message).toMatch(/serial NM-UT4-0008, not NM-UT4-0007/);
      expect(r.driver.state).toBe('absent');

      r.bus.plug(r.model); // the unit comes back: a new Device object, counters at 0
      await waitFor(() => r.driver.state === 'active' && r.model.capturing, 're-attach');
      for (let i = 120; i < 170; i++) r.model.receive(i % 2, frameOf(i, 200), 13, i);
      await waitFor(() => r.got.length === 151, 'the last 50');
      expect(r.got.slice(101).map((g) => g.frame.readUInt32BE(0))).toEqual(
        Array.from({ length: 50 }, (_, k) => 120 + k),
      );
      const total = [0, 1].map((p) => r.driver.port(p));
      expect(total.reduce((n, p) => n + p.received, 0)).toBe(151);
      expect(r.driver.lost(0) + r.driver.lost(1)).toBe(19);
      expect(r.driver.stats).toMatchObject({ attaches: 2, detaches: 1 });
      expect(r.events.map((e) => e.type)).toEqual(['attached', 'detached', 'skipped', 'attached']);
    } finally {
      await r.driver.stop();
    }
  });

  it('waits for a device that is not there, and finds it by rescanning when no event comes', async () => {
    const r = rig();
    try {
      r.driver.start();
      expect(r.driver.state).toBe('absent');
      vi.spyOn(r.bus, 'emit').mockReturnValue(true); // hot-plug events lost
      r.bus.plug(r.model);
      await waitFor(() => r.driver.state === 'active', 'the rescan');
    } finally {
      await r.driver.stop();
    }
  });

  it('passes over a busy unit and a device that is not a tap, then takes the tap', async () => {
    const r = rig();
    try {
      const impostor = new UsbTapModel({ impostor: true, serial: 'X' });
      r.bus.plug(impostor);
      r.model.busy = true;
      r.bus.plug(r.model);
      r.driver.start();
      await waitFor(() => r.events.filter((e) => e.type === 'skipped').length === 2, 'two skips');
      expect(r.events.map((e) => e.message).join('\n')).toMatch(
        /not a NetMirror tap[^]*LIBUSB_ERROR_BUSY/,
      );
      r.model.busy = false;
      await waitFor(() => r.driver.state === 'active', 'the tap, once free');
      expect(r.driver.info?.serial).toBe('NM-UT4-0001');
    } finally {
      await r.driver.stop();
    }
  });

  it('stops cleanly: capture off, interface released, device closed, bus left alone', async () => {
    const r = rig();
    await started(r);
    const usb = r.bus.deviceOf(r.model)!;
    expect(r.bus.listenerCount('attach')).toBe(1);
    r.model.receive(0, frameOf(1, 64), 1, 1);
    await r.driver.stop();
    expect(r.driver.state).toBe('stopped');
    expect(r.model.capturing).toBe(false);
    expect(usb.interfaces).toBeUndefined();
    expect(usb.streamEndpoint.pollActive).toBe(false);
    expect(r.bus.listenerCount('attach') + r.bus.listenerCount('detach')).toBe(0);
    const before = r.got.length;
    r.model.receive(0, frameOf(2, 64), 1, 2);
    await new Promise((res) => setTimeout(res, 20));
    expect(r.got.length).toBe(before);
    await r.driver.stop(); // twice is fine
  });
});
