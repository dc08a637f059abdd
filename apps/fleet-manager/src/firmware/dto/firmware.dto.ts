import { ApiProperty } from '@nestjs/swagger';
import { Fields } from '../../common/validation.js';
import type { FirmwareImage } from '../firmware-image.entity.js';
import {
  FIRMWARE_UPDATE_STATUSES,
  type FirmwareUpdate,
  type FirmwareUpdateStatus,
} from '../firmware-update.entity.js';
import { DEFAULT_COMMAND_TTL_SECONDS, type StartUpdate } from '../firmware-updates.service.js';

export class FirmwareImageDto {
  @ApiProperty({ type: String, format: 'uuid' }) id!: string;
  @ApiProperty({ type: Number, description: 'BOARD_ID from the image header', example: 4097 })
  boardId!: number;
  @ApiProperty({ type: String, example: 'nm-tap-4x10g' }) boardProfile!: string;
  @ApiProperty({ type: String, example: '1.2.0' }) version!: string;
  @ApiProperty({ type: Number, description: 'bytes' }) size!: number;
  @ApiProperty({ type: String, description: 'lowercase hex SHA-256 of the image' })
  sha256!: string;
  @ApiProperty({ type: String, example: 'netmirror-dev-2026' }) keyId!: string;
  @ApiProperty({ type: String, format: 'date-time' }) builtAt!: Date;
  @ApiProperty({ type: String }) createdBy!: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: Date;
}

export class FirmwareImageListDto {
  @ApiProperty({ type: [FirmwareImageDto] }) items!: FirmwareImageDto[];
}

export function toFirmwareImageDto(i: FirmwareImage): FirmwareImageDto {
  return { ...i };
}

export class StartFirmwareUpdateDto {
  @ApiProperty({ type: String, format: 'uuid' }) imageId!: string;
  @ApiProperty({
    type: Number,
    required: false,
    description: `how long the device may take to start it (10..3600 s, default ${DEFAULT_COMMAND_TTL_SECONDS})`,
  })
  ttlSeconds?: number;
}

export function parseStartFirmwareUpdate(input: unknown): StartUpdate {
  const f = new Fields(input, '', ['imageId', 'ttlSeconds']);
  return {
    imageId: f.string('imageId', { max: 36, pattern: /^[A-Za-z0-9-]+$/, hint: 'an image id' }),
    ttlSeconds: f.has('ttlSeconds')
      ? f.integer('ttlSeconds', 10, 3600)
      : DEFAULT_COMMAND_TTL_SECONDS,
  };
}

export class FirmwareUpdateDto {
  @ApiProperty({ type: String, format: 'uuid' }) id!: string;
  @ApiProperty({ type: String }) deviceId!: string;
  @ApiProperty({ type: String, format: 'uuid' }) imageId!: string;
  @ApiProperty({ type: String, example: '1.2.0' }) version!: string;
  @ApiProperty({ enum: FIRMWARE_UPDATE_STATUSES }) status!: FirmwareUpdateStatus;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'download, upload, verify, activate, confirm, done, rolled-back',
  })
  phase!: string | null;
  @ApiProperty({ type: Number, description: 'bytes of the phase done (download, upload)' })
  bytes!: number;
  @ApiProperty({ type: Number }) total!: number;
  @ApiProperty({ type: String, nullable: true }) message!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'board firmware before the update' })
  previousVersion!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'board firmware after the update' })
  runningVersion!: string | null;
  @ApiProperty({ type: Number, nullable: true }) resumedAt!: number | null;
  @ApiProperty({ type: String, format: 'date-time', description: 'the command expiry' })
  expiresAt!: Date;
  @ApiProperty({ type: String }) createdBy!: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: Date;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) startedAt!: Date | null;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt!: Date;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finishedAt!: Date | null;
}

export class FirmwareUpdateListDto {
  @ApiProperty({ type: [FirmwareUpdateDto] }) items!: FirmwareUpdateDto[];
}

/** The record without what only the fleet manager needs (the token's hash, the correlation id). */
export function toFirmwareUpdateDto(u: FirmwareUpdate): FirmwareUpdateDto {
  const { tokenHash: _t, tokenExpiresAt: _te, correlationId: _c, progressSeq: _s, ...rest } = u;
  return rest;
}
