// The real bus: node-usb, loaded when first asked for (it is a native
// module that starts libusb, so nothing loads it before a usb: source is
// opened). Also the compile-time proof that node-usb's objects satisfy the
// subset in usb-types.ts.
import { createRequire } from 'node:module';
import type * as NodeUsb from 'usb';
import type { UsbBus, UsbDevice, UsbInEndpoint, UsbInterface } from './usb-types.js';

/** Compiles only if `T` is assignable to `U`. */
type Satisfies<T extends U, U> = T;

/** node-usb's Device, Interface and InEndpoint are what the driver takes. */
export type RealUsbSatisfiesSubset = [
  Satisfies<NodeUsb.Device, UsbDevice>,
  Satisfies<NodeUsb.Interface, UsbInterface>,
  Satisfies<NodeUsb.InEndpoint, UsbInEndpoint>,
  Satisfies<typeof NodeUsb.usb, UsbBus>,
];

let loaded: UsbBus | undefined;

/** node-usb's `usb` object as a UsbBus; throws if the module or libusb cannot be loaded. */
export function loadUsbBus(): UsbBus {
  if (loaded) return loaded;
  const usbModule = createRequire(import.meta.url)('usb') as typeof NodeUsb;
  const bus: UsbBus = usbModule.usb; // the same check, on the value
  loaded = bus;
  return bus;
}
