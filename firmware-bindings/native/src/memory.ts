import { native } from './native.js';

/**
 * Copies `src[srcOffsets[i] .. +lengths[i])` to `dst[dstOffsets[i] ..]` for
 * i < count in one native call (memmove each). Every descriptor is checked
 * first: one outside a buffer throws a RangeError and nothing is copied.
 */
export function copyBatch(
  src: Uint8Array,
  srcOffsets: Int32Array,
  dst: Uint8Array,
  dstOffsets: Int32Array,
  lengths: Int32Array,
  count: number,
): void {
  native.copyBatch(src, srcOffsets, dst, dstOffsets, lengths, count);
}
