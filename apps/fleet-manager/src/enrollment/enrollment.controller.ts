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
import { BrokerService } from '../broker/broker.service.js';
import { Actor, ACTOR_HEADER } from '../common/actor.js';
import { ParsePipe } from '../common/validation.js';
import { toDeviceDto } from '../devices/dto/device.dto.js';
import { CERTIFICATE_AUTHORITY, type CertificateAuthority } from './certificate-authority.js';
import {
  CreatedTokenDto,
  CreateTokenDto,
  parseCreateToken,
  TokenStateDto,
} from './dto/create-token.dto.js';
import { EnrollDto, EnrolledDeviceDto, parseEnroll } from './dto/enroll.dto.js';
import { EnrollmentService } from './enrollment.service.js';

@ApiTags('enrollment')
@Controller()
export class EnrollmentController {
  constructor(
    @Inject(EnrollmentService) private readonly enrollment: EnrollmentService,
    @Inject(BrokerService) private readonly broker: BrokerService,
    @Inject(CERTIFICATE_AUTHORITY) private readonly ca: CertificateAuthority,
  ) {}

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

  /**
   * Called by the appliance (agent or technician CLI) with its one-time token.
   * Answers the device plus the broker URL and the CA certificate, which is
   * all an appliance needs to join the fleet.
   */
  @Post('enroll')
  @HttpCode(201)
  @ApiBody({ type: EnrollDto })
  @ApiCreatedResponse({ type: EnrolledDeviceDto })
  @ApiUnauthorizedResponse({ description: 'unknown token' })
  @ApiGoneResponse({ description: 'token already used or expired' })
  async enroll(@Body(new ParsePipe(parseEnroll)) body: EnrollDto): Promise<EnrolledDeviceDto> {
    const device = toDeviceDto(await this.enrollment.enroll(body));
    return {
      ...device,
      brokerUrl: this.broker.info().url,
      caPem: this.ca.certificatePem ?? null,
    };
  }
}
