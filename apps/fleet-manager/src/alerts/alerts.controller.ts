import {
  Controller,
  Get,
  HttpCode,
  Inject,
  Param,
  ParseIntPipe,
  Post,
  Query,
} from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ALERT_SEVERITIES } from '@netmirror/protocol';
import { Actor, ACTOR_HEADER } from '../common/actor.js';
import { ParsePipe } from '../common/validation.js';
import { AlertsService, type AlertQuery } from './alerts.service.js';
import { AlertDto, AlertPageDto, parseAlertQuery, toAlertDto } from './dto/alert.dto.js';

@ApiTags('alerts')
@ApiHeader({ name: ACTOR_HEADER, required: false })
@Controller('alerts')
export class AlertsController {
  constructor(@Inject(AlertsService) private readonly alerts: AlertsService) {}

  @Get()
  @ApiQuery({ name: 'deviceId', required: false, type: String })
  @ApiQuery({ name: 'severity', required: false, enum: ALERT_SEVERITIES })
  @ApiQuery({ name: 'from', required: false, type: String })
  @ApiQuery({ name: 'to', required: false, type: String })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  @ApiOkResponse({ type: AlertPageDto })
  async list(@Query(new ParsePipe(parseAlertQuery)) q: AlertQuery): Promise<AlertPageDto> {
    return { items: (await this.alerts.list(q)).map(toAlertDto) };
  }

  @Post(':id/acknowledge')
  @HttpCode(200)
  @ApiOkResponse({ type: AlertDto })
  async acknowledge(
    @Param('id', ParseIntPipe) id: number,
    @Actor() actor: string,
  ): Promise<AlertDto> {
    return toAlertDto(await this.alerts.acknowledge(id, actor));
  }
}
