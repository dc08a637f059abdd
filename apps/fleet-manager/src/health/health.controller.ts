import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiProduces,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { ServerResponse } from 'node:http';
import { DataSource } from 'typeorm';
import { BrokerService } from '../broker/broker.service.js';
import { HealthDto } from './dto/health.dto.js';
import { MetricsService } from './metrics.service.js';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(BrokerService) private readonly broker: BrokerService,
    @Inject(MetricsService) private readonly metrics: MetricsService,
  ) {}

  @Get('health')
  @ApiOkResponse({ type: HealthDto, description: 'everything is up' })
  @ApiServiceUnavailableResponse({ type: HealthDto, description: 'a dependency is down' })
  async health(@Res({ passthrough: true }) res: ServerResponse): Promise<HealthDto> {
    const database = await this.ds
      .query('SELECT 1')
      .then(() => ({ ok: true }))
      .catch((e: unknown) => ({ ok: false, error: e instanceof Error ? e.message : String(e) }));
    const probe = await this.broker.check();
    const info = this.broker.info();
    const ok = database.ok && probe.ok;
    res.statusCode = ok ? 200 : 503;
    return {
      status: ok ? 'ok' : 'unavailable',
      database: { ...database, type: this.ds.options.type },
      broker: { ...probe, mode: info.mode, url: info.url },
    };
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text exposition format', type: String })
  metricsText(): Promise<string> {
    return this.metrics.render();
  }
}
