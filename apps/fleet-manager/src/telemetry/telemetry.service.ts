// Telemetry: device counters, stored in batches (one multi-row INSERT per
// batch; a message seen twice is stored once), queried per device and time
// range, pruned after a retention period. On PostgreSQL a batch is two
// statements whatever its size: the rows travel as one JSON parameter
// (json_to_recordset; the detail columns are json, see migration
// 1751700000000), so the cost per message is a JSON.stringify, not
// TypeORM building and escaping 11 parameters.
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
/** last_seen_at from telemetry is kept to this precision (presence itself comes from status messages). */
const LAST_SEEN_STEP_MS = 10_000;

@Injectable()
export class TelemetryService
  implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown
{
  readonly batcher: Batcher<{ deviceId: string; t: Telemetry }>;
  /** When this replica last moved each device's last_seen_at (ms). */
  private readonly lastSeenWritten = new Map<string, number>();
  private pruneTimer: NodeJS.Timeout | null = null;
  /** Kept this long (days); older rows are deleted hourly. */
  retentionDays = 30;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(ControlService) private readonly control: ControlService,
  ) {
    // PostgreSQL: two batches at a time (rows do not depend on each other), so
    // the database can use a second core while the first batch is written.
    this.batcher = new Batcher(
      {
        name: 'TelemetryIngest',
        delayMs: 50,
        maxItems: 5000,
        concurrency: ds.options.type === 'postgres' ? 2 : 1,
      },
      (b) => this.store(b),
    );
  }

  onModuleInit(): void {
    this.control.on('telemetry', (m) => {
      if (m.message.type === 'telemetry')
        this.batcher.add({ deviceId: m.route.deviceId, t: m.message });
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
    if (this.ds.options.type === 'postgres') return this.storePostgres(batch);
    const ids = [...new Set(batch.map((b) => b.deviceId))];
    const known = new Set<string>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.ds
        .getRepository(Device)
        .find({ select: { id: true }, where: { id: In(ids.slice(i, i + 500)) } });
      for (const r of rows) known.add(r.id);
    }
    const receivedAt = new Date();
    const rows = batch
      .filter((b) => known.has(b.deviceId))
      .map((b) => toRecord(b.deviceId, b.t, receivedAt));
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

  /**
   * The same rows as store(): messages of unknown devices dropped, a message
   * seen twice stored once (ON CONFLICT on device_id + at). last_seen_at is
   * moved at most every LAST_SEEN_STEP_MS per device: rewriting a device row
   * for every message (a new row version and index entries each time in
   * PostgreSQL) cost more than storing the message itself.
   */
  private async storePostgres(batch: Array<{ deviceId: string; t: Telemetry }>): Promise<void> {
    const receivedAt = new Date();
    const ids = [...new Set(batch.map((b) => b.deviceId))];
    await this.ds.transaction(async (tx) => {
      const found: Array<{ id: string }> = await tx.query(
        `SELECT id FROM devices WHERE id = ANY($1::varchar[])`,
        [ids],
      );
      if (found.length === 0) return;
      const known = new Set(found.map((r) => r.id));
      const rows: PgTelemetryRow[] = [];
      for (const { deviceId, t } of batch) {
        if (!known.has(deviceId)) continue;
        const r = toRecord(deviceId, t, receivedAt);
        rows.push({
          d: deviceId,
          a: r.at.toISOString(),
          s: r.packetsSeen,
          t: r.packetsSent,
          x: r.packetsDropped,
          c: r.cpuPercent,
          m: r.memoryBytes,
          tp: r.taps,
          ds: r.destinations,
        });
      }
      await tx.query(
        `INSERT INTO telemetry (device_id, at, received_at, packets_seen, packets_sent, packets_dropped, cpu_percent, memory_bytes, taps, destinations)
         SELECT r.d, r.a, $2, r.s, r.t, r.x, r.c, r.m, r.tp, r.ds
           FROM json_to_recordset($1::json) AS r(d varchar, a timestamptz, s bigint, t bigint, x bigint, c real, m bigint, tp json, ds json)
         ON CONFLICT DO NOTHING`,
        [JSON.stringify(rows), receivedAt],
      );
      const stale = this.claimLastSeen(known, receivedAt.getTime());
      if (stale.length === 0) return;
      // Locked in one order: two batches are written at once (no deadlock between
      // them); GREATEST: the older of the two may commit second.
      await tx.query(
        `SELECT id FROM devices WHERE id = ANY($1::varchar[]) ORDER BY id FOR UPDATE`,
        [stale],
      );
      await tx.query(
        `UPDATE devices SET last_seen_at = GREATEST(last_seen_at, $1) WHERE id = ANY($2::varchar[])`,
        [receivedAt, stale],
      );
    });
  }

  /** Devices whose last_seen_at this replica has not moved for LAST_SEEN_STEP_MS; marks them moved now. */
  private claimLastSeen(devices: Iterable<string>, now: number): string[] {
    const out: string[] = [];
    for (const id of devices) {
      if (now - (this.lastSeenWritten.get(id) ?? 0) < LAST_SEEN_STEP_MS) continue;
      this.lastSeenWritten.set(id, now);
      out.push(id);
    }
    return out;
  }
}

/** One telemetry row as sent to PostgreSQL in the batch's JSON (short keys: it is built per message). */
interface PgTelemetryRow {
  d: string;
  a: string;
  s: number;
  t: number;
  x: number;
  c: number;
  m: number;
  tp: Telemetry['taps'];
  ds: Telemetry['destinations'];
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
