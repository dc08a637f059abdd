// Per-port accounting of what the host did not receive (PROTOCOL.md,
// "Sequence numbers and loss"): dropped on the device, lost on the way
// (sequence gaps), lost at an unplug. Totals run across device sessions
// (each attach is one), so a re-plugged unit adds to what came before.
import type { DeviceCounters } from './control.js';
import { MAX_PORTS, RecordFlag } from './protocol.js';

/** What happened to one port's frames, over every session so far. */
export interface PortLoss {
  /** Records received. */
  received: number;
  /** Frames the device dropped because its buffer was full (the host did not read fast enough). */
  deviceDropped: number;
  /** Records lost between the device and the parser (sequence gaps: lost transfers, damage). */
  lostInTransit: number;
  /** Records queued on the device and never received because it was unplugged (a lower bound). */
  lostAtDetach: number;
}

const HALF = 2 ** 31;

export class LossAccount {
  /** Finished sessions. */
  private readonly done = {
    received: new Float64Array(MAX_PORTS),
    deviceDropped: new Float64Array(MAX_PORTS),
    lostInTransit: new Float64Array(MAX_PORTS),
    lostAtDetach: new Float64Array(MAX_PORTS),
  };
  /** The session in progress: next sequence number expected, and what it has seen. */
  private readonly expected = new Float64Array(MAX_PORTS);
  private readonly received = new Float64Array(MAX_PORTS);
  private readonly gaps = new Float64Array(MAX_PORTS);
  private readonly inBandDrops = new Float64Array(MAX_PORTS);
  private readonly counterDropped = new Float64Array(MAX_PORTS);
  /** seen − dropped at the last GET_COUNTERS: records the device had queued by then. */
  private readonly counterQueued = new Float64Array(MAX_PORTS);
  /** Sequence numbers that went backwards without FIRST (a device fault). */
  sequenceErrors = 0;

  /** A new device session: every port's sequence starts at 0. */
  beginSession(): void {
    for (const a of [
      this.expected,
      this.received,
      this.gaps,
      this.inBandDrops,
      this.counterDropped,
      this.counterQueued,
    ])
      a.fill(0);
  }

  /** One record received. */
  record(port: number, seq: number, flags: number, drops: number): void {
    this.received[port]++;
    this.inBandDrops[port] += drops;
    if ((flags & RecordFlag.FIRST) === 0) {
      const gap = (seq - this.expected[port]) >>> 0;
      if (gap < HALF) this.gaps[port] += gap;
      else this.sequenceErrors++;
    }
    this.expected[port] = (seq + 1) >>> 0;
  }

  /** A GET_COUNTERS reading of this session. */
  counters(c: DeviceCounters): void {
    c.ports.forEach((p, i) => {
      if (i >= MAX_PORTS) return;
      this.counterDropped[i] = p.dropped;
      this.counterQueued[i] = p.seen - p.dropped;
    });
  }

  /**
   * Folds the session into the totals. After an unplug, the records the
   * last reading says were queued, beyond the last one received, are lost;
   * after a clean stop, whatever was still on the device was not captured.
   */
  endSession(unplugged: boolean): void {
    for (let p = 0; p < MAX_PORTS; p++) {
      this.done.received[p] += this.received[p];
      this.done.deviceDropped[p] += this.dropped(p);
      this.done.lostInTransit[p] += this.gaps[p];
      if (unplugged) {
        const beyond = (this.counterQueued[p] % 2 ** 32) - this.expected[p];
        if (beyond > 0) this.done.lostAtDetach[p] += beyond;
      }
    }
    this.beginSession();
  }

  /** The port's totals, the session in progress included. */
  port(p: number): PortLoss {
    return {
      received: this.done.received[p] + this.received[p],
      deviceDropped: this.done.deviceDropped[p] + this.dropped(p),
      lostInTransit: this.done.lostInTransit[p] + this.gaps[p],
      lostAtDetach: this.done.lostAtDetach[p],
    };
  }

  /** Frames of the port the host did not get, every cause together. */
  lost(p: number): number {
    const l = this.port(p);
    return l.deviceDropped + l.lostInTransit + l.lostAtDetach;
  }

  /** The in-band `drops` sum misses what lost records carried; the counter misses what came after it. */
  private dropped(p: number): number {
    return Math.max(this.inBandDrops[p], this.counterDropped[p]);
  }
}
