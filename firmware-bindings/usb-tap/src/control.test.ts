// GET_INFO, SET_CAPTURE and GET_COUNTERS through controlTransfer, as the
// driver's UsbTapDevice sends them, against the device model.
import { describe, expect, it } from 'vitest';
import {
  decodeCaptureSettings,
  decodeCounters,
  decodeInfo,
  encodeCaptureSettings,
  encodeCounters,
  encodeInfo,
  getCountersRequest,
  getInfoRequest,
  setCaptureRequest,
} from './control.js';
import { UsbTapDevice } from './device.js';
import { UsbTapError } from './errors.js';
import { LibUsb } from './usb-types.js';
import { ModelUsbBus, UsbTapModel } from './testing/index.js';

describe('control request encoders', () => {
  it('address vendor requests to interface 0', () => {
    expect(getInfoRequest()).toEqual({
      bmRequestType: 0xc1,
      bRequest: 0x01,
      wValue: 0,
      wIndex: 0,
      dataOrLength: 64,
    });
    expect(getCountersRequest()).toMatchObject({
      bmRequestType: 0xc1,
      bRequest: 0x03,
      dataOrLength: 400,
    });
    const set = setCaptureRequest({ enable: true, snaplen: 128, portMask: 0b0101 });
    expect(set).toMatchObject({ bmRequestType: 0x41, bRequest: 0x02, wValue: 0, wIndex: 0 });
    expect((set.dataOrLength as Buffer).toString('hex')).toBe('0100800005000000');
  });

  it('round-trip each data stage', () => {
    const info = {
      protocolVersion: 1,
      ports: 4,
      clockSynced: true,
      maxSnaplen: 9216,
      bufferBytes: 64 << 20,
      firmware: { major: 1, minor: 4, patch: 300 },
      serial: 'NM-UT4-000123',
    };
    expect(encodeInfo(info).length).toBe(52);
    expect(encodeInfo(info).subarray(0, 4).toString()).toBe('NMUT');
    expect(decodeInfo(encodeInfo(info))).toEqual(info);
    const settings = { enable: true, snaplen: 0, portMask: 0xffff };
    expect(decodeCaptureSettings(encodeCaptureSettings(settings))).toEqual(settings);
    expect(decodeCaptureSettings(Buffer.from('0200000000000000', 'hex'))).toBeNull(); // enable 2
    expect(decodeCaptureSettings(Buffer.from('0100200000000000', 'hex'))).toBeNull(); // snaplen 32
    expect(decodeCaptureSettings(Buffer.alloc(7))).toBeNull();
    const counters = {
      enabled: true,
      snaplen: 1514,
      portMask: 3,
      bufferedBytes: 4096,
      ports: [
        { seen: 2 ** 40, sent: 2 ** 40 - 5, dropped: 3 },
        { seen: 0, sent: 0, dropped: 0 },
      ],
    };
    expect(encodeCounters(counters).length).toBe(16 + 48);
    expect(decodeCounters(encodeCounters(counters))).toEqual(counters);
  });

  it('refuse a device that is something else, or a reply too short', () => {
    const info = encodeInfo({
      protocolVersion: 1,
      ports: 1,
      clockSynced: false,
      maxSnaplen: 64,
      bufferBytes: 0,
      firmware: { major: 0, minor: 0, patch: 0 },
      serial: 'x',
    });
    const other = Buffer.from(info);
    other.write('ABCD', 0);
    expect(() => decodeInfo(other)).toThrow(/not NMUT/);
    const v2 = Buffer.from(info);
    v2.writeUInt16LE(2, 4);
    expect(() => decodeInfo(v2)).toThrow(expect.objectContaining({ code: 'not-a-tap' }));
    expect(() => decodeInfo(info.subarray(0, 30))).toThrow(
      expect.objectContaining({ code: 'protocol' }),
    );
    expect(() => decodeCounters(Buffer.from([4, 1, 0, 0]))).toThrow(/GET_COUNTERS/);
  });
});

describe('control requests through the model', () => {
  async function opened(model = new UsbTapModel({ serial: 'NM-UT4-0042', ports: 4 })): Promise<{
    bus: ModelUsbBus;
    model: UsbTapModel;
    dev: UsbTapDevice;
  }> {
    const bus = new ModelUsbBus();
    const dev = await UsbTapDevice.open(bus.plug(model));
    return { bus, model, dev };
  }

  it('GET_INFO says what the device is', async () => {
    const { model, dev } = await opened();
    try {
      expect(dev.info).toEqual(model.info());
      expect(dev.info).toMatchObject({ serial: 'NM-UT4-0042', ports: 4, protocolVersion: 1 });
      expect(await dev.getInfo()).toEqual(dev.info);
    } finally {
      await dev.close();
    }
  });

  it('SET_CAPTURE takes effect, as GET_COUNTERS reads back', async () => {
    const { model, dev } = await opened();
    try {
      expect(await dev.getCounters()).toMatchObject({
        enabled: false,
        snaplen: 16384,
        portMask: 0,
      });
      await dev.setCapture({ enable: true, snaplen: 128, portMask: 0b1111_0101 });
      // mask bits beyond the 4 ports are ignored
      expect(await dev.getCounters()).toMatchObject({
        enabled: true,
        snaplen: 128,
        portMask: 0b0101,
      });
      expect(model.receive(0, Buffer.alloc(200), 1, 2)).toBe('captured');
      expect(model.receive(1, Buffer.alloc(200), 1, 2)).toBe('ignored'); // masked
      const c = await dev.getCounters();
      expect(c.ports).toHaveLength(4);
      expect(c.ports[0]).toEqual({ seen: 1, sent: 0, dropped: 0 });
      expect(c.bufferedBytes).toBe(28 + 128);
      await dev.setCapture({ enable: true, snaplen: 0, portMask: 1 }); // 0: the maximum
      expect((await dev.getCounters()).snaplen).toBe(16384);
      await dev.setCapture({ enable: true, snaplen: 60000, portMask: 1 }); // lowered to the maximum
      expect((await dev.getCounters()).snaplen).toBe(16384);
      await dev.setCapture({ enable: false, snaplen: 0, portMask: 0 });
      expect(await dev.getCounters()).toMatchObject({ enabled: false, bufferedBytes: 0 });
    } finally {
      await dev.close();
    }
  });

  it('an invalid request is STALLed (LIBUSB_TRANSFER_STALL)', async () => {
    const { dev } = await opened();
    try {
      const err = await dev
        .setCapture({ enable: true, snaplen: 32, portMask: 1 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsbTapError);
      expect(err).toMatchObject({ code: 'usb', errno: LibUsb.TRANSFER_STALL });
      expect((err as Error).message).toMatch(/^SET_CAPTURE: LIBUSB_TRANSFER_STALL/);
    } finally {
      await dev.close();
    }
  });

  it('controlTransfer keeps node-usb conventions', async () => {
    const { bus, model, dev } = await opened();
    const usb = bus.deviceOf(model)!;
    try {
      expect(() => usb.controlTransfer(0x41, 2, 0, 0, 8)).toThrow(
        /Expected buffer for OUT transfer/,
      );
      const out = await new Promise<unknown>((resolve) =>
        usb.controlTransfer(0x41, 2, 0, 0, Buffer.alloc(8), (error, data) =>
          resolve([error, data]),
        ),
      );
      expect(out).toEqual([undefined, 8]); // OUT: the bytes sent
      const unknown = await new Promise<unknown>((resolve) =>
        usb.controlTransfer(0xc1, 0x7f, 0, 0, 16, (error) => resolve(error?.errno)),
      );
      expect(unknown).toBe(LibUsb.TRANSFER_STALL);
      const serial = await new Promise<string | undefined>((resolve) =>
        usb.getStringDescriptor(usb.deviceDescriptor.iSerialNumber, (_e, s) => resolve(s)),
      );
      expect(serial).toBe('NM-UT4-0042');
    } finally {
      await dev.close();
    }
    expect(usb.interfaces).toBeUndefined(); // closed
  });

  it('polling an unplugged device fails at once (node-usb reports it during startPoll)', async () => {
    const { bus, model, dev } = await opened();
    bus.unplug(model);
    const handlers = { data: () => undefined, error: () => undefined, end: () => undefined };
    expect(() => dev.startStream(handlers, 2, 1024)).toThrow(
      expect.objectContaining({ code: 'gone', errno: LibUsb.ERROR_NO_DEVICE }),
    );
    expect(dev.streaming).toBe(false);
    await dev.close();
  });

  it('a device on the shared test PID that is not a tap is refused', async () => {
    const bus = new ModelUsbBus();
    const usb = bus.plug(new UsbTapModel({ impostor: true }));
    await expect(UsbTapDevice.open(usb)).rejects.toMatchObject({
      code: 'not-a-tap',
      errno: LibUsb.TRANSFER_STALL,
    });
    expect(usb.interfaces).toBeUndefined(); // left closed
  });
});
