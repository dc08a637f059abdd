/**
 * How every decoder in this room reports its outcome: a decoded header with
 * `ok: true`, or `ok: false` with a reason and the byte offset where decoding
 * gave up. Decoders never throw on bad input (bad bytes are data, not bugs).
 * Encoders, by contrast, throw `RangeError` for out-of-range header fields
 * (a programming or configuration error) and return -1 when the output does
 * not fit the destination buffer.
 */
export interface DecodeError {
  readonly ok: false;
  /** Human-readable reason, prefixed with the layer, e.g. `vxlan: shorter than 8 bytes`. */
  readonly error: string;
  /** Offset in the input buffer where decoding gave up. */
  readonly at: number;
}

export type DecodeResult<T> = ({ readonly ok: true } & T) | DecodeError;

export function malformed(at: number, error: string): DecodeError {
  return { ok: false, error, at };
}

/** Where the encapsulated (inner) frame sits in the decoded buffer. */
export interface InnerFrame {
  /** Offset of the inner frame's first byte (its Ethernet destination MAC). */
  readonly innerOffset: number;
  /** Bytes of inner frame present, up to the end given to the decoder. */
  readonly innerLength: number;
}

/** Smallest inner frame accepted: an Ethernet header (dst, src, EtherType). */
export const MIN_INNER_FRAME = 14;
