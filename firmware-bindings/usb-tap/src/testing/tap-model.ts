// The device side of PROTOCOL.md: what a NetMirror USB tap does with the
// frames on its ports and the requests from the host. Frames are fed by a
// test (or `replayCapture`); records wait in a bounded buffer until the
// host's transfers take them, and are dropped (and counted) when it is
// full. Faults can be injected into the stream and the bus.
import { decodeCaptureSettings, encodeCounters, encodeInfo } from '../control.js';
import type { DeviceCounters, DeviceInfo, FirmwareVersion } from '../control.js';
import { encodeRecord } from '../record.js';
import {
  DEFAULT_PRODUCT_ID,
  DEFAULT_VENDOR_ID,
  INTERFACE_NUMBER,
  MAX_PORTS,
  PROTOCOL_VERSION,
  REQUEST_IN,
  REQUEST_OUT,
  RecordFlag,
  Request,
  recordLength,
} from '../protocol.js';

export interface UsbTapModelOptions {
  serial?: string;
  /** Ingress ports, 1..16 (default 4, the UT-4). */
  ports?: number;
  /** Default 16384. */
  maxSnaplen?: number;
  /** The record buffer (default 1 MiB). */
  bufferBytes?: number;
  firmware?: FirmwareVersion;
  clockSynced?: boolean;
  vendorId?: number;
  productId?: number;
  /** Answers every vendor request with a STALL: another device on the shared test PID. */
  impostor?: boolean;
}

/** What became of a frame offered to a port. */
export type FrameFate = 'captured' | 'dropped' | 'ignored';

export interface FrameOptions {
  /** The frame's length on the wire when `frame` is already cut (default its length). */
  origlen?: number;
  /** The frame had a bad FCS on the wire. */
  fcsError?: boolean;
}

/** A piece of the outgoing stream: a record of `port`, or injected bytes (port −1). */
interface Segment {
  bytes: Buffer;
  port: number;
}

/** What a control request gets: data (IN), the bytes taken (OUT), or a STALL. */
export type ControlReply = Buffer | number | 'stall';

/** Where the model's bus hooks in (so a fault can unplug it). */
export interface ModelBusHooks {
  unplug(model: UsbTapModel): void;
}

export class UsbTapModel {
  readonly serial: string;
  readonly ports: number;
  readonly maxSnaplen: number;
  readonly bufferBytes: number;
  readonly firmware: FirmwareVersion;
  readonly clockSynced: boolean;
  readonly vendorId: number;
  readonly productId: number;
  readonly impostor: boolean;
  /** Another program has the interface claimed: claim() fails with LIBUSB_ERROR_BUSY. */
  busy = false;

  private powered = false;
  private enabled = false;
  private snaplen = 0;
  private portMask = 0;
  private readonly seq = new Float64Array(MAX_PORTS);
  private readonly pendingDrops = new Float64Array(MAX_PORTS);
  private readonly seen = new Float64Array(MAX_PORTS);
  private readonly sent = new Float64Array(MAX_PORTS);
  private readonly dropped = new Float64Array(MAX_PORTS);
  private readonly queue: Segment[] = [];
  /** Bytes of queue[0] already sent. */
  private head = 0;
  private buffered = 0;
  private held = false;
  private corruptions: { offset: number; xor: number }[] = [];
  private failing = 0;
  /** The stream endpoint is halted: every transfer STALLs until the host clears it. */
  halted = false;
  private unplugIn = -1;
  private bus: ModelBusHooks | null = null;
  private readonly waiters: (() => void)[] = [];
  /** The endpoint model's wake-up when stream data arrives. */
  onStreamData: (() => void) | null = null;

  constructor(options: UsbTapModelOptions = {}) {
    this.serial = options.serial ?? 'NM-UT4-0001';
    this.ports = options.ports ?? 4;
    this.maxSnaplen = options.maxSnaplen ?? 16384;
    this.bufferBytes = options.bufferBytes ?? 1 << 20;
    this.firmware = options.firmware ?? { major: 1, minor: 0, patch: 0 };
    this.clockSynced = options.clockSynced ?? true;
    this.vendorId = options.vendorId ?? DEFAULT_VENDOR_ID;
    this.productId = options.productId ?? DEFAULT_PRODUCT_ID;
    this.impostor = options.impostor ?? false;
    if (!(this.ports >= 1 && this.ports <= MAX_PORTS)) throw new RangeError('ports: 1..16');
  }

  /** Plugged in and capturing. */
  get capturing(): boolean {
    return this.powered && this.enabled;
  }

  get isPowered(): boolean {
    return this.powered;
  }

  /** Record bytes waiting for the host. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Power-on reset (the bus calls it when the device is plugged in). */
  powerOn(bus: ModelBusHooks): void {
    this.bus = bus;
    this.powered = true;
    this.enabled = false;
    this.snaplen = this.maxSnaplen;
    this.portMask = 0;
    this.resetSession();
    this.held = false;
    this.corruptions = [];
    this.failing = 0;
    this.halted = false;
    this.unplugIn = -1;
  }

  /** Unplugged: everything in the buffer is gone. */
  powerOff(): void {
    this.powered = false;
    this.enabled = false;
    this.clearQueue();
    this.wakeWaiters();
  }

  /** A frame arrives on `port` at `sec`.`nsec`. */
  receive(
    port: number,
    frame: Uint8Array,
    sec: number,
    nsec: number,
    o: FrameOptions = {},
  ): FrameFate {
    if (!this.capturing || port >= this.ports || (this.portMask & (1 << port)) === 0)
      return 'ignored';
    this.seen[port]++;
    const caplen = Math.min(frame.length, this.snaplen);
    if (this.buffered + recordLength(caplen) > this.bufferBytes) {
      this.dropped[port]++;
      this.pendingDrops[port]++;
      return 'dropped';
    }
    const flags =
      (this.seq[port] === 0 ? RecordFlag.FIRST : 0) |
      (o.fcsError ? RecordFlag.FCS_ERROR : 0) |
      (this.clockSynced ? RecordFlag.CLOCK_SYNCED : 0);
    const record = encodeRecord(
      {
        flags,
        caplen,
        origlen: o.origlen ?? frame.length,
        seq: this.seq[port] % 2 ** 32,
        sec,
        nsec,
        drops: this.pendingDrops[port],
        port,
      },
      frame,
    );
    this.seq[port]++;
    this.pendingDrops[port] = 0;
    const c = this.corruptions.shift();
    if (c) record[c.offset % record.length] ^= c.xor;
    this.enqueue({ bytes: record, port });
    return 'captured';
  }

  /** Resolves once `bytes` fit in the buffer, or the device stops capturing; rejects after `timeoutMs`. */
  whenRoom(bytes: number, timeoutMs = 5000): Promise<void> {
    if (!this.capturing || this.buffered + bytes <= this.bufferBytes) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(wake);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(
          new Error(
            `UsbTapModel: the buffer did not drain in ${timeoutMs} ms (is the host polling?)`,
          ),
        );
      }, timeoutMs);
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(wake);
    });
  }

  /** GET_INFO as the device answers it. */
  info(): DeviceInfo {
    return {
      protocolVersion: PROTOCOL_VERSION,
      ports: this.ports,
      clockSynced: this.clockSynced,
      maxSnaplen: this.maxSnaplen,
      bufferBytes: this.bufferBytes,
      firmware: this.firmware,
      serial: this.serial,
    };
  }

  /** GET_COUNTERS as the device answers it. */
  counters(): DeviceCounters {
    return {
      enabled: this.enabled,
      snaplen: this.snaplen,
      portMask: this.portMask,
      bufferedBytes: this.buffered,
      ports: Array.from({ length: this.ports }, (_, p) => ({
        seen: this.seen[p],
        sent: this.sent[p],
        dropped: this.dropped[p],
      })),
    };
  }

  /** A vendor control request (the device model's endpoint 0 passes them here). */
  control(
    bmRequestType: number,
    bRequest: number,
    wIndex: number,
    data: Buffer | number,
  ): ControlReply {
    if (this.impostor || wIndex !== INTERFACE_NUMBER) return 'stall';
    if (bmRequestType === REQUEST_IN && typeof data === 'number') {
      if (bRequest === Request.GET_INFO) return encodeInfo(this.info()).subarray(0, data);
      if (bRequest === Request.GET_COUNTERS)
        return encodeCounters(this.counters()).subarray(0, data);
      return 'stall';
    }
    if (
      bmRequestType === REQUEST_OUT &&
      Buffer.isBuffer(data) &&
      bRequest === Request.SET_CAPTURE
    ) {
      const s = decodeCaptureSettings(data);
      if (s === null) return 'stall';
      this.setCapture(s.enable, s.snaplen, s.portMask);
      return data.length;
    }
    return 'stall';
  }

  /** Takes up to `max` bytes of the stream for one transfer; null when there is nothing (or output is held). */
  takeStream(max: number): Buffer | null {
    if (!this.powered || this.held || this.unplugIn === 0 || this.buffered === 0) return null;
    let n = Math.min(max, this.buffered);
    if (this.unplugIn >= 0) n = Math.min(n, this.unplugIn);
    const out = Buffer.allocUnsafe(n);
    for (let at = 0; at < n;) {
      const s = this.queue[0];
      const take = Math.min(n - at, s.bytes.length - this.head);
      s.bytes.copy(out, at, this.head, this.head + take);
      at += take;
      this.head += take;
      if (this.head === s.bytes.length) {
        if (s.port >= 0) this.sent[s.port]++;
        this.queue.shift();
        this.head = 0;
      }
    }
    this.buffered -= n;
    this.wakeWaiters();
    if (this.unplugIn >= 0) {
      this.unplugIn -= n;
      if (this.unplugIn === 0) this.unplugSoon();
    }
    return out;
  }

  /** Consumes one injected transfer failure, if any is due. */
  takeFailure(): boolean {
    if (this.failing === 0) return false;
    this.failing--;
    return true;
  }

  // Faults.

  /** Puts raw bytes into the stream now, between records. */
  insertGarbage(bytes: Buffer): void {
    if (this.powered) this.enqueue({ bytes: Buffer.from(bytes), port: -1 });
  }

  /** XORs byte `offset` of the next captured record (0..27 is its header) with `xor`. */
  corruptNextRecord(offset: number, xor = 0xff): void {
    this.corruptions.push({ offset, xor });
  }

  /** The next `n` IN transfers fail (LIBUSB_TRANSFER_ERROR); the bytes each would have carried are lost. */
  failNextTransfers(n: number): void {
    this.failing += n;
  }

  /** Halts the stream endpoint (as firmware does on an internal error): transfers STALL until cleared. */
  haltStream(): void {
    this.halted = true;
  }

  /** Stops (or resumes) sending: records pile up in the buffer, as when the host does not read. */
  holdOutput(held: boolean): void {
    this.held = held;
    if (!held) this.onStreamData?.();
  }

  /** Unplugs the device once `bytes` more stream bytes have gone out (cutting a record when they end inside one). */
  unplugAfter(bytes: number): void {
    this.unplugIn = bytes;
    if (bytes === 0) this.unplugSoon();
  }

  private setCapture(enable: boolean, snaplen: number, mask: number): void {
    const max = this.maxSnaplen;
    this.snaplen = snaplen === 0 ? max : Math.min(snaplen, max);
    this.portMask = mask & ((1 << this.ports) - 1);
    if (enable && !this.enabled) this.resetSession();
    if (!enable) this.clearQueue();
    this.enabled = enable;
    this.wakeWaiters();
  }

  private resetSession(): void {
    for (const a of [this.seq, this.pendingDrops, this.seen, this.sent, this.dropped]) a.fill(0);
    this.clearQueue();
  }

  /** Empties the buffer, except the rest of a record already partly sent. */
  private clearQueue(): void {
    const partial = this.head > 0 && this.powered ? this.queue[0] : undefined;
    this.queue.length = 0;
    this.buffered = 0;
    if (partial) {
      this.queue.push(partial);
      this.buffered = partial.bytes.length - this.head;
    } else {
      this.head = 0;
    }
  }

  private enqueue(s: Segment): void {
    this.queue.push(s);
    this.buffered += s.bytes.length;
    this.onStreamData?.();
  }

  /** Nothing more goes out (unplugIn stays 0) until the bus has unplugged it. */
  private unplugSoon(): void {
    const bus = this.bus;
    // Two turns: the transfer carrying the last bytes is delivered first.
    setImmediate(() =>
      setImmediate(() => {
        if (this.powered) bus?.unplug(this);
      }),
    );
  }

  private wakeWaiters(): void {
    if (this.waiters.length === 0) return;
    if (this.capturing && this.buffered >= this.bufferBytes) return;
    for (const wake of this.waiters.splice(0)) wake();
  }
}
