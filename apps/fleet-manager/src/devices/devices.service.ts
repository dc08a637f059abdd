// The device registry. Every change goes through a transaction that also
// writes its audit row.
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { boolParam, dialectOf, labelEquals, labelKeyParam } from '../database/dialect.js';
import { Device, type Labels } from './device.entity.js';
import type { UpdateDeviceDto } from './dto/update-device.dto.js';
import type { ListDevicesQuery } from './dto/list-devices.query.js';

export type NewDevice = Pick<Device, 'id' | 'name' | 'labels' | 'publicKeys' | 'certificatePem'> &
  Partial<Pick<Device, 'site' | 'model' | 'firmwareVersion' | 'agentVersion'>>;

@Injectable()
export class DevicesService {
  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  async list(q: ListDevicesQuery): Promise<{ items: Device[]; total: number }> {
    const d = dialectOf(this.ds);
    const qb = this.ds
      .getRepository(Device)
      .createQueryBuilder('d')
      .orderBy('d.id', 'ASC')
      .skip(q.offset)
      .take(q.limit);
    q.labels.forEach(([k, v], i) => {
      qb.andWhere(labelEquals(d, 'd.labels', `lk${i}`, `lv${i}`), {
        [`lk${i}`]: labelKeyParam(d, k),
        [`lv${i}`]: v,
      });
    });
    if (q.online !== undefined)
      qb.andWhere('d.online = :online', { online: boolParam(d, q.online) });
    const [items, total] = await qb.getManyAndCount();
    return { items, total };
  }

  async get(id: string): Promise<Device> {
    const device = await this.ds.getRepository(Device).findOneBy({ id });
    if (!device) throw new NotFoundException(`device "${id}" not found`);
    return device;
  }

  async exists(tx: EntityManager, id: string): Promise<boolean> {
    return (await tx.countBy(Device, { id })) > 0;
  }

  /** Used by enrollment, inside its transaction (which writes the audit row). */
  async create(tx: EntityManager, fields: NewDevice): Promise<Device> {
    const device = tx.create(Device, {
      site: null,
      model: null,
      firmwareVersion: null,
      agentVersion: null,
      ...fields,
      lastSeenAt: null,
      online: false,
      createdAt: new Date(),
    });
    await tx.insert(Device, device);
    return device;
  }

  async update(id: string, patch: UpdateDeviceDto, actor: string): Promise<Device> {
    return this.ds.transaction(async (tx) => {
      const device = await tx.findOneBy(Device, { id });
      if (!device) throw new NotFoundException(`device "${id}" not found`);
      const before: Partial<Device> = {};
      const after: Partial<Device> = {};
      if (patch.name !== undefined && patch.name !== device.name) {
        before.name = device.name;
        after.name = device.name = patch.name;
      }
      if (patch.site !== undefined && patch.site !== device.site) {
        before.site = device.site;
        after.site = device.site = patch.site;
      }
      if (patch.labels !== undefined) {
        const labels: Labels = { ...device.labels };
        for (const [k, v] of Object.entries(patch.labels)) {
          if (v === null) delete labels[k];
          else labels[k] = v;
        }
        if (JSON.stringify(labels) !== JSON.stringify(device.labels)) {
          before.labels = device.labels;
          after.labels = device.labels = labels;
        }
      }
      if (Object.keys(after).length > 0) {
        await tx.update(Device, { id }, after);
        await this.audit.record(tx, {
          actor,
          action: 'device.update',
          target: `device:${id}`,
          details: { before, after },
        });
      }
      return device;
    });
  }

  async decommission(id: string, actor: string): Promise<void> {
    await this.ds.transaction(async (tx) => {
      const device = await tx.findOneBy(Device, { id });
      if (!device) throw new NotFoundException(`device "${id}" not found`);
      await tx.delete(Device, { id });
      await this.audit.record(tx, {
        actor,
        action: 'device.decommission',
        target: `device:${id}`,
        details: { name: device.name, labels: device.labels, site: device.site },
      });
    });
  }

  async counts(): Promise<{ total: number; online: number }> {
    const repo = this.ds.getRepository(Device);
    const d = dialectOf(this.ds);
    const [total, online] = await Promise.all([
      repo.count(),
      repo
        .createQueryBuilder('d')
        .where('d.online = :o', { o: boolParam(d, true) })
        .getCount(),
    ]);
    return { total, online };
  }
}
