// The host driver: finds the tap on the bus, follows it through unplug and
// re-plug (the same unit, by serial number), runs the stream through the
// parser and the loss accounting, and hands every record to its listener.
import { formatFirmware } from './control.js';
import type { CaptureSettings, DeviceCounters, DeviceInfo } from './control.js';
import { UsbTapDevice, isGone } from './device.js';
import type { StreamHandlers } from './device.js';
import { UsbTapError } from './errors.js';
import { LossAccount } from './loss.js';
import type { PortLoss } from './loss.js';
import { RecordParser } from './parser.js';
import type { ParserStats, RecordView } from './parser.js';
import { DEFAULT_PRODUCT_ID, DEFAULT_VENDOR_ID } from './protocol.js';
import { LibUsb } from './usb-types.js';
import type { UsbBus, UsbDevice } from './usb-types.js';

export interface UsbTapDriverOptions {
  vendorId?: number;
  productId?: number;
  /** Only this unit; without it the first unit found, and from then on that one (by serial). */
  serial?: string;
  /** Frame bytes kept per record; 0 (default) = the device's maximum. */
  snaplen?: number;
  /** Ports to capture, bit p for port p; default every port. */
  portMask?: number;
  /** Bulk transfers kept in flight (default 8) and their size (default 16 KiB, a multiple of 1024). */
  transfers?: number;
  transferSize?: number;
  /** How often GET_COUNTERS is read (default 1000 ms): it bounds what an unplug can lose unseen. */
  countersIntervalMs?: number;
  /** How often the bus is searched while the device is absent, besides hot-plug events (default 2000 ms). */
  rescanIntervalMs?: number;
  /** First wait before polling again after a failed transfer (default 50 ms; doubles up to 2 s). */
  retryMs?: number;
  /** The longest `stop()` waits for each step (default 1000 ms). */
  stopTimeoutMs?: number;
}

/** Something the operator should hear about; `message` says it in a sentence. */
export type UsbTapEvent =
  | { type: 'attached'; serial: string; info: DeviceInfo; message: string }
  | { type: 'detached'; serial: string; message: string }
  /** Started with no such device on the bus: the driver waits for one. */
  | { type: 'waiting'; message: string }
  /** A device with the VID:PID that the driver did not take (another unit, not a tap, busy, no access). */
  | { type: 'skipped'; message: string }
  | { type: 'transfer-error'; errno: number | undefined; message: string };

export interface UsbTapListener {
  /** One record; the view and its buffer are valid only during the call. */
  record(record: RecordView): void;
  event?(event: UsbTapEvent): void;
}

export type UsbTapState = 'idle' | 'absent' | 'active' | 'stopped';

export interface UsbTapDriverStats {
  attaches: number;
  detaches: number;
  transferErrors: number;
  controlErrors: number;
  /** The stream parser's counters, over every session. */
  stream: ParserStats;
  /** Sequence numbers that went backwards (a device fault). */
  sequenceErrors: number;
  /** The latest GET_COUNTERS of the session in progress. */
  counters: DeviceCounters | null;
}

/** One attachment of the device: opened, configured, streaming. */
interface Session {
  readonly usb: UsbDevice;
  readonly dev: UsbTapDevice;
  counters: DeviceCounters | null;
  countersBusy: boolean;
  /** 'attached' was said (so a loss is a detach worth saying). */
  announced: boolean;
  /** The last transfer failed with a STALL: the endpoint needs its halt cleared. */
  halted: boolean;
}

const MAX_RETRY_MS = 2000;

export class UsbTapDriver {
  readonly vendorId: number;
  readonly productId: number;
  private readonly loss = new LossAccount();
  private readonly parser: RecordParser;
  private readonly o: Required<Omit<UsbTapDriverOptions, 'serial'>>;
  private stateNow: UsbTapState = 'idle';
  private session: Session | null = null;
  /** The unit followed: the one asked for, or the first one taken. */
  private serial: string | undefined;
  /** Devices found not to be the tap wanted (another unit, not a tap): not opened again. */
  private readonly ignored = new WeakSet<UsbDevice>();
  /** Devices already reported as skipped (so a rescan does not repeat it). */
  private readonly reported = new WeakSet<UsbDevice>();
  private readonly candidates: UsbDevice[] = [];
  private binding = false;
  private rescanTimer: NodeJS.Timeout | null = null;
  private countersTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs: number;
  private readonly counts = { attaches: 0, detaches: 0, transferErrors: 0, controlErrors: 0 };

  constructor(
    private readonly bus: UsbBus,
    options: UsbTapDriverOptions,
    private readonly listener: UsbTapListener,
  ) {
    this.vendorId = options.vendorId ?? DEFAULT_VENDOR_ID;
    this.productId = options.productId ?? DEFAULT_PRODUCT_ID;
    this.serial = options.serial;
    this.o = {
      vendorId: this.vendorId,
      productId: this.productId,
      snaplen: options.snaplen ?? 0,
      portMask: options.portMask ?? 0xffff,
      transfers: options.transfers ?? 8,
      transferSize: options.transferSize ?? 16384,
      countersIntervalMs: options.countersIntervalMs ?? 1000,
      rescanIntervalMs: options.rescanIntervalMs ?? 2000,
      retryMs: options.retryMs ?? 50,
      stopTimeoutMs: options.stopTimeoutMs ?? 1000,
    };
    if (this.o.transferSize % 1024 !== 0 || this.o.transferSize <= 0)
      throw new RangeError('transferSize must be a positive multiple of 1024 (the packet size)');
    this.retryMs = this.o.retryMs;
    this.parser = new RecordParser((r) => this.onRecord(r));
  }

  get state(): UsbTapState {
    return this.stateNow;
  }

  /** GET_INFO of the device in use, or null while absent. */
  get info(): DeviceInfo | null {
    return this.session?.dev.info ?? null;
  }

  get stats(): UsbTapDriverStats {
    return {
      ...this.counts,
      stream: { ...this.parser.stats },
      sequenceErrors: this.loss.sequenceErrors,
      counters: this.session?.counters ?? null,
    };
  }

  /** Received and lost, for port `p` (0..15), over every session. */
  port(p: number): PortLoss {
    return this.loss.port(p);
  }

  /** Frames of port `p` the host did not get: dropped on the device, lost on the way or at an unplug. */
  lost(p: number): number {
    return this.loss.lost(p);
  }

  /** Starts following the bus: the device now if present, else when it is attached. */
  start(): void {
    if (this.stateNow !== 'idle') return;
    this.stateNow = 'absent';
    this.bus.on('attach', this.onAttach);
    this.bus.on('detach', this.onDetach);
    this.rescanTimer = setInterval(() => this.scan(), this.o.rescanIntervalMs);
    this.rescanTimer.unref();
    if (!this.scan())
      this.emit({ type: 'waiting', message: `no ${this.ids()} on the bus; waiting for one` });
  }

  /** Reads GET_COUNTERS now (also done every `countersIntervalMs`); null while absent. */
  async readCounters(): Promise<DeviceCounters | null> {
    const s = this.session;
    if (!s) return null;
    try {
      const c = await s.dev.getCounters();
      if (this.session !== s) return null; // the session ended meanwhile
      s.counters = c;
      this.loss.counters(c);
      return c;
    } catch (err) {
      this.counts.controlErrors++;
      if (isGone(err) && this.session === s) this.lose(s);
      return null;
    }
  }

  /**
   * Stops capturing: polling, then SET_CAPTURE stop, release, close. No
   * record is delivered once this is called; what the device still held
   * is not counted as lost (the capture ended first).
   */
  async stop(): Promise<void> {
    if (this.stateNow === 'stopped') return;
    this.stateNow = 'stopped';
    this.bus.removeListener('attach', this.onAttach);
    this.bus.removeListener('detach', this.onDetach);
    this.clearTimers();
    this.candidates.length = 0;
    const s = this.session;
    this.session = null;
    if (!s) return;
    this.loss.endSession(false);
    this.parser.reset();
    await s.dev.stopStream(this.o.stopTimeoutMs);
    await Promise.race([
      s.dev.setCapture({ enable: false, snaplen: 0, portMask: 0 }).catch(() => undefined),
      delay(this.o.stopTimeoutMs),
    ]);
    await s.dev.close(this.o.stopTimeoutMs);
  }

  private readonly onAttach = (usb: UsbDevice): void => {
    if (this.matches(usb)) this.consider([usb]);
  };

  private readonly onDetach = (usb: UsbDevice): void => {
    const s = this.session;
    if (s && s.usb === usb) this.lose(s);
  };

  private matches(usb: UsbDevice): boolean {
    const d = usb.deviceDescriptor;
    return d.idVendor === this.vendorId && d.idProduct === this.productId;
  }

  /** Looks at every device on the bus (while absent: hot-plug events can be missed); false if none matched. */
  private scan(): boolean {
    if (this.stateNow !== 'absent' || this.binding) return true;
    let devices: UsbDevice[];
    try {
      devices = this.bus.getDeviceList();
    } catch {
      return false; // enumeration failed; the next rescan tries again
    }
    const matching = devices.filter((d) => this.matches(d));
    this.consider(matching);
    return matching.length > 0;
  }

  /** Tries the devices one at a time until one is taken. */
  private consider(devices: UsbDevice[]): void {
    for (const d of devices)
      if (!this.ignored.has(d) && !this.candidates.includes(d)) this.candidates.push(d);
    if (this.binding || this.stateNow !== 'absent') return;
    this.binding = true;
    void this.bindNext().finally(() => {
      this.binding = false;
    });
  }

  private async bindNext(): Promise<void> {
    while (this.stateNow === 'absent' && this.candidates.length > 0) {
      const usb = this.candidates.shift()!;
      if (!this.ignored.has(usb)) await this.bind(usb);
    }
    this.candidates.length = 0;
  }

  /** Opens, checks and starts one device; on any failure leaves it closed and the driver absent. */
  private async bind(usb: UsbDevice): Promise<void> {
    let dev: UsbTapDevice;
    try {
      dev = await UsbTapDevice.open(usb);
    } catch (err) {
      if (err instanceof UsbTapError && err.code === 'not-a-tap') this.ignored.add(usb);
      const hint =
        err instanceof UsbTapError && err.errno === LibUsb.ERROR_ACCESS
          ? ' (no permission for the device: run as root, or add a udev rule)'
          : '';
      this.skip(usb, `${this.ids()}: ${(err as Error).message}${hint}`);
      return;
    }
    const info = dev.info;
    if (this.serial !== undefined && info.serial !== this.serial) {
      this.ignored.add(usb);
      this.skip(usb, `${this.ids()}: serial ${info.serial}, not ${this.serial}`);
      await dev.close(this.o.stopTimeoutMs);
      return;
    }
    if (this.stateNow !== 'absent') return void (await dev.close(this.o.stopTimeoutMs));
    const s: Session = {
      usb,
      dev,
      counters: null,
      countersBusy: false,
      announced: false,
      halted: false,
    };
    try {
      await dev.setCapture({ enable: false, snaplen: 0, portMask: 0 }); // a previous host may have left it running
      if (this.stateNow !== 'absent') return void (await dev.close(this.o.stopTimeoutMs));
      this.parser.reset();
      this.parser.maxCaplen = info.maxSnaplen;
      this.loss.beginSession();
      this.session = s;
      this.stateNow = 'active';
      dev.startStream(this.handlers(s), this.o.transfers, this.o.transferSize);
      await dev.setCapture(this.captureSettings());
    } catch (err) {
      if (this.session === s) {
        this.session = null;
        if (this.stateNow === 'active') this.stateNow = 'absent';
        this.loss.endSession(false);
      }
      this.skip(usb, `${this.ids()} serial ${info.serial}: ${(err as Error).message}`);
      await dev.close(this.o.stopTimeoutMs);
      return;
    }
    if (this.session !== s) return; // unplugged or stopped while starting
    this.serial ??= info.serial;
    s.announced = true;
    this.counts.attaches++;
    this.retryMs = this.o.retryMs;
    this.countersTimer = setInterval(() => this.pollCounters(s), this.o.countersIntervalMs);
    this.countersTimer.unref();
    this.emit({
      type: 'attached',
      serial: info.serial,
      info,
      message: `${this.ids()} serial ${info.serial} attached: ${info.ports} ports, firmware ${formatFirmware(info.firmware)}, max snaplen ${info.maxSnaplen}, ${info.clockSynced ? 'clock synced' : 'clock free-running'}`,
    });
  }

  private captureSettings(): CaptureSettings {
    return { enable: true, snaplen: this.o.snaplen, portMask: this.o.portMask };
  }

  private handlers(s: Session): StreamHandlers {
    return {
      data: (chunk) => {
        if (this.session !== s) return;
        this.retryMs = this.o.retryMs;
        this.parser.push(chunk);
      },
      error: (err) => {
        if (this.session !== s) return;
        this.counts.transferErrors++;
        if (isGone(err)) return this.lose(s);
        // A STALL carries no data (the stream resumes where it stopped once the halt
        // is cleared); any other failure lost the bytes of its transfer.
        s.halted = err.errno === LibUsb.TRANSFER_STALL;
        if (!s.halted) this.parser.discontinuity();
        this.emit({
          type: 'transfer-error',
          errno: err.errno,
          message: `${this.ids()}: ${err.message}`,
        });
      },
      end: () => {
        if (this.session === s) this.restartLater(s);
      },
    };
  }

  /** Polling ended by itself (after an error): start it again after a growing wait. */
  private restartLater(s: Session): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.restart(s);
    }, this.retryMs);
    this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
  }

  /** Clears a halt if the endpoint STALLed, then polls again; on failure, tries later (or loses the device). */
  private async restart(s: Session): Promise<void> {
    if (this.session !== s || s.dev.streaming) return;
    try {
      if (s.halted) await s.dev.clearHalt();
      s.halted = false;
      if (this.session !== s || s.dev.streaming) return;
      s.dev.startStream(this.handlers(s), this.o.transfers, this.o.transferSize);
    } catch (err) {
      if (this.session !== s) return;
      if (isGone(err)) return this.lose(s);
      this.restartLater(s);
    }
  }

  private pollCounters(s: Session): void {
    if (s.countersBusy || this.session !== s) return;
    s.countersBusy = true;
    void this.readCounters().finally(() => {
      s.countersBusy = false;
    });
  }

  /** The device went away: count what it took with it, and wait for it to come back. */
  private lose(s: Session): void {
    if (this.session !== s) return;
    this.session = null;
    this.stateNow = 'absent';
    this.clearSessionTimers();
    this.parser.reset();
    this.loss.endSession(true);
    void s.dev.close(this.o.stopTimeoutMs);
    if (!s.announced) return; // it went while starting: bind() says so
    this.counts.detaches++;
    this.emit({
      type: 'detached',
      serial: s.dev.info.serial,
      message: `${this.ids()} serial ${s.dev.info.serial} detached; waiting for it to come back`,
    });
  }

  private onRecord(r: RecordView): void {
    this.loss.record(r.port, r.seq, r.flags, r.drops);
    this.listener.record(r);
  }

  private skip(usb: UsbDevice, message: string): void {
    if (this.reported.has(usb)) return;
    this.reported.add(usb);
    this.emit({ type: 'skipped', message });
  }

  private emit(event: UsbTapEvent): void {
    this.listener.event?.(event);
  }

  private ids(): string {
    return `${hex4(this.vendorId)}:${hex4(this.productId)}`;
  }

  private clearSessionTimers(): void {
    if (this.countersTimer) clearInterval(this.countersTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.countersTimer = null;
    this.retryTimer = null;
  }

  private clearTimers(): void {
    this.clearSessionTimers();
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    this.rescanTimer = null;
  }
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
