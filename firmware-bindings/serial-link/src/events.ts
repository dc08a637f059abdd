// Board events (PROTOCOL.md, Events): bodies built by the board and parsed
// by the host into a discriminated union.
import { EventOp, resetReasonName } from './frame.js';

export type BoardEvent =
  | {
      type: 'reset';
      /** The event counter, or null when the reset was seen as a changed bootId in HELLO. */
      seq: number | null;
      bootId: number;
      /** ResetReason, or null when unknown (seen in HELLO). */
      reason: number | null;
      reasonName: string;
    }
  | { type: 'link'; seq: number; port: number; up: boolean; speedMbps: number }
  | { type: 'overflow'; seq: number; port: number; framesLost: number }
  | { type: 'firmware'; seq: number; state: number; detail: number };

export function encodeResetEvent(bootId: number, reason: number): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt32LE(bootId >>> 0, 0);
  b.writeUInt8(reason, 4);
  return b;
}

export function encodeLinkEvent(port: number, up: boolean, speedMbps: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt8(port, 0);
  b.writeUInt8(up ? 1 : 0, 1);
  b.writeUInt32LE(speedMbps >>> 0, 2);
  return b;
}

export function encodeOverflowEvent(port: number, framesLost: number): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt8(port, 0);
  b.writeUInt32LE(framesLost >>> 0, 1);
  return b;
}

export function encodeFirmwareEvent(state: number, detail: number): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt8(state, 0);
  b.writeUInt32LE(detail >>> 0, 1);
  return b;
}

/** Parses an event frame's op and body; a string says why it is not one. */
export function parseEvent(op: number, seq: number, body: Buffer): BoardEvent | string {
  const need = op === EventOp.LINK ? 6 : 5;
  if (body.length < need) return `event 0x${op.toString(16)} body of ${body.length} bytes`;
  switch (op) {
    case EventOp.RESET: {
      const reason = body[4];
      return {
        type: 'reset',
        seq,
        bootId: body.readUInt32LE(0),
        reason,
        reasonName: resetReasonName(reason),
      };
    }
    case EventOp.LINK:
      return {
        type: 'link',
        seq,
        port: body[0],
        up: body[1] !== 0,
        speedMbps: body.readUInt32LE(2),
      };
    case EventOp.OVERFLOW:
      return { type: 'overflow', seq, port: body[0], framesLost: body.readUInt32LE(1) };
    case EventOp.FIRMWARE:
      return { type: 'firmware', seq, state: body[0], detail: body.readUInt32LE(1) };
    default:
      return `unknown event 0x${op.toString(16)}`;
  }
}
