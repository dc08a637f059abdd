// Policies and their immutable versions. Creating a version never changes a
// device: rollouts (rollouts/) decide who gets which version and when.
import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { contentHash } from '@netmirror/protocol';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import type { Device, Labels } from '../devices/device.entity.js';
import { parseSpec, type CreatePolicyDto, type UpdatePolicyDto } from './dto/policy.dto.js';
import { Policy, type PolicyDomain } from './policy.entity.js';
import { PolicyVersion } from './policy-version.entity.js';

export function labelsMatch(target: Labels, labels: Labels): boolean {
  return Object.entries(target).every(([k, v]) => labels[k] === v);
}

/** Of the policies of one domain, the one that governs a device with these labels. */
export function governingPolicy(policies: readonly Policy[], labels: Labels): Policy | null {
  let best: Policy | null = null;
  for (const p of policies) {
    if (!labelsMatch(p.targetLabels, labels)) continue;
    if (!best || p.priority > best.priority || (p.priority === best.priority && p.name < best.name))
      best = p;
  }
  return best;
}

@Injectable()
export class PoliciesService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async create(dto: CreatePolicyDto, actor: string): Promise<Policy> {
    return this.ds.transaction(async (tx) => {
      if (await tx.existsBy(Policy, { name: dto.name }))
        throw new ConflictException(`policy "${dto.name}" already exists`);
      const now = new Date();
      const policy: Policy = {
        name: dto.name,
        domain: dto.domain,
        targetLabels: dto.targetLabels,
        priority: dto.priority ?? 0,
        latestVersion: 1,
        deployedVersion: null,
        createdAt: now,
        updatedAt: now,
      };
      await tx.insert(Policy, policy);
      const version = await this.insertVersion(tx, policy, 1, dto.spec, dto.comment, actor);
      await this.audit.record(tx, {
        actor,
        action: 'policy.create',
        target: `policy:${dto.name}`,
        details: {
          domain: dto.domain,
          targetLabels: dto.targetLabels,
          priority: policy.priority,
          version: 1,
          hash: version.hash,
        },
      });
      return policy;
    });
  }

  list(): Promise<Policy[]> {
    return this.ds.getRepository(Policy).find({ order: { name: 'ASC' } });
  }

  async get(name: string, tx: EntityManager = this.ds.manager): Promise<Policy> {
    const p = await tx.findOneBy(Policy, { name });
    if (!p) throw new NotFoundException(`policy "${name}" not found`);
    return p;
  }

  /** Every policy of a domain (to find the one governing a device). */
  ofDomain(domain: PolicyDomain, tx: EntityManager = this.ds.manager): Promise<Policy[]> {
    return tx.findBy(Policy, { domain });
  }

  async update(name: string, patch: UpdatePolicyDto, actor: string): Promise<Policy> {
    return this.ds.transaction(async (tx) => {
      const p = await this.get(name, tx);
      const before = { targetLabels: p.targetLabels, priority: p.priority };
      Object.assign(p, patch, { updatedAt: new Date() });
      await tx.update(
        Policy,
        { name },
        { targetLabels: p.targetLabels, priority: p.priority, updatedAt: p.updatedAt },
      );
      await this.audit.record(tx, {
        actor,
        action: 'policy.update',
        target: `policy:${name}`,
        details: { before, after: patch as Record<string, unknown> },
      });
      return p;
    });
  }

  /** Devices keep running what they have; the policy just stops being offered. */
  async remove(name: string, actor: string): Promise<void> {
    await this.ds.transaction(async (tx) => {
      const p = await this.get(name, tx);
      await tx.delete(Policy, { name });
      await this.audit.record(tx, {
        actor,
        action: 'policy.delete',
        target: `policy:${name}`,
        details: { domain: p.domain, latestVersion: p.latestVersion },
      });
    });
  }

  async addVersion(
    name: string,
    dto: { spec: unknown; comment?: string },
    actor: string,
  ): Promise<PolicyVersion> {
    return this.ds.transaction(async (tx) => {
      const p = await this.get(name, tx);
      const spec = parseSpec(p.domain, dto.spec);
      const next = p.latestVersion + 1;
      // Conditional on the version read: two concurrent pushes cannot both become version N.
      const bumped = await tx.update(
        Policy,
        { name, latestVersion: p.latestVersion },
        { latestVersion: next, updatedAt: new Date() },
      );
      if (bumped.affected !== 1)
        throw new ConflictException(`policy "${name}" changed meanwhile; try again`);
      const version = await this.insertVersion(tx, p, next, spec, dto.comment, actor);
      await this.audit.record(tx, {
        actor,
        action: 'policy.version.create',
        target: `policy:${name}`,
        details: { version: next, hash: version.hash, comment: dto.comment ?? null },
      });
      return version;
    });
  }

  listVersions(name: string): Promise<PolicyVersion[]> {
    return this.get(name).then(() =>
      this.ds
        .getRepository(PolicyVersion)
        .find({ where: { policy: name }, order: { version: 'DESC' } }),
    );
  }

  async getVersion(
    name: string,
    version: number,
    tx: EntityManager = this.ds.manager,
  ): Promise<PolicyVersion> {
    const v = await tx.findOneBy(PolicyVersion, { policy: name, version });
    if (!v) throw new NotFoundException(`policy "${name}" has no version ${version}`);
    return v;
  }

  /** Devices (from `devices`) that `policy` governs: labels match and no higher-priority policy of its domain does. */
  async targets(policy: Policy, devices: readonly Device[], tx?: EntityManager): Promise<Device[]> {
    const rivals = await this.ofDomain(policy.domain, tx);
    return devices.filter((d) => governingPolicy(rivals, d.labels)?.name === policy.name);
  }

  private async insertVersion(
    tx: EntityManager,
    p: Policy,
    version: number,
    spec: PolicyVersion['spec'],
    comment: string | undefined,
    actor: string,
  ): Promise<PolicyVersion> {
    const row: PolicyVersion = {
      policy: p.name,
      version,
      hash: contentHash(spec),
      spec,
      comment: comment ?? null,
      createdBy: actor,
      createdAt: new Date(),
    };
    await tx.save(PolicyVersion, row);
    return row;
  }
}
