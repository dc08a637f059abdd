// The bulk IN endpoint 0x81 as node-usb's InEndpoint presents it: polling
// with n transfers of a fixed size in flight, 'data' per completed
// transfer, 'error' then (node-usb stops polling itself) 'end'.
import { EventEmitter } from 'node:events';
import { STREAM_ENDPOINT } from '../protocol.js';
import { LibUsb } from '../usb-types.js';
import type { UsbInEndpoint } from '../usb-types.js';
import type { UsbTapModel } from './tap-model.js';
import { ModelUsbException } from './usb-exception.js';

/** What `startPoll` returns: node-usb gives its Transfer objects. */
export interface ModelTransfer {
  cancel(): boolean;
}

/**
 * Transfers complete asynchronously (setImmediate, like libusb's
 * completions reaching the event loop), each with what the device has up
 * to the transfer size: a short transfer when its buffer runs empty. A
 * transfer is resubmitted when its completion has been handled, so a
 * blocked event loop is a host that does not read. (A real host's libusb
 * thread keeps the transfers already submitted filling meanwhile: the
 * model's device buffer stands in for that too.)
 */
export class ModelInEndpoint extends EventEmitter implements UsbInEndpoint {
  readonly direction = 'in' as const;
  readonly address = STREAM_ENDPOINT;
  readonly transferType = LibUsb.TRANSFER_TYPE_BULK;
  readonly descriptor = {
    bLength: 7,
    bDescriptorType: 5,
    bEndpointAddress: STREAM_ENDPOINT,
    bmAttributes: LibUsb.TRANSFER_TYPE_BULK,
    wMaxPacketSize: 512,
    bInterval: 0,
  };
  timeout = 0;
  pollActive = false;
  /** Transfers waiting for data, completed but not yet handled, and being cancelled. */
  private submitted = 0;
  private delivering = 0;
  private cancelling = 0;
  private ending = false;
  private size = 0;
  private pumpDue = false;
  /** Completed transfers (for tests). */
  transfers = 0;

  constructor(
    private readonly model: UsbTapModel,
    private readonly usable: () => boolean,
  ) {
    super();
  }

  startPoll(
    nTransfers = 3,
    transferSize: number = this.descriptor.wMaxPacketSize,
  ): ModelTransfer[] {
    if (this.pollActive) throw new Error('Polling already active');
    this.pollActive = true;
    if (!this.usable()) {
      // node-usb: the first submit throws; it emits 'error' at once and stops, and never emits 'end'.
      this.emit('error', new ModelUsbException(LibUsb.ERROR_NO_DEVICE));
      this.pollActive = false;
      return [];
    }
    this.size = transferSize;
    this.submitted = nTransfers;
    this.ending = true;
    this.model.onStreamData = () => this.schedulePump();
    this.schedulePump();
    return Array.from({ length: nTransfers }, () => ({ cancel: () => this.pollActive }));
  }

  stopPoll(callback?: () => void): void {
    if (!this.pollActive) throw new Error('Polling is not active.');
    this.pollActive = false;
    if (callback) this.once('end', callback);
    this.cancelAll();
  }

  /** The device went away: the transfers in flight fail with LIBUSB_TRANSFER_NO_DEVICE. */
  deviceGone(): void {
    setImmediate(() => {
      if (this.pollActive) this.fail(LibUsb.TRANSFER_NO_DEVICE);
      else this.cancelAll();
    });
  }

  private schedulePump(): void {
    if (this.pumpDue) return;
    this.pumpDue = true;
    setImmediate(() => {
      this.pumpDue = false;
      this.pump();
    });
  }

  /** Fills waiting transfers from the device's buffer. */
  private pump(): void {
    while (this.pollActive && this.submitted > 0 && this.usable()) {
      if (this.model.halted) {
        this.completeWithError(LibUsb.TRANSFER_STALL); // a STALL handshake: no data moves
        return;
      }
      if (this.model.takeFailure()) {
        this.model.takeStream(this.size); // what it carried is lost
        this.completeWithError(LibUsb.TRANSFER_ERROR);
        continue;
      }
      const chunk = this.model.takeStream(this.size);
      if (chunk === null) return;
      this.submitted--;
      this.delivering++;
      setImmediate(() => this.complete(chunk));
    }
  }

  /** Clears a halt: node-usb's Endpoint.clearHalt (CLEAR_FEATURE ENDPOINT_HALT). */
  clearHalt(callback: (error: ModelUsbException | undefined) => void): void {
    setImmediate(() => {
      if (!this.usable()) return callback(new ModelUsbException(LibUsb.TRANSFER_NO_DEVICE));
      this.model.halted = false;
      callback(undefined);
    });
  }

  private completeWithError(errno: number): void {
    this.submitted--;
    this.delivering++;
    setImmediate(() => {
      this.delivering--;
      if (this.pollActive) this.fail(errno);
      else this.maybeEnd();
    });
  }

  private complete(chunk: Buffer): void {
    this.delivering--;
    this.transfers++;
    this.emit('data', chunk);
    if (this.pollActive) {
      this.submitted++; // resubmitted, as node-usb does after 'data'
      this.schedulePump();
    } else {
      this.maybeEnd();
    }
  }

  /** A failed transfer: node-usb emits 'error' and stops polling. */
  private fail(errno: number): void {
    this.emit('error', new ModelUsbException(errno));
    if (this.pollActive) this.stopPoll();
  }

  private cancelAll(): void {
    this.cancelling += this.submitted;
    this.submitted = 0;
    setImmediate(() => {
      this.cancelling = 0;
      this.maybeEnd();
    });
  }

  private maybeEnd(): void {
    if (this.pollActive || !this.ending) return;
    if (this.submitted + this.delivering + this.cancelling > 0) return;
    this.ending = false;
    this.model.onStreamData = null;
    this.emit('end');
  }
}
