import { ApiProperty } from '@nestjs/swagger';
import type { Device, DevicePublicKeys, Labels } from '../device.entity.js';

export class DevicePublicKeysDto {
  @ApiProperty({ type: String, description: 'SPKI PEM of the TLS client key' }) tls!: string;
  @ApiProperty({ type: String, description: 'SPKI PEM of the X25519 key-wrapping key' })
  x25519!: string;
}

export class DeviceDto {
  @ApiProperty({ type: String, example: 'tap-01' }) id!: string;
  @ApiProperty({ type: String }) name!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { role: 'core', rack: 'r12' },
  })
  labels!: Labels;
  @ApiProperty({ type: String, nullable: true }) site!: string | null;
  @ApiProperty({ type: String, nullable: true }) model!: string | null;
  @ApiProperty({ type: String, nullable: true }) firmwareVersion!: string | null;
  @ApiProperty({ type: String, nullable: true }) agentVersion!: string | null;
  @ApiProperty({ type: DevicePublicKeysDto }) publicKeys!: DevicePublicKeys;
  @ApiProperty({ type: String, nullable: true }) certificatePem!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastSeenAt!: Date | null;
  @ApiProperty({ type: Boolean }) online!: boolean;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: Date;
}

export class DeviceListDto {
  @ApiProperty({ type: [DeviceDto] }) items!: DeviceDto[];
  @ApiProperty({ type: Number }) total!: number;
}

export function toDeviceDto(d: Device): DeviceDto {
  return { ...d };
}
