// @netmirror/usb-tap: the host side of the NetMirror USB tap (PROTOCOL.md):
// the stream parser, the control requests, and the driver that follows the
// device on a node-usb bus (or anything with the same surface).
export {
  DEFAULT_VENDOR_ID,
  DEFAULT_PRODUCT_ID,
  PROTOCOL_VERSION,
  INTERFACE_NUMBER,
  INTERFACE_CLASS,
  INTERFACE_SUBCLASS,
  INTERFACE_PROTOCOL,
  STREAM_ENDPOINT,
  REQUEST_IN,
  REQUEST_OUT,
  Request,
  INFO_MAGIC,
  INFO_LENGTH,
  MAX_PORTS,
  MIN_SNAPLEN,
  MAX_CAPLEN,
  HEADER_LENGTH,
  MAX_RECORD_LENGTH,
  RecordFlag,
  Field,
  recordLength,
} from './protocol.js';
export { crc16 } from './crc16.js';
export { writeRecordHeader, encodeRecord, judgeHeader, Verdict } from './record.js';
export type { RecordHeader } from './record.js';
export { RecordParser } from './parser.js';
export { RecordRing } from './record-ring.js';
export type { RecordView, ParserStats, ParserOptions } from './parser.js';
export {
  getInfoRequest,
  setCaptureRequest,
  getCountersRequest,
  encodeInfo,
  decodeInfo,
  encodeCaptureSettings,
  decodeCaptureSettings,
  encodeCounters,
  decodeCounters,
  formatFirmware,
} from './control.js';
export type {
  ControlSetup,
  DeviceInfo,
  FirmwareVersion,
  CaptureSettings,
  DeviceCounters,
  PortCounters,
} from './control.js';
export { UsbTapError } from './errors.js';
export type { UsbTapErrorCode } from './errors.js';
export { LossAccount } from './loss.js';
export type { PortLoss } from './loss.js';
export { UsbTapDevice, isGone } from './device.js';
export type { StreamHandlers } from './device.js';
export { UsbTapDriver } from './driver.js';
export type {
  UsbTapDriverOptions,
  UsbTapDriverStats,
  UsbTapEvent,
  UsbTapListener,
  UsbTapState,
} from './driver.js';
export { LibUsb, isInEndpoint } from './usb-types.js';
export type {
  UsbBus,
  UsbDevice,
  UsbInterface,
  UsbEndpoint,
  UsbInEndpoint,
  UsbDeviceDescriptor,
  UsbHotplugEvent,
  ControlTransferCallback,
  LibUSBException,
} from './usb-types.js';
export { loadUsbBus } from './real-usb.js';
export type { RealUsbSatisfiesSubset } from './real-usb.js';
