/**
 * ERSPAN types II and III, draft-foschiano-erspan-03 (Informational; the
 * reference for what Cisco, Arista, Linux `ip_gre` and Wireshark's
 * packet-erspan.c implement).
 *
 * Type II: GRE with S=1 (8 bytes: flags 0x1000, protocol 0x88BE, sequence
 * number), then 8 bytes:
 *   | Ver=1 |          VLAN         | COS | En|T|     Session ID    |
 *   |      Reserved         |                 Index                 |
 *
 * Type III: GRE with S=1 and protocol 0x22EB, then 12 bytes (+8 optional):
 *   | Ver=2 |          VLAN         | COS |BSO|T|     Session ID    |
 *   |                           Timestamp                           |
 *   |             SGT               |P|    FT   |   Hw ID   |D|Gra|O|
 *   | Platf ID  |          Platform specific info (O=1)             |
 *   |          Platform specific info, e.g. upper timestamp         |
 *
 * Sent over a raw IP socket (protocol 47): the encoder writes GRE, the ERSPAN
 * header and the inner frame; the kernel writes IPv4. Sequence numbers are
 * per session and belong to the caller.
 */
import { EtherType } from '@netmirror/packet';
import { checkField, checkSource, copyFrame, fits, ok } from './copy.js';
import { decodeGreHeader, GRE_FLAG_S, writeGreHeader } from './gre.js';
import type { GreHeader } from './gre.js';
import { malformed, MIN_INNER_FRAME } from './result.js';
import type { DecodeResult, InnerFrame } from './result.js';

export const ERSPAN2_HEADER_LEN = 8;
export const ERSPAN3_HEADER_LEN = 12;
export const ERSPAN3_SUBHEADER_LEN = 8;
/** GRE header used by ERSPAN II/III: base 4 bytes + sequence number. */
export const ERSPAN_GRE_LEN = 8;

/** The En field of type II: how the original frame carried its VLAN. */
export const ErspanEncap = {
  /** Originally without VLAN tag. */
  UNTAGGED: 0,
  /** Originally ISL encapsulated. */
  ISL: 1,
  /** Originally 802.1Q encapsulated (tag removed, VLAN field holds it). */
  DOT1Q: 2,
  /** VLAN tag preserved in the mirrored frame. */
  TAG_PRESERVED: 3,
} as const;
export type ErspanEncap = (typeof ErspanEncap)[keyof typeof ErspanEncap];

/** The Gra field of type III: the unit of the timestamp. */
export const ErspanGranularity = {
  /** 100 microseconds; what Linux `ip_gre` emits. Our default. */
  US_100: 0,
  /** 100 nanoseconds. */
  NS_100: 1,
  /** IEEE 1588: timestamp = nanoseconds within the second, upper word (subheader) = seconds. */
  IEEE_1588: 2,
  /** User-configured (platform-defined); not produced by `erspan3Timestamp`. */
  CUSTOM: 3,
} as const;
export type ErspanGranularity = (typeof ErspanGranularity)[keyof typeof ErspanGranularity];

/** The FT field of type III. Only Ethernet is produced or accepted. */
export const ERSPAN_FT_ETHERNET = 0;

/** Platform ID of the optional type III subheader that this encoder writes (port index + upper 32 timestamp bits). */
export const ERSPAN3_PLATFORM_ID_UPPER_TS = 3;

/** Per-session ERSPAN II fields. Mutate `vlan`, `cos`, `encap`, `truncated` per frame if they vary. */
export interface Erspan2Options {
  /** Session ID, 10 bits. */
  sessionId: number;
  /** Original VLAN, 12 bits; default 0. */
  vlan?: number | undefined;
  /** Class of service (802.1p priority), 3 bits; default 0. */
  cos?: number | undefined;
  /**
   * En, 2 bits. Default (undefined): derived from the inner frame,
   * TAG_PRESERVED when its EtherType is 0x8100/0x88A8/0x9100, else UNTAGGED.
   */
  encap?: ErspanEncap | undefined;
  /** T: the frame was truncated (sliced) to fit. Default false. */
  truncated?: boolean | undefined;
  /** Index (port or platform-defined), 20 bits; default 0. */
  index?: number | undefined;
}

/** Per-session ERSPAN III fields. Mutate per frame if they vary. */
export interface Erspan3Options {
  sessionId: number;
  vlan?: number | undefined;
  cos?: number | undefined;
  /** BSO: 0 good/unknown, 1 short, 2 oversized, 3 CRC or alignment error. Default 0. */
  bso?: number | undefined;
  truncated?: boolean | undefined;
  /** Security group tag, 16 bits; default 0. */
  sgt?: number | undefined;
  /** Hardware (ERSPAN engine) ID, 6 bits; default 0. */
  hwId?: number | undefined;
  /** D: the frame was mirrored on egress (true) or ingress (false, default). */
  egress?: boolean | undefined;
  /** Gra; default US_100. See `erspan3Timestamp`. */
  granularity?: ErspanGranularity | undefined;
  /**
   * When set, write the 8-byte platform subheader (O=1, platform ID 3): this
   * 14-bit port index and the upper 32 timestamp bits passed to `encodeErspan3`.
   */
  subheaderPortIndex?: number | undefined;
}

function innerIsTagged(src: Buffer, srcOff: number, len: number): boolean {
  if (len < 14) return false;
  const et = (src[srcOff + 12] << 8) | src[srcOff + 13];
  return et === EtherType.VLAN || et === EtherType.QINQ || et === EtherType.QINQ_OLD;
}

/**
 * Writes GRE (S=1, protocol 0x88BE, `seq`), the ERSPAN II header and the inner
 * frame. Returns bytes written (16 + len) or -1 if they do not fit.
 * Throws RangeError for a field out of range.
 */
export function encodeErspan2(
  dst: Buffer,
  dstOff: number,
  src: Buffer,
  srcOff: number,
  len: number,
  h: Erspan2Options,
  seq: number,
  copyPayload = true,
): number {
  const vlan = h.vlan ?? 0;
  const cos = h.cos ?? 0;
  const index = h.index ?? 0;
  const en: number =
    h.encap ?? (innerIsTagged(src, srcOff, len) ? ErspanEncap.TAG_PRESERVED : ErspanEncap.UNTAGGED);
  // One cheap test on the hot path; the per-field checks (with their messages) only run when it fails.
  if (!(
    ok(h.sessionId, 0x3ff) &&
    ok(vlan, 0xfff) &&
    ok(cos, 7) &&
    ok(index, 0xfffff) &&
    ok(en, 3) &&
    seq >>> 0 === seq
  )) {
    checkField('erspan session id', h.sessionId, 0x3ff);
    checkField('erspan vlan', vlan, 0xfff);
    checkField('erspan cos', cos, 7);
    checkField('erspan index', index, 0xfffff);
    checkField('erspan encap', en, 3);
    checkField('erspan sequence number', seq, 0xffffffff);
  }
  checkSource(src, srcOff, len);
  const n = ERSPAN_GRE_LEN + ERSPAN2_HEADER_LEN + len;
  if (!fits(dst, dstOff, n)) return -1;
  let p = dstOff + writeGreHeader(dst, dstOff, EtherType.ERSPAN2, undefined, true, seq);
  dst[p] = 0x10 | (vlan >>> 8);
  dst[p + 1] = vlan & 0xff;
  const w1 = (cos << 13) | (en << 11) | (h.truncated === true ? 0x400 : 0) | h.sessionId;
  dst[p + 2] = w1 >>> 8;
  dst[p + 3] = w1 & 0xff;
  dst[p + 4] = 0;
  dst[p + 5] = index >>> 16;
  dst[p + 6] = (index >>> 8) & 0xff;
  dst[p + 7] = index & 0xff;
  p += ERSPAN2_HEADER_LEN;
  if (copyPayload) copyFrame(src, srcOff, len, dst, p);
  return n;
}

/**
 * Writes GRE (S=1, protocol 0x22EB, `seq`), the ERSPAN III header (P=1,
 * FT=0 Ethernet), the optional subheader, and the inner frame. `timestamp`
 * is the raw 32-bit field in units of `h.granularity` (see
 * `erspan3Timestamp`); `timestampHigh` goes into the subheader and is ignored
 * without one. Returns bytes written or -1 if they do not fit.
 */
export function encodeErspan3(
  dst: Buffer,
  dstOff: number,
  src: Buffer,
  srcOff: number,
  len: number,
  h: Erspan3Options,
  seq: number,
  timestamp: number,
  timestampHigh = 0,
  copyPayload = true,
): number {
  const vlan = h.vlan ?? 0;
  const cos = h.cos ?? 0;
  const bso = h.bso ?? 0;
  const sgt = h.sgt ?? 0;
  const hwId = h.hwId ?? 0;
  const gra = h.granularity ?? ErspanGranularity.US_100;
  const portIndex = h.subheaderPortIndex;
  if (!(
    ok(h.sessionId, 0x3ff) &&
    ok(vlan, 0xfff) &&
    ok(cos, 7) &&
    ok(bso, 3) &&
    ok(sgt, 0xffff) &&
    ok(hwId, 0x3f) &&
    ok(gra, 3) &&
    seq >>> 0 === seq &&
    timestamp >>> 0 === timestamp &&
    (portIndex === undefined || (ok(portIndex, 0x3fff) && timestampHigh >>> 0 === timestampHigh))
  )) {
    checkField('erspan session id', h.sessionId, 0x3ff);
    checkField('erspan vlan', vlan, 0xfff);
    checkField('erspan cos', cos, 7);
    checkField('erspan bso', bso, 3);
    checkField('erspan sgt', sgt, 0xffff);
    checkField('erspan hw id', hwId, 0x3f);
    checkField('erspan granularity', gra, 3);
    checkField('erspan sequence number', seq, 0xffffffff);
    checkField('erspan timestamp', timestamp, 0xffffffff);
    if (portIndex !== undefined) {
      checkField('erspan subheader port index', portIndex, 0x3fff);
      checkField('erspan upper timestamp', timestampHigh, 0xffffffff);
    }
  }
  checkSource(src, srcOff, len);
  const hl =
    ERSPAN_GRE_LEN + ERSPAN3_HEADER_LEN + (portIndex !== undefined ? ERSPAN3_SUBHEADER_LEN : 0);
  if (!fits(dst, dstOff, hl + len)) return -1;
  const p = dstOff + writeGreHeader(dst, dstOff, EtherType.ERSPAN3, undefined, true, seq);
  dst[p] = 0x20 | (vlan >>> 8);
  dst[p + 1] = vlan & 0xff;
  const w1 = (cos << 13) | (bso << 11) | (h.truncated === true ? 0x400 : 0) | h.sessionId;
  dst[p + 2] = w1 >>> 8;
  dst[p + 3] = w1 & 0xff;
  dst[p + 4] = timestamp >>> 24;
  dst[p + 5] = (timestamp >>> 16) & 0xff;
  dst[p + 6] = (timestamp >>> 8) & 0xff;
  dst[p + 7] = timestamp & 0xff;
  dst[p + 8] = sgt >>> 8;
  dst[p + 9] = sgt & 0xff;
  // P=1 | FT(5)=0 | HwID(6) | D | Gra(2) | O
  const w5 =
    0x8000 |
    (ERSPAN_FT_ETHERNET << 10) |
    (hwId << 4) |
    (h.egress === true ? 0x8 : 0) |
    (gra << 1) |
    (portIndex !== undefined ? 1 : 0);
  dst[p + 10] = w5 >>> 8;
  dst[p + 11] = w5 & 0xff;
  if (portIndex !== undefined) {
    const q = p + ERSPAN3_HEADER_LEN;
    // Platform ID 3: | platf id (6) | reserved (12) | port index (14) | upper timestamp (32) |
    dst[q] = ERSPAN3_PLATFORM_ID_UPPER_TS << 2;
    dst[q + 1] = 0;
    dst[q + 2] = portIndex >>> 8;
    dst[q + 3] = portIndex & 0xff;
    dst[q + 4] = timestampHigh >>> 24;
    dst[q + 5] = (timestampHigh >>> 16) & 0xff;
    dst[q + 6] = (timestampHigh >>> 8) & 0xff;
    dst[q + 7] = timestampHigh & 0xff;
  }
  if (copyPayload) copyFrame(src, srcOff, len, dst, dstOff + hl);
  return hl + len;
}

function checkTime(sec: number, nsec: number, gra: ErspanGranularity): void {
  checkField('seconds', sec, 0xffffffff);
  checkField('nanoseconds', nsec, 999_999_999);
  if (
    gra !== ErspanGranularity.US_100 &&
    gra !== ErspanGranularity.NS_100 &&
    gra !== ErspanGranularity.IEEE_1588
  ) {
    throw new RangeError(`erspan: no timestamp conversion for granularity ${gra}`);
  }
}

/**
 * The type III Timestamp field (lower 32 bits) for a capture time
 * (`sec` since the Unix epoch, `nsec` within the second), in units of `gra`:
 * US_100 and NS_100 count 100 µs / 100 ns ticks since the epoch modulo 2^32
 * (as Linux does for 100 µs; it wraps every 4.97 days, or 429 s for 100 ns);
 * IEEE_1588 gives the nanoseconds within the second. No allocation.
 */
export function erspan3Timestamp(
  sec: number,
  nsec: number,
  gra: ErspanGranularity = ErspanGranularity.US_100,
): number {
  checkTime(sec, nsec, gra);
  if (gra === ErspanGranularity.IEEE_1588) return nsec;
  // Math.imul keeps exactly the low 32 bits of sec * units.
  const us100 = gra === ErspanGranularity.US_100;
  return (
    (Math.imul(sec, us100 ? 10_000 : 10_000_000) + Math.floor(nsec / (us100 ? 100_000 : 100))) >>> 0
  );
}

/**
 * The upper 32 bits matching `erspan3Timestamp`, for the subheader: the
 * 64-bit tick count divided by 2^32, or the seconds for IEEE 1588.
 */
export function erspan3TimestampHigh(
  sec: number,
  nsec: number,
  gra: ErspanGranularity = ErspanGranularity.US_100,
): number {
  checkTime(sec, nsec, gra);
  if (gra === ErspanGranularity.IEEE_1588) return sec;
  const us100 = gra === ErspanGranularity.US_100;
  const units = us100 ? 10_000 : 10_000_000;
  // ticks = sec * units + floor(nsec / unit) can exceed 2^53: split sec in 16-bit halves.
  const a = (sec % 0x10000) * units + Math.floor(nsec / (us100 ? 100_000 : 100)); // < 2^40
  const b = Math.floor(sec / 0x10000) * units; // < 2^40, weight 2^16
  const c = (b % 0x10000) * 0x10000 + a; // < 2^41
  return (Math.floor(b / 0x10000) + Math.floor(c / 0x100000000)) >>> 0;
}

interface ErspanCommon extends InnerFrame {
  readonly gre: GreHeader;
}

/** Type I: GRE 0x88BE without a sequence number, the frame follows GRE directly. */
export interface ErspanI extends ErspanCommon {
  readonly type: 1;
}

export interface ErspanII extends ErspanCommon {
  readonly type: 2;
  readonly sessionId: number;
  readonly vlan: number;
  readonly cos: number;
  readonly encap: ErspanEncap;
  readonly truncated: boolean;
  readonly index: number;
}

export interface ErspanSubheader {
  /** Platform ID, 6 bits. */
  readonly platformId: number;
  /** The 26 platform-specific bits of the first word (for ID 3: port index in the low 14). */
  readonly word0: number;
  /** The second word (for IDs 3 and 7: upper 32 timestamp bits). */
  readonly word1: number;
}

export interface ErspanIII extends ErspanCommon {
  readonly type: 3;
  readonly sessionId: number;
  readonly vlan: number;
  readonly cos: number;
  readonly bso: number;
  readonly truncated: boolean;
  readonly timestamp: number;
  readonly sgt: number;
  /** P bit: payload is an Ethernet PDU. */
  readonly p: boolean;
  readonly frameType: number;
  readonly hwId: number;
  readonly egress: boolean;
  readonly granularity: ErspanGranularity;
  readonly subheader: ErspanSubheader | undefined;
}

export type ErspanFrame = ErspanI | ErspanII | ErspanIII;

/**
 * Decodes GRE + ERSPAN at `off` (the first byte after the outer IP header).
 * Protocol 0x88BE without S is type I, with S type II (ERSPAN version must be
 * 1); 0x22EB is type III (version must be 2). Rejects other GRE protocols,
 * truncated headers, type III frame types other than Ethernet, and inner
 * frames shorter than an Ethernet header.
 */
export function decodeErspan(
  buf: Uint8Array,
  off = 0,
  end = buf.length,
): DecodeResult<ErspanFrame> {
  if (end > buf.length) end = buf.length;
  const gre = decodeGreHeader(buf, off, end);
  if (!gre.ok) return gre;
  const p = gre.payloadOffset;
  const inner = (at: number, frame: ErspanFrame): DecodeResult<ErspanFrame> =>
    end - at < MIN_INNER_FRAME
      ? malformed(at, `erspan: inner frame of ${end - at} bytes, shorter than an Ethernet header`)
      : { ok: true, ...frame };
  if (gre.protocol === EtherType.ERSPAN2) {
    if ((gre.flagsAndVersion & GRE_FLAG_S) === 0) {
      return inner(p, { type: 1, gre, innerOffset: p, innerLength: end - p });
    }
    if (end - p < ERSPAN2_HEADER_LEN) {
      return malformed(p, `erspan: ${end - p} bytes, shorter than the 8-byte type II header`);
    }
    const version = buf[p] >>> 4;
    if (version !== 1)
      return malformed(p, `erspan: version ${version} under GRE 0x88BE, expected 1 (type II)`);
    const w1 = (buf[p + 2] << 8) | buf[p + 3];
    const frame: ErspanII = {
      type: 2,
      gre,
      vlan: ((buf[p] & 0x0f) << 8) | buf[p + 1],
      cos: w1 >>> 13,
      encap: ((w1 >>> 11) & 3) as ErspanEncap,
      truncated: (w1 & 0x400) !== 0,
      sessionId: w1 & 0x3ff,
      index: ((buf[p + 5] & 0x0f) << 16) | (buf[p + 6] << 8) | buf[p + 7],
      innerOffset: p + ERSPAN2_HEADER_LEN,
      innerLength: end - p - ERSPAN2_HEADER_LEN,
    };
    return inner(frame.innerOffset, frame);
  }
  if (gre.protocol === EtherType.ERSPAN3) {
    if (end - p < ERSPAN3_HEADER_LEN) {
      return malformed(p, `erspan: ${end - p} bytes, shorter than the 12-byte type III header`);
    }
    const version = buf[p] >>> 4;
    if (version !== 2)
      return malformed(p, `erspan: version ${version} under GRE 0x22EB, expected 2 (type III)`);
    const w1 = (buf[p + 2] << 8) | buf[p + 3];
    const w5 = (buf[p + 10] << 8) | buf[p + 11];
    const frameType = (w5 >>> 10) & 0x1f;
    if (frameType !== ERSPAN_FT_ETHERNET) {
      return malformed(p + 10, `erspan: frame type ${frameType}, only 0 (Ethernet) is supported`);
    }
    let subheader: ErspanSubheader | undefined;
    let q = p + ERSPAN3_HEADER_LEN;
    if (w5 & 1) {
      if (end - q < ERSPAN3_SUBHEADER_LEN) {
        return malformed(
          q,
          `erspan: O bit set but ${end - q} bytes left, shorter than the 8-byte subheader`,
        );
      }
      const s0 = ((buf[q] << 24) | (buf[q + 1] << 16) | (buf[q + 2] << 8) | buf[q + 3]) >>> 0;
      const s1 = ((buf[q + 4] << 24) | (buf[q + 5] << 16) | (buf[q + 6] << 8) | buf[q + 7]) >>> 0;
      subheader = { platformId: s0 >>> 26, word0: s0 & 0x03ffffff, word1: s1 };
      q += ERSPAN3_SUBHEADER_LEN;
    }
    const frame: ErspanIII = {
      type: 3,
      gre,
      vlan: ((buf[p] & 0x0f) << 8) | buf[p + 1],
      cos: w1 >>> 13,
      bso: (w1 >>> 11) & 3,
      truncated: (w1 & 0x400) !== 0,
      sessionId: w1 & 0x3ff,
      timestamp: ((buf[p + 4] << 24) | (buf[p + 5] << 16) | (buf[p + 6] << 8) | buf[p + 7]) >>> 0,
      sgt: (buf[p + 8] << 8) | buf[p + 9],
      p: (w5 & 0x8000) !== 0,
      frameType,
      hwId: (w5 >>> 4) & 0x3f,
      egress: (w5 & 0x8) !== 0,
      granularity: ((w5 >>> 1) & 3) as ErspanGranularity,
      subheader,
      innerOffset: q,
      innerLength: end - q,
    };
    return inner(q, frame);
  }
  return malformed(
    off + 2,
    `erspan: GRE protocol 0x${gre.protocol.toString(16).padStart(4, '0')}, expected 0x88be or 0x22eb`,
  );
}
