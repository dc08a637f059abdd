// A driver on a model bus, collecting what it hands out, for the tests.
import { FrameBatch } from '@netmirror/packet';
import { openCaptureReader } from '@netmirror/pcap';
import { UsbTapDriver } from '../driver.js';
import type { UsbTapDriverOptions, UsbTapEvent } from '../driver.js';
import type { RecordView } from '../parser.js';
import { ModelUsbBus, UsbTapModel } from '../testing/index.js';
import type { UsbTapModelOptions } from '../testing/index.js';

export interface Got {
  port: number;
  seq: number;
  sec: number;
  nsec: number;
  origlen: number;
  flags: number;
  frame: Buffer;
}

export interface Rig {
  bus: ModelUsbBus;
  model: UsbTapModel;
  driver: UsbTapDriver;
  got: Got[];
  events: UsbTapEvent[];
}

/** A bus with one tap model (not plugged in yet) and a driver on it (not started). */
export function rig(model: UsbTapModelOptions = {}, driver: UsbTapDriverOptions = {}): Rig {
  const bus = new ModelUsbBus();
  const got: Got[] = [];
  const events: UsbTapEvent[] = [];
  const d = new UsbTapDriver(
    bus,
    { countersIntervalMs: 20, rescanIntervalMs: 30, retryMs: 5, ...driver },
    {
      record: (r: RecordView) =>
        got.push({
          port: r.port,
          seq: r.seq,
          sec: r.sec,
          nsec: r.nsec,
          origlen: r.origlen,
          flags: r.flags,
          frame: Buffer.from(r.buf.subarray(r.offset, r.offset + r.caplen)),
        }),
      event: (e) => events.push(e),
    },
  );
  return { bus, model: new UsbTapModel(model), driver: d, got, events };
}

/** Waits (polling every 2 ms) until `cond()` holds; fails after `timeoutMs`. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export interface FileFrame {
  frame: Buffer;
  sec: number;
  nsec: number;
  wirelen: number;
}

/** Every frame of a capture file, copied. */
export function readFrames(path: string): FileFrame[] {
  const reader = openCaptureReader(path);
  const batch = new FrameBatch(512);
  const out: FileFrame[] = [];
  try {
    for (let n; (n = reader.next(batch)) > 0;)
      for (let i = 0; i < n; i++)
        out.push({
          frame: Buffer.from(
            batch.buf.subarray(batch.offset[i], batch.offset[i] + batch.caplen[i]),
          ),
          sec: batch.tsSec[i],
          nsec: batch.tsNsec[i],
          wirelen: batch.wirelen[i],
        });
  } finally {
    reader.close();
  }
  return out;
}

/** A frame of `length` bytes whose bytes say which it is. */
export function frameOf(n: number, length: number): Buffer {
  const b = Buffer.alloc(length, n & 0xff);
  b.writeUInt32BE(n, 0);
  return b;
}
