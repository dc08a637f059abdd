import {
  DEFAULT_PRODUCT_ID,
  DEFAULT_VENDOR_ID,
  MAX_CAPLEN,
  MIN_SNAPLEN,
  RecordFlag,
  RecordRing,
  UsbTapDriver,
  loadUsbBus,
} from '@netmirror/usb-tap';
import type {
  DeviceInfo,
  RecordView,
  UsbBus,
  UsbTapDriverOptions,
  UsbTapDriverStats,
  UsbTapEvent,
  UsbTapState,
} from '@netmirror/usb-tap';
import type { FrameBatch } from '@netmirror/packet';
import { LinkType } from '@netmirror/packet';
import type { SourceInterface } from '../sinks/index.js';
import { Waker } from './waker.js';
import type { Tap } from './tap.js';

export interface UsbTapOptions {
  vendorId: number;
  productId: number;
  /** Only this unit (its USB serial number); without it the first one found, then that one. */
  serial?: string;
  /** Frame bytes kept per frame; undefined: the device's maximum. */
  snaplen?: number;
  /** Ports to capture (bit p: port p); one interface per port up to the highest bit. */
  portMask: number;
  /** Prefix of the interface names: `usb0` gives `usb0:p0`, `usb0:p1`, … */
  name: string;
  /** Bytes and frames the tap holds between the device and the pipeline (default 16 MiB, 65536). */
  ringBytes?: number;
  ringFrames?: number;
  /** Attach, detach and trouble, in a sentence each (the CLI prints them). */
  onEvent?: (event: UsbTapEvent) => void;
  /** Transfers, counter and rescan intervals (defaults in UsbTapDriverOptions). */
  driver?: Pick<
    UsbTapDriverOptions,
    'transfers' | 'transferSize' | 'countersIntervalMs' | 'rescanIntervalMs' | 'retryMs'
  >;
}

/** pcapng epb_flags: inbound (a tap port only receives), and the CRC-error bit (31). */
const INBOUND = 1;
const EPB_CRC_ERROR = 1 << 31;

/**
 * `usb:[VID:PID]`: live frames from a NetMirror USB tap (firmware-bindings/
 * usb-tap/PROTOCOL.md) through node-usb, or through any bus with the same
 * surface (the device model, in tests). One interface per device port,
 * frames stamped by the device, in the order the device saw them.
 *
 * The device may come and go: while it is absent the tap yields nothing
 * (ready() still settles every 100 ms) and it resumes, with the same
 * interfaces, when the unit is plugged in again (the same serial number).
 * Frames are copied once, out of the USB transfers into the tap's ring;
 * a batch points into the ring until the next `ready()`/`next()`. When the
 * ring is full (the pipeline is behind) records are dropped and counted.
 *
 * `sourceDrops()` per port: dropped on the device (its buffer full), lost
 * on the way (sequence gaps), lost at an unplug (queued on the device by
 * its last counters reading, never received), and dropped by the tap's own
 * ring.
 */
export class UsbTap implements Tap {
  readonly live = true;
  readonly interfaces: readonly SourceInterface[];
  readonly linkTypes: ArrayLike<number>;
  private readonly driver: UsbTapDriver;
  private readonly ring: RecordRing;
  /** Records the ring had no room for, per interface. */
  private readonly overflow: Float64Array;
  /** Records of ports beyond the interfaces (a device that ignored the port mask). */
  private foreignRecords = 0;
  private wake: (() => void) | null = null;
  private readonly waker = new Waker((cb) => {
    this.wake = cb;
  });
  private closed = false;

  /** `bus`: node-usb's (loaded now) unless another is given, e.g. the device model's. */
  constructor(
    readonly uri: string,
    private readonly options: UsbTapOptions,
    bus: UsbBus = loadUsbBus(),
  ) {
    const ports = 32 - Math.clz32(options.portMask & 0xffff);
    if (ports === 0) throw new RangeError(`${uri}: the port mask selects no port`);
    const snapLen = options.snaplen ?? MAX_CAPLEN;
    const ids = `${hex4(options.vendorId)}:${hex4(options.productId)}`;
    const unit = options.serial === undefined ? '' : ` serial ${options.serial}`;
    this.interfaces = Array.from({ length: ports }, (_, p) => ({
      linkType: LinkType.ETHERNET,
      snapLen,
      name: `${options.name}:p${p}`,
      description: `NetMirror USB tap ${ids}${unit} port ${p}`,
    }));
    this.linkTypes = this.interfaces.map(() => LinkType.ETHERNET);
    this.overflow = new Float64Array(ports);
    this.ring = new RecordRing(options.ringBytes ?? 16 << 20, options.ringFrames ?? 65536);
    this.driver = new UsbTapDriver(
      bus,
      {
        ...options.driver,
        vendorId: options.vendorId,
        productId: options.productId,
        serial: options.serial,
        snaplen: options.snaplen ?? 0,
        portMask: options.portMask,
      },
      { record: (r) => this.onRecord(r), event: (e) => this.onEvent(e) },
    );
    this.driver.start();
  }

  /** 'active' while the device is there and capturing; 'absent' while waiting for it. */
  get state(): UsbTapState {
    return this.driver.state;
  }

  /** GET_INFO of the device in use, or null while absent. */
  get device(): DeviceInfo | null {
    return this.driver.info;
  }

  /** Records of ports the tap has no interface for (the device ignored the port mask). */
  get foreign(): number {
    return this.foreignRecords;
  }

  /** The driver's counters: attaches, detaches, transfer errors, stream damage, the last GET_COUNTERS. */
  get stats(): UsbTapDriverStats {
    return this.driver.stats;
  }

  /** How full the tap's ring is, 0..1. */
  backlog(): number {
    return this.closed ? 0 : this.ring.fill();
  }

  ready(): Promise<void> | null {
    if (this.closed) return null;
    this.ring.release(); // the previous batch has been through the pipeline
    if (this.ring.waiting > 0) return null;
    return this.waker.wait();
  }

  next(batch: FrameBatch): number {
    batch.clear();
    if (this.closed) return 0;
    const ring = this.ring;
    ring.release();
    const n = ring.take(batch.capacity);
    if (n === 0) return -1;
    batch.buf = ring.buf;
    for (let k = 0; k < n; k++) {
      const s = ring.slotOf(k);
      const crc = (ring.flags[s] & RecordFlag.FCS_ERROR) !== 0 ? EPB_CRC_ERROR : 0;
      batch.push(
        ring.offset[s],
        ring.caplen[s],
        ring.origlen[s],
        ring.sec[s],
        ring.nsec[s],
        ring.port[s],
        INBOUND | crc,
      );
    }
    return n;
  }

  sourceDrops(): number[] {
    return this.interfaces.map((_, p) => this.driver.lost(p) + this.overflow[p]);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.driver.stop(); // the device is released in the background; nothing more arrives
    this.wakeUp();
  }

  private onRecord(r: RecordView): void {
    if (this.closed) return;
    if (r.port >= this.interfaces.length) {
      this.foreignRecords++;
      return;
    }
    if (!this.ring.push(r)) this.overflow[r.port]++;
    else this.wakeUp();
  }

  private onEvent(e: UsbTapEvent): void {
    const onEvent = this.options.onEvent;
    if (!onEvent) return;
    const wanted = this.interfaces.length;
    if (e.type === 'attached' && e.info.ports < wanted) {
      const missing = `ports ${e.info.ports}..${wanted - 1} are not on this device and stay empty`;
      onEvent({ ...e, message: `${e.message}; ${missing}` });
    } else {
      onEvent(e);
    }
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

const OPTIONS = 'serial, snaplen, ports';

/**
 * Options of `usb:[VID:PID][?serial=S&snaplen=N&ports=MASK]` (`rest` is
 * what follows `usb:`, `query` what follows `?`). VID and PID in hex as
 * lsusb prints them; default 1209:0001 (PROTOCOL.md). `ports` in hex
 * (`0x3`) or decimal; default 0xf, the UT-4's four ports, so the
 * interfaces are known before the device is (a recording lists them first).
 */
export function usbTapOptions(uri: string, rest: string, query: string | undefined): UsbTapOptions {
  const bad = (what: string): Error => new Error(`--from ${uri}: ${what}`);
  const ids = /^([0-9a-f]{4}):([0-9a-f]{4})$/i.exec(rest);
  if (rest !== '' && !ids) throw bad('expected usb:VID:PID in hex, e.g. usb:1209:0001');
  const o: UsbTapOptions = {
    vendorId: ids ? parseInt(ids[1], 16) : DEFAULT_VENDOR_ID,
    productId: ids ? parseInt(ids[2], 16) : DEFAULT_PRODUCT_ID,
    portMask: 0xf,
    name: 'usb0',
  };
  for (const [key, value] of new URLSearchParams(query ?? '')) {
    switch (key) {
      case 'serial':
        if (!/^[\x21-\x7e]{1,32}$/.test(value))
          throw bad(`serial=${value}: 1 to 32 printable ASCII characters`);
        o.serial = value;
        o.name = `usb-${value}`;
        break;
      case 'snaplen': {
        const n = Number(value);
        if (!/^\d+$/.test(value) || n < MIN_SNAPLEN || n > MAX_CAPLEN)
          throw bad(`snaplen=${value}: must be an integer in ${MIN_SNAPLEN}..${MAX_CAPLEN}`);
        o.snaplen = n;
        break;
      }
      case 'ports': {
        const n = /^0x[0-9a-f]{1,4}$/i.test(value)
          ? parseInt(value, 16)
          : /^\d+$/.test(value)
            ? Number(value)
            : NaN;
        if (!(n >= 1 && n <= 0xffff))
          throw bad(`ports=${value}: a port mask from 0x1 to 0xffff (bit p: port p)`);
        o.portMask = n;
        break;
      }
      default:
        throw bad(`unknown option ${key}; usb takes ${OPTIONS}`);
    }
  }
  return o;
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

/** `openTap`'s `usb:` source: node-usb's bus, and the tap's notices on stderr. */
export function openUsbTap(uri: string, rest: string, query: string | undefined): UsbTap {
  const options = usbTapOptions(uri, rest, query);
  let bus: UsbBus;
  try {
    bus = loadUsbBus();
  } catch (err) {
    throw new Error(`--from ${uri}: cannot load node-usb (libusb): ${(err as Error).message}`, {
      cause: err,
    });
  }
  const onEvent = (e: UsbTapEvent): void =>
    void process.stderr.write(`netmirror: ${uri}: ${e.message}\n`);
  return new UsbTap(uri, { ...options, onEvent }, bus);
}
