// An alert raised by a device (or by the fleet manager about a device).
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { AlertSeverity } from '@netmirror/protocol';

@Entity({ name: 'alerts' })
export class AlertRecord {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id!: number;

  @Column({ name: 'device_id', type: 'varchar', length: 64 })
  deviceId!: string;

  @Column({ type: Date })
  at!: Date;

  @Column({ name: 'received_at', type: Date })
  receivedAt!: Date;

  @Column({ type: 'varchar', length: 16 })
  severity!: AlertSeverity;

  @Column({ type: 'varchar', length: 64 })
  code!: string;

  @Column({ type: 'text' })
  message!: string;

  @Column({ name: 'acknowledged_at', type: Date, nullable: true })
  acknowledgedAt!: Date | null;

  @Column({ name: 'acknowledged_by', type: 'varchar', length: 200, nullable: true })
  acknowledgedBy!: string | null;
}
