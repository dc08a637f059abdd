// @netmirror/serial-link: the serial link protocol (PROTOCOL.md), both
// halves, and the byte transports it runs over.
export {
  cobsEncode,
  cobsDecode,
  cobsEncodeInto,
  cobsDecodeInto,
  cobsMaxEncodedLength,
} from './cobs.js';
export { crc32 } from './crc32.js';
export {
  PROTOCOL_VERSION,
  MAX_FRAME,
  MIN_FRAME,
  MAX_BODY,
  FRAME_OVERHEAD,
  Kind,
  Op,
  EventOp,
  Status,
  ResetReason,
  kindName,
  opName,
  statusName,
  resetReasonName,
  encodeFrame,
  parseFrame,
  wireLength,
  FrameDecoder,
} from './frame.js';
export type { Frame, FrameDecoderStats, FrameDecoderOptions } from './frame.js';
export {
  MAX_READ_REGS,
  MAX_READ_COUNTERS,
  TABLE_WRITE_HEADER,
  encodeHelloRequest,
  encodeHelloResponse,
  decodeHelloResponse,
  encodeReadRegs,
  decodeReadRegs,
  encodeWriteRegs,
  decodeWriteRegs,
  encodeTableWrite,
  decodeTableWrite,
  encodeTableWritten,
  decodeTableWritten,
  encodeTableRead,
  decodeTableRead,
  encodeReadCounters,
  decodeReadCounters,
  encodeU32s,
  encodeU64s,
  describeRequest,
} from './ops.js';
export type {
  HelloInfo,
  RegsRequest,
  WriteRegsRequest,
  TableWriteRequest,
  TableReadRequest,
  CountersRequest,
} from './ops.js';
export {
  parseEvent,
  encodeResetEvent,
  encodeLinkEvent,
  encodeOverflowEvent,
  encodeFirmwareEvent,
} from './events.js';
export type { BoardEvent } from './events.js';
export type { ByteTransport } from './transport.js';
export { openSerialTransport } from './serial-transport.js';
export { FaultyTransport } from './faulty-transport.js';
export type { FaultOptions, FaultStats } from './faulty-transport.js';
export { PacedTransport, BITS_PER_BYTE } from './paced-transport.js';
export type { PacedOptions } from './paced-transport.js';
export { LinkError } from './errors.js';
export type { LinkErrorCode } from './errors.js';
export { SerialLink } from './link.js';
export type { SerialLinkOptions, SerialLinkStats } from './link.js';
export { SerialLinkServer } from './server.js';
export type {
  Response,
  RequestHandler,
  SerialLinkServerOptions,
  SerialLinkServerStats,
} from './server.js';
