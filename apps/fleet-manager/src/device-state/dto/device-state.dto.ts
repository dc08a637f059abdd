import { ApiProperty } from '@nestjs/swagger';
import type { Device } from '../../devices/device.entity.js';
import type { DomainState } from '../device-state.service.js';

const DOMAINS = ['policy', 'retention', 'keys'];

export class DesiredDto {
  @ApiProperty({ type: Number }) version!: number;
  @ApiProperty({ type: String }) hash!: string;
  @ApiProperty({ type: String, nullable: true }) policy!: string | null;
  @ApiProperty({ type: Number, nullable: true }) policyVersion!: number | null;
  @ApiProperty({ type: String, format: 'date-time' }) publishedAt!: Date;
}

export class ReportedDto {
  @ApiProperty({ type: Number, description: 'the version in effect' }) version!: number;
  @ApiProperty({ type: String, nullable: true }) hash!: string | null;
  @ApiProperty({ enum: ['applied', 'error'] }) status!: 'applied' | 'error';
  @ApiProperty({ type: String, nullable: true }) error!: string | null;
  @ApiProperty({ type: Number, nullable: true }) rejectedVersion!: number | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    description: "the device's time of the apply or failure",
  })
  at!: Date;
}

export class DomainStateDto {
  @ApiProperty({ enum: DOMAINS }) domain!: string;
  @ApiProperty({ type: DesiredDto, nullable: true }) desired!: DesiredDto | null;
  @ApiProperty({ type: ReportedDto, nullable: true }) reported!: ReportedDto | null;
  @ApiProperty({ type: Boolean, description: 'reported version and hash equal the desired ones' })
  inSync!: boolean;
}

export class DeviceStateDto {
  @ApiProperty({ type: String }) deviceId!: string;
  @ApiProperty({ type: Boolean }) online!: boolean;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastSeenAt!: Date | null;
  @ApiProperty({ type: [DomainStateDto] }) domains!: DomainStateDto[];
}

export class DriftRowDto extends DomainStateDto {
  @ApiProperty({ type: String }) deviceId!: string;
}

export class DriftDto {
  @ApiProperty({ type: [DriftRowDto] }) items!: DriftRowDto[];
}

export function toDomainStateDto(s: DomainState): DomainStateDto {
  const d = s.desired;
  const r = s.reported;
  return {
    domain: s.domain,
    desired: d && {
      version: d.version,
      hash: d.hash,
      policy: d.policy,
      policyVersion: d.policyVersion,
      publishedAt: d.publishedAt,
    },
    reported: r && {
      version: r.version,
      hash: r.hash,
      status: r.status,
      error: r.error,
      rejectedVersion: r.rejectedVersion,
      at: r.at,
    },
    inSync: s.inSync,
  };
}

export function toDeviceStateDto(device: Device, domains: DomainState[]): DeviceStateDto {
  return {
    deviceId: device.id,
    online: device.online,
    lastSeenAt: device.lastSeenAt,
    domains: domains.map(toDomainStateDto),
  };
}
