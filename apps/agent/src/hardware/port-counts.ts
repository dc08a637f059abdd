import type { PortCounters } from '@netmirror/fpga';

export type PortCounterKey = Exclude<keyof PortCounters, 'name'>;
const KEYS: PortCounterKey[] = ['rxFrames', 'rxBytes', 'txFrames', 'txBytes', 'overflowDrops'];

/**
 * A board's port counters as counts since the session started: the board
 * counts from its own boot, and starts over when it restarts; a reconnect
 * finds it mid-count. What was counted before either is carried over.
 */
export class PortCounts {
  private last: PortCounters[] = [];
  private base: PortCounters[] = [];
  private carried: number[][] = [];

  constructor(private readonly ports: number) {}

  /** The board's counters as they are at the start (or after a reconnect): counting goes from here. */
  startFrom(now: PortCounters[]): void {
    this.carry();
    this.base = now;
  }

  /** The board restarted: its counters start again from 0. */
  restarted(): void {
    this.carry();
    this.base = [];
  }

  /** A fresh reading of the board's counters. */
  update(now: PortCounters[]): void {
    this.last = now;
  }

  /** Counter `key` of port `i` since the session started. */
  total(i: number, key: PortCounterKey): number {
    const since = Math.max(0, (this.last[i]?.[key] ?? 0) - (this.base[i]?.[key] ?? 0));
    return (this.carried[i]?.[KEYS.indexOf(key)] ?? 0) + since;
  }

  private carry(): void {
    this.carried = Array.from({ length: this.ports }, (_, i) => KEYS.map((k) => this.total(i, k)));
    this.last = [];
  }
}
