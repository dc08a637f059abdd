import { decodeFrame, FrameBatch, PacketView } from '@netmirror/packet';

import { BpfFilter, RuleMatcher } from '@netmirror/rules';
import type { RuleSet } from '@netmirror/rules';
import type { FrameCopy, Sink } from '../sinks/index.js';
import type { PipelineCounters, RuleCounters } from './counters.js';
import { newPipelineCounters } from './counters.js';
import { Deduplicator } from './dedup.js';

export interface PipelineOptions {
  ruleSet: RuleSet;
  /** Destinations by name (rules refer to these). */
  sinks: ReadonlyMap<string, Sink>;
  /** Where a rule without destinations sends its copies. */
  defaultSinks: readonly Sink[];
  /** Global pcap-filter expression applied before the rules (like a capture filter). */
  filter?: string;
  /** Largest batch the source produces. */
  batchCapacity: number;
}

/** Largest frame a transform may need to rewrite (VLAN stripping). */
const SCRATCH_BYTES = 256 * 1024;

/** Per-rule state the hot loop reads: destinations, transforms, counters. */
interface RuleRoute {
  mirror: boolean;
  sinks: Sink[];
  slice: number;
  sample: number;
  sampleCount: number;
  dedup: Deduplicator | null;
  stripVlan: boolean;
  counters: RuleCounters;
}

/**
 * match -> transform -> fan-out. For each frame the first rule by priority
 * decides; a mirror rule's copies are transformed (dedup, sample, strip VLAN
 * tags, slice, in that order) and offered to each of its destinations'
 * queues. Only copies are touched: the source frame is never modified.
 */
export class Pipeline {
  readonly counters: PipelineCounters = newPipelineCounters();
  ruleCounters: RuleCounters[] = [];
  /** Frames and bytes (captured) read per source interface. */
  readonly readPerInterface: number[] = [];
  readonly bytesPerInterface: number[] = [];
  private matcher!: RuleMatcher;
  private filter: BpfFilter | null = null;
  private routes: RuleRoute[] = [];
  private readonly view = new PacketView();
  private readonly scratch = Buffer.alloc(SCRATCH_BYTES);
  private readonly copy: FrameCopy;
  private allSinks: Sink[] = [];
  private batch: FrameBatch = new FrameBatch(0);
  private linkTypes: ArrayLike<number> = [];

  constructor(options: PipelineOptions) {
    this.copy = {
      src: this.scratch,
      offset: 0,
      caplen: 0,
      wirelen: 0,
      tsSec: 0,
      tsNsec: 0,
      ifIndex: 0,
      flags: 0,
      linkType: 1,
      view: this.view,
      stable: true,
    };
    this.reconfigure(options);
  }

  /**
   * Replaces the rules, filter and destinations. Call it between batches (the
   * session does): every frame is then handled by exactly one configuration.
   * The frame counters carry on; rule counters start again with the new rules.
   */
  reconfigure(options: PipelineOptions): void {
    this.matcher = new RuleMatcher(options.ruleSet, options.batchCapacity);
    this.filter = options.filter ? new BpfFilter(options.filter, options.batchCapacity) : null;
    this.routes = this.matcher.rules.map(({ rule }) => {
      const dedup = rule.transforms.dedup;
      return {
        mirror: rule.action === 'mirror',
        sinks:
          rule.destinations.length === 0
            ? [...options.defaultSinks]
            : rule.destinations.map((d) => sinkNamed(options.sinks, d)),
        slice: rule.transforms.slice ?? 0,
        sample: rule.transforms.sample ?? 1,
        sampleCount: 0,
        dedup: dedup ? new Deduplicator(typeof dedup === 'object' ? dedup.windowMs : 50) : null,
        stripVlan: rule.transforms.stripVlan === true,
        counters: { name: rule.name, matched: 0, sampledOut: 0, deduplicated: 0, mirrored: 0 },
      };
    });
    this.ruleCounters = this.routes.map((r) => r.counters);
    this.allSinks = [...new Set([...options.sinks.values(), ...options.defaultSinks])];
  }

  /** Runs one batch; `linkTypes[ifIndex]` is the link type of each source interface. */
  process(batch: FrameBatch, linkTypes: ArrayLike<number>): void {
    this.prepare(batch, linkTypes);
    this.processRange(0, batch.count);
    this.finishBatch();
  }

  /** Runs the batch-wide BPF programs; then `processRange` over it, then `finishBatch`. */
  prepare(batch: FrameBatch, linkTypes: ArrayLike<number>): void {
    this.batch = batch;
    this.linkTypes = linkTypes;
    if (batch.count === 0) return;
    if (this.filter !== null) this.filter.run(batch, linkTypes);
    this.matcher.prepareBatch(batch, linkTypes);
  }

  /** Frames [start, end) of the prepared batch. */
  processRange(start: number, end: number): void {
    const batch = this.batch;
    const linkTypes = this.linkTypes;
    const c = this.counters;
    const filter = this.filter;
    const view = this.view;
    const buf = batch.buf;
    for (let i = start; i < end; i++) {
      const ifIndex = batch.ifIndex[i];
      c.read++;
      c.bytesRead += batch.caplen[i];
      this.readPerInterface[ifIndex] = (this.readPerInterface[ifIndex] ?? 0) + 1;
      this.bytesPerInterface[ifIndex] = (this.bytesPerInterface[ifIndex] ?? 0) + batch.caplen[i];
      if (filter !== null && filter.bits[i] === 0) {
        c.filteredOut++;
        continue;
      }
      // Like a capture filter, --filter decides before anything else looks:
      // malformed frames are counted among the frames it passes.
      const linkType = linkTypes[ifIndex] ?? 1;
      decodeFrame(buf, batch.offset[i], batch.caplen[i], batch.wirelen[i], linkType, view);
      if (view.malformed !== null) c.malformed++;
      const r = this.matcher.firstMatch(view, i);
      if (r < 0) {
        c.unmatched++;
        continue;
      }
      const route = this.routes[r];
      if (!route.mirror) {
        c.skipped++;
        continue;
      }
      c.matched++;
      route.counters.matched++;
      this.mirror(route, batch, i, linkType);
    }
  }

  /** The batch's frames are about to be reused: finish every deferred copy. */
  finishBatch(): void {
    for (const s of this.allSinks) s.completeBatch();
  }

  private mirror(route: RuleRoute, batch: FrameBatch, i: number, linkType: number): void {
    const c = this.counters;
    const view = this.view;
    let src = batch.buf;
    let offset = batch.offset[i];
    let caplen = batch.caplen[i];
    let wirelen = batch.wirelen[i];
    let stable = true;
    const tsSec = batch.tsSec[i];
    const tsNsec = batch.tsNsec[i];
    if (route.dedup !== null && route.dedup.isDuplicate(src, offset, caplen, tsSec, tsNsec)) {
      c.deduplicated++;
      route.counters.deduplicated++;
      return;
    }
    if (route.sample > 1 && route.sampleCount++ % route.sample !== 0) {
      c.sampledOut++;
      route.counters.sampledOut++;
      return;
    }
    if (route.stripVlan && view.vlanDepth > 0 && view.l2 >= 0 && caplen <= this.scratch.length) {
      const tags = 4 * view.vlanDepth;
      const tagStart = view.l2 + 12;
      const head = tagStart - offset;
      src.copy(this.scratch, 0, offset, tagStart);
      src.copy(this.scratch, head, tagStart + tags, offset + caplen);
      src = this.scratch;
      offset = 0;
      caplen -= tags;
      wirelen -= tags;
      stable = false;
    }
    if (route.slice > 0 && caplen > route.slice) caplen = route.slice;
    const f = this.copy;
    f.src = src;
    f.offset = offset;
    f.caplen = caplen;
    f.wirelen = wirelen;
    f.tsSec = tsSec;
    f.tsNsec = tsNsec;
    f.ifIndex = batch.ifIndex[i];
    f.flags = batch.flags[i];
    f.linkType = linkType;
    f.stable = stable;
    const sinks = route.sinks;
    for (let k = 0; k < sinks.length; k++) sinks[k].offer(f);
    c.mirrored++;
    route.counters.mirrored++;
  }
}

function sinkNamed(sinks: ReadonlyMap<string, Sink>, name: string): Sink {
  const s = sinks.get(name);
  if (!s) throw new Error(`rules refer to destination "${name}", which is not defined`);
  return s;
}
