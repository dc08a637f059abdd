import type { FrameBatch } from '@netmirror/packet';
import type { SourceInterface } from '../sinks/index.js';
import type { KernelPrefilter, Tap } from './tap.js';

/**
 * Several taps as one source: each batch comes from one tap, taken in turn
 * among those with frames ready, and its interface indexes are shifted so
 * every tap's interfaces stay distinct (a pcapng recording gets one interface
 * block per tapped interface). All live or all files: a file would otherwise
 * hold back live capture.
 */
export class MergedTap implements Tap {
  readonly uri: string;
  readonly live: boolean;
  private readonly open: boolean[];
  private turn = 0;
  private chosen = -1;
  private linkTypeCache: number[] = [];

  constructor(private readonly taps: readonly Tap[]) {
    if (taps.length === 0) throw new Error('no capture source');
    if (taps.some((t) => t.live !== taps[0].live))
      throw new Error(
        `cannot capture live and from files at once (${taps.map((t) => t.uri).join(', ')})`,
      );
    this.uri = taps.map((t) => t.uri).join(' + ');
    this.live = taps[0].live;
    this.open = taps.map(() => true);
    if (taps.every((t) => t.backlog))
      this.backlog = () => Math.max(...taps.map((t) => t.backlog!()));
    if (taps.every((t) => t.prefilter)) {
      const all = taps.map((t) => t.prefilter!);
      this.prefilter = {
        set: (filter, rules) => all.forEach((p) => p.set(filter, rules)),
        open: () => all.forEach((p) => p.open()),
        caughtUp: () => all.every((p) => p.caughtUp()),
      };
    }
  }

  readonly prefilter?: KernelPrefilter;
  readonly backlog?: () => number;

  get interfaces(): readonly SourceInterface[] {
    return this.taps.flatMap((t) => t.interfaces);
  }

  get linkTypes(): ArrayLike<number> {
    const all = this.taps.flatMap((t) => Array.from(t.linkTypes));
    if (all.length !== this.linkTypeCache.length || all.some((v, i) => v !== this.linkTypeCache[i]))
      this.linkTypeCache = all;
    return this.linkTypeCache;
  }

  ready(): Promise<void> | null {
    const waits: Promise<void>[] = [];
    for (let k = 0; k < this.taps.length; k++) {
      const i = (this.turn + k) % this.taps.length;
      if (!this.open[i]) continue;
      const wait = this.taps[i].ready();
      if (wait === null) {
        this.chosen = i;
        return null;
      }
      waits.push(wait);
    }
    this.chosen = -1;
    return waits.length === 0 ? null : Promise.race(waits);
  }

  next(batch: FrameBatch): number {
    while (this.chosen >= 0) {
      const i = this.chosen;
      const n = this.taps[i].next(batch);
      this.turn = (i + 1) % this.taps.length;
      if (n > 0) {
        const shift = this.firstInterface(i);
        if (shift > 0) for (let k = 0; k < n; k++) batch.ifIndex[k] += shift;
        return n;
      }
      this.open[i] = false; // that tap ended; the others go on
      if (this.ready() !== null) return -1; // the others have nothing yet
    }
    return this.open.includes(true) ? -1 : 0;
  }

  sourceDrops(): number[] {
    return this.taps.flatMap((t) => {
      const d = t.sourceDrops();
      return t.interfaces.map((_, k) => d[k] ?? 0);
    });
  }

  close(): void {
    for (const t of this.taps) t.close();
  }

  private firstInterface(tap: number): number {
    let n = 0;
    for (let i = 0; i < tap; i++) n += this.taps[i].interfaces.length;
    return n;
  }
}
