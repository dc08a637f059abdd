// One-time enrollment tokens and the enrollment itself. A token is 32 random
// bytes shown once; the table keeps its SHA-256. Enrolling marks the token
// used with a conditional UPDATE (… WHERE used_at IS NULL) in the same
// transaction that creates the device and its audit row, so two concurrent
// uses cannot both succeed and a refused enrollment changes nothing.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  BadRequestException,
  ConflictException,
  GoneException,
  Inject,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { DataSource, IsNull } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { FLEET_CONFIG, type FleetConfig } from '../config.js';
import type { Device } from '../devices/device.entity.js';
import { DevicesService } from '../devices/devices.service.js';
import {
  CERTIFICATE_AUTHORITY,
  InvalidCsrError,
  type CertificateAuthority,
} from './certificate-authority.js';
import type { CreatedTokenDto, CreateTokenDto, TokenStateDto } from './dto/create-token.dto.js';
import type { EnrollDto } from './dto/enroll.dto.js';
import { EnrollmentToken } from './enrollment-token.entity.js';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

@Injectable()
export class EnrollmentService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(DevicesService) private readonly devices: DevicesService,
    @Inject(FLEET_CONFIG) private readonly config: FleetConfig,
    @Inject(CERTIFICATE_AUTHORITY) private readonly ca: CertificateAuthority,
  ) {}

  async createToken(req: CreateTokenDto, actor: string): Promise<CreatedTokenDto> {
    const token = `nmt_${randomBytes(32).toString('base64url')}`;
    const now = this.config.now();
    const row: EnrollmentToken = {
      id: randomUUID(),
      tokenHash: hashToken(token),
      deviceName: req.deviceName ?? null,
      labels: req.labels ?? {},
      createdBy: actor,
      createdAt: now,
      expiresAt: new Date(now.getTime() + req.ttlSeconds * 1000),
      usedAt: null,
      usedByDeviceId: null,
    };
    await this.ds.transaction(async (tx) => {
      await tx.insert(EnrollmentToken, row);
      await this.audit.record(tx, {
        actor,
        action: 'enrollment.token.create',
        target: `enrollment-token:${row.id}`,
        details: {
          deviceName: row.deviceName,
          labels: row.labels,
          expiresAt: row.expiresAt.toISOString(),
        },
      });
    });
    return {
      id: row.id,
      token,
      expiresAt: row.expiresAt,
      deviceName: row.deviceName,
      labels: row.labels,
    };
  }

  async listTokens(): Promise<TokenStateDto[]> {
    const now = this.config.now();
    const rows = await this.ds
      .getRepository(EnrollmentToken)
      .find({ order: { createdAt: 'DESC' } });
    return rows.map(({ tokenHash: _hash, ...t }) => ({
      ...t,
      state: t.usedAt ? 'used' : t.expiresAt <= now ? 'expired' : 'unused',
    }));
  }

  async enroll(req: EnrollDto): Promise<Device> {
    const now = this.config.now();
    return this.ds.transaction(async (tx) => {
      const token = await tx.findOneBy(EnrollmentToken, { tokenHash: hashToken(req.token) });
      if (!token) throw new UnauthorizedException('enrollment token is not valid');
      if (token.usedAt) throw new GoneException('enrollment token has already been used');
      if (token.expiresAt <= now)
        throw new GoneException(`enrollment token expired at ${token.expiresAt.toISOString()}`);

      const deviceId = req.deviceId ?? randomUUID();
      if (await this.devices.exists(tx, deviceId))
        throw new ConflictException(`device "${deviceId}" already exists`);

      const used = await tx.update(
        EnrollmentToken,
        { id: token.id, usedAt: IsNull() },
        { usedAt: now, usedByDeviceId: deviceId },
      );
      if (used.affected !== 1) throw new GoneException('enrollment token has already been used');

      let certificatePem: string | null = null;
      if (req.csrPem) {
        try {
          certificatePem = await this.ca.signDeviceCertificate({
            deviceId,
            csrPem: req.csrPem,
            publicKeyPem: req.publicKeys.tls,
          });
        } catch (e) {
          if (e instanceof InvalidCsrError)
            throw new BadRequestException({
              statusCode: 400,
              field: 'csrPem',
              message: `csrPem: ${e.message}`,
            });
          throw e;
        }
      }

      const device = await this.devices.create(tx, {
        id: deviceId,
        name: token.deviceName ?? deviceId,
        labels: token.labels,
        publicKeys: req.publicKeys,
        certificatePem,
        site: req.site ?? null,
        model: req.model ?? null,
        firmwareVersion: req.firmwareVersion ?? null,
        agentVersion: req.agentVersion ?? null,
      });
      await this.audit.record(tx, {
        actor: `device:${deviceId}`,
        action: 'device.enroll',
        target: `device:${deviceId}`,
        details: { tokenId: token.id, certificateIssued: certificatePem !== null },
      });
      return device;
    });
  }
}
