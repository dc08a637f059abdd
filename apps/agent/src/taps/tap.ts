import type { FrameBatch } from '@netmirror/packet';
import type { MirrorRule } from '@netmirror/rules';
import type { SourceInterface } from '../sinks/index.js';

/**
 * A capture source. It fills batches of frames with timestamps and the index
 * of the interface each came from. A live tap never waits for destinations;
 * an offline one (a file) may, so replaying a file loses nothing.
 */
export interface Tap {
  /** The URI it was opened from, e.g. `pcap:/data/in.pcapng`. */
  readonly uri: string;
  /** True for live traffic (destinations drop rather than slow capture). */
  readonly live: boolean;
  /** Interfaces known so far; `linkTypes[i]` is interface i's link type. */
  readonly interfaces: readonly SourceInterface[];
  readonly linkTypes: ArrayLike<number>;
  /**
   * Null when `next()` may be called; else a promise to await, after which
   * ask again (a live tap's promise also settles now and then without data,
   * so a stop is noticed on a quiet link).
   */
  ready(): Promise<void> | null;
  /**
   * Fills the batch and returns the frame count: 0 at the end (a live tap:
   * once closed), -1 when there is nothing this time (ask `ready()` again).
   * Throws on damage after yielding all good frames.
   */
  next(batch: FrameBatch): number;
  /**
   * Live taps with a buffer of their own (the kernel ring) have this: how
   * full it is, 0..1. While it is under 3/4 full the session may wait for full
   * destinations instead of dropping their copies.
   */
  backlog?(): number;
  /** Live taps that can drop unwanted frames in the kernel have this. */
  readonly prefilter?: KernelPrefilter;
  /** Frames the source itself reports lost, per interface (kernel or file statistics). */
  sourceDrops(): number[];
  close(): void;
}

/**
 * A filter in the kernel that spares user space the frames nothing wants: at
 * least those the capture filter and a mirror rule select get through (the
 * pipeline still decides; it may let more through). Changing it without a
 * gap: `open()` lets everything through, and once `caughtUp()` every frame
 * still in flight was captured after that, so the new filter can go in.
 */
export interface KernelPrefilter {
  set(filter: string | undefined, rules: readonly MirrorRule[]): void;
  open(): void;
  caughtUp(): boolean;
}
