/**
 * VXLAN, RFC 7348 §5.
 *
 *   0                   1                   2                   3
 *   |R|R|R|R|I|R|R|R|            Reserved                           |
 *   |                VXLAN Network Identifier (VNI) |   Reserved    |
 *
 * Carried in UDP (default destination port 4789); the UDP and outer IP
 * headers are written by the kernel (the sink sends on a UDP socket), so the
 * encoder writes only these 8 bytes and the inner frame.
 */
import { checkField, checkSource, copyFrame, fits } from './copy.js';
import { malformed, MIN_INNER_FRAME } from './result.js';
import type { DecodeResult, InnerFrame } from './result.js';

export const VXLAN_PORT = 4789;
export const VXLAN_HEADER_LEN = 8;
/** The I flag (valid VNI), first byte of the header. */
export const VXLAN_FLAG_I = 0x08;
export const VXLAN_MAX_VNI = 0xffffff;

/** First and last port of the IANA dynamic range, used for VXLAN source ports (RFC 7348 §5). */
export const VXLAN_SRC_PORT_MIN = 49152;
export const VXLAN_SRC_PORT_MAX = 65535;

/**
 * Writes a VXLAN header (I=1, `vni`) then `src[srcOff .. srcOff+len)` into
 * `dst` at `dstOff`. Returns bytes written (8 + len), or -1 if they do not fit.
 * Throws RangeError for a VNI outside 0..2^24-1 or a source range outside `src`.
 */
export function encodeVxlan(
  dst: Buffer,
  dstOff: number,
  src: Buffer,
  srcOff: number,
  len: number,
  vni: number,
  copyPayload = true,
): number {
  checkField('vxlan vni', vni, VXLAN_MAX_VNI);
  checkSource(src, srcOff, len);
  const n = VXLAN_HEADER_LEN + len;
  if (!fits(dst, dstOff, n)) return -1;
  dst[dstOff] = VXLAN_FLAG_I;
  dst[dstOff + 1] = 0;
  dst[dstOff + 2] = 0;
  dst[dstOff + 3] = 0;
  dst[dstOff + 4] = vni >>> 16;
  dst[dstOff + 5] = (vni >>> 8) & 0xff;
  dst[dstOff + 6] = vni & 0xff;
  dst[dstOff + 7] = 0;
  if (copyPayload) copyFrame(src, srcOff, len, dst, dstOff + VXLAN_HEADER_LEN);
  return n;
}

/**
 * Maps a 32-bit flow hash onto the dynamic port range 49152..65535, as
 * RFC 7348 §5 recommends ("a hash of fields from the inner packet"), so all
 * copies of one flow take the same ECMP path (AWS Traffic Mirroring does the
 * same). The mapping is the Linux kernel's `udp_flow_src_port()`: fold the
 * low half into the high half, then scale the 32-bit value onto the range,
 * with min 49152 and max 65536, i.e. `ip link add ... type vxlan srcport
 * 49152 65536`; a kernel VXLAN device so configured picks the same port for
 * the same hash.
 */
export function vxlanSourcePort(flowHash: number): number {
  const h = (flowHash ^ (flowHash << 16)) >>> 0;
  // ((u64)h * 16384) >> 32 == h >>> 18
  return VXLAN_SRC_PORT_MIN + (h >>> 18);
}

export interface VxlanHeader extends InnerFrame {
  /** Whole first byte of the header (I = 0x08). */
  readonly flags: number;
  readonly vni: number;
}

/**
 * Decodes a VXLAN header at `off` (the first byte after the UDP header).
 * Reserved bits are ignored on receipt (RFC 7348 §5); a clear I flag, a
 * truncated header or an inner frame shorter than 14 bytes is rejected.
 */
export function decodeVxlan(buf: Uint8Array, off = 0, end = buf.length): DecodeResult<VxlanHeader> {
  if (end > buf.length) end = buf.length;
  if (end - off < VXLAN_HEADER_LEN)
    return malformed(off, `vxlan: ${end - off} bytes, shorter than the 8-byte header`);
  const flags = buf[off];
  if ((flags & VXLAN_FLAG_I) === 0) return malformed(off, 'vxlan: I flag clear, no valid VNI');
  const vni = (buf[off + 4] << 16) | (buf[off + 5] << 8) | buf[off + 6];
  const innerOffset = off + VXLAN_HEADER_LEN;
  const innerLength = end - innerOffset;
  if (innerLength < MIN_INNER_FRAME) {
    return malformed(
      innerOffset,
      `vxlan: inner frame of ${innerLength} bytes, shorter than an Ethernet header`,
    );
  }
  return { ok: true, flags, vni, innerOffset, innerLength };
}
