// Collects items and writes them in batches: one transaction per batch
// instead of one per message, which is what lets one replica ingest tens of
// thousands of device messages a second. Flushes are serialised (or, with
// `concurrency` > 1, run in that many lanes, each serial: for streams whose
// rows do not depend on each other); a failed flush is logged and its items
// dropped (they are re-sent: reports are retained, telemetry is periodic),
// so a bad batch never wedges the stream.
import { Logger } from '@nestjs/common';

export interface BatcherOptions {
  name: string;
  /** Flush this long after the first item of a batch arrived. */
  delayMs: number;
  /** Flush at once when this many items are waiting. */
  maxItems: number;
  /** Batches written at the same time (default 1: one after the other, in order). */
  concurrency?: number;
}

export class Batcher<T> {
  private items: T[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** One chain of flushes per lane; a new batch goes to the lane after the last one used. */
  private readonly lanes: Array<Promise<void>>;
  private lane = 0;
  private readonly log: Logger;
  /** Items written and items lost to failed flushes, for metrics. */
  written = 0;
  failed = 0;

  constructor(
    private readonly options: BatcherOptions,
    private readonly write: (items: T[]) => Promise<void>,
  ) {
    this.log = new Logger(options.name);
    this.lanes = Array.from({ length: Math.max(1, options.concurrency ?? 1) }, () =>
      Promise.resolve(),
    );
  }

  add(item: T): void {
    this.items.push(item);
    if (this.items.length >= this.options.maxItems) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.options.delayMs);
  }

  /** Writes what is waiting; resolves once everything added before the call is written. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.items;
    this.items = [];
    if (batch.length > 0) {
      const lane = this.lane;
      this.lane = (lane + 1) % this.lanes.length;
      this.lanes[lane] = this.lanes[lane].then(async () => {
        try {
          await this.write(batch);
          this.written += batch.length;
        } catch (err) {
          this.failed += batch.length;
          this.log.error(`${batch.length} items not written: ${(err as Error).message}`);
        }
      });
    }
    return this.lanes.length === 1 ? this.lanes[0] : Promise.all(this.lanes).then(() => undefined);
  }
}
