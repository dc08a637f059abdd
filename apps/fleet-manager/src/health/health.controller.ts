import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiProduces,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { ServerResponse } from 'node:http';
import { HealthDto } from './dto/health.dto.js';
import { HealthService } from './health.service.js';
import { MetricsService } from './metrics.service.js';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    @Inject(HealthService) private readonly healthService: HealthService,
    @Inject(MetricsService) private readonly metrics: MetricsService,
  ) {}

  @Get('health')
  @ApiOkResponse({ type: HealthDto, description: 'everything is up' })
  @ApiServiceUnavailableResponse({ type: HealthDto, description: 'a dependency is down' })
  async health(@Res({ passthrough: true }) res: ServerResponse): Promise<HealthDto> {
    const health = await this.healthService.check();
    res.statusCode = health.status === 'ok' ? 200 : 503;
    return health;
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text exposition format', type: String })
  metricsText(): Promise<string> {
    return this.metrics.render();
  }
}
