// The errors node-usb reports (LibUSBException: an Error with libusb's
// errno), as the model raises them.
import { LibUsb } from '../usb-types.js';
import type { LibUSBException } from '../usb-types.js';

const NAMES: Record<number, string> = {
  [LibUsb.TRANSFER_ERROR]: 'LIBUSB_TRANSFER_ERROR',
  [LibUsb.TRANSFER_TIMED_OUT]: 'LIBUSB_TRANSFER_TIMED_OUT',
  [LibUsb.TRANSFER_CANCELLED]: 'LIBUSB_TRANSFER_CANCELLED',
  [LibUsb.TRANSFER_STALL]: 'LIBUSB_TRANSFER_STALL',
  [LibUsb.TRANSFER_NO_DEVICE]: 'LIBUSB_TRANSFER_NO_DEVICE',
  [LibUsb.TRANSFER_OVERFLOW]: 'LIBUSB_TRANSFER_OVERFLOW',
  [LibUsb.ERROR_IO]: 'LIBUSB_ERROR_IO',
  [LibUsb.ERROR_ACCESS]: 'LIBUSB_ERROR_ACCESS',
  [LibUsb.ERROR_NO_DEVICE]: 'LIBUSB_ERROR_NO_DEVICE',
  [LibUsb.ERROR_NOT_FOUND]: 'LIBUSB_ERROR_NOT_FOUND',
  [LibUsb.ERROR_BUSY]: 'LIBUSB_ERROR_BUSY',
  [LibUsb.ERROR_TIMEOUT]: 'LIBUSB_ERROR_TIMEOUT',
  [LibUsb.ERROR_PIPE]: 'LIBUSB_ERROR_PIPE',
};

export class ModelUsbException extends Error implements LibUSBException {
  constructor(readonly errno: number) {
    super(NAMES[errno] ?? `LIBUSB error ${errno}`);
    this.name = 'LibUSBException';
  }
}
