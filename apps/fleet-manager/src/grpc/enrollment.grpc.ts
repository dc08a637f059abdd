// Enrollment over gRPC: CreateEnrollmentToken, ListEnrollmentTokens, Enroll.
import { Inject, Injectable } from '@nestjs/common';
import type { EnrollmentToken, FleetServiceServer } from '@netmirror/fleet-api';
import { BrokerService } from '../broker/broker.service.js';
import { toDeviceDto } from '../devices/dto/device.dto.js';
import {
  CERTIFICATE_AUTHORITY,
  type CertificateAuthority,
} from '../enrollment/certificate-authority.js';
import { parseCreateToken, type TokenStateDto } from '../enrollment/dto/create-token.dto.js';
import { parseEnroll } from '../enrollment/dto/enroll.dto.js';
import { EnrollmentService } from '../enrollment/enrollment.service.js';
import { unary } from './call.js';
import { opt } from './convert.js';
import { deviceToProto } from './devices.grpc.js';

function tokenToProto(t: TokenStateDto): EnrollmentToken {
  return {
    id: t.id,
    state: t.state,
    deviceName: opt(t.deviceName),
    labels: t.labels,
    createdBy: t.createdBy,
    createdAt: t.createdAt,
    expiresAt: t.expiresAt,
    usedAt: opt(t.usedAt),
    usedByDeviceId: opt(t.usedByDeviceId),
  };
}

type EnrollmentRpcs = Pick<
  FleetServiceServer,
  'createEnrollmentToken' | 'listEnrollmentTokens' | 'enroll'
>;

@Injectable()
export class EnrollmentGrpc {
  constructor(
    @Inject(EnrollmentService) private readonly enrollment: EnrollmentService,
    @Inject(BrokerService) private readonly broker: BrokerService,
    @Inject(CERTIFICATE_AUTHORITY) private readonly ca: CertificateAuthority,
  ) {}

  handlers(): EnrollmentRpcs {
    return {
      createEnrollmentToken: unary(async (req, { actor }) => {
        const dto = parseCreateToken({
          deviceName: req.deviceName,
          labels: req.labels,
          ttlSeconds: req.ttlSeconds,
        });
        const t = await this.enrollment.createToken(dto, actor);
        return {
          id: t.id,
          token: t.token,
          expiresAt: t.expiresAt,
          deviceName: opt(t.deviceName),
          labels: t.labels,
        };
      }),

      listEnrollmentTokens: unary(async () => ({
        items: (await this.enrollment.listTokens()).map(tokenToProto),
      })),

      // As POST /enroll: the device, the broker to connect to, the CA to pin.
      enroll: unary(async (req) => {
        const dto = parseEnroll({
          token: req.token,
          deviceId: req.deviceId,
          csrPem: req.csrPem,
          publicKeys: req.publicKeys,
          model: req.model,
          firmwareVersion: req.firmwareVersion,
          agentVersion: req.agentVersion,
        });
        const device = toDeviceDto(await this.enrollment.enroll(dto));
        return {
          device: deviceToProto(device),
          brokerUrl: this.broker.info().url,
          caPem: opt(this.ca.certificatePem),
        };
      }),
    };
  }
}
