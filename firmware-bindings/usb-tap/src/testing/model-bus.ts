// A USB bus with NetMirror taps on it, as node-usb's `usb` object presents
// one: getDeviceList, findByIds, and 'attach'/'detach' events. Plugging a
// model in powers it up; unplugging it loses whatever it held.
import { EventEmitter } from 'node:events';
import type { UsbBus } from '../usb-types.js';
import { ModelUsbDevice } from './model-device.js';
import type { UsbTapModel } from './tap-model.js';

export class ModelUsbBus extends EventEmitter implements UsbBus {
  private readonly devices: ModelUsbDevice[] = [];
  private nextAddress = 2;

  getDeviceList(): ModelUsbDevice[] {
    return [...this.devices];
  }

  findByIds(vid: number, pid: number): ModelUsbDevice | undefined {
    return this.devices.find(
      (d) => d.deviceDescriptor.idVendor === vid && d.deviceDescriptor.idProduct === pid,
    );
  }

  /** Plugs the device in (a power-on reset); 'attach' follows on the next turn. */
  plug(model: UsbTapModel): ModelUsbDevice {
    if (this.deviceOf(model)) throw new Error(`UsbTapModel ${model.serial} is already plugged in`);
    model.powerOn(this);
    const device = new ModelUsbDevice(model, this.nextAddress++);
    this.devices.push(device);
    setImmediate(() => this.emit('attach', device));
    return device;
  }

  /** Unplugs it: transfers in flight fail at once, 'detach' follows (as with libusb, after them). */
  unplug(model: UsbTapModel): void {
    const device = this.deviceOf(model);
    if (!device) return;
    this.devices.splice(this.devices.indexOf(device), 1);
    model.powerOff();
    device.unplugged();
    setImmediate(() => setImmediate(() => this.emit('detach', device)));
  }

  /** The Device object of the model's current attachment. */
  deviceOf(model: UsbTapModel): ModelUsbDevice | undefined {
    return this.devices.find((d) => d.model === model);
  }
}
