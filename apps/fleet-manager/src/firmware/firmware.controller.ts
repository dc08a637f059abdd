import {
  Controller,
  Get,
  HttpCode,
  Inject,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiHeader,
  ApiOkResponse,
  ApiProduces,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { IncomingMessage } from 'node:http';
import { Actor, ACTOR_HEADER } from '../common/actor.js';
import { FirmwareImageDto, FirmwareImageListDto, toFirmwareImageDto } from './dto/firmware.dto.js';
import { FirmwareImagesService, MAX_IMAGE_BYTES } from './firmware-images.service.js';
import { FirmwareUpdatesService } from './firmware-updates.service.js';
import { readOctetStream } from './read-body.js';

@ApiTags('firmware')
@ApiHeader({
  name: ACTOR_HEADER,
  required: false,
  description: 'operator name recorded in the audit log',
})
@Controller('firmware')
export class FirmwareController {
  constructor(
    @Inject(FirmwareImagesService) private readonly images: FirmwareImagesService,
    @Inject(FirmwareUpdatesService) private readonly updates: FirmwareUpdatesService,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiConsumes('application/octet-stream')
  @ApiBody({
    description: `a firmware image (format 1, signed), at most ${MAX_IMAGE_BYTES} bytes`,
    schema: { type: 'string', format: 'binary' },
  })
  @ApiCreatedResponse({ type: FirmwareImageDto })
  @ApiBadRequestResponse({
    description:
      'refused, with `reason` (header, crc, board, key, signature, size) and the message, e.g. `firmware image refused: bad signature (key "netmirror-dev-2026")`',
  })
  async upload(@Req() req: IncomingMessage, @Actor() actor: string): Promise<FirmwareImageDto> {
    const image = await readOctetStream(req, MAX_IMAGE_BYTES);
    return toFirmwareImageDto(await this.images.upload(image, actor));
  }

  @Get()
  @ApiOkResponse({ type: FirmwareImageListDto })
  async list(): Promise<FirmwareImageListDto> {
    return { items: (await this.images.list()).map(toFirmwareImageDto) };
  }

  @Get(':id')
  @ApiOkResponse({ type: FirmwareImageDto })
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<FirmwareImageDto> {
    return toFirmwareImageDto(await this.images.get(id));
  }

  /**
   * The bytes, for a device installing it: devices have no REST credentials,
   * so the command's URL carries a download token of that update.
   */
  @Get(':id/image')
  @ApiProduces('application/octet-stream')
  @ApiQuery({
    name: 'token',
    required: true,
    type: String,
    description: 'the download token of an update of this image that is sent or running',
  })
  @ApiOkResponse({ schema: { type: 'string', format: 'binary' } })
  @ApiForbiddenResponse({ description: 'no token, or not one of an active update of this image' })
  async image(
    @Param('id', ParseUUIDPipe) id: string,
    @Query('token') token: string | undefined,
  ): Promise<StreamableFile> {
    const data = await this.updates.download(id, typeof token === 'string' ? token : undefined);
    return new StreamableFile(data, {
      type: 'application/octet-stream',
      length: data.length,
      disposition: `attachment; filename="${id}.nmfw"`,
    });
  }
}
