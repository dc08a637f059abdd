/**
 * Copies the inner frame into the output. `Buffer.prototype.copy` (a memmove
 * in native code) was measured faster than a JS byte loop and than
 * `Uint8Array.prototype.set(subarray)` from 64 bytes up (see README), and
 * allocates nothing.
 */
export function copyFrame(
  src: Buffer,
  srcOff: number,
  len: number,
  dst: Buffer,
  dstOff: number,
): void {
  src.copy(dst, dstOff, srcOff, srcOff + len);
}

/** True when `v` is an integer in [0, max] (max <= 2^32-1); inlined on hot paths. */
export function ok(v: number, max: number): boolean {
  return v >>> 0 === v && v <= max;
}

/** Throws a RangeError unless `v` is an integer in [0, max] (max <= 2^32-1). */
export function checkField(name: string, v: number, max: number): void {
  // `v >>> 0 === v` is true exactly for integers in 0..2^32-1 (false for NaN, negatives, fractions).
  if (v >>> 0 !== v || v > max) {
    throw new RangeError(`${name} must be an integer in 0..${max}, got ${v}`);
  }
}

/** Throws a RangeError unless the source range lies inside `src`. */
export function checkSource(src: Buffer, srcOff: number, len: number): void {
  if (!(srcOff >= 0 && len >= 0 && srcOff + len <= src.length)) {
    throw new RangeError(`source range ${srcOff}+${len} outside a ${src.length}-byte buffer`);
  }
}

/**
 * True when `n` bytes fit in `dst` at `dstOff`; throws a RangeError for a
 * negative or fractional offset (a bug, not a full buffer).
 */
export function fits(dst: Buffer, dstOff: number, n: number): boolean {
  if (!(dstOff >= 0 && Math.floor(dstOff) === dstOff)) {
    throw new RangeError(`destination offset must be a non-negative integer, got ${dstOff}`);
  }
  return dstOff + n <= dst.length;
}
