// One telemetry message as stored: totals in columns for queries, the
// per-tap and per-destination detail as JSON.
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { DestinationCounters, TapCounters } from '@netmirror/protocol';
import { bigintAsNumber } from '../database/columns.js';

@Entity({ name: 'telemetry' })
export class TelemetryRecord {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ name: 'device_id', type: 'varchar', length: 64 })
  deviceId!: string;

  @Column({ type: Date })
  at!: Date;

  @Column({ name: 'received_at', type: Date })
  receivedAt!: Date;

  @Column({ name: 'packets_seen', type: 'bigint', transformer: bigintAsNumber })
  packetsSeen!: number;

  @Column({ name: 'packets_sent', type: 'bigint', transformer: bigintAsNumber })
  packetsSent!: number;

  @Column({ name: 'packets_dropped', type: 'bigint', transformer: bigintAsNumber })
  packetsDropped!: number;

  @Column({ name: 'cpu_percent', type: 'real' })
  cpuPercent!: number;

  @Column({ name: 'memory_bytes', type: 'bigint', transformer: bigintAsNumber })
  memoryBytes!: number;

  // json on PostgreSQL (migration 1751700000000); TypeORM maps 'jsonb' to text on SQLite.
  @Column({ type: 'jsonb' })
  taps!: TapCounters[];

  @Column({ type: 'jsonb' })
  destinations!: DestinationCounters[];
}
