/**
 * GRE, RFC 2784 with the key and sequence number extensions of RFC 2890,
 * carrying Ethernet frames (protocol type 0x6558, transparent Ethernet
 * bridging, "GRETAP").
 *
 *   |C| |K|S| Reserved0       | Ver |         Protocol Type         |
 *   |      Checksum (optional)      |       Reserved1 (optional)    |   C=1
 *   |                         Key (optional)                        |   K=1
 *   |                 Sequence Number (optional)                    |   S=1
 *
 * Sent over a raw IP socket (protocol 47): the kernel writes the outer IPv4
 * header, the encoder writes GRE and the inner frame. The encoder never sets
 * C (a checksum over every mirrored byte is not worth its cost on a mirror
 * path; Linux gretap leaves it off by default too); the decoder accepts and
 * verifies it.
 */
import { EtherType } from '@netmirror/packet';
import { checkField, checkSource, copyFrame, fits } from './copy.js';
import { internetChecksum } from './headers.js';
import { malformed, MIN_INNER_FRAME } from './result.js';
import type { DecodeResult, InnerFrame } from './result.js';

export const GRE_FLAG_C = 0x8000;
/** RFC 1701 routing present; deprecated by RFC 2784, rejected by the decoder. */
export const GRE_FLAG_R = 0x4000;
export const GRE_FLAG_K = 0x2000;
export const GRE_FLAG_S = 0x1000;
/** RFC 1701 strict source route, recursion control, flags: must be zero under RFC 2784. */
export const GRE_RESERVED0_MASK = 0x0ff8;
export const GRE_VERSION_MASK = 0x0007;
export const GRE_BASE_LEN = 4;

/** Static per-destination GRE settings. */
export interface GreOptions {
  /** 32-bit key (RFC 2890 §2.1); omitted (undefined) for no key field. */
  key?: number | undefined;
  /** Write the sequence number given to `encodeGre` (RFC 2890 §2.2). */
  sequence?: boolean | undefined;
}

/** Length of the GRE header `encodeGre` writes for these options. */
export function greHeaderLength(opts: GreOptions): number {
  return GRE_BASE_LEN + (opts.key !== undefined ? 4 : 0) + (opts.sequence === true ? 4 : 0);
}

/**
 * Writes the GRE base header (C=0, version 0) with optional key and sequence
 * number fields, for `protocol`. Returns its length. Shared with ERSPAN.
 * The caller has checked that it fits.
 */
export function writeGreHeader(
  dst: Buffer,
  at: number,
  protocol: number,
  key: number | undefined,
  withSeq: boolean,
  seq: number,
): number {
  let flags = 0;
  if (key !== undefined) flags |= GRE_FLAG_K;
  if (withSeq) flags |= GRE_FLAG_S;
  dst[at] = flags >>> 8;
  dst[at + 1] = 0;
  dst[at + 2] = protocol >>> 8;
  dst[at + 3] = protocol & 0xff;
  let p = at + GRE_BASE_LEN;
  if (key !== undefined) {
    dst[p] = key >>> 24;
    dst[p + 1] = (key >>> 16) & 0xff;
    dst[p + 2] = (key >>> 8) & 0xff;
    dst[p + 3] = key & 0xff;
    p += 4;
  }
  if (withSeq) {
    dst[p] = seq >>> 24;
    dst[p + 1] = (seq >>> 16) & 0xff;
    dst[p + 2] = (seq >>> 8) & 0xff;
    dst[p + 3] = seq & 0xff;
    p += 4;
  }
  return p - at;
}

/**
 * Writes GRE (protocol 0x6558) with the key and sequence number `opts` ask for,
 * then `src[srcOff .. srcOff+len)`. `seq` (uint32, the caller's per-tunnel
 * counter) is ignored unless `opts.sequence`. Returns bytes written or -1 if
 * they do not fit. Throws RangeError for a key or seq outside uint32.
 */
export function encodeGre(
  dst: Buffer,
  dstOff: number,
  src: Buffer,
  srcOff: number,
  len: number,
  opts: GreOptions,
  seq = 0,
  copyPayload = true,
): number {
  const key = opts.key;
  const withSeq = opts.sequence === true;
  if (key !== undefined) checkField('gre key', key, 0xffffffff);
  if (withSeq) checkField('gre sequence number', seq, 0xffffffff);
  checkSource(src, srcOff, len);
  const hl = GRE_BASE_LEN + (key !== undefined ? 4 : 0) + (withSeq ? 4 : 0);
  if (!fits(dst, dstOff, hl + len)) return -1;
  writeGreHeader(dst, dstOff, EtherType.TEB, key, withSeq, seq);
  if (copyPayload) copyFrame(src, srcOff, len, dst, dstOff + hl);
  return hl + len;
}

export interface GreHeader {
  /** First 16 bits: flags and version. */
  readonly flagsAndVersion: number;
  readonly protocol: number;
  /** Checksum field when C=1, else undefined. */
  readonly checksum: number | undefined;
  /** True when C=1 and the checksum over header and payload verifies; undefined when C=0. */
  readonly checksumOk: boolean | undefined;
  readonly key: number | undefined;
  readonly sequence: number | undefined;
  /** Bytes of GRE header (4 to 16). */
  readonly headerLength: number;
  /** Offset of the GRE payload (after the header). */
  readonly payloadOffset: number;
  readonly payloadLength: number;
}

const u32 = (b: Uint8Array, at: number): number =>
  ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

/**
 * Decodes a GRE header at `off` (the first byte after the outer IP header),
 * whatever its protocol type. Rejects version != 0 (1 is PPTP's enhanced GRE),
 * the R bit and other RFC 1701 bits RFC 2784 reserves, and truncation.
 */
export function decodeGreHeader(
  buf: Uint8Array,
  off = 0,
  end = buf.length,
): DecodeResult<GreHeader> {
  if (end > buf.length) end = buf.length;
  if (end - off < GRE_BASE_LEN)
    return malformed(off, `gre: ${end - off} bytes, shorter than the 4-byte header`);
  const fv = (buf[off] << 8) | buf[off + 1];
  const version = fv & GRE_VERSION_MASK;
  if (version !== 0)
    return malformed(off, `gre: version ${version}, only 0 (RFC 2784) is supported`);
  if (fv & GRE_FLAG_R)
    return malformed(off, 'gre: routing (R) bit set, RFC 1701 source routing is not supported');
  if (fv & GRE_RESERVED0_MASK)
    return malformed(
      off,
      `gre: reserved flag bits set (0x${(fv & GRE_RESERVED0_MASK).toString(16)})`,
    );
  const protocol = (buf[off + 2] << 8) | buf[off + 3];
  const hasC = (fv & GRE_FLAG_C) !== 0;
  const hasK = (fv & GRE_FLAG_K) !== 0;
  const hasS = (fv & GRE_FLAG_S) !== 0;
  const headerLength = GRE_BASE_LEN + (hasC ? 4 : 0) + (hasK ? 4 : 0) + (hasS ? 4 : 0);
  if (end - off < headerLength) {
    return malformed(
      off,
      `gre: ${end - off} bytes, shorter than the ${headerLength}-byte header its flags announce`,
    );
  }
  let p = off + GRE_BASE_LEN;
  let checksum: number | undefined;
  let checksumOk: boolean | undefined;
  if (hasC) {
    checksum = (buf[p] << 8) | buf[p + 1];
    checksumOk = internetChecksum(buf, off, end - off) === 0;
    p += 4;
  }
  let key: number | undefined;
  if (hasK) {
    key = u32(buf, p);
    p += 4;
  }
  let sequence: number | undefined;
  if (hasS) {
    sequence = u32(buf, p);
    p += 4;
  }
  return {
    ok: true,
    flagsAndVersion: fv,
    protocol,
    checksum,
    checksumOk,
    key,
    sequence,
    headerLength,
    payloadOffset: p,
    payloadLength: end - p,
  };
}

export interface GreTebFrame extends InnerFrame {
  readonly gre: GreHeader;
}

/** Decodes GRE carrying an Ethernet frame (protocol 0x6558). */
export function decodeGre(buf: Uint8Array, off = 0, end = buf.length): DecodeResult<GreTebFrame> {
  const gre = decodeGreHeader(buf, off, end);
  if (!gre.ok) return gre;
  if (gre.protocol !== EtherType.TEB) {
    return malformed(
      off + 2,
      `gre: protocol 0x${gre.protocol.toString(16).padStart(4, '0')}, expected 0x6558 (Ethernet)`,
    );
  }
  if (gre.payloadLength < MIN_INNER_FRAME) {
    return malformed(
      gre.payloadOffset,
      `gre: inner frame of ${gre.payloadLength} bytes, shorter than an Ethernet header`,
    );
  }
  return { ok: true, gre, innerOffset: gre.payloadOffset, innerLength: gre.payloadLength };
}
