import type { Sink } from './sink.js';

/** Outer IP header bytes the kernel adds. */
export function ipHeaderLength(family: 4 | 6): number {
  return family === 4 ? 20 : 40;
}

/**
 * The part of a `caplen`-byte copy that fits an outer packet of `mtu` bytes
 * after `overhead` bytes of encapsulation, counting a cut as truncated (as AWS
 * Traffic Mirroring truncates mirrored packets to fit). `mtu` 0: no limit, the
 * kernel fragments oversized packets.
 */
export function innerLimit(
  sink: Sink,
  caplen: number,
  mtu: number,
  family: 4 | 6,
  overhead: number,
): number {
  if (mtu <= 0) return caplen;
  const room = mtu - ipHeaderLength(family) - overhead;
  if (caplen <= room) return caplen;
  sink.stats.truncated++;
  return Math.max(room, 0);
}
