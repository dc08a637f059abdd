// Feeds a capture file's frames to a device model's ports, as the wire
// would deliver them, with the file's timestamps as the device's.
import { FrameBatch } from '@netmirror/packet';
import { openCaptureReader } from '@netmirror/pcap';
import { recordLength } from '../protocol.js';
import type { UsbTapModel } from './tap-model.js';

export interface ReplayOptions {
  /** Port of frame `index` (default: its interface in the file, modulo the device's ports). */
  port?: (index: number, ifIndex: number) => number;
  /**
   * Wait until the device captures and has room for each record instead of
   * losing frames (a wire never waits: this is for tests that want every
   * frame through). Each wait is bounded by `timeoutMs`.
   */
  lossless?: boolean;
  timeoutMs?: number;
  /** Frames offered between two event-loop turns when not lossless (default 64). */
  burst?: number;
}

export interface ReplayResult {
  frames: number;
  captured: number;
  dropped: number;
  /** Offered while the port was not captured (disabled, masked, unplugged). */
  ignored: number;
}

export async function replayCapture(
  model: UsbTapModel,
  path: string,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const reader = openCaptureReader(path);
  const batch = new FrameBatch(256);
  const result: ReplayResult = { frames: 0, captured: 0, dropped: 0, ignored: 0 };
  const portOf = options.port ?? ((_: number, ifIndex: number) => ifIndex % model.ports);
  const burst = options.burst ?? 64;
  try {
    for (let n; (n = reader.next(batch)) > 0;) {
      for (let i = 0; i < n; i++) {
        const frame = batch.buf.subarray(batch.offset[i], batch.offset[i] + batch.caplen[i]);
        const index = result.frames++;
        if (options.lossless) await room(model, frame.length, options.timeoutMs);
        else if (index % burst === burst - 1) await new Promise((r) => setImmediate(r));
        const fate = model.receive(
          portOf(index, batch.ifIndex[i]),
          frame,
          batch.tsSec[i],
          batch.tsNsec[i],
          {
            origlen: batch.wirelen[i],
          },
        );
        result[fate]++;
      }
    }
  } finally {
    reader.close();
  }
  return result;
}

/** Waits until the model captures and a record of `caplen` fits its buffer. */
async function room(model: UsbTapModel, caplen: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!model.capturing) {
    if (Date.now() > deadline) throw new Error('replayCapture: the device never started capturing');
    await new Promise((r) => setTimeout(r, 1));
  }
  const need = recordLength(caplen);
  while (model.capturing && model.bufferedBytes + need > model.bufferBytes) {
    await model.whenRoom(need, Math.max(1, deadline - Date.now()));
  }
}
