import { ApiProperty } from '@nestjs/swagger';
import { FieldError, queryInt, queryObject } from '../../common/validation.js';
import type { TelemetryRecord } from '../telemetry-record.entity.js';
import type { TelemetryQuery } from '../telemetry.service.js';

export class TapCountersDto {
  @ApiProperty({ type: String }) name!: string;
  @ApiProperty({ type: Number }) packetsSeen!: number;
  @ApiProperty({ type: Number }) bytesSeen!: number;
  @ApiProperty({ type: Number }) packetsDropped!: number;
}

export class DestinationCountersDto {
  @ApiProperty({ type: String }) name!: string;
  @ApiProperty({ type: Number }) packetsSent!: number;
  @ApiProperty({ type: Number }) bytesSent!: number;
  @ApiProperty({ type: Number }) packetsDropped!: number;
  @ApiProperty({ type: Number }) queueDepth!: number;
}

export class TelemetryPointDto {
  @ApiProperty({ type: String, format: 'date-time', description: "the device's clock" }) at!: Date;
  @ApiProperty({ type: String, format: 'date-time' }) receivedAt!: Date;
  @ApiProperty({ type: [TapCountersDto], description: 'cumulative since the agent started' })
  taps!: TapCountersDto[];
  @ApiProperty({ type: [DestinationCountersDto] }) destinations!: DestinationCountersDto[];
  @ApiProperty({ type: Number }) cpuPercent!: number;
  @ApiProperty({ type: Number }) memoryBytes!: number;
}

export class TelemetryPageDto {
  @ApiProperty({ type: [TelemetryPointDto] }) items!: TelemetryPointDto[];
}

export function toTelemetryPointDto(r: TelemetryRecord): TelemetryPointDto {
  return {
    at: r.at,
    receivedAt: r.receivedAt,
    taps: r.taps,
    destinations: r.destinations,
    cpuPercent: r.cpuPercent,
    memoryBytes: r.memoryBytes,
  };
}

function queryDate(q: Record<string, unknown>, key: string, dflt: Date): Date {
  const v = q[key];
  if (v === undefined || v === '') return dflt;
  const d = typeof v === 'string' ? new Date(v) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw new FieldError(key, 'must be an ISO 8601 date-time');
  return d;
}

/** `?from=&to=` (ISO 8601; default the last hour) and `?limit=` (default 1000). */
export function parseTelemetryQuery(input: unknown): TelemetryQuery {
  const q = queryObject(input);
  const to = queryDate(q, 'to', new Date());
  const from = queryDate(q, 'from', new Date(to.getTime() - 3_600_000));
  if (from > to) throw new FieldError('from', 'must not be after to');
  return { from, to, limit: queryInt(q, 'limit', 1000, 1, 10000) };
}

export { queryDate };
