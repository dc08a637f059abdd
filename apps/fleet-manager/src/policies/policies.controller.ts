import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  ParseIntPipe,
  Patch,
  Post,
} from '@nestjs/common';
import {
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Actor, ACTOR_HEADER } from '../common/actor.js';
import { ParsePipe } from '../common/validation.js';
import {
  CreatePolicyDto,
  CreateVersionDto,
  parseCreatePolicy,
  parseCreateVersion,
  parseUpdatePolicy,
  PolicyDto,
  PolicyVersionDto,
  toPolicyDto,
  toPolicyVersionDto,
  UpdatePolicyDto,
} from './dto/policy.dto.js';
import { PoliciesService } from './policies.service.js';

@ApiTags('policies')
@ApiHeader({ name: ACTOR_HEADER, required: false })
@Controller('policies')
export class PoliciesController {
  constructor(@Inject(PoliciesService) private readonly policies: PoliciesService) {}

  @Post()
  @HttpCode(201)
  @ApiBody({ type: CreatePolicyDto })
  @ApiCreatedResponse({ type: PolicyDto, description: 'created with version 1, not deployed' })
  @ApiConflictResponse({ description: 'name taken' })
  async create(
    @Body(new ParsePipe(parseCreatePolicy)) body: CreatePolicyDto,
    @Actor() actor: string,
  ): Promise<PolicyDto> {
    return toPolicyDto(await this.policies.create(body, actor));
  }

  @Get()
  @ApiOkResponse({ type: [PolicyDto] })
  async list(): Promise<PolicyDto[]> {
    return (await this.policies.list()).map(toPolicyDto);
  }

  @Get(':name')
  @ApiOkResponse({ type: PolicyDto })
  async get(@Param('name') name: string): Promise<PolicyDto> {
    return toPolicyDto(await this.policies.get(name));
  }

  @Patch(':name')
  @ApiBody({ type: UpdatePolicyDto })
  @ApiOkResponse({ type: PolicyDto })
  async update(
    @Param('name') name: string,
    @Body(new ParsePipe(parseUpdatePolicy)) body: UpdatePolicyDto,
    @Actor() actor: string,
  ): Promise<PolicyDto> {
    return toPolicyDto(await this.policies.update(name, body, actor));
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiNoContentResponse()
  async remove(@Param('name') name: string, @Actor() actor: string): Promise<void> {
    await this.policies.remove(name, actor);
  }

  @Post(':name/versions')
  @HttpCode(201)
  @ApiBody({ type: CreateVersionDto })
  @ApiCreatedResponse({ type: PolicyVersionDto })
  async addVersion(
    @Param('name') name: string,
    @Body(new ParsePipe(parseCreateVersion)) body: { spec: unknown; comment?: string },
    @Actor() actor: string,
  ): Promise<PolicyVersionDto> {
    return toPolicyVersionDto(await this.policies.addVersion(name, body, actor));
  }

  @Get(':name/versions')
  @ApiOkResponse({ type: [PolicyVersionDto] })
  async versions(@Param('name') name: string): Promise<PolicyVersionDto[]> {
    return (await this.policies.listVersions(name)).map(toPolicyVersionDto);
  }

  @Get(':name/versions/:version')
  @ApiOkResponse({ type: PolicyVersionDto })
  async version(
    @Param('name') name: string,
    @Param('version', ParseIntPipe) version: number,
  ): Promise<PolicyVersionDto> {
    return toPolicyVersionDto(await this.policies.getVersion(name, version));
  }
}
