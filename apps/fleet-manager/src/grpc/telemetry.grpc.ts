// Telemetry over gRPC: QueryTelemetry.
import { Inject, Injectable } from '@nestjs/common';
import type { FleetServiceServer } from '@netmirror/fleet-api';
import { parseTelemetryQuery, toTelemetryPointDto } from '../telemetry/dto/telemetry.dto.js';
import { TelemetryService } from '../telemetry/telemetry.service.js';
import { unary } from './call.js';
import { queryDate, queryValue } from './convert.js';

@Injectable()
export class TelemetryGrpc {
  constructor(@Inject(TelemetryService) private readonly telemetry: TelemetryService) {}

  handlers(): Pick<FleetServiceServer, 'queryTelemetry'> {
    return {
      queryTelemetry: unary(async (req) => {
        const q = parseTelemetryQuery({
          from: queryDate(req.from),
          to: queryDate(req.to),
          limit: queryValue(req.limit),
        });
        const rows = await this.telemetry.query(req.deviceId, q);
        return {
          items: rows.map(toTelemetryPointDto).map((p) => ({
            at: p.at,
            receivedAt: p.receivedAt,
            taps: p.taps.map((t) => ({
              name: t.name,
              packetsSeen: t.packetsSeen,
              bytesSeen: t.bytesSeen,
              packetsDropped: t.packetsDropped,
            })),
            destinations: p.destinations.map((d) => ({
              name: d.name,
              packetsSent: d.packetsSent,
              bytesSent: d.bytesSent,
              packetsDropped: d.packetsDropped,
              queueDepth: d.queueDepth,
            })),
            cpuPercent: p.cpuPercent,
            memoryBytes: p.memoryBytes,
          })),
        };
      }),
    };
  }
}
