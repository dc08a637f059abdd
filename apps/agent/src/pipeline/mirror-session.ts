import { FrameBatch } from '@netmirror/packet';
import type { RuleSet } from '@netmirror/rules';
import type { InterfaceTotals, Sink, SinkStats } from '../sinks/index.js';
import { MAX_ENCAP_OVERHEAD, PcapngSink } from '../sinks/index.js';
import type { Tap } from '../taps/index.js';
import type { PipelineCounters, RuleCounters } from './counters.js';
import { newPipelineCounters } from './counters.js';
import { PendingConfiguration } from './pending-configuration.js';
import type { Pending } from './pending-configuration.js';
import { Pipeline } from './pipeline.js';

/** What the session mirrors where; replaceable while it runs (`reconfigure`). */
export interface MirrorConfig {
  ruleSet: RuleSet;
  /** Every destination by name. */
  sinks: ReadonlyMap<string, Sink>;
  /** Destinations of rules that name none. */
  defaultSinks: readonly Sink[];
  filter?: string;
}

export interface MirrorSessionOptions extends MirrorConfig {
  tap: Tap;
  batchSize?: number;
  /** Called about every `progressMs` with the counters so far. */
  onProgress?: (counters: PipelineCounters, elapsedSec: number) => void;
  progressMs?: number;
  /**
   * Replay an offline source in time instead of as fast as possible: at
   * `speed` times its recorded pace, or at a fixed `pps`. A paced replay is
   * live traffic to the destinations: a full queue drops, nothing waits.
   */
  pace?: Pace;
}

export type Pace = { speed: number } | { pps: number };

export interface DestinationSummary extends SinkStats {
  name: string;
  uri: string;
  lastError: string | null;
  /** Copies waiting in the destination's queue (live snapshots only). */
  queued?: number;
}

export interface InterfaceSummary {
  /** The interface's name, or the source URI when it has none. */
  name: string;
  read: number;
  bytes: number;
  dropped: number;
}

export interface MirrorSummary {
  source: string;
  elapsedSec: number;
  counters: PipelineCounters;
  rules: RuleCounters[];
  /** Frames the source lost before the pipeline saw them (the kernel's ring drops, a file's recorded drops). */
  sourceDropped: number;
  /** Per captured interface: frames read and lost by the source. */
  interfaces: InterfaceSummary[];
  destinations: DestinationSummary[];
  /** Why reading stopped early (a damaged file), or null. */
  sourceError: string | null;
}

/** What the daemon and the CLI drive: a running mirror, reconfigurable, with counters. */
export interface CaptureSession {
  /** Runs until the source ends or `stop()`; resolves with the final counters. */
  run(): Promise<MirrorSummary>;
  stop(): void;
  /** Resolves once `config` is the configuration in effect; rejects, keeping the old one, if it cannot be. */
  reconfigure(config: MirrorConfig): Promise<void>;
  /** The counters so far. */
  snapshot(): MirrorSummary;
}

/**
 * Runs a tap through the pipeline into its destinations until the source ends
 * (or `stop()`), then drains and closes every destination. An offline source
 * waits for slow destinations; a live one never does.
 */
export class MirrorSession implements CaptureSession {
  private stopped = false;
  private ended = false;
  /** Destinations of the configuration in effect. */
  private active: Sink[];
  /** Every destination used since the start (the summary reports them all). */
  private readonly used: Sink[];
  private readonly pending = new PendingConfiguration();
  /** Destinations being drained after a reconfiguration retired them. */
  private readonly retiring: Promise<void>[] = [];
  private pipeline: Pipeline | null = null;
  private startedAt = 0n;
  /** The configuration in effect. */
  private config: MirrorConfig;
  /** A configuration whose destinations are open, waiting to be committed. */
  private switching: (Pending & { added: Sink[] }) | null = null;

  constructor(private readonly options: MirrorSessionOptions) {
    this.config = options;
    this.active = sinksOf(options);
    this.used = [...this.active];
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Replaces rules, filter and destinations between two batches, without
   * stopping the capture: each frame is handled by exactly one configuration.
   * New destinations are opened first (a failure leaves the old configuration
   * running and rejects); retired ones drain in the background. Resolves once
   * the new configuration is the one in effect.
   */
  reconfigure(config: MirrorConfig): Promise<void> {
    return this.pending.offer(config);
  }

  async run(): Promise<MirrorSummary> {
    const o = this.options;
    const batch = new FrameBatch(o.batchSize ?? 1024);
    const pipeline = new Pipeline({
      ruleSet: o.ruleSet,
      sinks: o.sinks,
      defaultSinks: o.defaultSinks,
      filter: o.filter,
      batchCapacity: batch.capacity,
    });
    // Frames the filter and the rules all reject stay in the kernel (the pipeline still decides).
    o.tap.prefilter?.set(o.filter, o.ruleSet.rules);
    this.pipeline = pipeline;
    const started = (this.startedAt = process.hrtime.bigint());
    const elapsed = (): number => Number(process.hrtime.bigint() - started) / 1e9;
    let sourceError: string | null = null;
    let drops: number[] = [];
    // Taps know their interfaces once open (a pcapng file's are read up to the first frame).
    await Promise.all(this.active.map((s) => s.open(o.tap.interfaces)));
    let lastProgress = 0;
    let lastYield = Date.now();
    const pacer = o.pace ? new Pacer(o.pace) : null;
    try {
      for (;;) {
        if (this.stopped) break;
        if (this.switching && o.tap.prefilter!.caughtUp()) this.commit(pipeline, batch.capacity);
        if (this.pending.waiting && !this.switching)
          await this.applyPending(pipeline, batch.capacity);
        const sinks = this.active;
        let n: number;
        try {
          // A quiet live tap wakes up now and then: a stop or a new configuration is not held up.
          let wait = o.tap.ready();
          while (wait !== null && !this.stopped && !this.configurationDue()) {
            await wait;
            wait = o.tap.ready();
          }
          if (this.stopped) break;
          if (wait !== null) continue; // apply the new configuration first
          n = o.tap.next(batch);
        } catch (err) {
          sourceError = (err as Error).message;
          n = 0;
        }
        if (n === 0) break;
        if (n < 0) continue;
        if (pacer !== null) {
          await pacer.process(pipeline, batch, o.tap.linkTypes, sinks, () => this.stopped);
        } else if (o.tap.live && !o.tap.backlog) {
          pipeline.process(batch, o.tap.linkTypes);
          for (const s of sinks) s.flush();
        } else {
          // A live tap with a buffer of its own (the kernel ring) waits for full destinations
          // while that buffer is less than 3/4 full; then slow destinations drop, capture goes on.
          const mayWait = o.tap.backlog ? () => o.tap.backlog!() < 0.75 : () => true;
          await processWithRoom(pipeline, batch, o.tap.linkTypes, sinks, mayWait);
        }
        if (Date.now() - lastYield >= YIELD_MS) {
          // Let write callbacks, retries and signals (Ctrl-C) run.
          lastYield = Date.now();
          await new Promise((r) => setImmediate(r));
        }
        if (o.onProgress && Date.now() - lastProgress >= (o.progressMs ?? 250)) {
          lastProgress = Date.now();
          o.onProgress(pipeline.counters, elapsed());
        }
      }
    } finally {
      o.tap.close();
      drops = o.tap.sourceDrops();
      const totals: InterfaceTotals[] = o.tap.interfaces.map((_, i) => ({
        received: pipeline.readPerInterface[i] ?? 0,
        sourceDropped: drops[i] ?? 0,
      }));
      for (const s of this.active) if (s instanceof PcapngSink) s.setInterfaceTotals(totals);
      this.ended = true;
      this.pending.close();
      this.switching?.done(new Error('the mirror session has ended'));
      this.switching = null;
      await Promise.all([...this.active.map((s) => s.close()), ...this.retiring]);
    }
    return {
      source: o.tap.uri,
      elapsedSec: elapsed(),
      counters: { ...pipeline.counters },
      rules: pipeline.ruleCounters.map((r) => ({ ...r })),
      sourceDropped: sum(drops),
      interfaces: interfaceSummaries(o.tap, pipeline, drops),
      destinations: this.used.map((s) => ({
        name: s.name,
        uri: s.uri,
        ...s.stats,
        lastError: s.lastError,
      })),
      sourceError,
    };
  }

  /** The counters so far, while running (for telemetry and metrics). */
  snapshot(): MirrorSummary {
    const p = this.pipeline;
    return {
      source: this.options.tap.uri,
      elapsedSec:
        this.startedAt === 0n ? 0 : Number(process.hrtime.bigint() - this.startedAt) / 1e9,
      counters: p ? { ...p.counters } : newPipelineCounters(),
      rules: p ? p.ruleCounters.map((r) => ({ ...r })) : [],
      ...this.sourceSnapshot(p),
      destinations: this.active.map((s) => ({
        name: s.name,
        uri: s.uri,
        ...s.stats,
        lastError: s.lastError,
      })),
      sourceError: null,
    };
  }

  /** Source losses and per-interface counts while running (the kernel's counters are read now). */
  private sourceSnapshot(p: Pipeline | null): Pick<MirrorSummary, 'sourceDropped' | 'interfaces'> {
    const drops = this.ended ? [] : this.options.tap.sourceDrops();
    return {
      sourceDropped: sum(drops),
      interfaces: p ? interfaceSummaries(this.options.tap, p, drops) : [],
    };
  }

  /** A new configuration waits to be applied, or to be committed now that the tap has caught up. */
  private configurationDue(): boolean {
    return this.switching ? this.options.tap.prefilter!.caughtUp() : this.pending.waiting;
  }

  /**
   * Opens the new destinations; then, on a tap that filters in the kernel,
   * lets every frame through and commits only once the frames the old
   * kernel filter let by have all been handled (so no frame the new rules
   * want was dropped in the kernel under the old ones); elsewhere commits now.
   */
  private async applyPending(pipeline: Pipeline, batchCapacity: number): Promise<void> {
    const { config, done } = this.pending.take()!;
    const added = sinksOf(config).filter((s) => !this.active.includes(s));
    try {
      await Promise.all(added.map((s) => s.open(this.options.tap.interfaces)));
    } catch (err) {
      await Promise.allSettled(added.map((s) => s.close()));
      done(err as Error);
      return;
    }
    this.switching = { config, done, added };
    if (this.options.tap.prefilter) this.options.tap.prefilter.open();
    else this.commit(pipeline, batchCapacity);
  }

  /** Puts the opened configuration in force between two batches. */
  private commit(pipeline: Pipeline, batchCapacity: number): void {
    const { config, done, added } = this.switching!;
    this.switching = null;
    const prefilter = this.options.tap.prefilter;
    try {
      pipeline.reconfigure({ ...config, batchCapacity });
    } catch (err) {
      prefilter?.set(this.config.filter, this.config.ruleSet.rules); // as it was
      for (const s of added) this.retiring.push(s.close());
      done(err as Error);
      return;
    }
    try {
      prefilter?.set(config.filter, config.ruleSet.rules);
    } catch {
      // The kernel filter stays open (everything through): slower, never wrong.
    }
    const next = sinksOf(config);
    const retired = this.active.filter((s) => !next.includes(s));
    this.active = next;
    this.config = config;
    for (const s of added) if (!this.used.includes(s)) this.used.push(s);
    for (const s of retired) this.retiring.push(s.close());
    done();
  }
}

function interfaceSummaries(
  tap: Tap,
  pipeline: Pipeline,
  drops: readonly number[],
): InterfaceSummary[] {
  return tap.interfaces.map((f, i) => ({
    name: f.name ?? tap.uri,
    read: pipeline.readPerInterface[i] ?? 0,
    bytes: pipeline.bytesPerInterface[i] ?? 0,
    dropped: drops[i] ?? 0,
  }));
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** Every destination of a configuration, once each. */
function sinksOf(config: MirrorConfig): Sink[] {
  return [...new Set([...config.sinks.values(), ...config.defaultSinks])];
}

/** The longest the session keeps the event loop busy without a turn. */
const YIELD_MS = 20;
/** The longest a paced replay sleeps at once (so a stop is noticed). */
const MAX_SLEEP_MS = 100;

/** Releases frames when their (scaled) recorded time, or their turn at a fixed rate, comes. */
class Pacer {
  private startWallNs = -1;
  private firstSec = 0;
  private firstNsec = 0;
  private released = 0;

  constructor(private readonly pace: Pace) {
    const rate = 'speed' in pace ? pace.speed : pace.pps;
    if (!(rate > 0)) throw new RangeError('pace: speed and pps must be > 0');
  }

  /** Nanoseconds after the start at which frame i of the batch is due. */
  private due(batch: FrameBatch, i: number): number {
    if ('pps' in this.pace) return (this.released * 1e9) / this.pace.pps;
    return (
      ((batch.tsSec[i] - this.firstSec) * 1e9 + (batch.tsNsec[i] - this.firstNsec)) /
      this.pace.speed
    );
  }

  async process(
    pipeline: Pipeline,
    batch: FrameBatch,
    linkTypes: ArrayLike<number>,
    sinks: readonly Sink[],
    stopped: () => boolean,
  ): Promise<void> {
    pipeline.prepare(batch, linkTypes);
    if (this.startWallNs < 0 && batch.count > 0) {
      this.startWallNs = nowNs();
      this.firstSec = batch.tsSec[0];
      this.firstNsec = batch.tsNsec[0];
    }
    let i = 0;
    while (i < batch.count && !stopped()) {
      const now = nowNs() - this.startWallNs;
      let j = i;
      while (j < batch.count && this.due(batch, j) <= now) {
        j++;
        this.released++;
      }
      if (j > i) {
        pipeline.processRange(i, j);
        for (const s of sinks) s.flush();
        i = j;
      } else {
        const waitMs = Math.min(MAX_SLEEP_MS, Math.max(1, (this.due(batch, i) - now) / 1e6));
        await new Promise((r) => setTimeout(r, waitMs));
      }
    }
    pipeline.finishBatch();
  }
}

function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/**
 * The batch goes through in runs that fit every destination's free queue
 * space, waiting for the destinations to drain in between while `mayWait()`.
 * An offline source can always wait, so it never drops (the file is read no
 * faster than the slowest destination takes it, as `tcpdump -r -w` does). A
 * live source waits while its own buffer has room, riding out a stalled
 * destination; past that the rest goes through and full queues drop.
 */
async function processWithRoom(
  pipeline: Pipeline,
  batch: FrameBatch,
  linkTypes: ArrayLike<number>,
  sinks: readonly Sink[],
  mayWait: () => boolean,
): Promise<void> {
  pipeline.prepare(batch, linkTypes);
  const n = batch.count;
  let i = 0;
  while (i < n) {
    let bytes = Infinity;
    let messages = Infinity;
    for (const s of sinks) {
      const room = s.room();
      bytes = Math.min(bytes, room.bytes);
      messages = Math.min(messages, room.messages);
    }
    let j = i;
    for (let used = 0; j < n && j - i < messages; j++) {
      used += batch.caplen[j] + MAX_ENCAP_OVERHEAD;
      if (used > bytes) break;
    }
    if (j === i) {
      const busy = sinks.filter((s) => s.pending > 0);
      if (busy.length === 0) {
        j = i + 1; // larger than an empty queue: it is dropped and counted
      } else if (mayWait()) {
        const drained = Promise.all(busy.map((s) => s.waitForRoom(s.fill() > 0.25 ? 0.25 : 0)));
        await Promise.race([drained, new Promise((r) => setTimeout(r, RECHECK_MS))]);
        continue;
      } else {
        j = n;
      }
    }
    pipeline.processRange(i, j);
    for (const s of sinks) s.flush();
    i = j;
  }
  pipeline.finishBatch();
}

/** How often a live source waiting for its destinations looks at its own buffer again. */
const RECHECK_MS = 5;
