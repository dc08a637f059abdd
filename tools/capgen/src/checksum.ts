/**
 * Internet checksum (RFC 1071) helpers. `sum16` returns the unfolded 32-bit
 * running sum so pseudo-headers and bodies can be added up before folding.
 */

/** Adds the big-endian 16-bit words of `buf[start, end)` to `acc`; an odd last byte is padded with zero. */
export function sum16(buf: Uint8Array, start: number, end: number, acc = 0): number {
  let s = acc;
  let i = start;
  const even = end - ((end - start) & 1);
  for (; i < even; i += 2) s += (buf[i] << 8) | buf[i + 1];
  if (i < end) s += buf[i] << 8;
  // Fold periodically is unnecessary: 0xffff * 32768 words fits in a double exactly.
  return s;
}

/** Folds a running sum to 16 bits and returns its one's complement. */
export function fold(sum: number): number {
  return ~fold16(sum) & 0xffff;
}

/** Folds a running sum to 16 bits (end-around carry), without complementing. */
export function fold16(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** The checksum of `buf[start, end)` alone (IPv4 header, ICMPv4). */
export function inetChecksum(buf: Uint8Array, start: number, end: number): number {
  return fold(sum16(buf, start, end));
}

export function put16(buf: Uint8Array, at: number, v: number): void {
  buf[at] = (v >>> 8) & 0xff;
  buf[at + 1] = v & 0xff;
}

export function put32(buf: Uint8Array, at: number, v: number): void {
  buf[at] = (v >>> 24) & 0xff;
  buf[at + 1] = (v >>> 16) & 0xff;
  buf[at + 2] = (v >>> 8) & 0xff;
  buf[at + 3] = v & 0xff;
}

export function get16(buf: Uint8Array, at: number): number {
  return (buf[at] << 8) | buf[at + 1];
}
