// One opened NetMirror USB tap: interface 0 claimed, GET_INFO read, the
// control requests as promises, and the bulk IN endpoint's polling.
import {
  decodeCounters,
  decodeInfo,
  getCountersRequest,
  getInfoRequest,
  setCaptureRequest,
} from './control.js';
import type { CaptureSettings, ControlSetup, DeviceCounters, DeviceInfo } from './control.js';
import { UsbTapError } from './errors.js';
import { INTERFACE_NUMBER, STREAM_ENDPOINT } from './protocol.js';
import { LibUsb, isInEndpoint } from './usb-types.js';
import type { LibUSBException, UsbDevice, UsbInEndpoint, UsbInterface } from './usb-types.js';

/** Where the stream's events go. */
export interface StreamHandlers {
  data(chunk: Buffer): void;
  /** A transfer failed; node-usb stops polling by itself, and `end` follows. */
  error(error: UsbTapError): void;
  /** Polling has stopped (asked for, or after an error): no transfer is in flight. */
  end(): void;
}

/** The endpoint's polling: off, on, or stopping (transfers still completing). */
type PollState = 'off' | 'on' | 'ending';

export class UsbTapDevice {
  private poll: PollState = 'off';
  private handlers: StreamHandlers | null = null;
  private listening = false;
  private closed = false;
  /** Set while node-usb's startPoll runs: an error it emits then means polling did not start. */
  private starting = false;
  private startError: UsbTapError | null = null;
  private readonly waitingForEnd: (() => void)[] = [];

  private constructor(
    readonly usb: UsbDevice,
    private readonly iface: UsbInterface,
    private readonly endpoint: UsbInEndpoint,
    /** GET_INFO, read when the device was opened. */
    readonly info: DeviceInfo,
  ) {}

  /**
   * Opens the device, claims interface 0 and reads GET_INFO. Fails with a
   * UsbTapError (`not-a-tap` for a device that answers as something else);
   * on failure the device is closed again.
   */
  static async open(usb: UsbDevice): Promise<UsbTapDevice> {
    try {
      usb.open();
    } catch (err) {
      throw usbError('open', err);
    }
    let iface: UsbInterface;
    try {
      iface = usb.interface(INTERFACE_NUMBER);
      iface.claim();
    } catch (err) {
      closeQuietly(usb);
      throw usbError('claim interface 0', err);
    }
    try {
      const endpoint = iface.endpoints.find((e) => e.address === STREAM_ENDPOINT);
      if (
        !endpoint ||
        !isInEndpoint(endpoint) ||
        endpoint.transferType !== LibUsb.TRANSFER_TYPE_BULK
      )
        throw new UsbTapError('not-a-tap', 'interface 0 has no bulk IN endpoint 0x81');
      const info = decodeInfo(asBuffer(await control(usb, getInfoRequest(), 'GET_INFO')));
      return new UsbTapDevice(usb, iface, endpoint, info);
    } catch (err) {
      await releaseQuietly(iface);
      closeQuietly(usb);
      const e = usbError('GET_INFO', err);
      // A device that refuses GET_INFO speaks another protocol (1209:0001 is shared).
      if (e.errno === LibUsb.TRANSFER_STALL)
        throw new UsbTapError('not-a-tap', `${e.message}: not a NetMirror tap`, e.errno, {
          cause: e,
        });
      throw e;
    }
  }

  async getInfo(): Promise<DeviceInfo> {
    return decodeInfo(asBuffer(await control(this.usb, getInfoRequest(), 'GET_INFO')));
  }

  async setCapture(settings: CaptureSettings): Promise<void> {
    await control(this.usb, setCaptureRequest(settings), 'SET_CAPTURE');
  }

  async getCounters(): Promise<DeviceCounters> {
    return decodeCounters(asBuffer(await control(this.usb, getCountersRequest(), 'GET_COUNTERS')));
  }

  /** True from `startStream` until polling has ended. */
  get streaming(): boolean {
    return this.poll !== 'off';
  }

  /** Starts polling the stream endpoint with `transfers` transfers of `transferSize` bytes in flight. */
  startStream(handlers: StreamHandlers, transfers: number, transferSize: number): void {
    if (this.closed) throw new UsbTapError('gone', 'the device is closed');
    if (this.poll !== 'off') throw new Error('UsbTapDevice: already streaming');
    this.handlers = handlers;
    this.listen();
    this.starting = true;
    this.startError = null;
    try {
      this.endpoint.startPoll(transfers, transferSize);
    } catch (err) {
      throw usbError('start polling', err);
    } finally {
      this.starting = false;
    }
    // node-usb reports a first submit that fails with an 'error' event during
    // startPoll, leaves polling off, and never emits 'end'.
    if (!this.endpoint.pollActive)
      throw this.startError ?? new UsbTapError('usb', 'start polling: polling did not start');
    this.poll = 'on';
  }

  /** Clears a halted (STALLed) stream endpoint; fails with a UsbTapError. */
  clearHalt(): Promise<void> {
    return new Promise((resolve, reject) => {
      try {
        this.endpoint.clearHalt((error) =>
          error ? reject(usbError('clear halt', error)) : resolve(),
        );
      } catch (err) {
        reject(usbError('clear halt', err));
      }
    });
  }

  /** Stops polling; resolves once every transfer has completed, or after `timeoutMs`. */
  stopStream(timeoutMs: number): Promise<void> {
    if (this.poll === 'off') return Promise.resolve();
    if (this.poll === 'on') {
      this.poll = 'ending';
      try {
        if (this.endpoint.pollActive) this.endpoint.stopPoll();
        else this.ended(); // node-usb had already stopped (an error) and ended
      } catch {
        this.ended();
      }
    }
    if (!this.streaming) return Promise.resolve(); // ended at once
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waitingForEnd.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Stops the stream, releases the interface and closes the device; never throws. */
  async close(timeoutMs = 1000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stopStream(timeoutMs);
    this.unlisten();
    this.handlers = null;
    await releaseQuietly(this.iface, timeoutMs);
    closeQuietly(this.usb);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.handlers?.data(chunk);
  };

  private readonly onError = (error: LibUSBException): void => {
    if (this.starting) {
      this.startError = usbError('start polling', error);
      return;
    }
    if (this.poll === 'on') this.poll = 'ending'; // node-usb calls stopPoll itself
    this.handlers?.error(usbError('bulk transfer', error));
  };

  private readonly onEnd = (): void => {
    this.ended();
  };

  private ended(): void {
    if (this.poll === 'off') return;
    this.poll = 'off';
    for (const wake of this.waitingForEnd.splice(0)) wake();
    this.handlers?.end();
  }

  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    this.endpoint.on('data', this.onData);
    this.endpoint.on('error', this.onError);
    this.endpoint.on('end', this.onEnd);
  }

  private unlisten(): void {
    if (!this.listening) return;
    this.listening = false;
    this.endpoint.removeListener('data', this.onData);
    this.endpoint.removeListener('error', this.onError);
    this.endpoint.removeListener('end', this.onEnd);
  }
}

/** True when the error says the device is no longer there. */
export function isGone(err: unknown): boolean {
  return err instanceof UsbTapError && err.code === 'gone';
}

/** One control transfer as a promise; fails with a UsbTapError naming the request. */
function control(usb: UsbDevice, s: ControlSetup, name: string): Promise<Buffer | number> {
  return new Promise((resolve, reject) => {
    try {
      usb.controlTransfer(
        s.bmRequestType,
        s.bRequest,
        s.wValue,
        s.wIndex,
        s.dataOrLength,
        (error, data) => {
          if (error) reject(usbError(name, error));
          else resolve(data ?? 0);
        },
      );
    } catch (err) {
      reject(usbError(name, err));
    }
  });
}

function asBuffer(data: Buffer | number): Buffer {
  return typeof data === 'number' ? Buffer.alloc(0) : data;
}

/** A libusb failure as a UsbTapError: `gone` for "no device", else `usb` with its errno. */
function usbError(what: string, err: unknown): UsbTapError {
  if (err instanceof UsbTapError) return err;
  const errno = (err as { errno?: unknown }).errno;
  const message = `${what}: ${(err as Error).message ?? String(err)}`;
  if (typeof errno !== 'number') return new UsbTapError('usb', message, undefined, { cause: err });
  const gone = errno === LibUsb.TRANSFER_NO_DEVICE || errno === LibUsb.ERROR_NO_DEVICE;
  return new UsbTapError(gone ? 'gone' : 'usb', message, errno, { cause: err });
}

function closeQuietly(usb: UsbDevice): void {
  try {
    usb.close();
  } catch {
    // already closed, or gone: nothing to give back
  }
}

function releaseQuietly(iface: UsbInterface, timeoutMs = 1000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    try {
      iface.release(true, done);
    } catch {
      done();
    }
  });
}
