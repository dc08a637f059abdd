// Telemetry: device counters, stored in batches (one multi-row INSERT per
// batch; a message seen twice is stored once), queried per device and time
// range, pruned after a retention period.
import {
  Inject,
  Injectable,
  NotFoundException,
  type BeforeApplicationShutdown,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { Telemetry } from '@netmirror/protocol';
import { Between, DataSource, In, LessThan } from 'typeorm';
import { Batcher } from '../common/batcher.js';
import { ControlService } from '../control/control.service.js';
import { Device } from '../devices/device.entity.js';
import { TelemetryRecord } from './telemetry-record.entity.js';

export interface TelemetryQuery {
  from: Date;
  to: Date;
  limit: number;
}

const DAY_MS = 86_400_000;

@Injectable()
export class TelemetryService implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  readonly batcher: Batcher<{ deviceId: string; t: Telemetry }>;
  private pruneTimer: NodeJS.Timeout | null = null;
  /** Kept this long (days); older rows are deleted hourly. */
  retentionDays = 30;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(ControlService) private readonly control: ControlService,
  ) {
    this.batcher = new Batcher({ name: 'TelemetryIngest', delayMs: 50, maxItems: 5000 }, (b) =>
      this.store(b),
    );
  }

  onModuleInit(): void {
    this.control.on('telemetry', (m) => {
      if (m.message.type === 'telemetry') this.batcher.add({ deviceId: m.route.deviceId, t: m.message });
    });
    this.pruneTimer = setInterval(() => void this.prune(), 3_600_000);
    this.pruneTimer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.batcher.flush();
  }

  onApplicationShutdown(): void {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
  }

  async query(deviceId: string, q: TelemetryQuery): Promise<TelemetryRecord[]> {
    if (!(await this.ds.getRepository(Device).existsBy({ id: deviceId })))
      throw new NotFoundException(`device "${deviceId}" not found`);
    return this.ds.getRepository(TelemetryRecord).find({
      where: { deviceId, at: Between(q.from, q.to) },
      order: { at: 'ASC' },
      take: q.limit,
    });
  }

  async prune(now = Date.now()): Promise<number> {
    const res = await this.ds
      .getRepository(TelemetryRecord)
      .delete({ at: LessThan(new Date(now - this.retentionDays * DAY_MS)) });
    return res.affected ?? 0;
  }

  private async store(batch: Array<{ deviceId: string; t: Telemetry }>): Promise<void> {
    const ids = [...new Set(batch.map((b) => b.deviceId))];
    const known = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.ds
        .getRepository(Device)
        .find({ select: { id: true }, where: { id: In(ids.slice(i, i + 500)) } });
      for (const r of rows) known.add(r.id);
    }
    const receivedAt = new Date();
    const rows = batch.filter((b) => known.has(b.deviceId)).map((b) => toRecord(b.deviceId, b.t, receivedAt));
    await this.ds.transaction(async (tx) => {
      // SQLite binds at most 32766 variables per statement: 11 columns × 500 rows stays below.
      for (let i = 0; i < rows.length; i += 500) {
        await tx
          .createQueryBuilder()
          .insert()
          .into(TelemetryRecord)
          .values(rows.slice(i, i + 500))
          .orIgnore()
          .execute();
      }
      const seen = [...known];
      for (let i = 0; i < seen.length; i += 500) {
        await tx
          .createQueryBuilder()
          .update(Device)
          .set({ lastSeenAt: receivedAt })
          .where({ id: In(seen.slice(i, i + 500)) })
          .execute();
      }
    });
  }
}

function toRecord(deviceId: string, t: Telemetry, receivedAt: Date): Omit<TelemetryRecord, 'id'> {
  let packetsSeen = 0;
  let packetsSent = 0;
  let packetsDropped = 0;
  for (const tap of t.taps) {
    packetsSeen += tap.packetsSeen;
    packetsDropped += tap.packetsDropped;
  }
  for (const d of t.destinations) {
    packetsSent += d.packetsSent;
    packetsDropped += d.packetsDropped;
  }
  return {
    deviceId,
    at: new Date(t.at),
    receivedAt,
    packetsSeen,
    packetsSent,
    packetsDropped,
    cpuPercent: t.cpuPercent,
    memoryBytes: t.memoryBytes,
    taps: t.taps,
    destinations: t.destinations,
  };
}
