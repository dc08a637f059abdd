/**
 * The mix generator: a deterministic stream of realistic mixed frames,
 * handed one at a time to a callback. One buffer is reused for every frame;
 * the callback must copy what it keeps before returning.
 */
import { Flows } from './flows.js';
import { Topology } from './hosts.js';
import {
  DEFAULT_MIX,
  K_GRE,
  K_VXLAN,
  MALFORMED_KINDS,
  TRAFFIC_KINDS,
  type MalformedKind,
  type TrafficKind,
} from './kinds.js';
import { MalformedWriter } from './malformed.js';
import { RandomBlock } from './random-block.js';
import { Prng } from './prng.js';

/** 2026-01-01T00:00:00Z. */
export const DEFAULT_START_SEC = 1767225600;

export interface CaptureOptions {
  /** Number of frames to emit. */
  frames: number;
  /** Same seed, same frames, byte for byte. */
  seed: number;
  /** Fraction of frames deliberately broken (0..1); default 0. */
  malformedRate?: number;
  /** Timestamp of the first frame, Unix seconds; default 2026-01-01T00:00:00Z. */
  startSec?: number;
  /** Mean idle time between frames outside bursts, ns; default 20,000 (about 40k frames/s). */
  meanGapNs?: number;
  /** Relative share of frames per kind; missing kinds keep their default, 0 disables a kind. */
  mix?: Partial<Record<TrafficKind, number>>;
  /** Largest frame, without FCS, tags and tunnel headers included; default 1514 (512..9000). */
  maxFrameLength?: number;
}

/** Receives each frame: `buf[off, off + len)`, valid only during the call. */
export type EmitFrame = (
  buf: Buffer,
  off: number,
  len: number,
  tsSec: number,
  tsNsec: number,
) => void;

export interface CaptureStats {
  frames: number;
  bytes: number;
  /** Well-formed frames per kind. */
  byKind: Record<TrafficKind, number>;
  malformed: number;
  malformedByKind: Record<MalformedKind, number>;
  /** Frames with at least one outer VLAN tag (QinQ included). */
  vlanTagged: number;
  /** Frames with two outer tags. */
  qinq: number;
  /** Frames with an MPLS label stack. */
  mpls: number;
  minLength: number;
  maxLength: number;
  firstTs: { sec: number; nsec: number };
  lastTs: { sec: number; nsec: number };
}

const POOL_SIZES = [400, 100, 120, 40, 16, 10, 8, 8, 8, 4, 8, 6];

/** Throws a RangeError naming the first invalid option. */
export function checkOptions(o: CaptureOptions): void {
  if (!Number.isInteger(o.frames) || o.frames < 0)
    throw new RangeError(`capgen: frames must be a non-negative integer, got ${o.frames}`);
  if (!Number.isFinite(o.seed))
    throw new RangeError(`capgen: seed must be a number, got ${o.seed}`);
  const r = o.malformedRate ?? 0;
  if (!(r >= 0 && r <= 1))
    throw new RangeError(`capgen: malformedRate must be within [0, 1], got ${r}`);
  const m = o.maxFrameLength ?? 1514;
  if (!Number.isInteger(m) || m < 512 || m > 9000)
    throw new RangeError(`capgen: maxFrameLength must be 512..9000, got ${m}`);
  for (const [k, w] of Object.entries(o.mix ?? {})) {
    if (!(TRAFFIC_KINDS as readonly string[]).includes(k))
      throw new RangeError(`capgen: unknown traffic kind ${k}`);
    if (!(typeof w === 'number' && w >= 0 && Number.isFinite(w)))
      throw new RangeError(`capgen: mix weight for ${k} must be >= 0`);
  }
}

/** Generates `options.frames` frames and passes each to `emit`; returns what was emitted. */
export function generateCapture(options: CaptureOptions, emit: EmitFrame): CaptureStats {
  checkOptions(options);
  const rng = new Prng(options.seed);
  const malformedRate = options.malformedRate ?? 0;
  const maxFrame = options.maxFrameLength ?? 1514;
  const meanGap = options.meanGapNs ?? 20_000;

  const block = new RandomBlock(rng);
  const topo = new Topology(rng);

  const weights = TRAFFIC_KINDS.map((k) => options.mix?.[k] ?? DEFAULT_MIX[k]);
  if (weights.some((w) => !(w >= 0)) || weights.every((w) => w === 0)) {
    throw new RangeError('capgen: mix weights must be >= 0 and not all zero');
  }
  const cum = new Float64Array(weights.length);
  weights.reduce((acc, w, i) => (cum[i] = acc + w), 0);

  const tunnels = POOL_SIZES[K_VXLAN] + POOL_SIZES[K_GRE];
  const total = POOL_SIZES.reduce((a, b) => a + b, 0) + tunnels;
  const wraps = { vlan: 0, qinq: 0, mpls: 0 };
  const flows = new Flows(total, rng, topo, block, wraps);
  const poolStart = new Int32Array(POOL_SIZES.length);
  let slot = 0;
  let innerSlot = total - tunnels;
  for (let k = 0; k < POOL_SIZES.length; k++) {
    poolStart[k] = slot;
    for (let i = 0; i < POOL_SIZES[k]; i++, slot++) {
      if (k === K_VXLAN || k === K_GRE) flows.inner[slot] = innerSlot++;
      flows.init(slot, k, maxFrame, false);
    }
  }
  const malformedWriter = new MalformedWriter(rng, topo, block.bytes);

  const byKind = new Float64Array(TRAFFIC_KINDS.length);
  const byMalformed = new Float64Array(MALFORMED_KINDS.length);
  const buf = Buffer.alloc(16384);
  let sec = options.startSec ?? DEFAULT_START_SEC;
  let nsec = 0;
  let prevLen = 0;
  let bytes = 0;
  let minLen = Infinity;
  let maxLen = 0;
  let malformed = 0;

  for (let n = 0; n < options.frames; n++) {
    if (n > 0) {
      // Serialisation at 10 Gb/s plus an idle gap: bursts, ordinary gaps, rare pauses.
      let gap = Math.ceil((prevLen + 24) * 0.8);
      const r = rng.float();
      if (r < 0.3) gap += rng.int(200);
      else if (r < 0.999) gap += Math.round(rng.exp(meanGap));
      else gap += rng.range(1_000_000, 50_000_000);
      nsec += gap;
      while (nsec >= 1e9) {
        nsec -= 1e9;
        sec++;
      }
    }
    flows.nowSec = sec;
    flows.nowNsec = nsec;
    let len: number;
    if (malformedRate > 0 && rng.float() < malformedRate) {
      const k = rng.int(MALFORMED_KINDS.length);
      len = malformedWriter.write(k, buf, 0);
      byMalformed[k]++;
      malformed++;
    } else {
      const k = rng.pick(cum);
      len = flows.emit(poolStart[k] + rng.int(POOL_SIZES[k]), buf, 0);
      byKind[k]++;
    }
    emit(buf, 0, len, sec, nsec);
    prevLen = len;
    bytes += len;
    if (len < minLen) minLen = len;
    if (len > maxLen) maxLen = len;
  }

  const startSec = options.startSec ?? DEFAULT_START_SEC;
  return {
    frames: options.frames,
    bytes,
    byKind: Object.fromEntries(TRAFFIC_KINDS.map((k, i) => [k, byKind[i]])) as Record<
      TrafficKind,
      number
    >,
    malformed,
    malformedByKind: Object.fromEntries(
      MALFORMED_KINDS.map((k, i) => [k, byMalformed[i]]),
    ) as Record<MalformedKind, number>,
    vlanTagged: wraps.vlan,
    qinq: wraps.qinq,
    mpls: wraps.mpls,
    minLength: options.frames === 0 ? 0 : minLen,
    maxLength: maxLen,
    firstTs: { sec: startSec, nsec: 0 },
    lastTs: { sec, nsec },
  };
}
