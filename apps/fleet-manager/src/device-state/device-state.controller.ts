import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { DeviceStateService } from './device-state.service.js';
import {
  DeviceStateDto,
  DriftDto,
  toDeviceStateDto,
  toDomainStateDto,
} from './dto/device-state.dto.js';

@ApiTags('device state')
@Controller()
export class DeviceStateController {
  constructor(@Inject(DeviceStateService) private readonly state: DeviceStateService) {}

  @Get('devices/:id/state')
  @ApiOkResponse({ type: DeviceStateDto, description: 'desired against reported, per domain' })
  async stateOf(@Param('id') id: string): Promise<DeviceStateDto> {
    const { device, domains } = await this.state.stateOf(id);
    return toDeviceStateDto(device, domains);
  }

  @Get('drift')
  @ApiOkResponse({ type: DriftDto, description: 'every device and domain not in sync' })
  async drift(): Promise<DriftDto> {
    return {
      items: (await this.state.drift()).map((s) => ({
        deviceId: s.deviceId,
        ...toDomainStateDto(s),
      })),
    };
  }
}
