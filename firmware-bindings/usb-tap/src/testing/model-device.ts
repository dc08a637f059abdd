// A NetMirror USB tap as node-usb's legacy Device presents it, one object
// per attachment (a re-plugged device is a new Device in node-usb too):
// descriptors, open/close, interface(0) with claim/release and its bulk IN
// endpoint, and controlTransfer with node-usb's argument rules and
// callback. The protocol itself is UsbTapModel's.
import type {
  ControlTransferCallback,
  LibUSBException,
  UsbDevice,
  UsbInterface,
} from '../usb-types.js';
import { LibUsb } from '../usb-types.js';
import {
  INTERFACE_CLASS,
  INTERFACE_NUMBER,
  INTERFACE_PROTOCOL,
  INTERFACE_SUBCLASS,
} from '../protocol.js';
import { ModelInEndpoint } from './model-endpoint.js';
import type { UsbTapModel } from './tap-model.js';
import { ModelUsbException } from './usb-exception.js';

const GET_DESCRIPTOR = 0x06;
const DT_STRING = 0x03;
const ENDPOINT_IN = 0x80;

export class ModelUsbDevice implements UsbDevice {
  readonly deviceDescriptor: {
    bLength: number;
    bDescriptorType: number;
    bcdUSB: number;
    bDeviceClass: number;
    bMaxPacketSize0: number;
    idVendor: number;
    idProduct: number;
    bcdDevice: number;
    iManufacturer: number;
    iProduct: number;
    iSerialNumber: number;
    bNumConfigurations: number;
  };
  readonly busNumber = 1;
  /** Open: the interfaces (node-usb uses their presence to mean "open"). */
  interfaces: ModelInterface[] | undefined;
  /** Control transfer timeout, ms (node-usb's default; the model answers at once). */
  timeout = 1000;
  private attached = true;
  private readonly endpoint: ModelInEndpoint;

  constructor(
    readonly model: UsbTapModel,
    readonly deviceAddress: number,
  ) {
    const f = model.firmware;
    this.deviceDescriptor = {
      bLength: 18,
      bDescriptorType: 1,
      bcdUSB: 0x0200,
      bDeviceClass: 0,
      bMaxPacketSize0: 64,
      idVendor: model.vendorId,
      idProduct: model.productId,
      bcdDevice: (bcd(f.major) << 8) | bcd(f.minor),
      iManufacturer: 1,
      iProduct: 2,
      iSerialNumber: 3,
      bNumConfigurations: 1,
    };
    this.endpoint = new ModelInEndpoint(
      model,
      () => this.attached && this.interfaces !== undefined,
    );
  }

  get isAttached(): boolean {
    return this.attached;
  }

  /** The stream endpoint (for tests). */
  get streamEndpoint(): ModelInEndpoint {
    return this.endpoint;
  }

  open(): void {
    if (!this.attached) throw new ModelUsbException(LibUsb.ERROR_NO_DEVICE);
    if (this.interfaces) return;
    this.interfaces = [new ModelInterface(this, this.endpoint)];
  }

  close(): void {
    if (!this.interfaces) throw new Error('Device is not opened');
    for (const i of this.interfaces) i.dropClaim();
    this.interfaces = undefined;
  }

  interface(addr: number): ModelInterface {
    if (!this.interfaces) throw new Error('Device must be open before searching for interfaces');
    const found = this.interfaces.find((i) => i.interfaceNumber === (addr || 0));
    if (!found) throw new Error(`Interface not found for address: ${addr}`);
    return found;
  }

  controlTransfer(
    bmRequestType: number,
    bRequest: number,
    wValue: number,
    wIndex: number,
    dataOrLength: number | Buffer,
    callback?: ControlTransferCallback,
  ): this {
    const isIn = (bmRequestType & ENDPOINT_IN) !== 0;
    // node-usb's own checks, thrown at once.
    if (isIn && typeof dataOrLength === 'number' && dataOrLength < 0)
      throw new TypeError('Expected size number for IN transfer (based on bmRequestType)');
    if (!isIn && !(dataOrLength instanceof Uint8Array))
      throw new TypeError('Expected buffer for OUT transfer (based on bmRequestType)');
    const data = isIn ? dataOrLength : Buffer.from(dataOrLength as Buffer);
    setImmediate(() => {
      const done = (
        error: LibUSBException | undefined,
        result: Buffer | number | undefined,
      ): void => callback?.call(this, error, result);
      if (!this.interfaces) return done(new ModelUsbException(LibUsb.ERROR_IO), undefined);
      if (!this.attached) return done(new ModelUsbException(LibUsb.TRANSFER_NO_DEVICE), undefined);
      const reply =
        bmRequestType === ENDPOINT_IN && bRequest === GET_DESCRIPTOR
          ? this.stringDescriptor(wValue, data as number)
          : this.model.control(bmRequestType, bRequest, wIndex, data);
      if (reply === 'stall') return done(new ModelUsbException(LibUsb.TRANSFER_STALL), undefined);
      done(undefined, isIn ? (reply as Buffer) : (reply as number));
    });
    return this;
  }

  /** The string (UTF-16LE), as node-usb's getStringDescriptor reads it. */
  getStringDescriptor(
    index: number,
    callback: (error?: LibUSBException, value?: string) => void,
  ): void {
    if (index === 0) return callback();
    this.controlTransfer(
      ENDPOINT_IN,
      GET_DESCRIPTOR,
      (DT_STRING << 8) | index,
      0x0409,
      255,
      (error, buf) => {
        if (error) return callback(error);
        callback(undefined, Buffer.isBuffer(buf) ? buf.toString('utf16le', 2) : undefined);
      },
    );
  }

  /** The bus unplugged it: transfers fail, requests fail, it cannot be opened again. */
  unplugged(): void {
    this.attached = false;
    this.endpoint.deviceGone();
  }

  private stringDescriptor(wValue: number, length: number): Buffer | 'stall' {
    if (wValue >> 8 !== DT_STRING) return 'stall';
    const index = wValue & 0xff;
    const strings = ['', 'NetMirror', 'NetMirror USB tap UT-4', this.model.serial];
    if (index === 0) return Buffer.from([4, DT_STRING, 0x09, 0x04]).subarray(0, length);
    if (index >= strings.length) return 'stall';
    const text = Buffer.from(strings[index], 'utf16le');
    return Buffer.concat([Buffer.from([2 + text.length, DT_STRING]), text]).subarray(0, length);
  }
}

export class ModelInterface implements UsbInterface {
  readonly interfaceNumber = INTERFACE_NUMBER;
  readonly altSetting = 0;
  readonly descriptor = {
    bInterfaceNumber: INTERFACE_NUMBER,
    bAlternateSetting: 0,
    bNumEndpoints: 1,
    bInterfaceClass: INTERFACE_CLASS,
    bInterfaceSubClass: INTERFACE_SUBCLASS,
    bInterfaceProtocol: INTERFACE_PROTOCOL,
    iInterface: 0,
  };
  readonly endpoints: readonly ModelInEndpoint[];
  private claimed = false;

  constructor(
    private readonly device: ModelUsbDevice,
    endpoint: ModelInEndpoint,
  ) {
    this.endpoints = [endpoint];
  }

  get isClaimed(): boolean {
    return this.claimed;
  }

  claim(): void {
    if (!this.device.isAttached) throw new ModelUsbException(LibUsb.ERROR_NO_DEVICE);
    if (this.device.model.busy) throw new ModelUsbException(LibUsb.ERROR_BUSY);
    this.claimed = true;
  }

  release(callback?: (error?: LibUSBException) => void): void;
  release(closeEndpoints?: boolean, callback?: (error?: LibUSBException) => void): void;
  release(
    a?: boolean | ((error?: LibUSBException) => void),
    b?: (error?: LibUSBException) => void,
  ): void {
    const closeEndpoints = typeof a === 'boolean' ? a : false;
    const callback = typeof a === 'function' ? a : b;
    const next = (): void => {
      setImmediate(() => {
        this.claimed = false;
        const gone = this.device.isAttached
          ? undefined
          : new ModelUsbException(LibUsb.ERROR_NO_DEVICE);
        callback?.call(this, gone);
      });
    };
    const ep = this.endpoints[0];
    if (closeEndpoints && ep.pollActive) {
      ep.once('end', next);
      ep.stopPoll();
    } else {
      next();
    }
  }

  /** close() without release(): libusb releases it. */
  dropClaim(): void {
    this.claimed = false;
  }
}

function bcd(n: number): number {
  return ((Math.floor(n / 10) % 10) << 4) | (n % 10);
}
