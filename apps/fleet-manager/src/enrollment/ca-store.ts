// Creates the fleet CA on first start and reloads it on every later start, so
// a restart (or a second instance on the same database) keeps the same CA.
// Two instances starting at once on an empty database both create a CA; the
// primary key lets one insert win, and the loser reloads the winner's.
import { Inject, Injectable } from '@nestjs/common';
import { createCa, exportCa, loadCa } from '@netmirror/crypto';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { FLEET_CONFIG, type FleetConfig } from '../config.js';
import { CertificateAuthorityRecord, FLEET_CA_ID } from './certificate-authority.entity.js';
import { CryptoCertificateAuthority } from './crypto-certificate-authority.js';

export const CA_ACTOR = 'system:fleet-manager';

@Injectable()
export class CaStore {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(FLEET_CONFIG) private readonly config: FleetConfig,
  ) {}

  async loadOrCreate(): Promise<CryptoCertificateAuthority> {
    const existing = await this.read();
    if (existing) return existing;

    const opts = this.config.ca;
    const ca = await createCa({ commonName: opts.commonName, validDays: opts.validDays });
    const created = new CryptoCertificateAuthority(ca, opts.deviceCertificateValidDays);
    const stored = exportCa(ca);
    try {
      await this.ds.transaction(async (tx) => {
        await tx.insert(CertificateAuthorityRecord, {
          id: FLEET_CA_ID,
          certificatePem: stored.certificatePem,
          privateKeyPem: stored.privateKeyPem,
          createdAt: this.config.now(),
        });
        await this.audit.record(tx, {
          actor: CA_ACTOR,
          action: 'ca.create',
          target: `ca:${FLEET_CA_ID}`,
          details: { commonName: opts.commonName, fingerprint: created.fingerprint },
        });
      });
    } catch (e) {
      const winner = await this.read(); // another instance inserted first
      if (winner) return winner;
      throw e;
    }
    return created;
  }

  private async read(): Promise<CryptoCertificateAuthority | null> {
    const row = await this.ds
      .getRepository(CertificateAuthorityRecord)
      .findOneBy({ id: FLEET_CA_ID });
    if (!row) return null;
    const ca = loadCa({ certificatePem: row.certificatePem, privateKeyPem: row.privateKeyPem });
    return new CryptoCertificateAuthority(ca, this.config.ca.deviceCertificateValidDays);
  }
}
