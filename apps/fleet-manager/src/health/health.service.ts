// The health check, shared by GET /health and the gRPC GetHealth: the
// database answers SELECT 1 and the broker answers an MQTT probe.
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BrokerService } from '../broker/broker.service.js';
import type { HealthDto } from './dto/health.dto.js';

@Injectable()
export class HealthService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(BrokerService) private readonly broker: BrokerService,
  ) {}

  async check(): Promise<HealthDto> {
    const database = await this.ds
      .query('SELECT 1')
      .then(() => ({ ok: true }))
      .catch((e: unknown) => ({ ok: false, error: e instanceof Error ? e.message : String(e) }));
    const probe = await this.broker.check();
    const info = this.broker.info();
    const ok = database.ok && probe.ok;
    return {
      status: ok ? 'ok' : 'unavailable',
      database: { ...database, type: this.ds.options.type },
      broker: { ...probe, mode: info.mode, url: info.url },
    };
  }
}
