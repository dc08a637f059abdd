/** Why a device was not usable, or a request failed. */
export type UsbTapErrorCode =
  /** GET_INFO said this is not a NetMirror tap (or a version we do not speak). */
  | 'not-a-tap'
  /** A reply too short or otherwise malformed. */
  | 'protocol'
  /** The device went away. */
  | 'gone'
  /** libusb said no (access, busy, stall, timeout, …); `errno` has its code. */
  | 'usb';

export class UsbTapError extends Error {
  constructor(
    readonly code: UsbTapErrorCode,
    message: string,
    /** The libusb error or transfer status, when libusb gave one. */
    readonly errno?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'UsbTapError';
  }
}
