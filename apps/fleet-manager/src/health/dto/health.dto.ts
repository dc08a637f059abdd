import { ApiProperty } from '@nestjs/swagger';

export class CheckDto {
  @ApiProperty({ type: Boolean }) ok!: boolean;
  @ApiProperty({ type: String, required: false }) error?: string;
}

export class DatabaseCheckDto extends CheckDto {
  @ApiProperty({ type: String, example: 'postgres' }) type!: string;
}

export class BrokerCheckDto extends CheckDto {
  @ApiProperty({ type: String, enum: ['embedded', 'external'] }) mode!: 'embedded' | 'external';
  @ApiProperty({ type: String, example: 'mqtt://127.0.0.1:1883' }) url!: string;
}

export class HealthDto {
  @ApiProperty({ type: String, enum: ['ok', 'unavailable'] }) status!: 'ok' | 'unavailable';
  @ApiProperty({ type: DatabaseCheckDto }) database!: DatabaseCheckDto;
  @ApiProperty({ type: BrokerCheckDto }) broker!: BrokerCheckDto;
}
