/**
 * TZSP, the TaZmen Sniffer Protocol (Tazmen Technologies / Network Chemistry
 * app note AN001; no RFC). What Wireshark's packet-tzsp.c and MikroTik's
 * "packet sniffer streaming" implement, over UDP port 37008 (0x9090, not
 * IANA-registered).
 *
 *   | Version=1 |   Type    |        Encapsulation            |
 *   | tag | [len | value...] ... | TAG_END=1 |  frame ...
 *
 * Tags: 0 = PADDING and 1 = END are one byte with no length; every other tag
 * is tag, length, value. We write (optionally) ORIGINAL_LENGTH (41, 2 bytes)
 * when the frame was sliced, and SENSOR_MAC (60, 6 bytes), then END.
 * The UDP and IP headers are the kernel's (UDP socket).
 */
import { checkField, checkSource, copyFrame, fits } from './copy.js';
import { malformed } from './result.js';
import type { DecodeResult, InnerFrame } from './result.js';

export const TZSP_PORT = 37008;
export const TZSP_VERSION = 1;
export const TZSP_BASE_LEN = 4;

export const TzspType = {
  /** Packet received by the sensor (what a mirror sends). */
  RECEIVED: 0,
  /** Packet for the sensor to transmit. */
  TRANSMIT: 1,
  CONFIG: 3,
  /** Keepalive, no tags and no frame. */
  NULL: 4,
  /** NAT port opener, no tags and no frame. */
  PORT_OPENER: 5,
} as const;
export type TzspType = (typeof TzspType)[keyof typeof TzspType];

/** TZSP encapsulations (not DLT values). Only Ethernet is encoded. */
export const TzspEncap = { ETHERNET: 1, IEEE_802_11: 18 } as const;

export const TzspTag = {
  PADDING: 0,
  END: 1,
  PACKET_ID: 40,
  ORIGINAL_LENGTH: 41,
  SENSOR_MAC: 60,
} as const;

/** Per-destination TZSP settings. */
export interface TzspOptions {
  /** RECEIVED (0, default) or TRANSMIT (1). */
  type?: typeof TzspType.RECEIVED | typeof TzspType.TRANSMIT | undefined;
  /** 6-byte MAC written as a SENSOR_MAC tag on every frame; omitted when undefined. */
  sensorMac?: Uint8Array | undefined;
}

/** Bytes `encodeTzsp` writes before the frame. */
export function tzspHeaderLength(opts: TzspOptions, sliced: boolean): number {
  return TZSP_BASE_LEN + (sliced ? 4 : 0) + (opts.sensorMac !== undefined ? 8 : 0) + 1;
}

/**
 * Writes the TZSP header (version 1, `opts.type`, encapsulation Ethernet), an
 * ORIGINAL_LENGTH tag when `origLen !== len` (the copy was sliced), a
 * SENSOR_MAC tag when configured, TAG_END, then the frame. Returns bytes
 * written or -1 if they do not fit.
 */
export function encodeTzsp(
  dst: Buffer,
  dstOff: number,
  src: Buffer,
  srcOff: number,
  len: number,
  opts: TzspOptions,
  origLen = len,
  copyPayload = true,
): number {
  const type = opts.type ?? TzspType.RECEIVED;
  const mac = opts.sensorMac;
  if (type !== TzspType.RECEIVED && type !== TzspType.TRANSMIT) {
    throw new RangeError(`tzsp type must be 0 (received) or 1 (transmit), got ${String(type)}`);
  }
  if (mac !== undefined && mac.length !== 6)
    throw new RangeError(`tzsp sensor MAC must be 6 bytes, got ${mac.length}`);
  const sliced = origLen !== len;
  // Wireshark shows ORIGINAL_LENGTH as a signed 16-bit value.
  if (sliced) checkField('tzsp original length', origLen, 0x7fff);
  checkSource(src, srcOff, len);
  const hl = TZSP_BASE_LEN + (sliced ? 4 : 0) + (mac !== undefined ? 8 : 0) + 1;
  if (!fits(dst, dstOff, hl + len)) return -1;
  let p = dstOff;
  dst[p++] = TZSP_VERSION;
  dst[p++] = type;
  dst[p++] = 0;
  dst[p++] = TzspEncap.ETHERNET;
  if (sliced) {
    dst[p++] = TzspTag.ORIGINAL_LENGTH;
    dst[p++] = 2;
    dst[p++] = origLen >>> 8;
    dst[p++] = origLen & 0xff;
  }
  if (mac !== undefined) {
    dst[p++] = TzspTag.SENSOR_MAC;
    dst[p++] = 6;
    for (let i = 0; i < 6; i++) dst[p++] = mac[i];
  }
  dst[p++] = TzspTag.END;
  if (copyPayload) copyFrame(src, srcOff, len, dst, p);
  return hl + len;
}

export interface TzspTagField {
  readonly tag: number;
  /** Offset of the value (after tag and length bytes). */
  readonly offset: number;
  readonly length: number;
}

export interface TzspFrame extends InnerFrame {
  readonly version: number;
  readonly type: number;
  readonly encapsulation: number;
  /** Tags other than PADDING and END, in order. */
  readonly tags: readonly TzspTagField[];
  /** ORIGINAL_LENGTH tag, when present. */
  readonly originalLength: number | undefined;
  /** SENSOR_MAC tag as aa:bb:cc:dd:ee:ff, when present. */
  readonly sensorMac: string | undefined;
}

/**
 * Decodes TZSP at `off` (the first byte after UDP). Accepts version 1, types
 * RECEIVED and TRANSMIT and encapsulation Ethernet (the only kind a mirror
 * carries); rejects a tag list that runs past the end or has no TAG_END, and
 * an inner frame shorter than an Ethernet header.
 */
export function decodeTzsp(buf: Uint8Array, off = 0, end = buf.length): DecodeResult<TzspFrame> {
  if (end > buf.length) end = buf.length;
  if (end - off < TZSP_BASE_LEN + 1)
    return malformed(off, `tzsp: ${end - off} bytes, shorter than header + TAG_END`);
  const version = buf[off];
  if (version !== TZSP_VERSION) return malformed(off, `tzsp: version ${version}, expected 1`);
  const type = buf[off + 1];
  if (type !== TzspType.RECEIVED && type !== TzspType.TRANSMIT) {
    return malformed(
      off + 1,
      `tzsp: type ${type} carries no frame (expected 0 received or 1 transmit)`,
    );
  }
  const encapsulation = (buf[off + 2] << 8) | buf[off + 3];
  if (encapsulation !== TzspEncap.ETHERNET) {
    return malformed(
      off + 2,
      `tzsp: encapsulation ${encapsulation}, only 1 (Ethernet) is supported`,
    );
  }
  const tags: TzspTagField[] = [];
  let originalLength: number | undefined;
  let sensorMac: string | undefined;
  let p = off + TZSP_BASE_LEN;
  for (;;) {
    if (p >= end) return malformed(p, 'tzsp: tag list runs past the end without TAG_END');
    const tag = buf[p];
    if (tag === TzspTag.END) {
      p++;
      break;
    }
    if (tag === TzspTag.PADDING) {
      p++;
      continue;
    }
    if (p + 2 > end) return malformed(p, `tzsp: tag ${tag} has no length byte`);
    const length = buf[p + 1];
    if (p + 2 + length > end)
      return malformed(p, `tzsp: tag ${tag} of ${length} bytes runs past the end`);
    const at = p + 2;
    if (tag === TzspTag.ORIGINAL_LENGTH) {
      if (length !== 2)
        return malformed(p, `tzsp: ORIGINAL_LENGTH tag of ${length} bytes, expected 2`);
      originalLength = (buf[at] << 8) | buf[at + 1];
    } else if (tag === TzspTag.SENSOR_MAC) {
      if (length !== 6) return malformed(p, `tzsp: SENSOR_MAC tag of ${length} bytes, expected 6`);
      sensorMac = Array.from(buf.subarray(at, at + 6), (b) => b.toString(16).padStart(2, '0')).join(
        ':',
      );
    }
    tags.push({ tag, offset: at, length });
    p = at + length;
  }
  const innerLength = end - p;
  if (innerLength < 14) {
    return malformed(
      p,
      `tzsp: inner frame of ${innerLength} bytes, shorter than an Ethernet header`,
    );
  }
  return {
    ok: true,
    version,
    type,
    encapsulation,
    tags,
    originalLength,
    sensorMac,
    innerOffset: p,
    innerLength,
  };
}
