// The real node-usb module on this machine, which has no USB bus: it loads,
// its libusb numbers are the driver's, and the driver on it waits for a
// device that never comes, then stops cleanly.
import { createRequire } from 'node:module';
import type * as NodeUsb from 'usb';
import { describe, expect, it } from 'vitest';
import { UsbTapDriver } from './driver.js';
import { loadUsbBus } from './real-usb.js';
import { LibUsb } from './usb-types.js';

const nodeUsb = createRequire(import.meta.url)('usb') as typeof NodeUsb;

describe('node-usb', () => {
  it("has libusb's numbers as the driver knows them", () => {
    const u = nodeUsb.usb;
    expect(LibUsb).toEqual({
      TRANSFER_TYPE_BULK: u.LIBUSB_TRANSFER_TYPE_BULK,
      TRANSFER_ERROR: u.LIBUSB_TRANSFER_ERROR,
      TRANSFER_TIMED_OUT: u.LIBUSB_TRANSFER_TIMED_OUT,
      TRANSFER_CANCELLED: u.LIBUSB_TRANSFER_CANCELLED,
      TRANSFER_STALL: u.LIBUSB_TRANSFER_STALL,
      TRANSFER_NO_DEVICE: u.LIBUSB_TRANSFER_NO_DEVICE,
      TRANSFER_OVERFLOW: u.LIBUSB_TRANSFER_OVERFLOW,
      ERROR_IO: u.LIBUSB_ERROR_IO,
      ERROR_ACCESS: u.LIBUSB_ERROR_ACCESS,
      ERROR_NO_DEVICE: u.LIBUSB_ERROR_NO_DEVICE,
      ERROR_NOT_FOUND: u.LIBUSB_ERROR_NOT_FOUND,
      ERROR_BUSY: u.LIBUSB_ERROR_BUSY,
      ERROR_TIMEOUT: u.LIBUSB_ERROR_TIMEOUT,
      ERROR_PIPE: u.LIBUSB_ERROR_PIPE,
    });
  });

  it('is the bus loadUsbBus gives, and lists no device here', () => {
    const bus = loadUsbBus();
    expect(bus).toBe(nodeUsb.usb);
    expect(bus.getDeviceList()).toEqual([]);
  });

  it('carries a driver that waits for its device and stops cleanly', async () => {
    const bus = loadUsbBus();
    const driver = new UsbTapDriver(bus, { rescanIntervalMs: 20 }, { record: () => undefined });
    driver.start();
    await new Promise((r) => setTimeout(r, 60));
    expect(driver.state).toBe('absent');
    expect(nodeUsb.usb.listenerCount('attach')).toBe(1);
    await driver.stop();
    expect(driver.state).toBe('stopped');
    expect(nodeUsb.usb.listenerCount('attach') + nodeUsb.usb.listenerCount('detach')).toBe(0);
  });
});
