import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Patch,
  Query,
} from '@nestjs/common';
import {
  ApiBody,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { Actor, ACTOR_HEADER } from '../common/actor.js';
import { ParsePipe } from '../common/validation.js';
import { DevicesService } from './devices.service.js';
import { DeviceDto, DeviceListDto, toDeviceDto } from './dto/device.dto.js';
import { parseListDevices, type ListDevicesQuery } from './dto/list-devices.query.js';
import { parseUpdateDevice, UpdateDeviceDto } from './dto/update-device.dto.js';

@ApiTags('devices')
@ApiHeader({
  name: ACTOR_HEADER,
  required: false,
  description: 'operator name recorded in the audit log',
})
@Controller('devices')
export class DevicesController {
  constructor(@Inject(DevicesService) private readonly devices: DevicesService) {}

  @Get()
  @ApiQuery({
    name: 'label',
    required: false,
    type: String,
    isArray: true,
    description: 'key=value; repeat to AND',
  })
  @ApiQuery({ name: 'online', required: false, enum: ['true', 'false'] })
  @ApiQuery({ name: 'limit', required: false, type: Number })
  @ApiQuery({ name: 'offset', required: false, type: Number })
  @ApiOkResponse({ type: DeviceListDto })
  async list(@Query(new ParsePipe(parseListDevices)) q: ListDevicesQuery): Promise<DeviceListDto> {
    const { items, total } = await this.devices.list(q);
    return { items: items.map(toDeviceDto), total };
  }

  @Get(':id')
  @ApiOkResponse({ type: DeviceDto })
  async get(@Param('id') id: string): Promise<DeviceDto> {
    return toDeviceDto(await this.devices.get(id));
  }

  @Patch(':id')
  @ApiBody({ type: UpdateDeviceDto })
  @ApiOkResponse({ type: DeviceDto })
  async update(
    @Param('id') id: string,
    @Body(new ParsePipe(parseUpdateDevice)) patch: UpdateDeviceDto,
    @Actor() actor: string,
  ): Promise<DeviceDto> {
    return toDeviceDto(await this.devices.update(id, patch, actor));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'decommissioned' })
  async decommission(@Param('id') id: string, @Actor() actor: string): Promise<void> {
    await this.devices.decommission(id, actor);
  }
}
