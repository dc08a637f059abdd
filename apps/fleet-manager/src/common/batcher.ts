// Collects items and writes them in batches: one transaction per batch
// instead of one per message, which is what lets one replica ingest tens of
// thousands of device messages a second. Flushes are serialised; a failed
// flush is logged and its items dropped (they are re-sent: reports are
// retained, telemetry is periodic), so a bad batch never wedges the stream.
import { Logger } from '@nestjs/common';

export interface BatcherOptions {
  name: string;
  /** Flush this long after the first item of a batch arrived. */
  delayMs: number;
  /** Flush at once when this many items are waiting. */
  maxItems: number;
}

export class Batcher<T> {
  private items: T[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private readonly log: Logger;
  /** Items written and items lost to failed flushes, for metrics. */
  written = 0;
  failed = 0;

  constructor(
    private readonly options: BatcherOptions,
    private readonly write: (items: T[]) => Promise<void>,
  ) {
    this.log = new Logger(options.name);
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
    this.running = this.running.then(async () => {
      if (batch.length === 0) return;
      try {
        await this.write(batch);
        this.written += batch.length;
      } catch (err) {
        this.failed += batch.length;
        this.log.error(`${batch.length} items not written: ${(err as Error).message}`);
      }
    });
    return this.running;
  }
}
