// Alerts raised by devices: stored (a redelivered alert is stored once),
// listed with filters, acknowledged by an operator (audited).
import {
  ConflictException,
  Inject,
  Injectable,
  NotFoundException,
  type BeforeApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { Alert, AlertSeverity } from '@netmirror/protocol';
import { Between, DataSource, In } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { Batcher } from '../common/batcher.js';
import { ControlService } from '../control/control.service.js';
import { Device } from '../devices/device.entity.js';
import { AlertRecord } from './alert-record.entity.js';

export interface AlertQuery {
  deviceId?: string;
  severity?: AlertSeverity;
  from: Date;
  to: Date;
  limit: number;
}

@Injectable()
export class AlertsService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly batcher: Batcher<{ deviceId: string; alert: Alert }>;

  constructor(
    @Inject(DataSource) private readonly ds: DataSource,
    @Inject(AuditService) private readonly audit: AuditService,
    @Inject(ControlService) private readonly control: ControlService,
  ) {
    this.batcher = new Batcher({ name: 'AlertIngest', delayMs: 50, maxItems: 1000 }, (b) =>
      this.store(b),
    );
  }

  onModuleInit(): void {
    this.control.on('alert', (m) => {
      if (m.message.type === 'alert')
        this.batcher.add({ deviceId: m.route.deviceId, alert: m.message });
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.batcher.flush();
  }

  list(q: AlertQuery): Promise<AlertRecord[]> {
    return this.ds.getRepository(AlertRecord).find({
      where: {
        at: Between(q.from, q.to),
        ...(q.deviceId ? { deviceId: q.deviceId } : {}),
        ...(q.severity ? { severity: q.severity } : {}),
      },
      order: { at: 'DESC', id: 'DESC' },
      take: q.limit,
    });
  }

  async acknowledge(id: number, actor: string): Promise<AlertRecord> {
    return this.ds.transaction(async (tx) => {
      const alert = await tx.findOneBy(AlertRecord, { id });
      if (!alert) throw new NotFoundException(`alert ${id} not found`);
      if (alert.acknowledgedAt)
        throw new ConflictException(`alert ${id} was acknowledged by ${alert.acknowledgedBy}`);
      alert.acknowledgedAt = new Date();
      alert.acknowledgedBy = actor;
      await tx.update(
        AlertRecord,
        { id },
        { acknowledgedAt: alert.acknowledgedAt, acknowledgedBy: actor },
      );
      await this.audit.record(tx, {
        actor,
        action: 'alert.acknowledge',
        target: `alert:${id}`,
        details: { deviceId: alert.deviceId, code: alert.code },
      });
      return alert;
    });
  }

  private async store(batch: Array<{ deviceId: string; alert: Alert }>): Promise<void> {
    const ids = [...new Set(batch.map((b) => b.deviceId))];
    const known = new Set(
      (
        await this.ds.getRepository(Device).find({ select: { id: true }, where: { id: In(ids) } })
      ).map((d) => d.id),
    );
    const receivedAt = new Date();
    const rows = batch
      .filter((b) => known.has(b.deviceId))
      .map((b) => ({
        deviceId: b.deviceId,
        at: new Date(b.alert.at),
        receivedAt,
        severity: b.alert.severity,
        code: b.alert.code,
        message: b.alert.message,
        acknowledgedAt: null,
        acknowledgedBy: null,
      }));
    for (let i = 0; i < rows.length; i += 500) {
      await this.ds
        .createQueryBuilder()
        .insert()
        .into(AlertRecord)
        .values(rows.slice(i, i + 500))
        .orIgnore()
        .execute();
    }
  }
}
