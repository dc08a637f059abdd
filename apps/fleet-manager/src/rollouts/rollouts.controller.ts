import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import {
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import { Actor, ACTOR_HEADER } from '../common/actor.js';
import { ParsePipe } from '../common/validation.js';
import {
  DeployDto,
  parseDeploy,
  parseStartRollout,
  RolloutDto,
  StartRolloutDto,
  toRolloutDto,
} from './dto/rollout.dto.js';
import { RolloutsService } from './rollouts.service.js';

@ApiTags('rollouts')
@ApiHeader({ name: ACTOR_HEADER, required: false })
@Controller()
export class RolloutsController {
  constructor(@Inject(RolloutsService) private readonly rollouts: RolloutsService) {}

  @Post('rollouts')
  @HttpCode(201)
  @ApiBody({ type: StartRolloutDto })
  @ApiCreatedResponse({ type: RolloutDto, description: 'started: the canary stage is pushed' })
  @ApiConflictResponse({ description: 'the policy already has an active rollout' })
  async start(
    @Body(new ParsePipe(parseStartRollout)) body: StartRolloutDto,
    @Actor() actor: string,
  ): Promise<RolloutDto> {
    return toRolloutDto(await this.rollouts.start(body, actor));
  }

  @Post('policies/:name/deploy')
  @HttpCode(201)
  @ApiBody({ type: DeployDto })
  @ApiCreatedResponse({ type: RolloutDto, description: 'pushed to every governed device at once' })
  async deploy(
    @Param('name') name: string,
    @Body(new ParsePipe(parseDeploy)) body: DeployDto,
    @Actor() actor: string,
  ): Promise<RolloutDto> {
    return toRolloutDto(await this.rollouts.deploy(name, body.version, actor));
  }

  @Get('rollouts')
  @ApiQuery({ name: 'policy', required: false, type: String })
  @ApiOkResponse({ type: [RolloutDto] })
  async list(@Query('policy') policy?: string): Promise<RolloutDto[]> {
    return (await this.rollouts.list({ policy })).map(toRolloutDto);
  }

  @Get('rollouts/:id')
  @ApiOkResponse({ type: RolloutDto })
  async get(@Param('id') id: string): Promise<RolloutDto> {
    return toRolloutDto(await this.rollouts.get(id));
  }

  @Post('rollouts/:id/pause')
  @HttpCode(200)
  @ApiOkResponse({ type: RolloutDto })
  async pause(@Param('id') id: string, @Actor() actor: string): Promise<RolloutDto> {
    return toRolloutDto(await this.rollouts.pause(id, actor));
  }

  @Post('rollouts/:id/resume')
  @HttpCode(200)
  @ApiOkResponse({ type: RolloutDto })
  async resume(@Param('id') id: string, @Actor() actor: string): Promise<RolloutDto> {
    return toRolloutDto(await this.rollouts.resume(id, actor));
  }

  @Post('rollouts/:id/abort')
  @HttpCode(200)
  @ApiOkResponse({ type: RolloutDto })
  async abort(@Param('id') id: string, @Actor() actor: string): Promise<RolloutDto> {
    return toRolloutDto(await this.rollouts.abort(id, actor));
  }

  @Post('rollouts/:id/rollback')
  @HttpCode(200)
  @ApiOkResponse({ type: RolloutDto })
  async rollback(@Param('id') id: string, @Actor() actor: string): Promise<RolloutDto> {
    return toRolloutDto(await this.rollouts.rollback(id, actor));
  }
}
