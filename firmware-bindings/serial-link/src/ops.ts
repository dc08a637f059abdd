// Request and response bodies of each operation (PROTOCOL.md, Operations),
// both directions: the host encodes requests and decodes responses, the
// board (or its emulator) the other way round. Decoders return a string
// saying what is wrong instead of throwing: bodies come off a wire.
import { MAX_BODY, Op, PROTOCOL_VERSION, opName } from './frame.js';

/** The OK body of a HELLO response (after the status byte). */
export interface HelloInfo {
  protocolVersion: number;
  bootId: number;
  /** Largest decoded frame the board accepts and sends. */
  maxFrame: number;
  /** How many requests the board accepts outstanding. */
  window: number;
  boardId: number;
  regmapVersion: number;
}

export const HELLO_RESPONSE_LENGTH = 17;
export const MAX_READ_REGS = 240;
export const MAX_READ_COUNTERS = 120;
/** TABLE_WRITE's body before the data: u8 table, u32 offset. */
export const TABLE_WRITE_HEADER = 5;

export interface RegsRequest {
  address: number;
  count: number;
}
export interface WriteRegsRequest {
  address: number;
  values: Uint32Array;
}
export interface TableWriteRequest {
  table: number;
  offset: number;
  data: Buffer;
}
export interface TableReadRequest {
  table: number;
  offset: number;
  length: number;
}
export interface CountersRequest {
  block: number;
  first: number;
  count: number;
}

const hex32 = (v: number): string => `0x${v.toString(16).padStart(8, '0')}`;

export function encodeHelloRequest(version = PROTOCOL_VERSION): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(version, 0);
  return b;
}

export function encodeHelloResponse(info: HelloInfo): Buffer {
  const b = Buffer.alloc(HELLO_RESPONSE_LENGTH);
  b.writeUInt16LE(info.protocolVersion, 0);
  b.writeUInt32LE(info.bootId >>> 0, 2);
  b.writeUInt16LE(info.maxFrame, 6);
  b.writeUInt8(info.window, 8);
  b.writeUInt32LE(info.boardId >>> 0, 9);
  b.writeUInt32LE(info.regmapVersion >>> 0, 13);
  return b;
}

export function decodeHelloResponse(b: Buffer): HelloInfo | string {
  if (b.length < HELLO_RESPONSE_LENGTH) return `HELLO response of ${b.length} bytes`;
  return {
    protocolVersion: b.readUInt16LE(0),
    bootId: b.readUInt32LE(2),
    maxFrame: b.readUInt16LE(6),
    window: b.readUInt8(8),
    boardId: b.readUInt32LE(9),
    regmapVersion: b.readUInt32LE(13),
  };
}

export function encodeReadRegs(address: number, count: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt32LE(address, 0);
  b.writeUInt16LE(count, 4);
  return b;
}

export function decodeReadRegs(b: Buffer): RegsRequest | string {
  if (b.length !== 6) return `READ_REGS body of ${b.length} bytes, not 6`;
  return { address: b.readUInt32LE(0), count: b.readUInt16LE(4) };
}

export function encodeWriteRegs(address: number, values: ArrayLike<number>): Buffer {
  const b = Buffer.alloc(4 + 4 * values.length);
  b.writeUInt32LE(address, 0);
  for (let i = 0; i < values.length; i++) b.writeUInt32LE(values[i], 4 + 4 * i);
  return b;
}

export function decodeWriteRegs(b: Buffer): WriteRegsRequest | string {
  if (b.length < 8 || b.length % 4 !== 0) return `WRITE_REGS body of ${b.length} bytes`;
  const values = new Uint32Array((b.length - 4) / 4);
  for (let i = 0; i < values.length; i++) values[i] = b.readUInt32LE(4 + 4 * i);
  return { address: b.readUInt32LE(0), values };
}

export function encodeTableWrite(table: number, offset: number, data: Uint8Array): Buffer {
  const b = Buffer.alloc(TABLE_WRITE_HEADER + data.length);
  b.writeUInt8(table, 0);
  b.writeUInt32LE(offset, 1);
  b.set(data, TABLE_WRITE_HEADER);
  return b;
}

export function decodeTableWrite(b: Buffer): TableWriteRequest | string {
  if (b.length < TABLE_WRITE_HEADER) return `TABLE_WRITE body of ${b.length} bytes`;
  return { table: b[0], offset: b.readUInt32LE(1), data: b.subarray(TABLE_WRITE_HEADER) };
}

/** TABLE_WRITE's OK body: where and how much was written. */
export function encodeTableWritten(offset: number, length: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt32LE(offset, 0);
  b.writeUInt16LE(length, 4);
  return b;
}

export function decodeTableWritten(b: Buffer): { offset: number; length: number } | string {
  if (b.length !== 6) return `TABLE_WRITE response of ${b.length} bytes, not 6`;
  return { offset: b.readUInt32LE(0), length: b.readUInt16LE(4) };
}

export function encodeTableRead(table: number, offset: number, length: number): Buffer {
  const b = Buffer.alloc(7);
  b.writeUInt8(table, 0);
  b.writeUInt32LE(offset, 1);
  b.writeUInt16LE(length, 5);
  return b;
}

export function decodeTableRead(b: Buffer): TableReadRequest | string {
  if (b.length !== 7) return `TABLE_READ body of ${b.length} bytes, not 7`;
  return { table: b[0], offset: b.readUInt32LE(1), length: b.readUInt16LE(5) };
}

export function encodeReadCounters(block: number, first: number, count: number): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt8(block, 0);
  b.writeUInt16LE(first, 1);
  b.writeUInt16LE(count, 3);
  return b;
}

export function decodeReadCounters(b: Buffer): CountersRequest | string {
  if (b.length !== 5) return `READ_COUNTERS body of ${b.length} bytes, not 5`;
  return { block: b[0], first: b.readUInt16LE(1), count: b.readUInt16LE(3) };
}

export function encodeU32s(values: ArrayLike<number>): Buffer {
  const b = Buffer.alloc(4 * values.length);
  for (let i = 0; i < values.length; i++) b.writeUInt32LE(values[i] >>> 0, 4 * i);
  return b;
}

export function encodeU64s(values: ArrayLike<bigint>): Buffer {
  const b = Buffer.alloc(8 * values.length);
  for (let i = 0; i < values.length; i++) b.writeBigUInt64LE(BigInt.asUintN(64, values[i]), 8 * i);
  return b;
}

/** A request in words for error messages: "TABLE_WRITE table 1 offset 4096". */
export function describeRequest(op: number, body: Buffer): string {
  const name = opName(op);
  const detail = requestDetail(op, body);
  return detail ? `${name} ${detail}` : name;
}

function requestDetail(op: number, body: Buffer): string {
  switch (op) {
    case Op.READ_REGS: {
      const r = decodeReadRegs(body);
      return typeof r === 'string' ? '' : `${hex32(r.address)} count ${r.count}`;
    }
    case Op.WRITE_REGS: {
      const r = decodeWriteRegs(body);
      return typeof r === 'string' ? '' : `${hex32(r.address)} count ${r.values.length}`;
    }
    case Op.TABLE_WRITE: {
      const r = decodeTableWrite(body);
      return typeof r === 'string' ? '' : `table ${r.table} offset ${r.offset}`;
    }
    case Op.TABLE_READ: {
      const r = decodeTableRead(body);
      return typeof r === 'string' ? '' : `table ${r.table} offset ${r.offset} length ${r.length}`;
    }
    case Op.READ_COUNTERS: {
      const r = decodeReadCounters(body);
      return typeof r === 'string' ? '' : `block ${r.block} first ${r.first} count ${r.count}`;
    }
    case Op.PING:
      return `(${body.length} bytes)`;
    default:
      return '';
  }
}

/**
 * The length of the OK response body (status byte included) a request
 * expects, for the time its reply takes on the wire. Unknown ops are
 * assumed to fill a frame.
 */
export function expectedResponseLength(op: number, body: Buffer): number {
  switch (op) {
    case Op.HELLO:
      return 1 + HELLO_RESPONSE_LENGTH;
    case Op.READ_REGS:
      return body.length >= 6 ? 1 + 4 * body.readUInt16LE(4) : 1;
    case Op.WRITE_REGS:
      return 1;
    case Op.TABLE_WRITE:
      return 7;
    case Op.TABLE_READ:
      return body.length >= 7 ? 1 + body.readUInt16LE(5) : 1;
    case Op.READ_COUNTERS:
      return body.length >= 5 ? 1 + 8 * body.readUInt16LE(3) : 1;
    case Op.PING:
      return 1 + body.length;
    default:
      return MAX_BODY;
  }
}
