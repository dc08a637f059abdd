import { ApiProperty } from '@nestjs/swagger';
import { ALERT_SEVERITIES, type AlertSeverity } from '@netmirror/protocol';
import { FieldError, queryInt, queryObject } from '../../common/validation.js';
import { queryDate } from '../../telemetry/dto/telemetry.dto.js';
import type { AlertRecord } from '../alert-record.entity.js';
import type { AlertQuery } from '../alerts.service.js';

export class AlertDto {
  @ApiProperty({ type: Number }) id!: number;
  @ApiProperty({ type: String }) deviceId!: string;
  @ApiProperty({ type: String, format: 'date-time' }) at!: Date;
  @ApiProperty({ enum: ALERT_SEVERITIES }) severity!: AlertSeverity;
  @ApiProperty({ type: String, example: 'analyzer.syn-flood' }) code!: string;
  @ApiProperty({ type: String }) message!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) acknowledgedAt!: Date | null;
  @ApiProperty({ type: String, nullable: true }) acknowledgedBy!: string | null;
}

export class AlertPageDto {
  @ApiProperty({ type: [AlertDto] }) items!: AlertDto[];
}

export function toAlertDto(a: AlertRecord): AlertDto {
  const { receivedAt: _r, ...rest } = a;
  return rest;
}

/** `?deviceId=&severity=&from=&to=&limit=`; default the last 7 days, 100 alerts. */
export function parseAlertQuery(input: unknown): AlertQuery {
  const q = queryObject(input);
  const severity = q.severity;
  if (severity !== undefined && !ALERT_SEVERITIES.includes(severity as AlertSeverity))
    throw new FieldError('severity', `must be one of ${ALERT_SEVERITIES.join(', ')}`);
  const deviceId = q.deviceId;
  if (deviceId !== undefined && typeof deviceId !== 'string')
    throw new FieldError('deviceId', 'must be a device id');
  const to = queryDate(q, 'to', new Date());
  const from = queryDate(q, 'from', new Date(to.getTime() - 7 * 86_400_000));
  return {
    deviceId: deviceId || undefined,
    severity: severity as AlertSeverity | undefined,
    from,
    to,
    limit: queryInt(q, 'limit', 100, 1, 1000),
  };
}
