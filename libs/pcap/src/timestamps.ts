/**
 * Exact conversions between 64-bit capture timestamps (two unsigned 32-bit
 * halves, in units of 10^-e or 2^-e seconds) and NetMirror's (seconds,
 * nanoseconds) pair, without BigInt and without losing precision when the
 * tick count is beyond 2^53 (any nanosecond timestamp after 1970-04-15).
 *
 * The trick: long division over 16-bit limbs. With a divisor d <= 2^36 every
 * partial dividend `r * 65536 + limb` stays below 2^53, so plain doubles
 * hold it exactly.
 */

/** pcapng `if_tsresol` of microseconds (the pcapng default) and nanoseconds. */
export const TSRESOL_US = 6;
export const TSRESOL_NS = 9;

const TWO32 = 4294967296;

/** A compiled timestamp resolution (from an `if_tsresol` byte). */
export interface TsResolution {
  /** The raw `if_tsresol` byte: 0..127 = 10^-n s, 0x80|n = 2^-n s. */
  readonly raw: number;
  /** Ticks per second, as a double (exact up to 2^53). */
  readonly ticksPerSec: number;
  /** 0: power of ten <= 10^9 (fast path); 1: other power of ten; 2: power of two. */
  readonly kind: 0 | 1 | 2;
  /** Exponent n. */
  readonly exp: number;
  /** kind 0: nanoseconds per tick (10^(9-n)). */
  readonly nsPerTick: number;
}

const resolutions = new Map<number, TsResolution>();

/** Compiles an `if_tsresol` byte (0x06 = µs, 0x09 = ns, 0x94 = 2^-20 s). */
export function tsResolution(raw: number): TsResolution {
  let r = resolutions.get(raw);
  if (r) return r;
  const exp = raw & 0x7f;
  if (raw & 0x80) {
    r = { raw, ticksPerSec: 2 ** exp, kind: 2, exp, nsPerTick: 0 };
  } else if (exp <= 9) {
    r = { raw, ticksPerSec: 10 ** exp, kind: 0, exp, nsPerTick: 10 ** (9 - exp) };
  } else {
    r = { raw, ticksPerSec: 10 ** exp, kind: 1, exp, nsPerTick: 0 };
  }
  resolutions.set(raw, r);
  return r;
}

/**
 * Splits the tick count hi*2^32+lo into whole seconds and nanoseconds
 * (truncating sub-nanosecond digits), writing out[0] = sec, out[1] = nsec.
 * `hi` and `lo` are unsigned 32-bit values.
 */
export function ticksToTime(hi: number, lo: number, res: TsResolution, out: Float64Array): void {
  if (res.kind === 0) {
    const d = res.ticksPerSec;
    if (hi < 0x200000) {
      // below 2^53: one exact division (µs timestamps until year 2255)
      const t = hi * TWO32 + lo;
      let q = Math.floor(t / d);
      let r = t - q * d;
      if (r < 0) {
        q -= 1;
        r += d;
      } else if (r >= d) {
        q += 1;
        r -= d;
      }
      out[0] = q;
      out[1] = r * res.nsPerTick;
      return;
    }
    // four 16-bit limbs, each step exact (d <= 10^9 < 2^36); unrolled on purpose:
    // every nanosecond pcapng timestamp comes here, and a loop measured 40% slower
    let c = hi >>> 16;
    let q3 = Math.floor(c / d);
    let r = c - q3 * d;
    c = r * 65536 + (hi & 0xffff);
    let q2 = Math.floor(c / d);
    r = c - q2 * d;
    if (r < 0) {
      q2 -= 1;
      r += d;
    } else if (r >= d) {
      q2 += 1;
      r -= d;
    }
    c = r * 65536 + (lo >>> 16);
    let q1 = Math.floor(c / d);
    r = c - q1 * d;
    if (r < 0) {
      q1 -= 1;
      r += d;
    } else if (r >= d) {
      q1 += 1;
      r -= d;
    }
    c = r * 65536 + (lo & 0xffff);
    let q0 = Math.floor(c / d);
    r = c - q0 * d;
    if (r < 0) {
      q0 -= 1;
      r += d;
    } else if (r >= d) {
      q0 += 1;
      r -= d;
    }
    if (q3 < 0) q3 = 0;
    out[0] = ((q3 * 65536 + q2) * 65536 + q1) * 65536 + q0;
    out[1] = r * res.nsPerTick;
    return;
  }
  slowTicksToTime(hi, lo, res, out);
}

// ---- slow, general path (unusual resolutions) over 16-bit limbs, most significant first

const limbs = new Float64Array(8);

function loadLimbs(hi: number, lo: number, n: number): void {
  limbs.fill(0);
  limbs[n - 4] = hi >>> 16;
  limbs[n - 3] = hi & 0xffff;
  limbs[n - 2] = lo >>> 16;
  limbs[n - 1] = lo & 0xffff;
}

/** limbs[0..n) /= d (d <= 2^36) in place; returns the remainder. */
function divLimbs(n: number, d: number): number {
  let r = 0;
  for (let i = 0; i < n; i++) {
    const c = r * 65536 + limbs[i];
    let q = Math.floor(c / d);
    r = c - q * d;
    if (r < 0) {
      q -= 1;
      r += d;
    } else if (r >= d) {
      q += 1;
      r -= d;
    }
    limbs[i] = q;
  }
  return r;
}

/** limbs[0..n) *= m (m <= 65536) in place. */
function mulLimbs(n: number, m: number): void {
  let carry = 0;
  for (let i = n - 1; i >= 0; i--) {
    const v = limbs[i] * m + carry;
    const l = v % 65536;
    limbs[i] = l;
    carry = (v - l) / 65536;
  }
}

/** Value of limbs[0..n) as a double (exact below 2^53). */
function limbsValue(n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 65536 + limbs[i];
  return v;
}

/** limbs[0..n) >>= bits in place. */
function shrLimbs(n: number, bits: number): void {
  const whole = Math.floor(bits / 16);
  const part = bits % 16;
  for (let i = n - 1; i >= 0; i--) {
    const src = i - whole;
    const a = src >= 0 ? limbs[src] : 0;
    const b = src - 1 >= 0 ? limbs[src - 1] : 0;
    limbs[i] = part === 0 ? a : ((a >>> part) | (b << (16 - part))) & 0xffff;
  }
}

function slowTicksToTime(hi: number, lo: number, res: TsResolution, out: Float64Array): void {
  if (res.kind === 1) {
    // floor(ticks / 10^(e-9)) is the time in ns; divide in steps of <= 10^9
    loadLimbs(hi, lo, 4);
    let e = res.exp - 9;
    while (e > 0) {
      const step = Math.min(e, 9);
      divLimbs(4, 10 ** step);
      e -= step;
    }
    const nsec = divLimbs(4, 1e9);
    out[0] = limbsValue(4);
    out[1] = nsec;
    return;
  }
  // power of two: sec = ticks >> e; nsec = ((ticks mod 2^e) * 10^9) >> e
  const e = res.exp;
  loadLimbs(hi, lo, 4);
  shrLimbs(4, Math.min(e, 64));
  out[0] = e >= 64 ? 0 : limbsValue(4);
  loadLimbs(hi, lo, 8);
  if (e < 64) {
    // clear the bits at and above e (the whole seconds)
    for (let i = 7; i >= 0; i--) {
      const bitLo = (7 - i) * 16;
      if (bitLo >= e) limbs[i] = 0;
      else if (bitLo + 16 > e) limbs[i] = limbs[i] & ((1 << (e - bitLo)) - 1);
    }
  }
  mulLimbs(8, 50000);
  mulLimbs(8, 20000);
  shrLimbs(8, e);
  out[1] = limbsValue(8);
}

/**
 * Encodes (sec, nsec) as a count of nanoseconds (nanosecond = true) or
 * microseconds, split into unsigned 32-bit halves: out[0] = hi, out[1] = lo.
 * Exact for any sec in 0..2^32 and beyond.
 */
export function timeToTicks(
  sec: number,
  nsec: number,
  nanosecond: boolean,
  out: Float64Array,
): void {
  if (!nanosecond) {
    const t = sec * 1e6 + Math.floor(nsec / 1000); // < 2^53 until year 2255
    const hi = Math.floor(t / TWO32);
    out[0] = hi;
    out[1] = t - hi * TWO32;
    return;
  }
  // sec*1e9 + nsec = (sHi*1e9)*2^16 + (sLo*1e9 + nsec), all parts exact
  const sHi = Math.floor(sec / 65536);
  const sLo = sec - sHi * 65536;
  const a = sHi * 1e9; // < 2^53 for sec < 2^39
  const aHi = Math.floor(a / 65536);
  const aLo = a - aHi * 65536;
  const c = aLo * 65536 + sLo * 1e9 + nsec; // < 2^48
  const cHi = Math.floor(c / TWO32);
  out[0] = aHi + cHi;
  out[1] = c - cHi * TWO32;
}
