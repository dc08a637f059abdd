import { readFileSync } from 'node:fs';
import type { CaptureSession, MirrorConfig, MirrorSummary } from '../pipeline/index.js';
import { newPipelineCounters, PendingConfiguration } from '../pipeline/index.js';
import type { OffloadCounters } from './tc-offload.js';
import { TcOffload } from './tc-offload.js';

/** How often the kernel's counters are read while running. */
const COUNTERS_MS = 1000;
const TICK_MS = 100;

/**
 * `tc:IFACE`: the mirror session with the data path in the kernel. The rules
 * in force are tc filters (TcOffload); this loop only applies new
 * configurations and reads counters. Starting cleans what a killed agent
 * left on the interface; stopping removes everything it made.
 */
export class TcOffloadSession implements CaptureSession {
  private readonly offload: TcOffload;
  private stopped = false;
  private readonly pending = new PendingConfiguration();
  private counters: OffloadCounters = { destinations: [] };
  private startedAt = 0;
  private base = { packets: 0, bytes: 0 };
  private seen = { packets: 0, bytes: 0 };

  constructor(
    readonly uri: string,
    readonly ifname: string,
    private config: MirrorConfig,
  ) {
    if (config.filter)
      throw new Error(`${uri}: tc offload takes no --filter; put a bpf match in the rules`);
    this.offload = new TcOffload(ifname);
  }

  stop(): void {
    this.stopped = true;
  }

  reconfigure(config: MirrorConfig): Promise<void> {
    if (config.filter)
      return Promise.reject(new Error('tc offload takes no filter; put a bpf match in the rules'));
    return this.pending.offer(config);
  }

  async run(): Promise<MirrorSummary> {
    this.startedAt = Date.now();
    this.base = this.linkTotals();
    await this.offload.clean(); // what a killed agent left behind
    try {
      await this.apply(this.config);
      let lastRead = 0;
      while (!this.stopped) {
        const next = this.pending.take();
        if (next) await this.apply(next.config).then(() => next.done(), next.done);
        if (Date.now() - lastRead >= COUNTERS_MS) {
          lastRead = Date.now();
          await this.readCounters().catch(() => undefined); // a failed read keeps the last counts
        }
        await new Promise((r) => setTimeout(r, TICK_MS));
      }
      await this.readCounters().catch(() => undefined);
    } finally {
      this.pending.close();
      await this.offload.clean();
    }
    return this.snapshot();
  }

  snapshot(): MirrorSummary {
    const counters = newPipelineCounters();
    counters.read = this.seen.packets;
    counters.bytesRead = this.seen.bytes;
    // Frames copied to at least one destination: at least the most any one destination got.
    counters.mirrored = Math.max(0, ...this.counters.destinations.map((d) => d.sent + d.failed));
    return {
      source: this.uri,
      elapsedSec: this.startedAt === 0 ? 0 : (Date.now() - this.startedAt) / 1000,
      counters,
      rules: [],
      sourceDropped: 0,
      interfaces: [
        { name: this.ifname, read: this.seen.packets, bytes: this.seen.bytes, dropped: 0 },
      ],
      destinations: this.counters.destinations.map((d) => ({
        name: d.name,
        uri: d.uri,
        offered: d.sent + d.failed,
        sent: d.sent,
        bytes: d.bytes,
        dropped: 0,
        failed: d.failed,
        truncated: 0,
        unsupported: 0,
        lastError: null,
      })),
      sourceError: null,
    };
  }

  private async apply(config: MirrorConfig): Promise<void> {
    const destinations = new Map([...config.sinks].map(([name, sink]) => [name, sink.uri]));
    const defaults = [...config.sinks]
      .filter(([, s]) => config.defaultSinks.includes(s))
      .map(([n]) => n);
    await this.offload.apply(config.ruleSet, destinations, defaults);
    this.config = config;
  }

  private async readCounters(): Promise<void> {
    this.counters = await this.offload.counters();
    const now = this.linkTotals();
    this.seen = { packets: now.packets - this.base.packets, bytes: now.bytes - this.base.bytes };
  }

  /** Frames and bytes that crossed the tapped interface, both ways (what the filters saw). */
  private linkTotals(): { packets: number; bytes: number } {
    const read = (name: string): number =>
      Number(readFileSync(`/sys/class/net/${this.ifname}/statistics/${name}`, 'utf8'));
    return {
      packets: read('rx_packets') + read('tx_packets'),
      bytes: read('rx_bytes') + read('tx_bytes'),
    };
  }
}
