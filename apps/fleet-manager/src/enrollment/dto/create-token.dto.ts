import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Fields } from '../../common/validation.js';
import type { Labels } from '../../devices/device.entity.js';
import { strictLabels } from '../../devices/labels.js';

export const MIN_TTL_SECONDS = 60;
export const MAX_TTL_SECONDS = 30 * 24 * 3600;

export class CreateTokenDto {
  @ApiProperty({
    type: String,
    required: false,
    description: 'name given to the device that enrolls with it',
  })
  deviceName?: string;
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
  })
  labels?: Labels;
  @ApiProperty({ type: Number, minimum: MIN_TTL_SECONDS, maximum: MAX_TTL_SECONDS, example: 3600 })
  ttlSeconds!: number;
}

export function parseCreateToken(input: unknown): CreateTokenDto {
  const f = new Fields(input, '', ['deviceName', 'labels', 'ttlSeconds']);
  return {
    deviceName: f.optionalString('deviceName', { max: 200 }),
    labels: f.has('labels') ? strictLabels(f.raw('labels'), 'labels') : {},
    ttlSeconds: f.integer('ttlSeconds', MIN_TTL_SECONDS, MAX_TTL_SECONDS),
  };
}

export class CreatedTokenDto {
  @ApiProperty({ type: String }) id!: string;
  @ApiProperty({ type: String, description: 'shown only once; only its hash is stored' })
  token!: string;
  @ApiProperty({ type: String, format: 'date-time' }) expiresAt!: Date;
  @ApiProperty({ type: String, nullable: true }) deviceName!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) labels!: Labels;
}

export class TokenStateDto {
  @ApiProperty({ type: String }) id!: string;
  @ApiProperty({ type: String, enum: ['unused', 'used', 'expired'] }) state!:
    'unused' | 'used' | 'expired';
  @ApiProperty({ type: String, nullable: true }) deviceName!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) labels!: Labels;
  @ApiProperty({ type: String }) createdBy!: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: Date;
  @ApiProperty({ type: String, format: 'date-time' }) expiresAt!: Date;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) usedAt!: Date | null;
  @ApiProperty({ type: String, nullable: true }) usedByDeviceId!: string | null;
}
