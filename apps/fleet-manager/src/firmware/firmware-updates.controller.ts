import { Body, Controller, Get, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import {
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { Actor, ACTOR_HEADER } from '../common/actor.js';
import { ParsePipe } from '../common/validation.js';
import { FLEET_CONFIG, type FleetConfig } from '../config.js';
import {
  FirmwareUpdateDto,
  FirmwareUpdateListDto,
  parseStartFirmwareUpdate,
  StartFirmwareUpdateDto,
  toFirmwareUpdateDto,
} from './dto/firmware.dto.js';
import { FirmwareUpdatesService, type StartUpdate } from './firmware-updates.service.js';

@ApiTags('firmware')
@ApiHeader({
  name: ACTOR_HEADER,
  required: false,
  description: 'operator name recorded in the audit log',
})
@Controller('devices/:id/firmware-updates')
export class FirmwareUpdatesController {
  constructor(
    @Inject(FirmwareUpdatesService) private readonly updates: FirmwareUpdatesService,
    @Inject(FLEET_CONFIG) private readonly config: FleetConfig,
  ) {}

  /** Sends `firmware.install` to the device; follow the record for progress and the outcome. */
  @Post()
  @HttpCode(201)
  @ApiBody({ type: StartFirmwareUpdateDto })
  @ApiCreatedResponse({ type: FirmwareUpdateDto })
  @ApiConflictResponse({ description: 'the device is offline, or an update of it is under way' })
  async start(
    @Param('id') deviceId: string,
    @Body(new ParsePipe(parseStartFirmwareUpdate)) body: StartUpdate,
    @Actor() actor: string,
    @Req() req: IncomingMessage,
  ): Promise<FirmwareUpdateDto> {
    const base = this.config.publicUrl ?? requestBaseUrl(req);
    return toFirmwareUpdateDto(await this.updates.start(deviceId, body, actor, base));
  }

  @Get()
  @ApiOkResponse({ type: FirmwareUpdateListDto })
  async list(@Param('id') deviceId: string): Promise<FirmwareUpdateListDto> {
    return { items: (await this.updates.list(deviceId)).map(toFirmwareUpdateDto) };
  }

  @Get(':updateId')
  @ApiOkResponse({ type: FirmwareUpdateDto })
  async get(
    @Param('id') deviceId: string,
    @Param('updateId') id: string,
  ): Promise<FirmwareUpdateDto> {
    return toFirmwareUpdateDto(await this.updates.get(deviceId, id));
  }
}

/** The scheme and Host the operator reached us at: devices on the same network reach us there too. */
function requestBaseUrl(req: IncomingMessage): string {
  const scheme = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
  return `${scheme}://${req.headers.host ?? '127.0.0.1'}`;
}
