// The part of node-usb (usb@2, its "legacy" Device API) the driver uses, as
// structural types derived from node-usb's own declarations. The real
// module satisfies them (checked at compile time in real-usb.ts); the
// device model in ./testing implements them. Members are function-typed
// properties, not methods, so that the compile-time check compares
// parameters strictly (methods would be compared bivariantly).
import type {
  DeviceDescriptor,
  Endpoint,
  InEndpoint,
  Interface,
  LibUSBException,
  Device,
} from 'usb';

export type { LibUSBException };

/** The descriptor fields the driver reads (no I/O: node-usb has them from enumeration). */
export type UsbDeviceDescriptor = Pick<
  DeviceDescriptor,
  'idVendor' | 'idProduct' | 'iSerialNumber'
>;

/** `controlTransfer`'s completion: an IN request gets a Buffer, an OUT one the bytes sent. */
export type ControlTransferCallback = NonNullable<Parameters<Device['controlTransfer']>[5]>;

export interface UsbDevice {
  readonly deviceDescriptor: UsbDeviceDescriptor;
  /** Opens the device and its default configuration; throws a LibUSBException. */
  readonly open: () => void;
  readonly close: () => void;
  /** The interface with that number; the device must be open. */
  readonly interface: (addr: number) => UsbInterface;
  /**
   * IN when bit 7 of bmRequestType is set: `dataOrLength` is the length
   * asked for; OUT: the data. Throws a TypeError at once when the two
   * disagree; every other failure goes to the callback.
   */
  readonly controlTransfer: (
    bmRequestType: number,
    bRequest: number,
    wValue: number,
    wIndex: number,
    dataOrLength: number | Buffer,
    callback?: ControlTransferCallback,
  ) => unknown;
}

/** Any endpoint of an interface; the driver looks for the bulk IN one. */
export type UsbEndpoint = Pick<Endpoint, 'direction' | 'address' | 'transferType'>;

export interface UsbInterface {
  readonly interfaceNumber: Interface['interfaceNumber'];
  readonly endpoints: readonly UsbEndpoint[];
  readonly claim: () => void;
  /** With `closeEndpoints`, stops polling first; it is an error to release with transfers pending. */
  readonly release: (closeEndpoints: boolean, callback: (error?: LibUSBException) => void) => void;
}

/** node-usb's InEndpoint as the driver uses it: polling, and its events. */
export interface UsbInEndpoint extends UsbEndpoint {
  readonly pollActive: InEndpoint['pollActive'];
  /** Keeps `nTransfers` transfers of `transferSize` bytes in flight; throws if already polling. */
  readonly startPoll: (nTransfers?: number, transferSize?: number) => unknown;
  /** Cancels the transfers; 'end' (and the callback) once all have completed. Throws if not polling. */
  readonly stopPoll: (callback?: () => void) => void;
  /** Clears a halt (STALL) of the endpoint, so that transfers work again. */
  readonly clearHalt: (callback: (error: LibUSBException | undefined) => void) => void;
  readonly on: {
    (event: 'data', listener: (data: Buffer) => void): unknown;
    /** A transfer failed: node-usb stops polling itself ('end' follows). */
    (event: 'error', listener: (error: LibUSBException) => void): unknown;
    (event: 'end', listener: () => void): unknown;
  };
  readonly removeListener: {
    (event: 'data', listener: (data: Buffer) => void): unknown;
    (event: 'error', listener: (error: LibUSBException) => void): unknown;
    (event: 'end', listener: () => void): unknown;
  };
}

export type UsbHotplugEvent = 'attach' | 'detach';

/** The bus: node-usb's `usb` object (`import { usb } from 'usb'`), or the model's. */
export interface UsbBus {
  readonly getDeviceList: () => UsbDevice[];
  readonly on: (event: UsbHotplugEvent, listener: (device: UsbDevice) => void) => unknown;
  readonly removeListener: (
    event: UsbHotplugEvent,
    listener: (device: UsbDevice) => void,
  ) => unknown;
}

/** An endpoint the driver can poll. */
export function isInEndpoint(e: UsbEndpoint): e is UsbInEndpoint {
  return e.direction === 'in' && typeof (e as Partial<UsbInEndpoint>).startPoll === 'function';
}

/** libusb's numbers (libusb.h; node-usb exports the same as `usb.LIBUSB_*`, checked by a test). */
export const LibUsb = {
  TRANSFER_TYPE_BULK: 2,
  /** Transfer statuses: a failed transfer's `errno` in node-usb. */
  TRANSFER_ERROR: 1,
  TRANSFER_TIMED_OUT: 2,
  TRANSFER_CANCELLED: 3,
  TRANSFER_STALL: 4,
  TRANSFER_NO_DEVICE: 5,
  TRANSFER_OVERFLOW: 6,
  /** Error codes: what synchronous calls (open, claim) throw. */
  ERROR_IO: -1,
  ERROR_ACCESS: -3,
  ERROR_NO_DEVICE: -4,
  ERROR_NOT_FOUND: -5,
  ERROR_BUSY: -6,
  ERROR_TIMEOUT: -7,
  ERROR_PIPE: -9,
} as const;
