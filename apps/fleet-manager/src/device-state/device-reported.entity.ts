// What one device last reported in effect for one domain (or why not).
import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { StateDomain } from './device-desired.entity.js';

@Entity({ name: 'device_reported' })
export class DeviceReported {
  @PrimaryColumn({ name: 'device_id', type: 'varchar', length: 64 })
  deviceId!: string;

  @PrimaryColumn({ type: 'varchar', length: 16 })
  domain!: StateDomain;

  /** The version in effect (0 before anything was applied). */
  @Column({ type: 'integer' })
  version!: number;

  @Column({ type: 'varchar', length: 80, nullable: true })
  hash!: string | null;

  @Column({ type: 'varchar', length: 16 })
  status!: 'applied' | 'error';

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  @Column({ name: 'rejected_version', type: 'integer', nullable: true })
  rejectedVersion!: number | null;

  /** When the device applied (or refused) it: its own clock. */
  @Column({ type: Date })
  at!: Date;

  @Column({ name: 'received_at', type: Date })
  receivedAt!: Date;
}
