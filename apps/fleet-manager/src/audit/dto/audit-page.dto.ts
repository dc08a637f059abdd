import { ApiProperty } from '@nestjs/swagger';
import type { AuditDetails } from '../audit-entry.entity.js';

export class AuditEntryDto {
  @ApiProperty({ type: Number }) id!: number;
  @ApiProperty({ type: String, example: 'operator:alice' }) actor!: string;
  @ApiProperty({ type: String, example: 'device.update' }) action!: string;
  @ApiProperty({ type: String, example: 'device:tap-01' }) target!: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) details!: AuditDetails;
  @ApiProperty({ type: String, format: 'date-time' }) at!: Date;
}

export class AuditPageDto {
  @ApiProperty({ type: [AuditEntryDto] }) items!: AuditEntryDto[];
  @ApiProperty({ type: Number, nullable: true, description: 'pass as ?before= for the next page' })
  nextBefore!: number | null;
}
