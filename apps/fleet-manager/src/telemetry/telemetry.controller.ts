import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ParsePipe } from '../common/validation.js';
import { parseTelemetryQuery, TelemetryPageDto, toTelemetryPointDto } from './dto/telemetry.dto.js';
import { TelemetryService, type TelemetryQuery } from './telemetry.service.js';

@ApiTags('telemetry')
@Controller('devices/:id/telemetry')
export class TelemetryController {
  constructor(@Inject(TelemetryService) private readonly telemetry: TelemetryService) {}

  @Get()
  @ApiQuery({
    name: 'from',
    required: false,
    type: String,
    description: 'ISO 8601; default an hour before to',
  })
  @ApiQuery({ name: 'to', required: false, type: String, description: 'ISO 8601; default now' })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  @ApiOkResponse({ type: TelemetryPageDto })
  async query(
    @Param('id') id: string,
    @Query(new ParsePipe(parseTelemetryQuery)) q: TelemetryQuery,
  ): Promise<TelemetryPageDto> {
    return { items: (await this.telemetry.query(id, q)).map(toTelemetryPointDto) };
  }
}
