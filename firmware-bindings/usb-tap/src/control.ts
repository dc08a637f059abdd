// The vendor control requests (PROTOCOL.md, "Control requests"): their
// setup fields, and the encoding of each data stage in both directions
// (the host decodes what the device model encodes, and the other way round).
import { UsbTapError } from './errors.js';
import {
  CAPTURE_SETTINGS_LENGTH,
  COUNTERS_HEADER_LENGTH,
  COUNTERS_PER_PORT_LENGTH,
  COUNTERS_REQUEST_LENGTH,
  INFO_LENGTH,
  INFO_MAGIC,
  INFO_REQUEST_LENGTH,
  INTERFACE_NUMBER,
  MAX_PORTS,
  MIN_SNAPLEN,
  PROTOCOL_VERSION,
  REQUEST_IN,
  REQUEST_OUT,
  Request,
  SERIAL_LENGTH,
} from './protocol.js';

/** The arguments of one `controlTransfer` call. */
export interface ControlSetup {
  bmRequestType: number;
  bRequest: number;
  wValue: number;
  wIndex: number;
  /** IN: the length asked for; OUT: the data stage. */
  dataOrLength: number | Buffer;
}

export interface FirmwareVersion {
  major: number;
  minor: number;
  patch: number;
}

/** GET_INFO. */
export interface DeviceInfo {
  protocolVersion: number;
  ports: number;
  clockSynced: boolean;
  maxSnaplen: number;
  bufferBytes: number;
  firmware: FirmwareVersion;
  serial: string;
}

/** SET_CAPTURE. */
export interface CaptureSettings {
  enable: boolean;
  /** Frame bytes kept per record; 0 = the device's maximum. */
  snaplen: number;
  /** Bit p captures port p. */
  portMask: number;
}

export interface PortCounters {
  seen: number;
  sent: number;
  dropped: number;
}

/** GET_COUNTERS: effective settings and per-port counters since the capture session started. */
export interface DeviceCounters {
  enabled: boolean;
  snaplen: number;
  portMask: number;
  bufferedBytes: number;
  ports: PortCounters[];
}

export function getInfoRequest(): ControlSetup {
  return in_(Request.GET_INFO, INFO_REQUEST_LENGTH);
}

export function setCaptureRequest(settings: CaptureSettings): ControlSetup {
  return {
    bmRequestType: REQUEST_OUT,
    bRequest: Request.SET_CAPTURE,
    wValue: 0,
    wIndex: INTERFACE_NUMBER,
    dataOrLength: encodeCaptureSettings(settings),
  };
}

export function getCountersRequest(): ControlSetup {
  return in_(Request.GET_COUNTERS, COUNTERS_REQUEST_LENGTH);
}

function in_(bRequest: number, length: number): ControlSetup {
  return {
    bmRequestType: REQUEST_IN,
    bRequest,
    wValue: 0,
    wIndex: INTERFACE_NUMBER,
    dataOrLength: length,
  };
}

export function encodeInfo(info: DeviceInfo): Buffer {
  const b = Buffer.alloc(INFO_LENGTH);
  b.writeUInt32LE(INFO_MAGIC, 0);
  b.writeUInt16LE(info.protocolVersion, 4);
  b[6] = info.ports;
  b[7] = info.clockSynced ? 1 : 0;
  b.writeUInt16LE(info.maxSnaplen, 8);
  b.writeUInt32LE(info.bufferBytes, 12);
  b[16] = info.firmware.major;
  b[17] = info.firmware.minor;
  b.writeUInt16LE(info.firmware.patch, 18);
  b.write(info.serial.slice(0, SERIAL_LENGTH), 20, SERIAL_LENGTH, 'ascii');
  return b;
}

/** Decodes GET_INFO; throws `not-a-tap` for another magic or version, `protocol` when short. */
export function decodeInfo(data: Buffer): DeviceInfo {
  if (data.length >= 4 && data.readUInt32LE(0) !== INFO_MAGIC)
    throw new UsbTapError(
      'not-a-tap',
      `GET_INFO: magic ${data.subarray(0, 4).toString('hex')}, not NMUT`,
    );
  if (data.length < INFO_LENGTH)
    throw new UsbTapError('protocol', `GET_INFO: ${data.length} bytes, expected ${INFO_LENGTH}`);
  const protocolVersion = data.readUInt16LE(4);
  if (protocolVersion !== PROTOCOL_VERSION)
    throw new UsbTapError(
      'not-a-tap',
      `GET_INFO: protocol version ${protocolVersion}, this host speaks 1`,
    );
  const ports = data[6];
  if (ports < 1 || ports > MAX_PORTS)
    throw new UsbTapError('protocol', `GET_INFO: ${ports} ports (1..${MAX_PORTS})`);
  const serial = data.subarray(20, 20 + SERIAL_LENGTH);
  const nul = serial.indexOf(0);
  return {
    protocolVersion,
    ports,
    clockSynced: (data[7] & 1) !== 0,
    maxSnaplen: data.readUInt16LE(8),
    bufferBytes: data.readUInt32LE(12),
    firmware: { major: data[16], minor: data[17], patch: data.readUInt16LE(18) },
    serial: serial.subarray(0, nul < 0 ? SERIAL_LENGTH : nul).toString('ascii'),
  };
}

export function encodeCaptureSettings(s: CaptureSettings): Buffer {
  const b = Buffer.alloc(CAPTURE_SETTINGS_LENGTH);
  b[0] = s.enable ? 1 : 0;
  b.writeUInt16LE(s.snaplen, 2);
  b.writeUInt16LE(s.portMask, 4);
  return b;
}

/** The device's reading of SET_CAPTURE; null when it must STALL. */
export function decodeCaptureSettings(data: Buffer): CaptureSettings | null {
  if (data.length !== CAPTURE_SETTINGS_LENGTH || data[0] > 1) return null;
  const snaplen = data.readUInt16LE(2);
  if (snaplen !== 0 && snaplen < MIN_SNAPLEN) return null;
  return { enable: data[0] === 1, snaplen, portMask: data.readUInt16LE(4) };
}

export function encodeCounters(c: DeviceCounters): Buffer {
  const b = Buffer.alloc(COUNTERS_HEADER_LENGTH + COUNTERS_PER_PORT_LENGTH * c.ports.length);
  b[0] = c.ports.length;
  b[1] = c.enabled ? 1 : 0;
  b.writeUInt16LE(c.snaplen, 2);
  b.writeUInt16LE(c.portMask, 4);
  b.writeUInt32LE(c.bufferedBytes, 8);
  c.ports.forEach((p, i) => {
    const at = COUNTERS_HEADER_LENGTH + COUNTERS_PER_PORT_LENGTH * i;
    b.writeBigUInt64LE(BigInt(p.seen), at);
    b.writeBigUInt64LE(BigInt(p.sent), at + 8);
    b.writeBigUInt64LE(BigInt(p.dropped), at + 16);
  });
  return b;
}

/** Decodes GET_COUNTERS; throws `protocol` when the reply is shorter than its port count says. */
export function decodeCounters(data: Buffer): DeviceCounters {
  const n = data.length > 0 ? data[0] : 0;
  const need = COUNTERS_HEADER_LENGTH + COUNTERS_PER_PORT_LENGTH * n;
  if (data.length < COUNTERS_HEADER_LENGTH || n > MAX_PORTS || data.length < need)
    throw new UsbTapError('protocol', `GET_COUNTERS: ${data.length} bytes for ${n} ports`);
  const ports: PortCounters[] = [];
  for (let i = 0; i < n; i++) {
    const at = COUNTERS_HEADER_LENGTH + COUNTERS_PER_PORT_LENGTH * i;
    ports.push({
      seen: Number(data.readBigUInt64LE(at)),
      sent: Number(data.readBigUInt64LE(at + 8)),
      dropped: Number(data.readBigUInt64LE(at + 16)),
    });
  }
  return {
    enabled: data[1] === 1,
    snaplen: data.readUInt16LE(2),
    portMask: data.readUInt16LE(4),
    bufferedBytes: data.readUInt32LE(8),
    ports,
  };
}

/** "1.2.3". */
export function formatFirmware(f: FirmwareVersion): string {
  return `${f.major}.${f.minor}.${f.patch}`;
}
