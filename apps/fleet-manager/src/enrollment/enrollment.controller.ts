import { Body, Controller, Get, HttpCode, Inject, Post } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiGoneResponse,
  ApiHeader,
  ApiOkResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Actor, ACTOR_HEADER } from '../common/actor.js';
import { ParsePipe } from '../common/validation.js';
import { DeviceDto, toDeviceDto } from '../devices/dto/device.dto.js';
import {
  CreatedTokenDto,
  CreateTokenDto,
  parseCreateToken,
  TokenStateDto,
} from './dto/create-token.dto.js';
import { EnrollDto, parseEnroll } from './dto/enroll.dto.js';
import { EnrollmentService } from './enrollment.service.js';

@ApiTags('enrollment')
@Controller()
export class EnrollmentController {
  constructor(@Inject(EnrollmentService) private readonly enrollment: EnrollmentService) {}

  @Post('enrollment-tokens')
  @HttpCode(201)
  @ApiHeader({ name: ACTOR_HEADER, required: false })
  @ApiBody({ type: CreateTokenDto })
  @ApiCreatedResponse({ type: CreatedTokenDto })
  createToken(
    @Body(new ParsePipe(parseCreateToken)) body: CreateTokenDto,
    @Actor() actor: string,
  ): Promise<CreatedTokenDto> {
    return this.enrollment.createToken(body, actor);
  }

  @Get('enrollment-tokens')
  @ApiOkResponse({ type: [TokenStateDto] })
  listTokens(): Promise<TokenStateDto[]> {
    return this.enrollment.listTokens();
  }

  /** Called by the appliance (agent or technician CLI) with its one-time token. */
  @Post('enroll')
  @HttpCode(201)
  @ApiBody({ type: EnrollDto })
  @ApiCreatedResponse({ type: DeviceDto })
  @ApiUnauthorizedResponse({ description: 'unknown token' })
  @ApiGoneResponse({ description: 'token already used or expired' })
  async enroll(@Body(new ParsePipe(parseEnroll)) body: EnrollDto): Promise<DeviceDto> {
    return toDeviceDto(await this.enrollment.enroll(body));
  }
}
