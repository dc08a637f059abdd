// COBS (Consistent Overhead Byte Stuffing, Cheshire & Baker 1999): removes
// every 0x00 from a frame so 0x00 can delimit frames on the wire. Blocks of
// up to 254 non-zero bytes are each led by a code byte (block length + 1);
// a code below 0xFF means "a zero followed", except after the last block.

/** The largest encoding of `length` bytes: one code byte per 254 plus one. */
export function cobsMaxEncodedLength(length: number): number {
  return length + 1 + Math.floor(length / 254);
}

/**
 * Encodes `src` into `dst` at `dstStart`; returns the number of bytes
 * written. `dst` must have room for `cobsMaxEncodedLength(src.length)`.
 * The delimiter is not written.
 */
export function cobsEncodeInto(src: Uint8Array, dst: Uint8Array, dstStart = 0): number {
  let codeAt = dstStart;
  let out = dstStart + 1;
  let code = 1;
  for (let i = 0; i < src.length; i++) {
    const b = src[i];
    if (b === 0) {
      dst[codeAt] = code;
      codeAt = out++;
      code = 1;
      continue;
    }
    dst[out++] = b;
    code++;
    // A full block ends without an implied zero; open a new one only if
    // bytes remain, so 254 non-zero bytes cost exactly one code byte.
    if (code === 0xff && i + 1 < src.length) {
      dst[codeAt] = code;
      codeAt = out++;
      code = 1;
    }
  }
  dst[codeAt] = code;
  return out - dstStart;
}

/** COBS-encodes `src` (without the trailing 0x00 delimiter). */
export function cobsEncode(src: Uint8Array): Buffer {
  const dst = Buffer.allocUnsafe(cobsMaxEncodedLength(src.length));
  const n = cobsEncodeInto(src, dst);
  return dst.subarray(0, n);
}

/** What `cobsDecodeInto` returns when the decoding would not fit in `dst`. */
export const COBS_TOO_LONG = 'too long';

/**
 * Decodes `src[start, end)` into `dst`; returns the decoded length, or a
 * string saying why the input is not valid COBS (or does not fit in `dst`).
 * Never throws on bad input: the bytes come off a wire.
 */
export function cobsDecodeInto(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
): number | string {
  if (end <= start) return 'empty';
  let i = start;
  let out = 0;
  while (i < end) {
    const code = src[i++];
    if (code === 0) return `zero byte at ${i - 1 - start}`;
    const blockEnd = i + code - 1;
    if (blockEnd > end) return `block at ${i - 1 - start} runs past the end`;
    if (out + (code - 1) > dst.length) return COBS_TOO_LONG;
    for (; i < blockEnd; i++) {
      const b = src[i];
      if (b === 0) return `zero byte at ${i - start}`;
      dst[out++] = b;
    }
    if (code < 0xff && i < end) {
      if (out >= dst.length) return COBS_TOO_LONG;
      dst[out++] = 0;
    }
  }
  return out;
}

/** Decodes a whole COBS encoding (no delimiter); a string says why it is malformed. */
export function cobsDecode(src: Uint8Array): Buffer | string {
  const dst = Buffer.allocUnsafe(Math.max(0, src.length - 1));
  const n = cobsDecodeInto(src, 0, src.length, dst);
  return typeof n === 'string' ? n : dst.subarray(0, n);
}
