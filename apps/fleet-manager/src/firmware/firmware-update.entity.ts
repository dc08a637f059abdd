// One firmware update of one device: the command sent, the progress the
// device reported, and the outcome.
import { Column, Entity, PrimaryColumn } from 'typeorm';

export const FIRMWARE_UPDATE_STATUSES = [
  'sent',
  'running',
  'installed',
  'rolled-back',
  'failed',
  'expired',
] as const;
export type FirmwareUpdateStatus = (typeof FIRMWARE_UPDATE_STATUSES)[number];

/**
 * Not finished yet as far as the device is concerned. `expired` is the fleet
 * manager's guess (no start before the command expired, or no word for a
 * long time), so a late word from the device still counts.
 */
export const OPEN_STATUSES: FirmwareUpdateStatus[] = ['sent', 'running', 'expired'];

@Entity({ name: 'firmware_updates' })
export class FirmwareUpdate {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'device_id', type: 'varchar', length: 64 })
  deviceId!: string;

  @Column({ name: 'image_id', type: 'varchar', length: 36 })
  imageId!: string;

  /** The image's version (kept here for lists). */
  @Column({ type: 'varchar', length: 16 })
  version!: string;

  /** The firmware.install command's correlation id: progress and the response carry it. */
  @Column({ name: 'correlation_id', type: 'varchar', length: 128 })
  correlationId!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: FirmwareUpdateStatus;

  /** Last progress phase: download, upload, verify, activate, confirm, done, rolled-back. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  phase!: string | null;

  @Column({ type: 'integer', default: 0 })
  bytes!: number;

  @Column({ type: 'integer', default: 0 })
  total!: number;

  @Column({ name: 'progress_seq', type: 'integer', default: 0 })
  progressSeq!: number;

  @Column({ type: 'text', nullable: true })
  message!: string | null;

  @Column({ name: 'previous_version', type: 'varchar', length: 16, nullable: true })
  previousVersion!: string | null;

  /** What the board runs after the update, as the device reported it. */
  @Column({ name: 'running_version', type: 'varchar', length: 16, nullable: true })
  runningVersion!: string | null;

  @Column({ name: 'resumed_at', type: 'integer', nullable: true })
  resumedAt!: number | null;

  /** SHA-256 (hex) of the download token in the command's URL. */
  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash!: string;

  @Column({ name: 'token_expires_at', type: Date })
  tokenExpiresAt!: Date;

  /** The command's expiry: a device does not start it later. */
  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;

  @Column({ name: 'created_by', type: 'varchar', length: 200 })
  createdBy!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'started_at', type: Date, nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;

  @Column({ name: 'finished_at', type: Date, nullable: true })
  finishedAt!: Date | null;
}
