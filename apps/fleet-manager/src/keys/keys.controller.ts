import { Controller, Get, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Actor, ACTOR_HEADER } from '../common/actor.js';
import { KeySetDto } from './dto/keys.dto.js';
import { KeysService } from './keys.service.js';

@ApiTags('keys')
@ApiHeader({ name: ACTOR_HEADER, required: false })
@Controller('keys')
export class KeysController {
  constructor(@Inject(KeysService) private readonly keys: KeysService) {}

  @Get()
  @ApiOkResponse({ type: KeySetDto })
  list(): Promise<KeySetDto> {
    return this.keys.list();
  }

  @Post('rotate')
  @HttpCode(200)
  @ApiOkResponse({ type: KeySetDto, description: 'the new set, delivered to every device' })
  rotate(@Actor() actor: string): Promise<KeySetDto> {
    return this.keys.rotate(actor);
  }
}
