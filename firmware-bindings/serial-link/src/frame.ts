// Frames of the serial link protocol (PROTOCOL.md): the constants, one
// frame's encoding and checks, and the streaming decoder that cuts a byte
// stream into frames at 0x00 delimiters.
import { COBS_TOO_LONG, cobsDecodeInto, cobsEncodeInto, cobsMaxEncodedLength } from './cobs.js';
import { crc32 } from './crc32.js';

export const PROTOCOL_VERSION = 1;
/** Largest decoded frame the protocol allows (a board may state less in HELLO). */
export const MAX_FRAME = 1024;
/** kind + seq + op before the body, CRC-32 after it. */
export const FRAME_HEADER = 4;
export const FRAME_OVERHEAD = 8;
/** A decoded frame shorter than this (header + CRC) is discarded. */
export const MIN_FRAME = FRAME_OVERHEAD;
export const MAX_BODY = MAX_FRAME - FRAME_OVERHEAD;

export const Kind = { REQUEST: 1, RESPONSE: 2, EVENT: 3 } as const;
export const Op = {
  HELLO: 0x01,
  READ_REGS: 0x02,
  WRITE_REGS: 0x03,
  TABLE_WRITE: 0x04,
  TABLE_READ: 0x05,
  READ_COUNTERS: 0x06,
  PING: 0x07,
} as const;
export const EventOp = { RESET: 0x81, LINK: 0x82, OVERFLOW: 0x83, FIRMWARE: 0x84 } as const;
export const Status = {
  OK: 0,
  BAD_REQUEST: 1,
  BAD_ADDRESS: 2,
  READ_ONLY: 3,
  BAD_TABLE: 4,
  BUSY: 5,
  UNKNOWN_OP: 6,
  FAILED: 7,
} as const;
export const ResetReason = {
  POWER_ON: 0,
  WATCHDOG: 1,
  COMMANDED: 2,
  FIRMWARE_ACTIVATION: 3,
  ROLLBACK: 4,
} as const;

function nameIn(table: Record<string, number>, value: number): string {
  for (const [name, v] of Object.entries(table)) if (v === value) return name;
  return `0x${value.toString(16).padStart(2, '0')}`;
}

export const kindName = (kind: number): string => nameIn(Kind, kind);
export const opName = (op: number): string => nameIn({ ...Op, ...EventOp }, op);
export const statusName = (status: number): string => nameIn(Status, status);
export const resetReasonName = (reason: number): string => nameIn(ResetReason, reason);

/** One decoded, CRC-checked frame. `body` is the frame's own copy. */
export interface Frame {
  kind: number;
  seq: number;
  op: number;
  body: Buffer;
}

/** Bytes a frame with a body of `bodyLength` takes on the wire at most (with its delimiter). */
export function wireLength(bodyLength: number): number {
  return cobsMaxEncodedLength(bodyLength + FRAME_OVERHEAD) + 1;
}

/**
 * The wire bytes of one frame: COBS of (kind, seq, op, body, CRC-32) and
 * the 0x00 delimiter. Throws RangeError on a field out of range or a body
 * over MAX_BODY (a caller's bug, not a wire condition).
 */
export function encodeFrame(kind: number, seq: number, op: number, body: Uint8Array): Buffer {
  if (!isByte(kind) || !isByte(op) || !Number.isInteger(seq) || seq < 0 || seq > 0xffff) {
    throw new RangeError(`frame header out of range: kind ${kind} seq ${seq} op ${op}`);
  }
  if (body.length > MAX_BODY) {
    throw new RangeError(`frame body of ${body.length} bytes exceeds ${MAX_BODY}`);
  }
  const n = body.length + FRAME_OVERHEAD;
  const plain = Buffer.allocUnsafe(n);
  plain[0] = kind;
  plain.writeUInt16LE(seq, 1);
  plain[3] = op;
  plain.set(body, FRAME_HEADER);
  plain.writeUInt32LE(crc32(plain.subarray(0, n - 4)), n - 4);
  const out = Buffer.allocUnsafe(cobsMaxEncodedLength(n) + 1);
  const len = cobsEncodeInto(plain, out);
  out[len] = 0;
  return out.subarray(0, len + 1);
}

function isByte(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xff;
}

/** Why a decoded frame is rejected, or 'ok'. */
type Verdict = 'ok' | 'short' | 'oversize' | 'crc' | 'kind';

function checkFrame(buf: Uint8Array, length: number, maxFrame: number): Verdict {
  if (length < MIN_FRAME) return 'short';
  if (length > maxFrame) return 'oversize';
  const view = Buffer.from(buf.buffer, buf.byteOffset, length);
  if (crc32(view.subarray(0, length - 4)) !== view.readUInt32LE(length - 4)) return 'crc';
  if (buf[0] < Kind.REQUEST || buf[0] > Kind.EVENT) return 'kind';
  return 'ok';
}

function frameOf(buf: Uint8Array, length: number): Frame {
  const body = Buffer.allocUnsafe(length - FRAME_OVERHEAD);
  body.set(buf.subarray(FRAME_HEADER, length - 4));
  return { kind: buf[0], seq: buf[1] | (buf[2] << 8), op: buf[3], body };
}

/**
 * Checks one decoded frame (COBS already undone, no delimiter): its
 * length, CRC and kind. Returns the frame, or a string saying why not.
 */
export function parseFrame(decoded: Uint8Array, maxFrame = MAX_FRAME): Frame | string {
  const verdict = checkFrame(decoded, decoded.length, maxFrame);
  switch (verdict) {
    case 'ok':
      return frameOf(decoded, decoded.length);
    case 'short':
      return `frame of ${decoded.length} bytes is shorter than ${MIN_FRAME}`;
    case 'oversize':
      return `frame of ${decoded.length} bytes exceeds ${maxFrame}`;
    case 'crc':
      return 'CRC mismatch';
    case 'kind':
      return `unknown kind ${decoded[0]}`;
  }
}

export interface FrameDecoderStats {
  /** Good frames delivered. */
  frames: number;
  crcErrors: number;
  /** Not COBS, shorter than MIN_FRAME, or of an unknown kind. */
  malformed: number;
  /** Longer than maxFrame, decoded or still encoded. */
  oversize: number;
  /** Bytes (delimiters excluded) of everything rejected. */
  bytesDiscarded: number;
}

export interface FrameDecoderOptions {
  /** Largest decoded frame accepted (default and upper bound MAX_FRAME). */
  maxFrame?: number;
}

/**
 * Cuts a byte stream into frames. Takes chunks of any size, holds at most
 * one encoded frame's worth of bytes (a longer run without 0x00 is dropped
 * up to the next 0x00), and never throws on what comes off the wire. Its
 * two buffers are allocated once; each good frame gets its own body.
 */
export class FrameDecoder {
  readonly stats: FrameDecoderStats = {
    frames: 0,
    crcErrors: 0,
    malformed: 0,
    oversize: 0,
    bytesDiscarded: 0,
  };
  private readonly maxFrame: number;
  private readonly encoded: Buffer;
  private readonly decoded: Buffer;
  private held = 0;
  /** True while dropping an over-long run up to its delimiter. */
  private discarding = false;

  constructor(
    private readonly onFrame: (frame: Frame) => void,
    options: FrameDecoderOptions = {},
  ) {
    this.maxFrame = Math.min(MAX_FRAME, Math.max(MIN_FRAME, options.maxFrame ?? MAX_FRAME));
    this.encoded = Buffer.alloc(cobsMaxEncodedLength(this.maxFrame));
    this.decoded = Buffer.alloc(this.maxFrame);
  }

  /**
   * Feeds bytes. Frames completed by them are delivered before it returns;
   * if `onFrame` throws, the rest of the chunk is still decoded and the
   * first error is rethrown at the end.
   */
  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let failure: { error: unknown } | undefined;
    let pos = 0;
    while (pos < buf.length) {
      const zero = buf.indexOf(0, pos);
      const end = zero < 0 ? buf.length : zero;
      this.take(buf, pos, end);
      pos = end;
      if (zero < 0) break;
      pos++;
      try {
        this.endOfFrame();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }

  /** Forgets a half-received frame (as a 0x00 would, but without counting it). */
  reset(): void {
    this.held = 0;
    this.discarding = false;
  }

  private take(buf: Buffer, start: number, end: number): void {
    const n = end - start;
    if (n === 0) return;
    if (this.discarding) {
      this.stats.bytesDiscarded += n;
      return;
    }
    if (this.held + n > this.encoded.length) {
      // Too long to be a frame: drop what is held and the rest of the run.
      this.stats.bytesDiscarded += this.held + n;
      this.held = 0;
      this.discarding = true;
      return;
    }
    buf.copy(this.encoded, this.held, start, end);
    this.held += n;
  }

  private endOfFrame(): void {
    const held = this.held;
    this.held = 0;
    if (this.discarding) {
      this.discarding = false;
      this.stats.oversize++;
      return;
    }
    if (held === 0) return; // a lone 0x00: a flush, not an error
    const n = cobsDecodeInto(this.encoded, 0, held, this.decoded);
    const verdict = typeof n === 'string' ? (n === COBS_TOO_LONG ? 'oversize' : 'cobs') : null;
    const check = verdict ?? checkFrame(this.decoded, n as number, this.maxFrame);
    if (check !== 'ok') {
      this.stats.bytesDiscarded += held;
      if (check === 'crc') this.stats.crcErrors++;
      else if (check === 'oversize') this.stats.oversize++;
      else this.stats.malformed++;
      return;
    }
    this.stats.frames++;
    this.onFrame(frameOf(this.decoded, n as number));
  }
}
