// Constants of the USB tap protocol (PROTOCOL.md): identity, control
// requests, and the layout of a stream record.

/** pid.codes, the open-hardware vendor id. */
export const DEFAULT_VENDOR_ID = 0x1209;
/** pid.codes Test PID: for development only, shared with other prototypes (so GET_INFO confirms). */
export const DEFAULT_PRODUCT_ID = 0x0001;
export const PROTOCOL_VERSION = 1;
/** The interface the tap function lives on. */
export const INTERFACE_NUMBER = 0;
export const INTERFACE_CLASS = 0xff;
export const INTERFACE_SUBCLASS = 0x4e;
export const INTERFACE_PROTOCOL = 0x01;
/** The bulk IN endpoint that carries the stream. */
export const STREAM_ENDPOINT = 0x81;

/** bmRequestType: vendor request to the interface, device to host. */
export const REQUEST_IN = 0xc1;
/** bmRequestType: vendor request to the interface, host to device. */
export const REQUEST_OUT = 0x41;

export const Request = {
  GET_INFO: 0x01,
  SET_CAPTURE: 0x02,
  GET_COUNTERS: 0x03,
} as const;

/** "NMUT" read as a little-endian u32. */
export const INFO_MAGIC = 0x54554d4e;
export const INFO_LENGTH = 52;
/** What the host asks for (room for fields a later version appends). */
export const INFO_REQUEST_LENGTH = 64;
export const SERIAL_LENGTH = 32;
export const CAPTURE_SETTINGS_LENGTH = 8;
export const COUNTERS_HEADER_LENGTH = 16;
export const COUNTERS_PER_PORT_LENGTH = 24;
export const MAX_PORTS = 16;
export const COUNTERS_REQUEST_LENGTH =
  COUNTERS_HEADER_LENGTH + COUNTERS_PER_PORT_LENGTH * MAX_PORTS;
/** Smallest snaplen SET_CAPTURE takes (0 means the device's maximum). */
export const MIN_SNAPLEN = 64;
/** Largest captured length the 16-bit field can say. */
export const MAX_CAPLEN = 0xffff;

export const SYNC0 = 0xd5;
export const SYNC1 = 0x9a;
export const RECORD_VERSION = 1;
export const HEADER_LENGTH = 28;
/** Bytes covered by the header check (everything before it). */
export const HEADER_CHECKED = 26;
export const MAX_RECORD_LENGTH = HEADER_LENGTH + MAX_CAPLEN + 1;

/** Offsets of the header fields. */
export const Field = {
  VERSION: 2,
  FLAGS: 3,
  CAPLEN: 4,
  ORIGLEN: 6,
  SEQ: 8,
  SEC: 12,
  NSEC: 16,
  DROPS: 20,
  PORT: 24,
  RESERVED: 25,
  CHECK: 26,
} as const;

export const RecordFlag = {
  /** The port's first record of the capture session (sequence 0). */
  FIRST: 1 << 0,
  /** The frame's FCS was wrong on the wire. */
  FCS_ERROR: 1 << 1,
  /** The timestamp comes from a disciplined (UTC) clock. */
  CLOCK_SYNCED: 1 << 2,
} as const;

/** Bytes a record takes in the stream: header, frame, padding to a multiple of 4. */
export function recordLength(caplen: number): number {
  return HEADER_LENGTH + ((caplen + 3) & ~3);
}
