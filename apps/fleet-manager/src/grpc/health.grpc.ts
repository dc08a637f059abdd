// Health over gRPC: GetHealth. The same check as GET /health; where REST
// answers 503, this answers OK with status "unavailable" and the reason.
import { Inject, Injectable } from '@nestjs/common';
import type { FleetServiceServer } from '@netmirror/fleet-api';
import { HealthService } from '../health/health.service.js';
import { unary } from './call.js';

@Injectable()
export class HealthGrpc {
  constructor(@Inject(HealthService) private readonly health: HealthService) {}

  handlers(): Pick<FleetServiceServer, 'getHealth'> {
    return {
      getHealth: unary(async () => {
        const h = await this.health.check();
        return {
          status: h.status,
          database: { ok: h.database.ok, error: h.database.error, type: h.database.type },
          broker: {
            ok: h.broker.ok,
            error: h.broker.error,
            mode: h.broker.mode,
            url: h.broker.url,
          },
        };
      }),
    };
  }
}
