// A one-time enrollment token. Only the SHA-256 of the token is stored; the
// token itself is shown once, in the response that created it.
import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { Labels } from '../devices/device.entity.js';

@Entity({ name: 'enrollment_tokens' })
export class EnrollmentToken {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** hex SHA-256 of the token text. */
  @Column({ name: 'token_hash', type: 'varchar', length: 64, unique: true })
  tokenHash!: string;

  @Column({ name: 'device_name', type: 'varchar', length: 200, nullable: true })
  deviceName!: string | null;

  @Column({ type: 'jsonb' })
  labels!: Labels;

  @Column({ name: 'created_by', type: 'varchar', length: 200 })
  createdBy!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;

  @Column({ name: 'used_at', type: Date, nullable: true })
  usedAt!: Date | null;

  @Column({ name: 'used_by_device_id', type: 'varchar', length: 64, nullable: true })
  usedByDeviceId!: string | null;
}
