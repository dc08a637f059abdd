import { ApiProperty } from '@nestjs/swagger';

export class DataKeyDto {
  @ApiProperty({ type: String }) keyId!: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt!: Date;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) retiredAt!: Date | null;
  @ApiProperty({ type: Boolean, description: 'delivered to devices' }) active!: boolean;
}

export class KeySetDto {
  @ApiProperty({ type: Number, description: 'key-set version devices report back' })
  version!: number;
  @ApiProperty({
    type: [DataKeyDto],
    description: 'metadata only; key material never leaves unwrapped',
  })
  keys!: DataKeyDto[];
}
