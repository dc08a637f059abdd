// Alerts over gRPC: ListAlerts, AcknowledgeAlert.
import { Inject, Injectable } from '@nestjs/common';
import type { Alert, FleetServiceServer } from '@netmirror/fleet-api';
import { parseAlertQuery, toAlertDto } from '../alerts/dto/alert.dto.js';
import type { AlertRecord } from '../alerts/alert-record.entity.js';
import { AlertsService } from '../alerts/alerts.service.js';
import { unary } from './call.js';
import { opt, queryDate, queryValue } from './convert.js';

function alert(r: AlertRecord): Alert {
  const a = toAlertDto(r);
  return {
    id: a.id,
    deviceId: a.deviceId,
    at: a.at,
    severity: a.severity,
    code: a.code,
    message: a.message,
    acknowledgedAt: opt(a.acknowledgedAt),
    acknowledgedBy: opt(a.acknowledgedBy),
  };
}

@Injectable()
export class AlertsGrpc {
  constructor(@Inject(AlertsService) private readonly alerts: AlertsService) {}

  handlers(): Pick<FleetServiceServer, 'listAlerts' | 'acknowledgeAlert'> {
    return {
      listAlerts: unary(async (req) => {
        const q = parseAlertQuery({
          deviceId: req.deviceId,
          severity: req.severity,
          from: queryDate(req.from),
          to: queryDate(req.to),
          limit: queryValue(req.limit),
        });
        return { items: (await this.alerts.list(q)).map(alert) };
      }),

      acknowledgeAlert: unary(async (req, { actor }) =>
        alert(await this.alerts.acknowledge(req.id, actor)),
      ),
    };
  }
}
