// Fault injection for tests and the board emulator: drops and corrupts
// bytes with a seeded, deterministic PRNG, and delays writes, so a failing
// run can be replayed exactly.
import { CloseSignal, Listeners, type ByteTransport } from './transport.js';

export interface FaultOptions {
  /** PRNG seed (default 1): the same seed and traffic give the same faults. */
  seed?: number;
  /** Probability that a byte is lost. */
  dropProbability?: number;
  /** Probability that a byte has one random bit flipped. */
  corruptProbability?: number;
  /** Which bytes the faults hit (default 'both'). */
  direction?: 'in' | 'out' | 'both';
  /** Delay before outgoing bytes reach the wrapped transport (order is kept). */
  delayMs?: number;
}

export interface FaultStats {
  dropped: number;
  corrupted: number;
}

/** mulberry32: tiny, fast, good enough to pick bytes to break. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Wraps a ByteTransport, damaging bytes as configured (changeable at any time). */
export class FaultyTransport implements ByteTransport {
  readonly stats: FaultStats = { dropped: 0, corrupted: 0 };
  private options: Required<FaultOptions>;
  private random: () => number;
  private readonly data = new Listeners<[Buffer]>();
  private readonly closed = new CloseSignal();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly inner: ByteTransport,
    options: FaultOptions = {},
  ) {
    this.options = {
      seed: 1,
      dropProbability: 0,
      corruptProbability: 0,
      direction: 'both',
      delayMs: 0,
      ...options,
    };
    this.random = prng(this.options.seed);
    // One inner listener, so every listener here sees the same damage.
    inner.onData((chunk) => {
      const data = this.hits('in') ? this.mangle(chunk) : chunk;
      if (data.length > 0) this.data.emit(data);
    });
    inner.onClose((err) => this.closed.fire(err));
  }

  /** Changes some options; a new seed restarts the PRNG. */
  configure(options: FaultOptions): void {
    this.options = { ...this.options, ...options };
    if (options.seed !== undefined) this.random = prng(options.seed);
  }

  write(data: Buffer): void {
    if (this.closed.closed) return;
    const out = this.hits('out') ? this.mangle(data) : data;
    if (out.length === 0) return;
    if (this.options.delayMs <= 0) {
      this.inner.write(out);
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.inner.write(out);
    }, this.options.delayMs);
    this.timers.add(timer);
  }

  onData(cb: (chunk: Buffer) => void): void {
    this.data.add(cb);
  }

  onClose(cb: (err?: Error) => void): void {
    this.closed.add(cb);
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.inner.close();
    this.closed.fire();
  }

  private hits(direction: 'in' | 'out'): boolean {
    const { direction: d, dropProbability, corruptProbability } = this.options;
    return (d === 'both' || d === direction) && dropProbability + corruptProbability > 0;
  }

  /** A damaged copy of `data`; one PRNG draw decides each byte's fate. */
  private mangle(data: Buffer): Buffer {
    const { dropProbability: drop, corruptProbability: corrupt } = this.options;
    const out = Buffer.allocUnsafe(data.length);
    let n = 0;
    for (let i = 0; i < data.length; i++) {
      const r = this.random();
      if (r < drop) {
        this.stats.dropped++;
        continue;
      }
      let b = data[i];
      if (r < drop + corrupt) {
        b ^= 1 << Math.floor(this.random() * 8);
        this.stats.corrupted++;
      }
      out[n++] = b;
    }
    return out.subarray(0, n);
  }
}
